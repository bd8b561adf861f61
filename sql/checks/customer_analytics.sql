-- One row of counts over the per-customer analytics the marts publish: rows breaking a rule
-- (must be 0), and the realised shares of the A tier, judged only with $min_customers customers or
-- more (with a handful, one customer may rightly hold all the value).
with customers as (
    select *
    from analytics.features
    join analytics.lifecycle using (customer_id)
    join analytics.abc_tiers using (customer_id)
    join analytics.clv using (customer_id)
    join analytics.rfm using (customer_id)
)

select
    count(*) as rows,
    count(*) - count(distinct customer_id) as duplicate_keys,
    count(*) filter (where customer_id is null) as null_keys,
    count(*) filter (where last_seen > (select as_of from analytics.as_of) or first_seen > last_seen)
        as dates_out_of_range,
    count(*) filter (where value_window < 0 or spend_window < 0 or clv_12m < 0) as negative_amounts,
    count(*) filter (where lifecycle_stage not in ('new', 'stable', 'churning', 'lost') or lifecycle_stage is null)
        as unknown_lifecycle_stages,
    count(*) filter (where abc_tier not in ('A', 'B', 'C') or abc_tier is null) as unknown_abc_tiers,
    count(*) filter (where r_score not between 1 and 5 or f_score not between 1 and 5 or m_score not between 1 and 5)
        as scores_out_of_range,
    count(*) filter (where p_alive not between 0 and 1) as probabilities_out_of_range,
    case when count(*) >= $min_customers
        then sum(value_window) filter (where abc_tier = 'A') / nullif(sum(value_window), 0) end as a_value_share,
    case when count(*) >= $min_customers then avg((abc_tier = 'A')::integer) end as a_customer_share
from customers
