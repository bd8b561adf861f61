-- One row per customer and vehicle (VIN) they bought or serviced on or before as-of, with the
-- day the customer first came with it and the day the network first saw the VIN at all (the
-- vehicle's age as far as the dealers know). A first date is the same whether later records are
-- counted or not, so the ownership periods of identity.vehicles serve any as-of.
with owners as (
    select customer_id, vin, owned_from as first_date
    from identity.vehicles
    where owned_from <= (select as_of from analytics.as_of)
)

select *, min(first_date) over (partition by vin) as vehicle_first_seen
from owners
