-- One row per month of the 12 to as-of and region (and 'ALL' for the network): active customers
-- (a visit or a purchase in the 12 calendar months to that month) and 12-month retention (of the
-- customers serviced in the 12 months before those, the share serviced again in them). Calendar
-- months: a trend of the scorecard's figures, which count days. Customers count in the region of
-- their home dealer (dealers.csv; 'unknown' without it).
with as_of as (
    select year(as_of) * 12 + month(as_of) - 1 as last_month from analytics.as_of
),

homes as (
    select features.customer_id, coalesce(dealers.region, 'unknown') as region
    from analytics.features as features
    left join ingest.dealers as dealers on dealers.dealer_code = features.home_dealer_code
),

events as (
    select customer_id, year(visit_date) * 12 + month(visit_date) - 1 as month_index, true as service
    from analytics.visits
    union all
    select customer_id, year(sale_date) * 12 + month(sale_date) - 1, false
    from analytics.purchases
),

-- each customer's months with an event (service_months: with a visit) in the 36 to as-of, as bits:
-- bit d is the month d months before as-of's
customer_months as (
    select
        events.customer_id,
        bit_or(1::bigint << (as_of.last_month - events.month_index)) as months,
        bit_or(1::bigint << (as_of.last_month - events.month_index)) filter (where events.service)
            as service_months
    from events, as_of
    where events.month_index > as_of.last_month - 36 and events.month_index <= as_of.last_month
    group by events.customer_id
),

-- month k months before as-of's: its 12 months are bits k to k + 11, the 12 before them k + 12 to k + 23
months as (
    select as_of.last_month - k as month_index, 4095::bigint << k as these_12, 4095::bigint << (k + 12) as prior_12
    from as_of, range(12) as t(k)
),

judged as (
    select
        months.month_index,
        homes.region,
        cm.months & months.these_12 <> 0 as active,
        cm.service_months & months.prior_12 <> 0 as in_base,
        cm.service_months & months.these_12 <> 0 as serviced
    from customer_months as cm
    join homes using (customer_id)
    cross join months
)

select
    make_date((month_index // 12)::integer, (month_index % 12 + 1)::integer, 1) as month,
    coalesce(region, 'ALL') as region,
    count(*) filter (where active) as active_customers,
    round(count(*) filter (where in_base and serviced) / nullif(count(*) filter (where in_base), 0), 4) as retention_12m
from judged
group by grouping sets ((month_index, region), (month_index))
order by region, month
