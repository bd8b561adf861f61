-- One row per line of a sales file in the batch: the line as written, its field count and
-- each canonical column as text (null where the file has no such column).
with lines as (
    select * from staging.batch_lines
),

batch as (
    select * from ingest.batch_files where source = 'sales'
),

split as (
    select
        lines.file_sha256,
        lines.source_row,
        lines.raw,
        batch.*exclude (file_sha256),
        case
            -- the fast path: when no quoted field holds a delimiter, a plain split is exact
            when batch.delimiter = ',' and not regexp_matches(lines.raw, '(?:^|,)"(?:[^"]|"")*,')
                then string_split(lines.raw, ',')
            when batch.delimiter = ';' and not regexp_matches(lines.raw, '(?:^|;)"(?:[^"]|"")*;')
                then string_split(lines.raw, ';')
            when batch.delimiter = chr(9) and not regexp_matches(lines.raw, '(?:^|\t)"(?:[^"]|"")*\t')
                then string_split(lines.raw, chr(9))
            when batch.delimiter = ';' then regexp_extract_all(lines.raw, '(?:^|;)("(?:[^"]|"")*"|[^;]*)', 1)
            when batch.delimiter = chr(9) then regexp_extract_all(lines.raw, '(?:^|\t)("(?:[^"]|"")*"|[^\t]*)', 1)
            else regexp_extract_all(lines.raw, '(?:^|,)("(?:[^"]|"")*"|[^,]*)', 1)
        end as fields
    from lines
    join batch using (file_sha256)
)

select
    file_sha256,
    source_row,
    raw,
    cast(len(fields) as integer) as n_fields,
    csv_field(fields[pos_dealer_code]) as dealer_code,
    csv_field(fields[pos_sale_id]) as sale_id,
    csv_field(fields[pos_sale_date]) as sale_date,
    csv_field(fields[pos_sale_amount]) as sale_amount,
    csv_field(fields[pos_vin]) as vin,
    csv_field(fields[pos_customer_no]) as customer_no,
    csv_field(fields[pos_customer_name]) as customer_name,
    csv_field(fields[pos_first_name]) as first_name,
    csv_field(fields[pos_last_name]) as last_name,
    csv_field(fields[pos_customer_type]) as customer_type,
    csv_field(fields[pos_mobile]) as mobile,
    csv_field(fields[pos_phone]) as phone,
    csv_field(fields[pos_id_number]) as id_number,
    csv_field(fields[pos_birth_date]) as birth_date,
    csv_field(fields[pos_gender]) as gender,
    csv_field(fields[pos_email]) as email,
    csv_field(fields[pos_address]) as address,
    csv_field(fields[pos_province]) as province,
    csv_field(fields[pos_city]) as city,
    csv_field(fields[pos_postcode]) as postcode,
    csv_field(fields[pos_plate]) as plate,
    csv_field(fields[pos_brand]) as brand,
    csv_field(fields[pos_series]) as series,
    csv_field(fields[pos_model]) as model,
    csv_field(fields[pos_model_year]) as model_year,
    csv_field(fields[pos_new_or_used]) as new_or_used,
    csv_field(fields[pos_gross_profit]) as gross_profit,
    csv_field(fields[pos_salesperson]) as salesperson,
    csv_field(fields[pos_payment_method]) as payment_method,
    csv_field(fields[pos_marketing_consent]) as marketing_consent
from split
