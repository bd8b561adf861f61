-- Pairs of customers who share a mobile or an address, as star edges to the smallest customer of
-- each group: the links of a household, whose members stay separate customers. A mobile or an
-- address shared by more than $max_household_size customers is a company's, a dealer's or a
-- building's, not a household's, and links nobody.
with contacts as (
    select distinct signature_ids.customer_id, records.mobile, records.address_norm
    from identity.records as records
    join identity.signature_ids as signature_ids using (signature_key)
),

by_mobile as (
    select customer_id, min(customer_id) over (partition by mobile) as anchor, 'mobile' as shared,
           count(*) over (partition by mobile) as sharing
    from contacts
    where mobile is not null
),

by_address as (
    select customer_id, min(customer_id) over (partition by address_norm) as anchor, 'address' as shared,
           count(*) over (partition by address_norm) as sharing
    from contacts
    where address_norm is not null
),

edges as (
    select * from by_mobile
    union all
    select * from by_address
)

select distinct anchor as customer_id_l, customer_id as customer_id_r, shared
from edges
where anchor <> customer_id and sharing <= $max_household_size
