-- One row of counts over one clean table ($source: sales, service or contacts): rows breaking a rule
-- (record id missing or repeated within a dealer, date out of range, amount negative). All must be
-- 0: the parsing rejects each row outside these bounds (bad_date, future_date), so any left is
-- systemic, not one bad row.
with records as (
    select dealer_code, 'sales' as source, sale_id as record_id, sale_date as event_date, sale_amount as amount
    from clean.sales
    where $source = 'sales'
    union all
    select dealer_code, 'service', ro_number, open_date, total_amount
    from clean.repair_orders
    where $source = 'service'
    union all
    select dealer_code, 'contacts', contact_id, contact_date, 0
    from clean.contacts
    where $source = 'contacts'
)

select
    count(*) as rows,
    count(*) filter (where record_id is null or dealer_code is null) as null_keys,
    count(*) - count(distinct (dealer_code, record_id)) as duplicate_keys,
    count(*) filter (where event_date is null or event_date < date '1980-01-01'
                     or event_date > current_date + $future_tolerance_days) as dates_out_of_range,
    count(*) filter (where amount < 0) as negative_amounts
from records
