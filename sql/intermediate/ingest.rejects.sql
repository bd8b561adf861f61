-- One row per input row that could not be used, from every source, with the reason and the raw line.
with sales as (
    select * from intermediate.sales_checked where reject_reason is not null
),

service as (
    select * from intermediate.service_checked where reject_reason is not null
),

contacts as (
    select * from intermediate.contacts_checked where reject_reason is not null
),

files as (
    select file_id, file_name, file_sha256 from ingest.loaded_files
),

unioned as (
    select dealer_code, 'sales' as source, file_id, source_row, sale_id as record_id,
           reject_reason as reason, reject_detail as detail, raw
    from sales
    union all
    select dealer_code, 'service' as source, file_id, source_row, ro_number as record_id,
           reject_reason as reason, reject_detail as detail, raw
    from service
    union all
    select dealer_code, 'contacts' as source, file_id, source_row, contact_id as record_id,
           reject_reason as reason, reject_detail as detail, raw
    from contacts
),

final as (
    select
        unioned.dealer_code,
        unioned.source,
        files.file_name,
        files.file_sha256,
        unioned.source_row,
        unioned.record_id,
        unioned.reason,
        unioned.detail,
        unioned.raw
    from unioned
    join files using (file_id)
)

select * from final order by file_name, source_row
