-- One row per vehicle sale dated on or before as-of, with what it earned the dealer: the file's
-- gross profit, else the settings' share of the price (decimals, so sums are exact in any order).
with sales as (
    select ids.customer_id, records.*
    from identity.records as records
    join identity.signature_ids as ids using (signature_key)
    where records.source = 'sales' and records.event_date <= (select as_of from analytics.as_of)
)

select
    customer_id,
    dealer_code,
    record_id as sale_id,
    event_date as sale_date,
    vin,
    new_or_used,
    amount as sale_amount,
    coalesce(gross_profit, amount * $vehicle_margin_rate::decimal(5, 4))::decimal(18, 2) as value
from sales
