-- One row per input row that could not be used, from both sources, with the reason and the raw line.
with sales as (
    select * from intermediate.sales_checked where reject_reason is not null
),

service as (
    select * from intermediate.service_checked where reject_reason is not null
),

unioned as (
    select dealer_code, 'sales' as source, file_name, file_sha256, source_row, sale_id as record_id,
           reject_reason as reason, reject_detail as detail, raw
    from sales
    union all
    select dealer_code, 'service' as source, file_name, file_sha256, source_row, ro_number as record_id,
           reject_reason as reason, reject_detail as detail, raw
    from service
)

select * from unioned order by file_name, source_row
