-- One row of counts over the clean sales and repair orders: rows breaking a rule (key missing or
-- repeated within a dealer, date out of range, amount negative). All must be 0.
with records as (
    select dealer_code, 'sales' as source, sale_id as record_id, sale_date as event_date, sale_amount as amount
    from clean.sales
    union all
    select dealer_code, 'service', ro_number, open_date, total_amount
    from clean.repair_orders
),

repeated as (
    select count(*) - count(distinct (dealer_code, source, record_id)) as n from records
)

select
    count(*) as rows,
    count(*) filter (where record_id is null or dealer_code is null) as null_keys,
    (select n from repeated) as duplicate_keys,
    -- the parsing rejects each row outside these bounds (bad_date, future_date): any left is a bug
    count(*) filter (where event_date is null or event_date < date '1980-01-01'
                     or event_date > current_date + $future_tolerance_days)
        as dates_out_of_range,
    count(*) filter (where amount < 0) as negative_amounts
from records
