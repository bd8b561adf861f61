-- One row per staged repair-order line: typed values, and the reason it cannot be used (null if it
-- can). Duplicates of a ro_number within a dealer keep the row of the file loaded last.
with service_rows as (
    select * from staging.service_rows
),

files as (
    select * from ingest.loaded_files where source = 'service'
),

codes as (
    select * from ingest.code_maps
),

date_evidence as (
    -- a first part above 12 can only be a day; a second part above 12 only a day of a m/d/y date
    select
        file_sha256,
        case
            when max(date_first_part(open_date)) > 12 then true
            when max(date_second_part(open_date)) > 12 then false
        end as day_first
    from service_rows
    group by file_sha256
),

file_date_order as (
    select
        files.file_sha256,
        coalesce(
            date_evidence.day_first,
            bool_or(date_evidence.day_first) over (partition by files.dealer_code),
            false
        ) as day_first
    from files
    left join date_evidence using (file_sha256)
),

typed as (
    select
        files.dealer_code,
        files.file_name,
        files.load_seq,
        files.n_header_fields,
        files.error as file_error,
        service_rows.file_sha256,
        service_rows.source_row,
        service_rows.raw,
        service_rows.n_fields,
        service_rows.dealer_code as row_dealer_code,
        service_rows.ro_number,
        service_rows.open_date as open_date_text,
        parse_dms_date(service_rows.open_date, file_date_order.day_first) as open_date,
        parse_dms_date(service_rows.close_date, file_date_order.day_first) as close_date,
        service_rows.total_amount as total_amount_text,
        parse_amount(service_rows.total_amount) as total_amount,
        parse_amount(service_rows.labor_amount) as labor_amount,
        parse_amount(service_rows.parts_amount) as parts_amount,
        try_cast(parse_amount(service_rows.mileage_km) as integer) as mileage_km,
        coalesce(codes.service_type[lower(service_rows.service_type)], codes.service_type['']) as service_type,
        coalesce(codes.pay_type[lower(service_rows.pay_type)], codes.pay_type['']) as pay_type,
        service_rows.advisor,
        upper(regexp_replace(service_rows.vin, '[\s-]', '', 'g')) as vin,
        service_rows.customer_no,
        coalesce(service_rows.customer_name, nullif(concat_ws(' ', service_rows.first_name, service_rows.last_name), ''))
            as customer_name,
        codes.customer_type[lower(service_rows.customer_type)] as customer_type_code,
        normalize_mobile(service_rows.mobile) as mobile,
        service_rows.mobile as mobile_raw,
        service_rows.phone,
        normalize_id(service_rows.id_number) as id_number,
        service_rows.address,
        upper(replace(service_rows.plate, ' ', '')) as plate,
        coalesce(codes.marketing_consent[lower(service_rows.marketing_consent)], codes.marketing_consent[''])
            as marketing_consent
    from service_rows
    join files using (file_sha256)
    join file_date_order using (file_sha256)
    cross join codes
),

checked as (
    select
        *,
        case
            when file_error is not null then 'file_failed'
            when trim(raw) = '' then 'blank_line'
            when n_fields <> n_header_fields then 'wrong_field_count'
            when row_dealer_code is not null and upper(row_dealer_code) <> upper(dealer_code) then 'dealer_mismatch'
            when ro_number is null or open_date_text is null or total_amount_text is null or vin is null
                then 'missing_required'
            when open_date is null or year(open_date) not between 1980 and 2100 then 'bad_date'
            when total_amount is null then 'bad_amount'
            when total_amount < 0 then 'negative_amount'
        end as row_reason,
        case
            when file_error is not null then file_error
            when n_fields <> n_header_fields then format('{} fields, header has {}', n_fields, n_header_fields)
            when row_dealer_code is not null and upper(row_dealer_code) <> upper(dealer_code)
                then format('dealer_code {} in a file of {}', row_dealer_code, dealer_code)
            when ro_number is null or open_date_text is null or total_amount_text is null or vin is null
                then concat_ws(', ',
                    case when ro_number is null then 'ro_number' end,
                    case when open_date_text is null then 'open_date' end,
                    case when total_amount_text is null then 'total_amount' end,
                    case when vin is null then 'vin' end)
            when open_date is null or year(open_date) not between 1980 and 2100 then open_date_text
            when total_amount is null or total_amount < 0 then total_amount_text
        end as row_detail
    from typed
),

ranked as (
    select
        *,
        case when row_reason is null then row_number() over (
            partition by dealer_code, ro_number, row_reason is null
            order by load_seq desc, source_row desc
        ) end as record_rank
    from checked
)

select
    * exclude (row_reason, row_detail, record_rank, customer_type_code),
    coalesce(
        customer_type_code,
        case when id_type(id_number) = 'company' then 'company' end,
        (select customer_type[''] from codes)
    ) as customer_type,
    vin_is_valid(vin) as vin_valid,
    id_type(id_number) as id_type,
    id_is_valid(id_number) as id_valid,
    id_birth_date(id_number) as id_birth_date,
    id_gender(id_number) as id_gender,
    coalesce(row_reason, case when record_rank > 1 then 'duplicate_record' end) as reject_reason,
    coalesce(row_detail, case when record_rank > 1 then format('ro_number {} loaded from a later row or file', ro_number) end)
        as reject_detail
from ranked
