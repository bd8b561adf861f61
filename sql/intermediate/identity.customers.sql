-- One row per resolved customer: the golden record. Survivorship: the mobile of the latest
-- record that has one, the name carried by most records (ties: the latest), the ID number of the
-- latest record (a valid ID before an invalid one), the dealer with most records (ties: the
-- latest) as home dealer, first and last seen. Built for $every customer, or for those of
-- identity.customer_changes (whose records changed since the last run).
with records as (
    select records.*, signature_ids.customer_id
    from identity.records as records
    join identity.signature_ids as signature_ids using (signature_key)
    where $every or signature_ids.customer_id in (select customer_id from identity.customer_changes)
),

-- most records first, then the latest, then the value itself: the same choice on every run
names as (
    select customer_id, customer_name, count(*) as n, max(event_date) as latest
    from records
    where customer_name is not null
    group by customer_id, customer_name
),

best_names as (
    select customer_id, arg_max(customer_name, (n, latest, customer_name)) as customer_name
    from names
    group by customer_id
),

dealers as (
    select customer_id, dealer_code, count(*) as n, max(event_date) as latest
    from records
    group by customer_id, dealer_code
),

home_dealers as (
    select customer_id, arg_max(dealer_code, (n, latest, dealer_code)) as home_dealer_code,
           count(*) as n_dealers
    from dealers
    group by customer_id
),

vehicles as (
    select customer_id, count(*) as n_vehicles
    from (select distinct customer_id, vin from records where vin is not null)
    group by customer_id
),

golden as (
    select
        customer_id,
        arg_max(mobile, (event_date, mobile)) filter (where mobile is not null) as mobile,
        arg_max(id_number, (id_valid, event_date, id_number)) filter (where id_number is not null) as id_number,
        coalesce(bool_or(id_valid) filter (where id_number is not null), false) as id_valid,
        coalesce(bool_or(customer_type = 'company'), false) as is_company,
        max(coalesce(id_birth_date, birth_date)) as birth_date,
        arg_max(address, (event_date, address)) filter (where address is not null) as address,
        count(*) filter (where source = 'sales') as n_sales,
        count(*) filter (where source = 'service') as n_repair_orders,
        min(event_date) as first_seen,
        max(event_date) as last_seen
    from records
    group by customer_id
),

final as (
    select golden.customer_id, golden.mobile, best_names.customer_name, golden.id_number, golden.id_valid,
           golden.is_company, golden.birth_date, golden.address, home_dealers.n_dealers, golden.n_sales,
           golden.n_repair_orders, coalesce(vehicles.n_vehicles, 0) as n_vehicles, golden.first_seen,
           golden.last_seen, home_dealers.home_dealer_code
    from golden
    left join best_names using (customer_id)
    join home_dealers using (customer_id)
    left join vehicles using (customer_id)
)

select * from final
