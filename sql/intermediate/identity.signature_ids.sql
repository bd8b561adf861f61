-- One row per signature with its customer_id, stable across runs into the same output:
--   * a cluster whose signatures had ids before keeps one of them;
--   * on a merge the oldest (smallest) id survives, the others retire into it;
--   * on a split the id stays with the part holding most of the signatures that had it
--     (ties: the part with the smallest signature key); the other parts get new ids;
--   * new clusters get new ids numbered after every id ever issued, in signature-key order,
--     so the same input gives the same ids on a fresh output.
with rule_clusters as (
    select * from identity.rule_clusters
),

profile_clusters as (
    select profiles.rule_cluster, profile_clusters.cluster
    from identity.profile_clusters as profile_clusters
    join identity.profiles as profiles using (profile_id)
),

previous as (
    select * from identity.previous_signature_ids
),

issued as (
    select customer_id from identity.previous_signature_ids
    union all
    select customer_id from identity.retired_ids
),

clusters as (
    select rule_clusters.signature_key, profile_clusters.cluster
    from rule_clusters
    join profile_clusters on profile_clusters.rule_cluster = rule_clusters.cluster
),

held as (
    select clusters.cluster, previous.customer_id, count(*) as n, min(clusters.signature_key) as min_key
    from clusters
    join previous using (signature_key)
    group by clusters.cluster, previous.customer_id
),

kept as (
    select customer_id, first(cluster order by n desc, min_key) as cluster
    from held
    group by customer_id
),

survivors as (
    select cluster, min(customer_id) as customer_id from kept group by cluster
),

new_clusters as (
    select cluster, min(signature_key) as min_key
    from clusters
    where cluster not in (select cluster from survivors)
    group by cluster
),

numbered as (
    select
        cluster,
        printf('C%09d', (select coalesce(max(cast(substr(customer_id, 2) as bigint)), 0) from issued)
            + row_number() over (order by min_key)) as customer_id
    from new_clusters
),

final as (
    select clusters.signature_key, clusters.cluster, coalesce(survivors.customer_id, numbered.customer_id) as customer_id
    from clusters
    left join survivors using (cluster)
    left join numbered using (cluster)
)

select * from final
