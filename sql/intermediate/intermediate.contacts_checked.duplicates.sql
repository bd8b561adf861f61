-- Settles repeated contacts of the dealers in $dealers: the same call (same contact_id) in two
-- overlapping exports is kept once, from the file loaded last; the other rows become
-- duplicate_record rejects, so a re-exported contact log never counts a call twice.
with files as (
    select file_id, load_order from ingest.loaded_files
),

usable as (
    select checked.dealer_code, checked.contact_id, checked.file_id, checked.source_row,
           files.load_order * 4294967296 + checked.source_row as load_key
    from intermediate.contacts_checked as checked
    join files using (file_id)
    where checked.reject_reason is null and checked.dealer_code in (select unnest($dealers))
),

kept as (
    select dealer_code, contact_id, arg_max(file_id, load_key) as file_id, arg_max(source_row, load_key) as source_row
    from usable
    group by dealer_code, contact_id
    having count(*) > 1
)

update intermediate.contacts_checked as checked
set reject_reason = 'duplicate_record',
    reject_detail = format('contact {} kept from a later row or file', checked.contact_id)
from kept
where checked.reject_reason is null
    and checked.dealer_code = kept.dealer_code
    and checked.contact_id = kept.contact_id
    and (checked.file_id <> kept.file_id or checked.source_row <> kept.source_row)
