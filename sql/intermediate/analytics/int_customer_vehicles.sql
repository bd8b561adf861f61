-- One row per customer and vehicle (VIN) they bought or serviced on or before as-of, with the
-- day the customer first came with it and the day the network first saw the VIN at all (the
-- vehicle's age as far as the dealers know).
with records as (
    select ids.customer_id, records.vin, records.event_date
    from identity.records as records
    join identity.signature_ids as ids using (signature_key)
    where records.vin is not null and records.event_date <= (select as_of from analytics.as_of)
),

customer_vehicles as (
    select customer_id, vin, min(event_date) as first_date
    from records
    group by customer_id, vin
)

select *, min(first_date) over (partition by vin) as vehicle_first_seen
from customer_vehicles
