-- The files behind a failing clean_records check ($source: sales, service or contacts): per file,
-- its rows breaking one of that check's rules, the most first.
with records as (
    select file_name, dealer_code, sale_id as record_id, sale_date as event_date, sale_amount as amount
    from clean.sales
    where $source = 'sales'
    union all
    select file_name, dealer_code, ro_number, open_date, total_amount
    from clean.repair_orders
    where $source = 'service'
    union all
    select file_name, dealer_code, contact_id, contact_date, 0
    from clean.contacts
    where $source = 'contacts'
),

judged as (
    select
        file_name,
        record_id is null or dealer_code is null
            or count(*) over (partition by dealer_code, record_id) > 1
            or event_date is null or event_date < date '1980-01-01'
            or event_date > current_date + $future_tolerance_days
            or amount < 0 as broken
    from records
)

select file_name, count(*) as failing_rows
from judged
where broken
group by file_name
order by failing_rows desc, file_name
limit 20
