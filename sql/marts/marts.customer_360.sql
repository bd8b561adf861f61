-- One row per customer known at as-of (a visit or purchase on or before it): activity, RFM, ABC
-- tier, lifecycle stage, CLV and churn risk. For head office and analysts: no name, mobile or
-- ID number. monetary_total is the RFM monetary value (after-sales spend in the value window);
-- value_window adds what the customer's vehicle purchases earned the dealer (the ABC value).
with features as (
    select * from analytics.features
),

last_visits as (
    select customer_id, max(visit_date) as last_service_date from analytics.visits group by customer_id
),

last_purchases as (
    select customer_id, max(sale_date) as last_purchase_date from analytics.purchases group by customer_id
),

final as (
    select
        features.customer_id,
        features.home_dealer_code,
        features.n_dealers,
        features.first_seen,
        features.last_seen,
        last_visits.last_service_date,
        last_purchases.last_purchase_date,
        features.n_vehicles,
        features.n_purchases as n_sales,
        features.n_visits as n_service_visits,
        features.spend_window as monetary_total,
        features.value_window,
        features.recency_days,
        features.visits_window as frequency,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        rfm.rfm_segment,
        rfm.rfm_segment_dealer,
        abc.abc_tier,
        lifecycle.lifecycle_stage,
        lifecycle.expected_interval_days,
        lifecycle.overdue_ratio,
        clv.p_alive,
        clv.expected_visits_12m,
        clv.clv_12m,
        churn.churn_risk,
        as_of.as_of
    from features
    cross join analytics.as_of as as_of
    join analytics.rfm as rfm using (customer_id)
    join analytics.abc_tiers as abc using (customer_id)
    join analytics.lifecycle as lifecycle using (customer_id)
    join analytics.clv as clv using (customer_id)
    join analytics.churn_risk as churn using (customer_id)
    left join last_visits using (customer_id)
    left join last_purchases using (customer_id)
)

select * from final order by customer_id
