-- One row per new-car delivery dated on or before as-of and follow-up step ($steps: step, due_days,
-- window_days): the call's due date, the last day of its window, and its status as of as-of.
--   done      a contact at the delivery's dealer about this sale or customer, reached (reached,
--             booked or refused: someone answered), for a follow-up or of no stated purpose,
--             dated within the step's window and on or before as-of
--   upcoming  not done, due after as-of
--   due       not done, due on as-of
--   overdue   not done, due before as-of, its window still open
--   missed    not done, its window closed before as-of
with as_of as (
    select as_of from analytics.as_of
),

steps as (
    select unnest($steps, recursive := true)
),

deliveries as (
    select sales.dealer_code, sales.sale_id, ids.customer_id, sales.vin, sales.series, sales.plate,
           sales.salesperson, sales.sale_date
    from intermediate.sales_checked as sales
    join identity.signature_ids as ids using (signature_key)
    where sales.reject_reason is null and sales.new_or_used = 'new' and sales.sale_date <= (select as_of from as_of)
),

calls as (
    select dealer_code, sale_id, customer_id, contact_date, outcome
    from identity.contacts
    where outcome in ('reached', 'booked', 'refused')
      and (purpose is null or purpose = 'follow_up')
      and contact_date <= (select as_of from as_of)
),

scheduled as (
    select
        deliveries.*,
        steps.step,
        steps.due_days,
        (deliveries.sale_date + steps.due_days)::date as due_date,
        (deliveries.sale_date + steps.due_days + steps.window_days - 1)::date as window_end
    from deliveries
    cross join steps
),

-- a call names the sale it follows up, or only the customer: two joins, each on equal keys
matched_calls as (
    select scheduled.dealer_code, scheduled.sale_id, scheduled.step, calls.contact_date
    from scheduled
    join calls using (dealer_code, sale_id)
    where calls.contact_date between scheduled.due_date and scheduled.window_end
    union all
    select scheduled.dealer_code, scheduled.sale_id, scheduled.step, calls.contact_date
    from scheduled
    join calls using (dealer_code, customer_id)
    where calls.contact_date between scheduled.due_date and scheduled.window_end
),

completed as (
    select dealer_code, sale_id, step, min(contact_date) as contacted_on
    from matched_calls
    group by all
)

select
    scheduled.dealer_code,
    scheduled.sale_id,
    scheduled.customer_id,
    scheduled.vin,
    scheduled.series,
    scheduled.plate,
    scheduled.salesperson,
    scheduled.sale_date,
    scheduled.step,
    scheduled.due_date,
    scheduled.window_end,
    case
        when completed.contacted_on is not null then 'done'
        when scheduled.due_date > as_of.as_of then 'upcoming'
        when scheduled.due_date = as_of.as_of then 'due'
        when scheduled.window_end >= as_of.as_of then 'overdue'
        else 'missed'
    end as status,
    completed.contacted_on
from scheduled
cross join as_of
left join completed using (dealer_code, sale_id, step)
