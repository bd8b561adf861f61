-- One row per line of the loaded sales files: typed values, and the reason it cannot be used
-- (null if it can). Dates, VINs, ID numbers and mobiles repeat across rows, so each distinct
-- spelling is parsed once. Repeated sale_ids are settled afterwards by int_sales_duplicates.
with sales_rows as materialized (
    select * from stg_sales_rows($paths)
),

files as (
    select * from ingest.loaded_files where source = 'sales'
),

codes as (
    select * from ingest.code_maps
),

date_evidence as (
    -- a first part above 12 can only be a day; a second part above 12 only a day of a m/d/y date
    select
        file_id,
        case
            when max(date_first_part(sale_date)) > 12 then true
            when max(date_second_part(sale_date)) > 12 then false
        end as day_first
    from sales_rows
    where sale_date like '%/%' or sale_date like '%-%' or sale_date like '%.%'
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
    select distinct sales_rows.file_id, spelled.text
    from sales_rows
    cross join unnest([sales_rows.sale_date, sales_rows.birth_date]) as spelled(text)
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
        from sales_rows where vin is not null
    )
),

ids as (
    select text, id_number, id_type(id_number) as id_type, id_is_valid(id_number) as id_valid,
           id_birth_date(id_number) as id_birth_date, id_gender(id_number) as id_gender
    from (select distinct id_number as text, normalize_id(id_number) as id_number from sales_rows)
    where text is not null
),

mobiles as (
    select text, normalize_mobile(text) as mobile
    from (select distinct mobile as text from sales_rows where mobile is not null)
),

repeated_ids as (
    select file_dealer_code, sale_id
    from sales_rows
    where sale_id is not null
    group by file_dealer_code, sale_id
    having count(*) > 1
),

typed as (
    select
        sales_rows.file_dealer_code as dealer_code,
        sales_rows.file_id,
        sales_rows.source_row,
        sales_rows.sale_id,
        sold.parsed as sale_date,
        parse_amount(sales_rows.sale_amount) as sale_amount,
        code_of(codes.new_or_used, sales_rows.new_or_used) as new_or_used,
        parse_amount(sales_rows.gross_profit) as gross_profit,
        sales_rows.salesperson,
        sales_rows.payment_method,
        vins.vin,
        vins.vin_valid,
        sales_rows.brand,
        sales_rows.series,
        sales_rows.model,
        sales_rows.model_year,
        upper(replace(sales_rows.plate, ' ', '')) as plate,
        sales_rows.customer_no,
        coalesce(sales_rows.customer_name, assembled_name(sales_rows.first_name, sales_rows.last_name))
            as customer_name,
        sales_rows.first_name as given_name,
        sales_rows.last_name as family_name,
        coalesce(
            codes.customer_type[lower(sales_rows.customer_type)],
            case when ids.id_type = 'company' then 'company' end,
            codes.customer_type['']
        ) as customer_type,
        mobiles.mobile,
        sales_rows.phone,
        ids.id_number,
        ids.id_type,
        ids.id_valid,
        ids.id_birth_date,
        ids.id_gender,
        born.parsed as birth_date,
        code_of(codes.gender, sales_rows.gender) as gender,
        lower(sales_rows.email) as email,
        sales_rows.address,
        sales_rows.province,
        sales_rows.city,
        sales_rows.postcode,
        code_of(codes.marketing_consent, sales_rows.marketing_consent) as marketing_consent,
        -- what the checks below need and then drop
        sales_rows.raw,
        sales_rows.n_fields,
        sales_rows.n_header_fields,
        sales_rows.file_error,
        sales_rows.dealer_code as row_dealer_code,
        sales_rows.sale_date as sale_date_text,
        sales_rows.sale_amount as sale_amount_text,
        repeated_ids.sale_id is not null as id_repeats
    from sales_rows
    cross join codes
    left join dates as sold on sold.file_id = sales_rows.file_id and sold.text = sales_rows.sale_date
    left join dates as born on born.file_id = sales_rows.file_id and born.text = sales_rows.birth_date
    left join vins on vins.text = sales_rows.vin
    left join ids on ids.text = sales_rows.id_number
    left join mobiles on mobiles.text = sales_rows.mobile
    left join repeated_ids using (file_dealer_code, sale_id)
),

checked as (
    select
        *,
        case
            when file_error is not null then 'file_failed'
            when ltrim(raw) = '' then 'blank_line'
            when n_fields <> n_header_fields then 'wrong_field_count'
            when row_dealer_code is not null and upper(row_dealer_code) <> upper(dealer_code) then 'dealer_mismatch'
            when sale_id is null or sale_date_text is null or sale_amount_text is null or vin is null
                then 'missing_required'
            when sale_date is null or year(sale_date) not between 1980 and 2100 then 'bad_date'
            -- after the day of the run (and its tolerance): no DMS records what has not happened
            when sale_date > $future_limit::date then 'future_date'
            when sale_amount is null then 'bad_amount'
            when sale_amount < 0 then 'negative_amount'
        end as reject_reason,
        normalized_name(customer_name) as name_norm,
        normalized_address(address) as address_norm
    from typed
),

final as (
    select
        * exclude (raw, n_fields, n_header_fields, file_error, row_dealer_code, sale_date_text, sale_amount_text,
                   id_repeats),
        case reject_reason
            when 'file_failed' then file_error
            when 'wrong_field_count' then format('{} fields, header has {}', n_fields, n_header_fields)
            when 'dealer_mismatch' then format('dealer_code {} in a file of {}', row_dealer_code, dealer_code)
            when 'missing_required' then concat_ws(', ',
                case when sale_id is null then 'sale_id' end,
                case when sale_date_text is null then 'sale_date' end,
                case when sale_amount_text is null then 'sale_amount' end,
                case when vin is null then 'vin' end)
            when 'bad_date' then sale_date_text
            when 'future_date' then format('{} is after {}', sale_date_text, $future_limit::date)
            when 'bad_amount' then sale_amount_text
            when 'negative_amount' then sale_amount_text
        end as reject_detail,
        -- the line as written is kept only where someone may have to read it: on rejected rows and
        -- on rows whose record id repeats (one of them becomes a duplicate_record reject)
        case when reject_reason is not null or id_repeats then raw end as raw,
        signature_key(dealer_code, customer_no, name_norm, mobile, id_number, address_norm,
                      list_value(given_name, family_name, birth_date::varchar, email, postcode)::varchar) as signature_key
    from checked
)

select * from final
