-- One row per customer known at a cut-off date (first visit or purchase on or before it): what
-- RFM, ABC, lifecycle, CLV and churn read, from records up to the cut-off only, and what the
-- customer did in the horizon after it (the labels of the backtests; zero when the cut-off is
-- as-of itself). Filters use the parameters directly, so DuckDB folds them into the scans.
with params as (
    select $cutoff::date as cutoff
),

past_visits as not materialized (
    select * from analytics.visits where visit_date <= $cutoff::date
),

next_visits as (
    select customer_id, count(*) as visits_next, sum(spend) as spend_next
    from analytics.visits
    where visit_date > $cutoff::date and visit_date <= ($cutoff::date + to_months($horizon_months))::date
    group by customer_id
),

past_purchases as not materialized (
    select * from analytics.purchases where sale_date <= $cutoff::date
),

purchase_stats as (
    select
        customer_id,
        count(*) as n_purchases,
        min(sale_date) as first_purchase,
        max(sale_date) as last_purchase,
        coalesce(sum(value) filter (where sale_date > ($cutoff::date - to_months($window_months))::date), 0)
            as purchase_value_window
    from past_purchases
    group by customer_id
),

visit_stats as (
    select
        customer_id,
        count(*) as n_visits,
        min(visit_date) as first_visit,
        max(visit_date) as last_visit,
        arg_min(spend, visit_date) as first_visit_spend,
        sum(spend) as spend,
        count(*) filter (where visit_date > ($cutoff::date - to_months($window_months))::date) as visits_window,
        coalesce(sum(spend) filter (where visit_date > ($cutoff::date - to_months($window_months))::date), 0)
            as spend_window,
        avg(maintenance::integer) as maintenance_share,
        max(visit_date, 2) as last_two_visits
    from past_visits
    group by customer_id
),

-- a customer is born at the first visit or purchase; the visits after that day are the repeats
births as (
    select
        customer_id,
        least(visit_stats.first_visit, purchase_stats.first_purchase) as first_seen,
        greatest(visit_stats.last_visit, purchase_stats.last_purchase) as last_seen,
        coalesce(visit_stats.first_visit <= coalesce(purchase_stats.first_purchase, visit_stats.first_visit), false)
            as born_at_a_visit
    from visit_stats
    full join purchase_stats using (customer_id)
),

repeat_visits as (
    select
        customer_id,
        visit_stats.n_visits - births.born_at_a_visit::integer as frequency,
        visit_stats.last_visit - births.first_seen as repeat_span_days,
        (visit_stats.spend - case when births.born_at_a_visit then visit_stats.first_visit_spend else 0 end)
            / nullif(visit_stats.n_visits - births.born_at_a_visit::integer, 0) as monetary_value,
        (visit_stats.last_visit - visit_stats.first_visit) / nullif(visit_stats.n_visits - 1, 0) as mean_gap_days,
        visit_stats.last_two_visits[1] - visit_stats.last_two_visits[2] as last_gap_days
    from visit_stats
    join births using (customer_id)
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
    from analytics.customer_vehicles
    where first_date <= $cutoff::date
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
        coalesce(visit_stats.spend_window, 0)::double as spend_window,
        (coalesce(visit_stats.spend_window, 0) + coalesce(purchase_stats.purchase_value_window, 0))::double
            as value_window,
        coalesce(purchase_stats.n_purchases, 0) as n_purchases,
        repeat_visits.mean_gap_days,
        repeat_visits.last_gap_days,
        visit_stats.maintenance_share,
        coalesce(vehicles.n_vehicles, 0) as n_vehicles,
        params.cutoff - vehicles.newest_vehicle_first_seen as vehicle_age_days,
        coalesce(repeat_visits.frequency, 0) as frequency,
        (case when repeat_visits.frequency > 0 then repeat_visits.repeat_span_days else 0 end / 7)::double
            as recency,
        ((params.cutoff - births.first_seen) / 7)::double as "T",
        round(coalesce(repeat_visits.monetary_value, 0), 2)::double as monetary_value,
        coalesce(next_visits.visits_next, 0) as visits_next,
        coalesce(next_visits.spend_next, 0)::double as spend_next
    from births
    cross join params
    join home_dealers using (customer_id)
    left join visit_stats using (customer_id)
    left join purchase_stats using (customer_id)
    left join repeat_visits using (customer_id)
    left join vehicles using (customer_id)
    left join next_visits using (customer_id)
)

select * from final
