-- The customers whose golden record is built again: a signature of theirs came, went or changed
-- customer since identity.customers was last built (identity.customer_inputs holds each
-- signature's customer then), or is of one of $dealers, whose kept rows changed since then.
-- Both the customer a signature left and the one it joined are built again.
with now as (
    select signature_key, customer_id from identity.signature_ids
),

built as (
    select signature_key, customer_id from identity.customer_inputs
),

moved as (
    select now.customer_id as joined, built.customer_id as left_
    from now
    full join built using (signature_key)
    where now.customer_id is distinct from built.customer_id
),

of_changed_dealers as (
    select ids.customer_id
    from identity.signatures as signatures
    join identity.signature_ids as ids using (signature_key)
    where list_contains($dealers, signatures.dealer_code)
)

select joined as customer_id from moved where joined is not null
union
select left_ from moved where left_ is not null
union
select customer_id from of_changed_dealers
