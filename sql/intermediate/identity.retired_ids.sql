-- Every customer_id that stopped being used because its cluster merged into another, and the id
-- it merged into. Cumulative across runs.
with previous as (
    select * from identity.previous_signature_ids
),

current_ids as (
    select * from identity.signature_ids
),

moved as (
    select previous.customer_id as retired_id, first(current_ids.customer_id order by current_ids.signature_key) as merged_into
    from previous
    join current_ids using (signature_key)
    where previous.customer_id not in (select customer_id from current_ids)
    group by previous.customer_id
)

select customer_id, merged_into from identity.retired_ids
union all
select retired_id, merged_into from moved
