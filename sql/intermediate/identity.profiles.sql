-- One row per group of signatures the deterministic rules linked (a profile), numbered in the
-- order of its smallest signature, with the valid resident IDs and credit codes it holds (two
-- profiles with different ones are two people, whatever links them).
with signatures as (
    select * from identity.signatures
),

rule_clusters as (
    select * from identity.rule_clusters
)

select
    cast(dense_rank() over (order by rule_clusters.cluster) as bigint) as profile_id,
    rule_clusters.cluster as rule_cluster,
    list_sort(list_distinct(list(signatures.id_number) filter (
        where signatures.id_valid and signatures.id_type in ('resident', 'company')))) as valid_ids
from signatures
join rule_clusters using (signature_key)
group by rule_clusters.cluster
