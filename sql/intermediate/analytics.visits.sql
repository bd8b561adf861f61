-- One row per service visit: a customer on a day, at any dealer, dated on or before as-of.
-- Repair orders of one day are one visit (a car in for maintenance and a second car the same
-- afternoon is one trip); on the rare day with repair orders at two dealers, the visit belongs
-- to the first dealer code.
-- Spend is stored as decimal(18, 2): wider decimals are stored as 128-bit and scan slower.
with repair_orders as (
    select ids.customer_id, records.event_date, records.dealer_code, records.amount, records.service_type
    from identity.records as records
    join identity.signature_ids as ids using (signature_key)
    where records.source = 'service' and records.event_date <= (select as_of from analytics.as_of)
)

select
    customer_id,
    event_date as visit_date,
    min(dealer_code) as dealer_code,
    sum(amount)::decimal(18, 2) as spend,
    count(*)::integer as repair_orders,
    bool_or(service_type = 'maintenance') as maintenance
from repair_orders
group by customer_id, event_date
