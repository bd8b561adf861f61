-- One row per usable sales or service record: the identity evidence it carries, the signature
-- (every identifying field: dealer, customer number, names, mobile, ID number, address, birth
-- date, email, postcode) it shares with others, and the
-- amount, codes and marketing consent the analytics and marts need.
-- Records of one person at one dealer mostly repeat one signature, so identity resolution
-- works on signatures, not on records. A view: the normalized name and address and the signature
-- key are computed when the rows are parsed, per dealer.
with sales as (
    select * from clean.sales
),

service as (
    select * from clean.repair_orders
),

unioned as (
    select dealer_code, 'sales' as source, file_name, source_row, sale_id as record_id, sale_date as event_date,
           vin, customer_no, customer_name, given_name, family_name, customer_type, mobile, id_number, id_type, id_valid, id_birth_date,
           birth_date, address, email, postcode, marketing_consent,
           sale_amount as amount, gross_profit, new_or_used, null as service_type, null as pay_type,
           name_norm, address_norm, signature_key
    from sales
    union all
    select dealer_code, 'service' as source, file_name, source_row, ro_number as record_id, open_date as event_date,
           vin, customer_no, customer_name, given_name, family_name, customer_type, mobile, id_number, id_type, id_valid, id_birth_date,
           null::date as birth_date, address, null as email, null as postcode, marketing_consent,
           total_amount as amount, null as gross_profit, null as new_or_used, service_type, pay_type,
           name_norm, address_norm, signature_key
    from service
)

select * from unioned
