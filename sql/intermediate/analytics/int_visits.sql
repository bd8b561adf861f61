-- One row per service visit: a customer on a day, at any dealer, dated on or before as-of.
-- Repair orders of one day are one visit (a car in for maintenance and a second car the same
-- afternoon is one trip); the visit belongs to the dealer that took most of its spend.
with as_of as (
    select as_of from analytics.as_of
),

repair_orders as (
    select ids.customer_id, records.event_date, records.dealer_code, records.amount, records.service_type
    from identity.records as records
    join identity.signature_ids as ids using (signature_key)
    where records.source = 'service' and records.event_date <= (select as_of from as_of)
),

by_dealer as (
    select
        customer_id,
        event_date,
        dealer_code,
        sum(amount) as spend,
        count(*) as repair_orders,
        bool_or(service_type = 'maintenance') as maintenance
    from repair_orders
    group by customer_id, event_date, dealer_code
),

visits as (
    select
        customer_id,
        event_date as visit_date,
        arg_max(dealer_code, (spend, dealer_code)) as dealer_code,
        sum(spend) as spend,
        sum(repair_orders)::integer as repair_orders,
        bool_or(maintenance) as maintenance
    from by_dealer
    group by customer_id, event_date
)

select
    *,
    lag(visit_date) over (partition by customer_id order by visit_date) as previous_visit_date
from visits
