-- One row per customer a dealer should act on now, on one of two lists:
--   new_not_yet_stable: new customers (fewer visits than a rhythm needs) not lost yet;
--   stable_starting_to_churn: customers who had a rhythm and are now overdue (churning).
-- Each list is ranked within the customer's home dealer by 12-month CLV, highest first.
with customers as (
    select
        features.customer_id,
        features.home_dealer_code,
        features.last_seen,
        features.recency_days,
        features.n_visits,
        lifecycle.lifecycle_stage,
        lifecycle.expected_interval_days,
        lifecycle.overdue_ratio,
        clv.clv_12m,
        churn.churn_risk
    from analytics.features as features
    join analytics.lifecycle as lifecycle using (customer_id)
    join analytics.clv as clv using (customer_id)
    join analytics.churn_risk as churn using (customer_id)
    where lifecycle.lifecycle_stage in ('new', 'churning')
),

listed as (
    select
        case lifecycle_stage when 'new' then 'new_not_yet_stable' else 'stable_starting_to_churn' end as action_list,
        *
    from customers
)

select
    action_list,
    home_dealer_code,
    row_number() over (partition by action_list, home_dealer_code order by clv_12m desc, customer_id) as priority,
    * exclude (action_list, home_dealer_code)
from listed
order by action_list, home_dealer_code, priority
