-- One row per customer and dealer that lost them, as of as-of: customers of the dealer (a vehicle
-- bought there, or $min_visits service visits) whose last visit or purchase there is overdue by
-- $lost_ratio of their expected interval between visits (or older than $lost_after_days), and not
-- older than $lookback_days. A driver passing through, serviced there once, was never the
-- dealer's to lose. With the signals the data
-- gives for why they left, first that applies:
--   moved               their address at the dealer named its city and their latest one, recorded
--                       after they left there, does not; or, with no later address that still
--                       names it, they came back only at a dealer in another city
--   serviced_elsewhere  they came back at another dealer of the network (other_dealer_code: the
--                       one they visited most since, then the latest)
--   vehicle_sold        every vehicle they brought to the dealer has a later owner: do not call
--                       about that car (vehicle_sold is also a column of its own)
--   unknown             none of these
-- value_36m is what they brought the dealer in the 36 months up to their last visit there
-- (after-sales spend plus vehicle margin, as in analytics.visits and analytics.purchases).
-- priority ranks a dealer's list by that value, moved customers last (1 = call first);
-- last_called_on and last_call_outcome: the latest win-back call of the dealer's contact log.
with as_of as (
    select as_of from analytics.as_of
),

-- event_key orders a customer's events by day, then by type (maintenance, repair, sale): one
-- number compares faster than a (date, text) pair
events as (
    select customer_id, dealer_code, visit_date as event_date, spend as value, spend as amount,
           case when maintenance then 'maintenance' else 'repair' end as event_type,
           date_diff('day', date '1970-01-01', visit_date) * 4 + (not maintenance)::integer as event_key
    from analytics.visits
    union all
    select customer_id, dealer_code, sale_date, value, sale_amount, 'sale',
           date_diff('day', date '1970-01-01', sale_date) * 4 + 2
    from analytics.purchases
),

at_dealer as (
    select
        customer_id,
        dealer_code,
        max(event_date) as last_seen,
        count(*) filter (where event_type <> 'sale') as n_visits,
        count(*) filter (where event_type = 'sale') as n_purchases,
        arg_max(event_type, event_key) as last_visit_type,
        arg_max(amount, event_key) as last_amount
    from events
    group by customer_id, dealer_code
),

lost as (
    select at_dealer.* exclude (n_visits, n_purchases), (as_of.as_of - at_dealer.last_seen) as days_since
    from at_dealer
    cross join as_of
    join analytics.lifecycle as lifecycle using (customer_id)
    where (as_of.as_of - at_dealer.last_seen >= $lost_ratio * lifecycle.expected_interval_days
           or as_of.as_of - at_dealer.last_seen > $lost_after_days)
      and as_of.as_of - at_dealer.last_seen <= $lookback_days
      and (at_dealer.n_purchases > 0 or at_dealer.n_visits >= $min_visits)
),

-- the events and records of lost customers only: every signal below reads these
lost_events as (
    select * from events where customer_id in (select customer_id from lost)
),

lost_signatures as (
    select signature_key, customer_id
    from identity.signature_ids
    where customer_id in (select customer_id from lost)
),

lost_records as (
    select lost_signatures.customer_id, records.dealer_code, records.vin, records.event_date, records.record_id,
           records.address,
           -- the latest address first, then the address itself: the same choice on every run
           day_then(records.event_date, hash(records.address) % 4294967296) as address_key
    from identity.records as records
    join lost_signatures using (signature_key)
    where records.event_date <= (select as_of from as_of)
),

values_before as (
    select lost.customer_id, lost.dealer_code, sum(events.value)::decimal(18, 2) as value_36m
    from lost
    join lost_events as events using (customer_id, dealer_code)
    where events.event_date > (lost.last_seen - to_months($window_months))::date
    group by all
),

