-- Settles repeated ro_numbers: per dealer, the usable row of the file loaded last (the last such
-- row within it) stays; the other usable rows become duplicate_record rejects, so overlapping
-- exports never double count.
with usable as (
    select dealer_code, ro_number, file_id, source_row
    from intermediate.service_checked
    where reject_reason is null
),

kept as (
    select dealer_code, ro_number, max(file_id * 4294967296 + source_row) as kept_key, count(*) as copies
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
    and checked.file_id * 4294967296 + checked.source_row <> kept.kept_key
