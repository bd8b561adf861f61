-- One row per vehicle serviced at least once on or before $cutoff (as-of, or an earlier day for the
-- conversion KPI), with its owner at that day: when its next maintenance falls due.
--   readings     odometer readings of its repair orders, and 0 km on the day it was sold new
--   km_per_day   own rate (first to last reading), blended with its model's median rate (else the
--                network's, else $default_km_per_day) as if that median were $prior_strength
--                reading intervals
--   base         its last maintenance; with none on record, its new-car delivery (first-service
--                interval) or, sold elsewhere, its first repair order (regular interval)
--   next_due     the earlier of base + interval months (due_by 'time') and the day its odometer
--                reaches the base's reading + interval km at km_per_day (due_by 'mileage')
--   status       overdue (due before $cutoff), due_30d (within $due_soon_days after it), not_due
-- Intervals come from $intervals by the brand of the dealer (dealers.csv); a vehicle not serviced
-- for more than $left_after_intervals intervals is left to win-back and not listed.
with cutoff as (
    select $cutoff::date as cutoff
),

intervals as (
    select unnest($intervals, recursive := true)
),

-- the usable repair orders (clean.repair_orders without the file names it joins)
-- order_key orders a vehicle's repair orders by day, then by RO number (its hash: one number
-- compares faster than a (date, text) pair); reading_key orders readings by day, then odometer
orders as (
    select vin, dealer_code, open_date, mileage_km, service_type, advisor, plate,
           day_then(open_date, hash(ro_number) % 4294967296) as order_key,
           day_then(open_date, mileage_km) as reading_key
    from intermediate.service_checked
    where reject_reason is null and open_date <= $cutoff::date
),

new_sales as (
    select vin, min(sale_date) as delivered_on
    from intermediate.sales_checked
    where reject_reason is null and new_or_used = 'new' and sale_date <= $cutoff::date
    group by vin
),

models as (
    select vin, arg_max(series, sale_date) as series
    from intermediate.sales_checked
    where reject_reason is null and series is not null
    group by vin
),

-- one pass over the repair orders: history, maintenance and odometer readings per vehicle
vehicle_history as (
    select
        vin,
        max(open_date) as last_service_date,
        arg_max(dealer_code, order_key) as last_dealer_code,
        arg_max(advisor, order_key) as advisor,
        arg_max(plate, order_key) filter (where plate is not null) as plate,
        min(open_date) as first_service_date,
        arg_min(mileage_km, order_key) as first_service_km,
        max(open_date) filter (where service_type = 'maintenance') as last_maintenance_date,
        arg_max(mileage_km, order_key) filter (where service_type = 'maintenance')
            as last_maintenance_km,
        count(*) filter (where mileage_km > 0) as order_readings,
        min(open_date) filter (where mileage_km > 0) as first_order_reading_date,
        arg_min(mileage_km, reading_key) filter (where mileage_km > 0) as first_order_km,
        max(open_date) filter (where mileage_km > 0) as last_order_reading_date,
        arg_max(mileage_km, reading_key) filter (where mileage_km > 0) as last_order_km
    from orders
    group by vin
),

-- the delivery counts as a reading of 0 km: first unless a repair order came earlier, last only
-- when no repair order was read on or after its day
reading_spans as (
    select
        history.vin,
        history.order_readings + (new_sales.delivered_on is not null)::integer - 1 as n_intervals,
        case when new_sales.delivered_on <= history.first_order_reading_date or history.order_readings = 0
             then 0 else history.first_order_km end as first_km,
        case when new_sales.delivered_on <= history.first_order_reading_date or history.order_readings = 0
             then new_sales.delivered_on else history.first_order_reading_date end as first_date,
        case when history.order_readings = 0 or new_sales.delivered_on > history.last_order_reading_date
             then 0 else history.last_order_km end as last_km,
        case when history.order_readings = 0 or new_sales.delivered_on > history.last_order_reading_date
             then new_sales.delivered_on else history.last_order_reading_date end as last_date
    from vehicle_history as history
    left join new_sales using (vin)
    where history.order_readings > 0 or new_sales.delivered_on is not null
),

own_rates as (
    select
        *,
        case when last_date > first_date and last_km >= first_km
             then (last_km - first_km) / (last_date - first_date) end as own_km_per_day
    from reading_spans
),

