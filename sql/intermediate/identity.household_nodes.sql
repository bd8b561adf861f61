-- One row per customer with at least one household edge: the nodes of the household graph.
select distinct customer_id
from (
    select customer_id_l as customer_id from identity.household_edges
    union
    select customer_id_r from identity.household_edges
)
