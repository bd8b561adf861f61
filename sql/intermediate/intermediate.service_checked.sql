-- One row per line of the loaded service files: typed values, and the reason it cannot be used
-- (null if it can). Dates, VINs, ID numbers and mobiles repeat across rows, so each distinct
-- spelling is parsed once. Repeated ro_numbers are settled afterwards by int_service_duplicates.
with service_rows as materialized (
    select * from stg_service_rows($paths)
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
        file_id,
        case
            when max(date_first_part(open_date)) > 12 then true
            when max(date_second_part(open_date)) > 12 then false
        end as day_first
    from service_rows
    where open_date like '%/%' or open_date like '%-%' or open_date like '%.%'
    group by file_id
),

file_date_order as (
    select
        files.file_id,
        coalesce(
            date_evidence.day_first,
            bool_or(date_evidence.day_first) over (partition by files.dealer_code),
            false
        ) as day_first
    from files
    left join date_evidence using (file_id)
),

date_spellings as (
    select distinct service_rows.file_id, spelled.text
    from service_rows
    cross join unnest([service_rows.open_date, service_rows.close_date]) as spelled(text)
    where spelled.text is not null
),

dates as (
    -- keyed by file, because whether 05/01 is the 5th of January depends on the file
    select date_spellings.file_id, date_spellings.text, parse_dms_date(date_spellings.text, file_date_order.day_first) as parsed
    from date_spellings
    join file_date_order using (file_id)
),

vins as (
    select text, vin, vin_is_valid(vin) as vin_valid
    from (
        select distinct vin as text, upper(regexp_replace(vin, '[\s-]', '', 'g')) as vin
        from service_rows where vin is not null
    )
),

ids as (
    select text, id_number, id_type(id_number) as id_type, id_is_valid(id_number) as id_valid,
           id_birth_date(id_number) as id_birth_date, id_gender(id_number) as id_gender
    from (select distinct id_number as text, normalize_id(id_number) as id_number from service_rows)
    where text is not null
),

mobiles as (
    select text, normalize_mobile(text) as mobile
    from (select distinct mobile as text from service_rows where mobile is not null)
),

repeated_ids as (
    select file_dealer_code, ro_number
    from service_rows
    where ro_number is not null
    group by file_dealer_code, ro_number
    having count(*) > 1
),

typed as (
    select
        service_rows.file_dealer_code as dealer_code,
        service_rows.file_id,
        service_rows.source_row,
        service_rows.ro_number,
        opened.parsed as open_date,
        closed.parsed as close_date,
        parse_amount(service_rows.total_amount) as total_amount,
        parse_amount(service_rows.labor_amount) as labor_amount,
        parse_amount(service_rows.parts_amount) as parts_amount,
        try_cast(parse_amount(service_rows.mileage_km) as integer) as mileage_km,
        code_of(codes.service_type, service_rows.service_type) as service_type,
        code_of(codes.pay_type, service_rows.pay_type) as pay_type,
        service_rows.advisor,
        vins.vin,
        vins.vin_valid,
        upper(replace(service_rows.plate, ' ', '')) as plate,
        service_rows.customer_no,
        coalesce(service_rows.customer_name, assembled_name(service_rows.first_name, service_rows.last_name))
            as customer_name,
        service_rows.first_name as given_name,
        service_rows.last_name as family_name,
        coalesce(
            codes.customer_type[lower(service_rows.customer_type)],
            case when ids.id_type = 'company' then 'company' end,
            codes.customer_type['']
        ) as customer_type,
        mobiles.mobile,
        service_rows.phone,
        ids.id_number,
        ids.id_type,
        ids.id_valid,
        ids.id_birth_date,
        ids.id_gender,
        service_rows.address,
        code_of(codes.marketing_consent, service_rows.marketing_consent) as marketing_consent,
        -- what the checks below need and then drop
        service_rows.raw,
        service_rows.n_fields,
        service_rows.n_header_fields,
        service_rows.file_error,
        service_rows.dealer_code as row_dealer_code,
        service_rows.open_date as open_date_text,
        service_rows.total_amount as total_amount_text,
        repeated_ids.ro_number is not null as id_repeats
    from service_rows
    cross join codes
    left join dates as opened on opened.file_id = service_rows.file_id and opened.text = service_rows.open_date
    left join dates as closed on closed.file_id = service_rows.file_id and closed.text = service_rows.close_date
    left join vins on vins.text = service_rows.vin
    left join ids on ids.text = service_rows.id_number
    left join mobiles on mobiles.text = service_rows.mobile
    left join repeated_ids using (file_dealer_code, ro_number)
),

checked as (
    select
        *,
        case
            when file_error is not null then 'file_failed'
            when ltrim(raw) = '' then 'blank_line'
            when n_fields <> n_header_fields then 'wrong_field_count'
            when row_dealer_code is not null and upper(row_dealer_code) <> upper(dealer_code) then 'dealer_mismatch'
            when ro_number is null or open_date_text is null or total_amount_text is null or vin is null
                then 'missing_required'
            when open_date is null or year(open_date) not between 1980 and 2100 then 'bad_date'
            -- after the day of the run (and its tolerance): no DMS records what has not happened
            when open_date > $future_limit::date then 'future_date'
            when total_amount is null then 'bad_amount'
            when total_amount < 0 then 'negative_amount'
        end as reject_reason,
        normalized_name(customer_name) as name_norm,
        normalized_address(address) as address_norm
    from typed
),

final as (
    select
        * exclude (raw, n_fields, n_header_fields, file_error, row_dealer_code, open_date_text, total_amount_text,
                   id_repeats),
        case reject_reason
            when 'file_failed' then file_error
            when 'wrong_field_count' then format('{} fields, header has {}', n_fields, n_header_fields)
            when 'dealer_mismatch' then format('dealer_code {} in a file of {}', row_dealer_code, dealer_code)
            when 'missing_required' then concat_ws(', ',
                case when ro_number is null then 'ro_number' end,
                case when open_date_text is null then 'open_date' end,
                case when total_amount_text is null then 'total_amount' end,
                case when vin is null then 'vin' end)
            when 'bad_date' then open_date_text
            when 'future_date' then format('{} is after {}', open_date_text, $future_limit::date)
            when 'bad_amount' then total_amount_text
            when 'negative_amount' then total_amount_text
        end as reject_detail,
        -- the line as written is kept only where someone may have to read it: on rejected rows and
        -- on rows whose record id repeats (one of them becomes a duplicate_record reject)
        case when reject_reason is not null or id_repeats then raw end as raw,
        signature_key(dealer_code, customer_no, name_norm, mobile, id_number, address_norm,
                      list_value(given_name, family_name)::varchar) as signature_key
    from checked
)

select * from final
