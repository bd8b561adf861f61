-- One row per signature: a small integer id (Splink is faster on them) and the profile (group
-- of signatures the rules linked) it belongs to. The model scores only pairs of signatures in
-- different profiles: those in one are linked already.
with rule_clusters as (
    select * from identity.rule_clusters
),

profiles as (
    select * from identity.profiles
)

select
    rule_clusters.signature_key,
    row_number() over (order by rule_clusters.signature_key) as signature_id,
    profiles.profile_id
from rule_clusters
join profiles on profiles.rule_cluster = rule_clusters.cluster
