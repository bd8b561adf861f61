-- One row per customer known at a cut-off date (first visit or purchase on or before it): what
-- RFM, ABC, lifecycle, CLV and churn read, from records up to the cut-off only, and what the
-- customer did in the horizon after it (the labels of the backtests; zero when the cut-off is
-- as-of itself).
with params as (
    select
        $cutoff::date as cutoff,
        ($cutoff::date - to_months($window_months))::date as window_start,
        ($cutoff::date + to_months($horizon_months))::date as horizon_end
),

past_visits as (
    select visits.*
    from analytics.visits as visits, params
    where visits.visit_date <= params.cutoff
),

next_visits as (
    select customer_id, count(*) as visits_next, sum(spend) as spend_next
    from analytics.visits as visits, params
    where visits.visit_date > params.cutoff and visits.visit_date <= params.horizon_end
    group by customer_id
),

past_purchases as (
    select purchases.*
    from analytics.purchases as purchases, params
    where purchases.sale_date <= params.cutoff
),

purchase_stats as (
    select
        customer_id,
        count(*) as n_purchases,
        min(sale_date) as first_purchase,
        max(sale_date) as last_purchase,
        coalesce(sum(value) filter (where sale_date > (select window_start from params)), 0) as purchase_value_window
    from past_purchases
    group by customer_id
),

visit_stats as (
    select
        customer_id,
        count(*) as n_visits,
        min(visit_date) as first_visit,
        max(visit_date) as last_visit,
        count(*) filter (where visit_date > (select window_start from params)) as visits_window,
        coalesce(sum(spend) filter (where visit_date > (select window_start from params)), 0) as spend_window,
        avg(maintenance::integer) as maintenance_share,
        avg(visit_date - previous_visit_date) as mean_gap_days,
        arg_max(visit_date - previous_visit_date, visit_date) as last_gap_days
    from past_visits
    group by customer_id
),

births as (
    select
        customer_id,
        least(visit_stats.first_visit, purchase_stats.first_purchase) as first_seen,
        greatest(visit_stats.last_visit, purchase_stats.last_purchase) as last_seen
    from visit_stats
    full join purchase_stats using (customer_id)
),

repeat_visits as (
    select
        past_visits.customer_id,
        count(*) as frequency,
        max(past_visits.visit_date) as last_repeat,
        avg(past_visits.spend) as monetary_value
    from past_visits
    join births using (customer_id)
    where past_visits.visit_date > births.first_seen
    group by past_visits.customer_id
),

dealer_events as (
    select customer_id, dealer_code, visit_date as event_date from past_visits
    union all
    select customer_id, dealer_code, sale_date from past_purchases
),

dealers as (
    select customer_id, dealer_code, count(*) as events, max(event_date) as last_event
    from dealer_events
    group by customer_id, dealer_code
),

home_dealers as (
    select
        customer_id,
        arg_max(dealer_code, (events, last_event, dealer_code)) as home_dealer_code,
        count(*) as n_dealers
    from dealers
    group by customer_id
),

vehicles as (
    select
        customer_id,
        count(*) as n_vehicles,
        max(vehicle_first_seen) as newest_vehicle_first_seen
    from analytics.customer_vehicles, params
    where first_date <= params.cutoff
    group by customer_id
),

final as (
    select
        births.customer_id,
        home_dealers.home_dealer_code,
        home_dealers.n_dealers,
        births.first_seen,
        births.last_seen,
        params.cutoff - births.last_seen as recency_days,
        params.cutoff - births.first_seen as tenure_days,
        coalesce(visit_stats.n_visits, 0) as n_visits,
        coalesce(visit_stats.visits_window, 0) as visits_window,
        coalesce(visit_stats.spend_window, 0) as spend_window,
        coalesce(visit_stats.spend_window, 0) + coalesce(purchase_stats.purchase_value_window, 0) as value_window,
        coalesce(purchase_stats.n_purchases, 0) as n_purchases,
        visit_stats.mean_gap_days,
        visit_stats.last_gap_days,
        visit_stats.maintenance_share,
        coalesce(vehicles.n_vehicles, 0) as n_vehicles,
        params.cutoff - vehicles.newest_vehicle_first_seen as vehicle_age_days,
        coalesce(repeat_visits.frequency, 0) as frequency,
        round(coalesce(repeat_visits.last_repeat - births.first_seen, 0) / 7) as recency,
        round((params.cutoff - births.first_seen) / 7) as "T",
        coalesce(repeat_visits.monetary_value, 0) as monetary_value,
        coalesce(next_visits.visits_next, 0) as visits_next,
        coalesce(next_visits.spend_next, 0) as spend_next
    from births
    cross join params
    join home_dealers using (customer_id)
    left join visit_stats using (customer_id)
    left join purchase_stats using (customer_id)
    left join repeat_visits using (customer_id)
    left join vehicles using (customer_id)
    left join next_visits using (customer_id)
)

select * from final order by customer_id
