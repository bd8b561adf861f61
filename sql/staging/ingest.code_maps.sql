-- One row holding, per coded column, a MAP from lower-cased spelling to canonical code.
-- The empty spelling '' maps to the column's fallback code.
with value_codes as (
    select * from ingest.value_codes
)

select
    map_from_entries(list((spelling, code)) filter (where column_name = 'service_type')) as service_type,
    map_from_entries(list((spelling, code)) filter (where column_name = 'pay_type')) as pay_type,
    map_from_entries(list((spelling, code)) filter (where column_name = 'customer_type')) as customer_type,
    map_from_entries(list((spelling, code)) filter (where column_name = 'new_or_used')) as new_or_used,
    map_from_entries(list((spelling, code)) filter (where column_name = 'gender')) as gender,
    map_from_entries(list((spelling, code)) filter (where column_name = 'marketing_consent')) as marketing_consent,
    map_from_entries(list((spelling, code)) filter (where column_name = 'outcome')) as outcome,
    map_from_entries(list((spelling, code)) filter (where column_name = 'purpose')) as purpose,
    map_from_entries(list((spelling, code)) filter (where column_name = 'channel')) as channel
from value_codes
