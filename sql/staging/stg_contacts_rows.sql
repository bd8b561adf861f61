-- stg_contacts_rows(paths): one row per line after the header of each loaded contact-log file,
-- blank lines included: the line as written, its field count, each canonical column as text (null
-- where the file has no such column) and what the row needs to know about its file.
-- source_row counts lines after the header (the header is row 0), as the contract defines it.
create or replace temp macro stg_contacts_rows(paths) as table
with file_lines as (
    select * from stg_file_lines(paths)
),

files as (
    select * from ingest.loaded_files where source = 'contacts'
),

numbered as materialized (
    select
        files.file_id,
        files.dealer_code as file_dealer_code,
        files.n_header_fields,
        files.error as file_error,
        files.delimiter,
        files.pos_dealer_code,
        files.pos_contact_date,
        files.pos_outcome,
        files.pos_purpose,
        files.pos_channel,
        files.pos_staff,
        files.pos_mobile,
        files.pos_customer_no,
        files.pos_sale_id,
        files.pos_customer_name,
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
    csv_field(fields[pos_contact_date]) as contact_date,
    csv_field(fields[pos_outcome]) as outcome,
    csv_field(fields[pos_purpose]) as purpose,
    csv_field(fields[pos_channel]) as channel,
    csv_field(fields[pos_staff]) as staff,
    csv_field(fields[pos_mobile]) as mobile,
    csv_field(fields[pos_customer_no]) as customer_no,
    csv_field(fields[pos_sale_id]) as sale_id,
    csv_field(fields[pos_customer_name]) as customer_name
from split
