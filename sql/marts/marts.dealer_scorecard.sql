-- One row per dealer and one for the whole network (dealer_code 'ALL'): how well each dealer
-- keeps its customers, for head office. Customers count at their home dealer, so the dealers add
-- up to the network. No name, mobile or ID number.
--   active_12m            home customers with a visit or purchase in the last 12 months
--   retention_12m         of the customers serviced here 13 to 24 months before as-of, the share
--                         serviced again (anywhere in the network) in the 13 months since
--   service_revisit_rate  the same customers, serviced again at this dealer
--   new_to_stable_rate    of the home customers who were new 12 months ago, the share stable now
--   a_tier_share          share of home customers in the network's A tier
--   leakage_rate          of the retention base, the share serviced again only at other dealers
--   service_due_conversion  of the vehicles whose maintenance fell due 3 to 6 months before as-of
--                         (as it stood then), the share serviced anywhere by 60 days after it
--   follow_up_completion  of the post-delivery calls whose window closed in the 12 months to
--                         as-of, the share done (null for a dealer without a contact log)
--   win_back_rate         of the lost customers the dealer called to win back in the 12 months up
--                         to $won_back_within_days days before as-of, the share who came back to it
--                         within that many days of the call (null without such calls)
--   follow_ups_open, service_due_now, win_back_list: the work lists' sizes (calls due or overdue
--                         today, vehicles due within 30 days or overdue, lost customers listed)
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

follow_up_completion as (
    select coalesce(follow_ups.dealer_code, 'ALL') as dealer_code,
           count(*) filter (where follow_ups.status = 'done') / count(*) as follow_up_completion
    from act.follow_ups as follow_ups, as_of
    where follow_ups.status in ('done', 'missed')
      and follow_ups.window_end > (as_of.as_of - to_months(12))::date
      and follow_ups.window_end < as_of.as_of
      and follow_ups.dealer_code in (select dealer_code from clean.contacts)
    group by grouping sets ((follow_ups.dealer_code), ())
),

service_due_conversion as (
    select coalesce(dealer_code, 'ALL') as dealer_code, avg(converted::integer) as service_due_conversion
    from act.service_due_conversion
    group by grouping sets ((dealer_code), ())
),

win_back_calls as (
    select contacts.dealer_code, contacts.customer_id, min(contacts.contact_date) as called_on
    from identity.contacts as contacts, as_of
    where contacts.purpose = 'win_back' and contacts.customer_id is not null
      and contacts.contact_date > (as_of.as_of - to_months(12))::date - $won_back_within_days
      and contacts.contact_date <= as_of.as_of - $won_back_within_days
    group by all
),

came_back as (
    select distinct calls.dealer_code, calls.customer_id
    from win_back_calls as calls
    join (select customer_id, dealer_code, visit_date as event_date from analytics.visits
          union all
          select customer_id, dealer_code, sale_date from analytics.purchases) as events
        using (customer_id, dealer_code)
    where events.event_date > calls.called_on and events.event_date <= calls.called_on + $won_back_within_days
),

win_back_rate as (
    select coalesce(calls.dealer_code, 'ALL') as dealer_code,
           count(came_back.customer_id) / count(*) as win_back_rate
    from win_back_calls as calls
    left join came_back using (dealer_code, customer_id)
    group by grouping sets ((calls.dealer_code), ())
),

work_lists as (
    select coalesce(dealer_code, 'ALL') as dealer_code, sum(follow_ups_open)::bigint as follow_ups_open,
           sum(service_due_now)::bigint as service_due_now, sum(win_back_list)::bigint as win_back_list
    from (
        select dealer_code, count(*) as follow_ups_open, 0 as service_due_now, 0 as win_back_list
        from act.follow_ups where status in ('due', 'overdue') group by dealer_code
        union all
        select dealer_code, 0, count(*), 0 from act.service_due where status <> 'not_due' group by dealer_code
        union all
        select dealer_code, 0, 0, count(*) from act.win_back group by dealer_code
    )
    group by grouping sets ((dealer_code), ())
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
        dealers.province,
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
        -- the network's: over every dealer's base, as a customer can leak from one dealer to another
        case when by_dealer.dealer_code = 'ALL'
             then (select sum(retained_network - retained_here) / nullif(sum(retention_base), 0) from retention)
             else (retention.retained_network - retention.retained_here) / nullif(retention.retention_base, 0)
        end as leakage_rate,
        service_due_conversion.service_due_conversion,
        follow_up_completion.follow_up_completion,
        win_back_rate.win_back_rate,
        coalesce(work_lists.follow_ups_open, 0) as follow_ups_open,
        coalesce(work_lists.service_due_now, 0) as service_due_now,
        coalesce(work_lists.win_back_list, 0) as win_back_list,
        by_dealer.active_12m / by_dealer.customers as active_share,
        by_dealer.churning / by_dealer.customers as churning_share,
        by_dealer.lost / by_dealer.customers as lost_share
    from by_dealer
    left join (select * from retention union all select * from network_retention) as retention using (dealer_code)
    left join ingest.dealers as dealers using (dealer_code)
    left join service_due_conversion using (dealer_code)
    left join follow_up_completion using (dealer_code)
    left join win_back_rate using (dealer_code)
    left join work_lists using (dealer_code)
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
        rank() over (order by leakage_rate asc nulls last) as leakage_rate_rank,
        rank() over (order by service_due_conversion desc nulls last) as service_due_conversion_rank,
        rank() over (order by follow_up_completion desc nulls last) as follow_up_completion_rank,
        rank() over (order by win_back_rate desc nulls last) as win_back_rate_rank,
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
        percent_rank() over (order by lost_share desc) as lost_share_percentile,
        percent_rank() over (order by leakage_rate desc nulls first) as leakage_rate_percentile,
        percent_rank() over (order by service_due_conversion nulls first) as service_due_conversion_percentile,
        percent_rank() over (order by follow_up_completion nulls first) as follow_up_completion_percentile,
        percent_rank() over (order by win_back_rate nulls first) as win_back_rate_percentile
    from dealers_only
)

select * from ranked
union all by name
select * from kpis where dealer_code = 'ALL'
