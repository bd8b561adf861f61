-- Deterministic links between the signatures of identity.rule_signatures (all, or those whose
-- cluster must be found again), as star edges to the smallest signature of each group (enough for
-- connected components):
--   id_number:   the same valid resident ID or company credit code, or the same other ID
--                (passport, foreign ID) with the same name
--   customer_no: the same dealer's customer number
--   mobile_name: the same mobile with a name that sounds the same (name_key: 张伟 = 张玮 =
--                Wei Zhang); family members share a mobile, not a name
-- A VIN is never a key: it says who owned a car at a date, and cars change owners.
with signatures as (
    select * from identity.rule_signatures
),

by_id as (
    select
        signature_key,
        min(signature_key) over (partition by id_number, case when id_type = 'other' then name_key end) as anchor,
        'id_number' as rule
    from signatures
    where id_number is not null and (id_valid or (id_type = 'other' and name_key is not null))
),

by_customer_no as (
    select signature_key, min(signature_key) over (partition by dealer_code, customer_no) as anchor,
           'customer_no' as rule
    from signatures
    where customer_no is not null
),

by_mobile_name as (
    select signature_key, min(signature_key) over (partition by mobile, name_key) as anchor,
           'mobile_name' as rule
    from signatures
    where mobile is not null and name_key is not null
),

edges as (
    select * from by_id
    union all
    select * from by_customer_no
    union all
    select * from by_mobile_name
)

select anchor as signature_key_l, signature_key as signature_key_r, rule
from edges
where anchor <> signature_key
