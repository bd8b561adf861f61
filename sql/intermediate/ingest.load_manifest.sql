-- One row per file of the landing folder: loaded, skipped as a re-delivery, or failed.
with landing as (
    select * from ingest.landing_files
),

checked_rows as (
    select file_id, reject_reason from intermediate.sales_checked
    union all
    select file_id, reject_reason from intermediate.service_checked
    union all
    select file_id, reject_reason from intermediate.contacts_checked
),

files as (
    select file_id, file_sha256 from ingest.loaded_files
),

row_counts as (
    select
        files.file_sha256,
        count(*) as rows_read,
        count(*) filter (where reject_reason is null) as rows_loaded,
        count(*) filter (where reject_reason is not null) as rows_rejected
    from checked_rows
    join files using (file_id)
    group by files.file_sha256
),

final as (
    select
        landing.dealer_code,
        landing.source,
        landing.file_name,
        landing.file_sha256,
        landing.size_bytes,
        landing.encoding,
        landing.delimiter,
        case when landing.status = 'skipped' then 0 else coalesce(row_counts.rows_read, 0) end as rows_read,
        case when landing.status = 'skipped' then 0 else coalesce(row_counts.rows_loaded, 0) end as rows_loaded,
        case when landing.status = 'skipped' then 0 else coalesce(row_counts.rows_rejected, 0) end as rows_rejected,
        landing.status,
        landing.error,
        landing.duplicate_of,
        landing.unknown_columns
    from landing
    left join row_counts using (file_sha256)
)

select * from final order by file_name
