-- One row per dealer and one for the whole network (dealer_code 'ALL'): how well each dealer
-- keeps its customers, for head office. Customers count at their home dealer, so the dealers add
-- up to the network. No name, mobile or ID number.
--   active_12m            home customers with a visit or purchase in the last 12 months
--   retention_12m         of the customers serviced here 13 to 24 months before as-of, the share
--                         serviced again (anywhere in the network) in the 13 months since
--   service_revisit_rate  the same customers, serviced again at this dealer
--   new_to_stable_rate    of the home customers who were new 12 months ago, the share stable now
--   a_tier_share          share of home customers in the network's A tier
-- Every KPI also has a rank among dealers (1 = best: more customers, active, new and stable, fewer
-- churning and lost, higher rates) and a network percentile (1.0 = best, 0.0 = worst). Counts
-- grow with a dealer's size; the *_share columns compare dealers of any size.
with as_of as (
    select
        as_of,
        (as_of - to_months(24))::date as base_from,
        (as_of - to_months(13))::date as base_to
    from analytics.as_of
),

customers as (
    select
        features.customer_id,
        features.home_dealer_code as dealer_code,
        features.recency_days,
        lifecycle.lifecycle_stage,
        before.lifecycle_stage as stage_a_year_ago,
        abc.abc_tier,
        clv.clv_12m
    from analytics.features as features
    join analytics.lifecycle as lifecycle using (customer_id)
    join analytics.abc_tiers as abc using (customer_id)
    join analytics.clv as clv using (customer_id)
    left join analytics.lifecycle_calibration as before using (customer_id)
),

retention_base as (
    select distinct visits.dealer_code, visits.customer_id
    from analytics.visits as visits, as_of
    where visits.visit_date > as_of.base_from and visits.visit_date <= as_of.base_to
),

returned as (
    select distinct visits.dealer_code, visits.customer_id
    from analytics.visits as visits, as_of
    where visits.visit_date > as_of.base_to
),

retention as (
    select
        base.dealer_code,
        count(*) as retention_base,
        count(*) filter (where base.customer_id in (select customer_id from returned)) as retained_network,
        count(*) filter (where here.customer_id is not null) as retained_here
    from retention_base as base
    left join returned as here using (dealer_code, customer_id)
    group by base.dealer_code
),

network_retention as (
    select
        'ALL' as dealer_code,
        count(distinct customer_id) as retention_base,
        count(distinct customer_id) filter (where customer_id in (select customer_id from returned))
            as retained_network,
        count(distinct customer_id) filter (where customer_id in (select customer_id from returned))
            as retained_here
    from retention_base
),

by_dealer as (
    select
        coalesce(dealer_code, 'ALL') as dealer_code,
        count(*) as customers,
        count(*) filter (where recency_days <= 365) as active_12m,
        count(*) filter (where lifecycle_stage = 'new') as new,
        count(*) filter (where lifecycle_stage = 'stable') as stable,
        count(*) filter (where lifecycle_stage = 'churning') as churning,
        count(*) filter (where lifecycle_stage = 'lost') as lost,
        count(*) filter (where stage_a_year_ago = 'new' and lifecycle_stage = 'stable')
            / nullif(count(*) filter (where stage_a_year_ago = 'new'), 0) as new_to_stable_rate,
        avg((abc_tier = 'A')::integer) as a_tier_share,
        -- summed as decimals: a float sum's last digits depend on the order threads add in
        avg(round(clv_12m, 2)::decimal(18, 2))::double as avg_clv_12m
    from customers
    group by grouping sets ((dealer_code), ())
),

kpis as (
    select
        by_dealer.dealer_code,
        dealers.dealer_name,
        dealers.region,
        dealers.city,
        by_dealer.customers,
        by_dealer.active_12m,
        by_dealer.new,
        by_dealer.stable,
        by_dealer.churning,
        by_dealer.lost,
        retention.retained_network / nullif(retention.retention_base, 0) as retention_12m,
        retention.retained_here / nullif(retention.retention_base, 0) as service_revisit_rate,
        by_dealer.new_to_stable_rate,
        by_dealer.a_tier_share,
        by_dealer.avg_clv_12m,
        by_dealer.active_12m / by_dealer.customers as active_share,
        by_dealer.churning / by_dealer.customers as churning_share,
        by_dealer.lost / by_dealer.customers as lost_share
    from by_dealer
    left join (select * from retention union all select * from network_retention) as retention using (dealer_code)
    left join ingest.dealers as dealers using (dealer_code)
),

dealers_only as (
    select * from kpis where dealer_code <> 'ALL'
),

ranked as (
    select
        *,
        rank() over (order by customers desc) as customers_rank,
        rank() over (order by active_12m desc) as active_12m_rank,
        rank() over (order by active_share desc) as active_share_rank,
        rank() over (order by new desc) as new_rank,
        rank() over (order by stable desc) as stable_rank,
        rank() over (order by churning asc) as churning_rank,
        rank() over (order by lost asc) as lost_rank,
        rank() over (order by retention_12m desc nulls last) as retention_12m_rank,
        rank() over (order by service_revisit_rate desc nulls last) as service_revisit_rate_rank,
        rank() over (order by new_to_stable_rate desc nulls last) as new_to_stable_rate_rank,
        rank() over (order by a_tier_share desc) as a_tier_share_rank,
        rank() over (order by avg_clv_12m desc nulls last) as avg_clv_12m_rank,
        rank() over (order by churning_share asc) as churning_share_rank,
        rank() over (order by lost_share asc) as lost_share_rank,
        percent_rank() over (order by customers) as customers_percentile,
        percent_rank() over (order by active_12m) as active_12m_percentile,
        percent_rank() over (order by active_share) as active_share_percentile,
        percent_rank() over (order by new) as new_percentile,
        percent_rank() over (order by stable) as stable_percentile,
        percent_rank() over (order by churning desc) as churning_percentile,
        percent_rank() over (order by lost desc) as lost_percentile,
        percent_rank() over (order by retention_12m nulls first) as retention_12m_percentile,
        percent_rank() over (order by service_revisit_rate nulls first) as service_revisit_rate_percentile,
        percent_rank() over (order by new_to_stable_rate nulls first) as new_to_stable_rate_percentile,
        percent_rank() over (order by a_tier_share) as a_tier_share_percentile,
        percent_rank() over (order by avg_clv_12m nulls first) as avg_clv_12m_percentile,
        percent_rank() over (order by churning_share desc) as churning_share_percentile,
        percent_rank() over (order by lost_share desc) as lost_share_percentile
    from dealers_only
)

select * from ranked
union all by name
select * from kpis where dealer_code = 'ALL'
