-- One row of counts over clean.repair_orders: rows breaking a rule (record id missing or repeated within
-- a dealer, date out of range, amount negative). All must be 0: the parsing rejects each row
-- outside these bounds (bad_date, future_date), so any left is systemic, not one bad row.
with records as (
    select dealer_code, ro_number as record_id, open_date as event_date, total_amount as amount from clean.repair_orders
)

select
    count(*) as rows,
    count(*) filter (where record_id is null or dealer_code is null) as null_keys,
    count(*) - count(distinct (dealer_code, record_id)) as duplicate_keys,
    count(*) filter (where event_date is null or event_date < date '1980-01-01'
                     or event_date > current_date + $future_tolerance_days) as dates_out_of_range,
    count(*) filter (where amount < 0) as negative_amounts
from records
