-- One row of counts over analytics.lifecycle and the features it reads: customers listed twice,
-- stages outside the four, last or first visits after as-of. All must be 0.
with stages as (
    select * from analytics.lifecycle join analytics.features using (customer_id)
)

select
    count(*) as rows,
    count(*) - count(distinct customer_id) as duplicate_keys,
    count(*) filter (where lifecycle_stage not in ('new', 'stable', 'churning', 'lost') or lifecycle_stage is null)
        as unknown_lifecycle_stages,
    count(*) filter (where last_seen > (select as_of from analytics.as_of) or first_seen > last_seen)
        as dates_out_of_range
from stages
