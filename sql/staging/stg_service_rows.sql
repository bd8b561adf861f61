-- stg_service_rows(paths): one row per line after the header of each loaded service file, blank
-- lines included: the line as written, its field count, each canonical column as text (null where
-- the file has no such column) and what the row needs to know about its file.
-- source_row counts lines after the header (the header is row 0), as the contract defines it.
create or replace temp macro stg_service_rows(paths) as table
with file_lines as (
    select * from stg_file_lines(paths)
),

files as (
    select * from ingest.loaded_files where source = 'service'
),

-- materialized: the lines come from a handful of files, and scanning them from a stored result lets
-- the splitting below run on every core instead of the one that unnests the files
numbered as materialized (
    select
        files.file_id,
        files.dealer_code as file_dealer_code,
        files.n_header_fields,
        files.error as file_error,
        files.delimiter,
        files.pos_dealer_code,
        files.pos_ro_number,
        files.pos_open_date,
        files.pos_close_date,
        files.pos_total_amount,
        files.pos_mileage_km,
        files.pos_service_type,
        files.pos_pay_type,
        files.pos_labor_amount,
        files.pos_parts_amount,
        files.pos_advisor,
        files.pos_vin,
        files.pos_customer_no,
        files.pos_customer_name,
        files.pos_first_name,
        files.pos_last_name,
        files.pos_customer_type,
        files.pos_mobile,
        files.pos_phone,
        files.pos_id_number,
        files.pos_address,
        files.pos_plate,
        files.pos_marketing_consent,
        len(file_lines.lines) - 1 as last_index,
        unnest(range(len(file_lines.lines))) as source_row,
        unnest(file_lines.lines) as line
    from file_lines
    join files using (file_id)
),

lines as (
    select * exclude (line, last_index),
           case when ends_with(line, chr(13)) then rtrim(line, chr(13)) else line end as raw
    from numbered
    -- the empty piece after the file's final line break is not a line
    where source_row > 0 and not (source_row = last_index and line = '')
),

split as (
    select *, csv_fields(raw, delimiter) as fields from lines
)

select
    file_id,
    file_dealer_code,
    n_header_fields,
    file_error,
    cast(source_row as integer) as source_row,
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