owners as (
    select vin, arg_max(customer_id, owner_seq) as customer_id
    from identity.vehicles
    where owned_from <= (select cutoff from cutoff)
    group by vin
),

model_rates as (
    select models.series, median(own_rates.own_km_per_day) as km_per_day, count(*) as vehicles
    from own_rates
    join models using (vin)
    where own_rates.own_km_per_day is not null
    group by models.series
),

network_rate as (
    select coalesce(median(own_km_per_day), $default_km_per_day) as km_per_day from own_rates
),

vehicles as (
    select
        history.vin,
        owners.customer_id,
        history.last_dealer_code as dealer_code,
        history.advisor,
        history.plate,
        models.series,
        history.last_service_date,
        rates.last_km as last_mileage_km,
        rates.last_date as last_reading_date,
        rates.n_intervals,
        rates.own_km_per_day,
        case when model_rates.vehicles >= $min_model_vehicles then model_rates.km_per_day
             else network_rate.km_per_day end as prior_km_per_day,
        history.last_maintenance_date,
        history.last_maintenance_km,
        new_sales.delivered_on,
        history.first_service_date,
        history.first_service_km
    from vehicle_history as history
    left join owners using (vin)
    left join new_sales using (vin)
    left join models using (vin)
    left join own_rates as rates using (vin)
    left join model_rates on model_rates.series = models.series
    cross join network_rate
),

estimated as (
    select
        vehicles.*,
        (coalesce(n_intervals * own_km_per_day, 0) + $prior_strength * prior_km_per_day)
            / (case when own_km_per_day is null then 0 else n_intervals end + $prior_strength) as km_per_day,
        case
            when last_maintenance_date is not null then 'last_maintenance'
            when delivered_on is not null then 'delivery'
            else 'first_service'
        end as base,
        coalesce(last_maintenance_date, delivered_on, first_service_date) as base_date,
        case
            when last_maintenance_date is not null then last_maintenance_km
            when delivered_on is not null then 0
            else first_service_km
        end as base_km_recorded
    from vehicles
),

scheduled as (
    select
        estimated.*,
        dealers.brand,
        case when base = 'delivery' then coalesce(brand_interval.first_months, default_interval.first_months)
             else coalesce(brand_interval.months, default_interval.months) end as interval_months,
        case when base = 'delivery' then coalesce(brand_interval.first_km, default_interval.first_km)
             else coalesce(brand_interval.km, default_interval.km) end as interval_km,
        -- the odometer at the base: as recorded, else projected back from the last reading
        coalesce(base_km_recorded,
                 last_mileage_km - km_per_day * (last_reading_date - base_date),
                 0) as base_km
    from estimated
    left join ingest.dealers as dealers using (dealer_code)
    left join intervals as brand_interval on brand_interval.brand = dealers.brand
    left join (select * from intervals where brand is null) as default_interval on true
),

due as (
    select
        scheduled.*,
        (base_date + to_months(interval_months))::date as time_due_date,
        -- the day the odometer reaches base_km + interval_km, from the last reading at km_per_day
        greatest(base_date, (coalesce(last_reading_date, base_date)
            + cast(ceil((base_km + interval_km - coalesce(last_mileage_km, base_km)) / km_per_day) as integer)))::date
            as mileage_due_date
    from scheduled
),

final as (
    select
        due.vin,
        due.customer_id,
        due.dealer_code,
        due.advisor,
        due.series,
        due.plate,
        due.last_service_date,
        due.last_mileage_km,
        round(due.km_per_day, 2) as km_per_day,
        case when due.own_km_per_day is null then 'prior'
             else 'own_shrunk' end as km_per_day_source,
        due.last_maintenance_date,
        due.last_maintenance_km,
        due.base,
        due.interval_months,
        due.interval_km,
        due.time_due_date,
        due.mileage_due_date,
        least(due.time_due_date, due.mileage_due_date) as next_due_date,
        case when due.mileage_due_date < due.time_due_date then 'mileage' else 'time' end as due_by,
        case
            when least(due.time_due_date, due.mileage_due_date) < cutoff.cutoff then 'overdue'
            when least(due.time_due_date, due.mileage_due_date) <= cutoff.cutoff + $due_soon_days then 'due_30d'
            else 'not_due'
        end as status
    from due
    cross join cutoff
    where due.last_service_date >= (cutoff.cutoff - to_months(cast(round($left_after_intervals * due.interval_months) as integer)))::date
)

select * from final
