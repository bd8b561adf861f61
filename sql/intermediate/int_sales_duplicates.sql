-- Settles repeated sale_ids: per dealer, the usable row of the file loaded last (the last such
-- row within it) stays; the other usable rows become duplicate_record rejects, so overlapping
-- exports never double count.
with usable as (
    select dealer_code, sale_id, file_id, source_row
    from intermediate.sales_checked
    where reject_reason is null
),

kept as (
    select dealer_code, sale_id, max(file_id * 4294967296 + source_row) as kept_key, count(*) as copies
    from usable
    group by dealer_code, sale_id
    having count(*) > 1
)

update intermediate.sales_checked as checked
set reject_reason = 'duplicate_record',
    reject_detail = format('sale_id {} kept from a later row or file', checked.sale_id)
from kept
where checked.reject_reason is null
    and checked.dealer_code = kept.dealer_code
    and checked.sale_id = kept.sale_id
    and checked.file_id * 4294967296 + checked.source_row <> kept.kept_key
