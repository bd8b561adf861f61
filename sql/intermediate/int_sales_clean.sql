-- One row per usable sales record (typed, deduplicated): the checked rows without a reject reason.
with checked as (
    select * from intermediate.sales_checked
)

select * exclude (raw, n_fields, n_header_fields, file_error, row_dealer_code, reject_reason, reject_detail, sale_date_text, sale_amount_text)
from checked
where reject_reason is null