visits_since as (
    select lost.customer_id, lost.dealer_code, events.dealer_code as other_dealer_code,
           count(*) as n, max(events.event_date) as latest
    from lost
    join lost_events as events
        on events.customer_id = lost.customer_id
        and events.dealer_code <> lost.dealer_code
        and events.event_date > lost.last_seen
    group by all
),

went_elsewhere as (
    select customer_id, dealer_code,
           arg_max(other_dealer_code, (n, latest, other_dealer_code)) as other_dealer_code
    from visits_since
    group by customer_id, dealer_code
),

dealer_records as (
    select lost.customer_id, lost.dealer_code, records.vin, records.event_date, records.record_id
    from lost
    join lost_records as records using (customer_id, dealer_code)
    where records.vin is not null
),

dealer_vehicles as (
    select distinct customer_id, dealer_code, vin from dealer_records
),

last_vehicles as (
    select customer_id, dealer_code, arg_max(vin, (event_date, record_id)) as vin
    from dealer_records
    group by customer_id, dealer_code
),

sold as (
    select dealer_vehicles.customer_id, dealer_vehicles.dealer_code,
           bool_and(coalesce(vehicles.owned_to <= (select as_of from as_of), false)) as vehicle_sold
    from dealer_vehicles
    left join identity.vehicles as vehicles using (customer_id, vin)
    group by all
),

addresses as (
    select lost.customer_id, lost.dealer_code,
           arg_max(records.address, records.address_key) filter (where records.event_date > lost.last_seen)
               as address_since,
           arg_max(records.address, records.address_key) filter (where records.event_date <= lost.last_seen
                                                                 and records.dealer_code = lost.dealer_code)
               as address_then
    from lost
    join lost_records as records using (customer_id)
    where records.address is not null
    group by all
),

signals as (
    select
        lost.*,
        went_elsewhere.other_dealer_code,
        coalesce(sold.vehicle_sold, false) as vehicle_sold,
        coalesce(values_before.value_36m, 0) as value_36m,
        coalesce(contains(addresses.address_then, here.city) and not contains(addresses.address_since, here.city)
                 or (other_dealers.city <> here.city and not coalesce(contains(addresses.address_since, here.city), false)),
                 false) as moved
    from lost
    left join went_elsewhere using (customer_id, dealer_code)
    left join sold using (customer_id, dealer_code)
    left join values_before using (customer_id, dealer_code)
    left join addresses using (customer_id, dealer_code)
    left join ingest.dealers as here on here.dealer_code = lost.dealer_code
    left join ingest.dealers as other_dealers on other_dealers.dealer_code = went_elsewhere.other_dealer_code
),

calls as (
    select dealer_code, customer_id, max(contact_date) as last_called_on,
           arg_max(outcome, (contact_date, outcome)) as last_call_outcome
    from identity.contacts
    where purpose = 'win_back' and customer_id is not null and contact_date <= (select as_of from as_of)
    group by dealer_code, customer_id
),

reasons as (
    select
        *,
        case
            when moved then 'moved'
            when other_dealer_code is not null then 'serviced_elsewhere'
            when vehicle_sold then 'vehicle_sold'
            else 'unknown'
        end as reason
    from signals
)

select
    reasons.customer_id,
    reasons.dealer_code,
    reasons.last_seen,
    reasons.days_since,
    reasons.reason,
    reasons.other_dealer_code,
    reasons.vehicle_sold,
    last_vehicles.vin as last_vin,
    reasons.value_36m,
    reasons.last_visit_type,
    reasons.last_amount,
    clv.clv_12m,
    calls.last_called_on,
    calls.last_call_outcome,
    cast(row_number() over (partition by reasons.dealer_code
                            order by reasons.reason = 'moved', reasons.value_36m desc, reasons.customer_id)
         as integer) as priority,
    members.contactable,
    members.why_not_contactable
from reasons
left join last_vehicles using (customer_id, dealer_code)
left join calls using (customer_id, dealer_code)
left join analytics.clv as clv using (customer_id)
left join marts.segment_members as members using (customer_id, dealer_code)
