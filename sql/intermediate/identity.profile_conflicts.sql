-- Profile pairs that must never end in one customer: a must-not-link signature pair between them,
-- or two different valid IDs (resident ID or credit code) between them.
with pairs as (
    select * from identity.signature_pairs
),

clusters as (
    select * from identity.profile_clusters_linked
),

profiles as (
    select * from identity.profiles
),

with_ids as (
    -- only clusters holding two or more valid IDs can hold such a pair
    select clusters.cluster, profiles.profile_id, profiles.valid_ids
    from clusters
    join profiles using (profile_id)
    where len(profiles.valid_ids) > 0
      and clusters.cluster in (
          select clusters.cluster from clusters join profiles using (profile_id)
          group by clusters.cluster having count(distinct profiles.valid_ids) > 1)
),

must_not_link as (
    select least(profile_id_l, profile_id_r) as profile_id_l, greatest(profile_id_l, profile_id_r) as profile_id_r
    from pairs
    where must_not_link is not null
),

different_ids as (
    select l.profile_id as profile_id_l, r.profile_id as profile_id_r
    from with_ids as l
    join with_ids as r on l.cluster = r.cluster and l.profile_id < r.profile_id
    where not list_has_any(l.valid_ids, r.valid_ids)
)

select distinct conflicts.profile_id_l, conflicts.profile_id_r, l.cluster
from (select * from must_not_link union all select * from different_ids) as conflicts
join clusters as l on l.profile_id = conflicts.profile_id_l
join clusters as r on r.profile_id = conflicts.profile_id_r
where l.cluster = r.cluster
