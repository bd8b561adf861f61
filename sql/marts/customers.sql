-- One row per resolved customer: the golden record. Survivorship: the mobile of the latest
-- record that has one, the name and the ID number carried by most records (a valid ID before an
-- invalid one), the dealer with most records as home dealer, first and last seen.
with records as (
    select records.*, signature_ids.customer_id
    from identity.records as records
    join identity.signature_ids as signature_ids using (signature_key)
),

final as (
    select
        customer_id,
        arg_max(mobile, event_date) filter (where mobile is not null) as mobile,
        mode(customer_name) filter (where customer_name is not null) as customer_name,
        arg_max(id_number, (id_valid, event_date)) filter (where id_number is not null) as id_number,
        coalesce(bool_or(id_valid) filter (where id_number is not null), false) as id_valid,
        coalesce(bool_or(customer_type = 'company'), false) as is_company,
        max(coalesce(id_birth_date, birth_date)) as birth_date,
        arg_max(address, event_date) filter (where address is not null) as address,
        mode(dealer_code) as home_dealer_code,
        count(distinct dealer_code) as n_dealers,
        count(*) filter (where source = 'sales') as n_sales,
        count(*) filter (where source = 'service') as n_repair_orders,
        count(distinct vin) as n_vehicles,
        min(event_date) as first_seen,
        max(event_date) as last_seen
    from records
    group by customer_id
)

select * from final order by customer_id
