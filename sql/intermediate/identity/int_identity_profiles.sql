-- One row per group of signatures the deterministic rules linked (a profile): the values the
-- profile model compares, each the one carried by most records (ties: the larger value, so every
-- run picks the same). profile_id numbers the groups
-- in the order of their smallest signature (small integer ids keep Splink fast).
with signatures as (
    select * from identity.signatures
),

rule_clusters as (
    select * from identity.rule_clusters
),

members as (
    select signatures.*, rule_clusters.cluster as rule_cluster
    from signatures
    join rule_clusters using (signature_key)
)

select
    cast(dense_rank() over (order by rule_cluster) as bigint) as profile_id,
    rule_cluster,
    arg_max(name_norm, (n_records, name_norm)) filter (where name_norm is not null) as name_norm,
    arg_max(name_key, (n_records, name_key)) filter (where name_key is not null) as name_key,
    arg_max(mobile, (n_records, mobile)) filter (where mobile is not null) as mobile,
    arg_max(id_number, (id_valid, n_records, id_number)) filter (where id_number is not null) as id_number,
    bool_or(id_valid) filter (where id_number is not null) as id_valid,
    arg_max(birth_date, (n_records, birth_date)) filter (where birth_date is not null) as birth_date,
    arg_max(address_norm, (n_records, address_norm)) filter (where address_norm is not null) as address_norm,
    arg_max(email, (n_records, email)) filter (where email is not null) as email,
    arg_max(dealer_code, (n_records, dealer_code)) as dealer_code,
    sum(n_records) as n_records
from members
group by rule_cluster
