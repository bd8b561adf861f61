-- Settles repeated ro_numbers of the dealers in $dealers: per dealer, the usable row of the file loaded
-- last (the last such row within it) stays; the other usable rows become duplicate_record rejects,
-- so overlapping exports never double count.
with files as (
    select file_id, load_order from ingest.loaded_files
),

usable as (
    select checked.dealer_code, checked.ro_number, checked.file_id, checked.source_row,
           files.load_order * 4294967296 + checked.source_row as load_key
    from intermediate.service_checked as checked
    join files using (file_id)
    where checked.reject_reason is null and checked.dealer_code in (select unnest($dealers))
),

kept as (
    select dealer_code, ro_number, arg_max(file_id, load_key) as file_id, arg_max(source_row, load_key) as source_row
    from usable
    group by dealer_code, ro_number
    having count(*) > 1
)

update intermediate.service_checked as checked
set reject_reason = 'duplicate_record',
    reject_detail = format('ro_number {} kept from a later row or file', checked.ro_number)
from kept
where checked.reject_reason is null
    and checked.dealer_code = kept.dealer_code
    and checked.ro_number = kept.ro_number
    and (checked.file_id <> kept.file_id or checked.source_row <> kept.source_row)
