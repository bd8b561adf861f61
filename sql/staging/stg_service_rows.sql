-- One row per line of a service file in the batch: the line as written, its field count and
-- each canonical column as text (null where the file has no such column).
with lines as (
    select * from staging.batch_lines
),

batch as (
    select * from ingest.batch_files where source = 'service'
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
    csv_field(fields[pos_ro_number]) as ro_number,
    csv_field(fields[pos_open_date]) as open_date,
    csv_field(fields[pos_close_date]) as close_date,
    csv_field(fields[pos_total_amount]) as total_amount,
    csv_field(fields[pos_mileage_km]) as mileage_km,
    csv_field(fields[pos_service_type]) as service_type,
    csv_field(fields[pos_pay_type]) as pay_type,
    csv_field(fields[pos_labor_amount]) as labor_amount,
    csv_field(fields[pos_parts_amount]) as parts_amount,
    csv_field(fields[pos_advisor]) as advisor,
    csv_field(fields[pos_vin]) as vin,
    csv_field(fields[pos_customer_no]) as customer_no,
    csv_field(fields[pos_customer_name]) as customer_name,
    csv_field(fields[pos_first_name]) as first_name,
    csv_field(fields[pos_last_name]) as last_name,
    csv_field(fields[pos_customer_type]) as customer_type,
    csv_field(fields[pos_mobile]) as mobile,
    csv_field(fields[pos_phone]) as phone,
    csv_field(fields[pos_id_number]) as id_number,
    csv_field(fields[pos_address]) as address,
    csv_field(fields[pos_plate]) as plate,
    csv_field(fields[pos_marketing_consent]) as marketing_consent
from split
