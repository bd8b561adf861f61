-- One row per customer linked to another by a shared mobile or address: the household it belongs
-- to (named after its smallest customer_id) and what it shares. Members are never merged.
with household_clusters as (
    select * from identity.household_clusters
),

edges as (
    select customer_id_l as customer_id, shared from identity.household_edges
    union all
    select customer_id_r as customer_id, shared from identity.household_edges
),

shared as (
    select customer_id, array_to_string(list_sort(list_distinct(list(shared))), '+') as shared_by
    from edges
    group by customer_id
)

select household_clusters.customer_id, household_clusters.cluster as household_id, shared.shared_by
from household_clusters
join shared using (customer_id)
order by household_id, customer_id
