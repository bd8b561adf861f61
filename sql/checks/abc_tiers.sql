-- One row over analytics.abc_tiers: customers listed twice, tiers outside A/B/C (must be 0), and the
-- realised shares of the A tier, judged only with $min_customers customers or more (with a handful,
-- one customer may rightly hold all the value).
select
    count(*) as rows,
    count(*) - count(distinct customer_id) as duplicate_keys,
    count(*) filter (where abc_tier not in ('A', 'B', 'C') or abc_tier is null) as unknown_abc_tiers,
    count(*) filter (where value < 0) as negative_amounts,
    case when count(*) >= $min_customers
        then sum(value) filter (where abc_tier = 'A') / nullif(sum(value), 0) end as a_value_share,
    case when count(*) >= $min_customers then avg((abc_tier = 'A')::integer) end as a_customer_share
from analytics.abc_tiers
