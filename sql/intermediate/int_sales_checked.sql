-- One row per staged sales line: typed values, and the reason it cannot be used (null if it can).
-- Duplicates of a sale_id within a dealer keep the row of the file loaded last.
with sales_rows as (
    select * from staging.sales_rows
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
        file_sha256,
        case
            when max(date_first_part(sale_date)) > 12 then true
            when max(date_second_part(sale_date)) > 12 then false
        end as day_first
    from sales_rows
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
        sales_rows.file_sha256,
        sales_rows.source_row,
        sales_rows.raw,
        sales_rows.n_fields,
        sales_rows.dealer_code as row_dealer_code,
        sales_rows.sale_id,
        sales_rows.sale_date as sale_date_text,
        parse_dms_date(sales_rows.sale_date, file_date_order.day_first) as sale_date,
        sales_rows.sale_amount as sale_amount_text,
        parse_amount(sales_rows.sale_amount) as sale_amount,
        upper(regexp_replace(sales_rows.vin, '[\s-]', '', 'g')) as vin,
        sales_rows.customer_no,
        coalesce(sales_rows.customer_name, nullif(concat_ws(' ', sales_rows.first_name, sales_rows.last_name), ''))
            as customer_name,
        codes.customer_type[lower(sales_rows.customer_type)] as customer_type_code,
        normalize_mobile(sales_rows.mobile) as mobile,
        sales_rows.mobile as mobile_raw,
        sales_rows.phone,
        normalize_id(sales_rows.id_number) as id_number,
        parse_dms_date(sales_rows.birth_date, file_date_order.day_first) as birth_date,
        coalesce(codes.gender[lower(sales_rows.gender)], codes.gender['']) as gender,
        lower(sales_rows.email) as email,
        sales_rows.address,
        sales_rows.province,
        sales_rows.city,
        sales_rows.postcode,
        upper(replace(sales_rows.plate, ' ', '')) as plate,
        sales_rows.brand,
        sales_rows.series,
        sales_rows.model,
        sales_rows.model_year,
        coalesce(codes.new_or_used[lower(sales_rows.new_or_used)], codes.new_or_used['']) as new_or_used,
        parse_amount(sales_rows.gross_profit) as gross_profit,
        sales_rows.salesperson,
        sales_rows.payment_method,
        coalesce(codes.marketing_consent[lower(sales_rows.marketing_consent)], codes.marketing_consent[''])
            as marketing_consent
    from sales_rows
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
            when sale_id is null or sale_date_text is null or sale_amount_text is null or vin is null
                then 'missing_required'
            when sale_date is null or year(sale_date) not between 1980 and 2100 then 'bad_date'
            when sale_amount is null then 'bad_amount'
            when sale_amount < 0 then 'negative_amount'
        end as row_reason,
        case
            when file_error is not null then file_error
            when n_fields <> n_header_fields then format('{} fields, header has {}', n_fields, n_header_fields)
            when row_dealer_code is not null and upper(row_dealer_code) <> upper(dealer_code)
                then format('dealer_code {} in a file of {}', row_dealer_code, dealer_code)
            when sale_id is null or sale_date_text is null or sale_amount_text is null or vin is null
                then concat_ws(', ',
                    case when sale_id is null then 'sale_id' end,
                    case when sale_date_text is null then 'sale_date' end,
                    case when sale_amount_text is null then 'sale_amount' end,
                    case when vin is null then 'vin' end)
            when sale_date is null or year(sale_date) not between 1980 and 2100 then sale_date_text
            when sale_amount is null or sale_amount < 0 then sale_amount_text
        end as row_detail
    from typed
),

ranked as (
    select
        *,
        case when row_reason is null then row_number() over (
            partition by dealer_code, sale_id, row_reason is null
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
    coalesce(row_detail, case when record_rank > 1 then format('sale_id {} loaded from a later row or file', sale_id) end)
        as reject_detail
from ranked
