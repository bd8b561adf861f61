-- One row over analytics.abc_tiers: customers listed twice, tiers outside A/B/C (must be 0), and the
-- realised value share of the A tier with and without its last (smallest) customer: the one who
-- crosses the line is A, so the share without them is below the line. Judged only with
-- $min_customers customers or more (with a handful, one customer may rightly hold all the value).
select
    count(*) as rows,
    count(*) - count(distinct customer_id) as duplicate_keys,
    count(*) filter (where abc_tier not in ('A', 'B', 'C') or abc_tier is null) as unknown_abc_tiers,
    count(*) filter (where value < 0) as negative_amounts,
    case when count(*) >= $min_customers
        then sum(value) filter (where abc_tier = 'A') / nullif(sum(value), 0) end as a_value_share,
    case when count(*) >= $min_customers
        then (sum(value) filter (where abc_tier = 'A') - min(value) filter (where abc_tier = 'A'))
            / nullif(sum(value), 0) end as a_value_share_before_last
from analytics.abc_tiers
