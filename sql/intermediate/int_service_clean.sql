-- One row per usable service record (typed, deduplicated): the checked rows without a reject reason.
with checked as (
    select * from intermediate.service_checked
)

select * exclude (raw, n_fields, n_header_fields, file_error, row_dealer_code, reject_reason, reject_detail, open_date_text, total_amount_text)
from checked
where reject_reason is null
