-- Files whose rows do not add up: read <> the lines the file holds after its header, read <>
-- loaded + rejected, or the manifest's counts differ from the rows the clean tables and rejects
-- actually hold. Empty when nothing was lost.
with manifest as (
    select * from ingest.load_manifest where status not in ('skipped', 'ignored')
),

clean_rows as (
    select file_sha256 from clean.sales
    union all
    select file_sha256 from clean.repair_orders
    union all
    select file_sha256 from clean.contacts
),

clean_counts as (
    select file_sha256, count(*) as clean_rows from clean_rows group by file_sha256
),

file_lines as (
    select file_name, data_lines from ingest.landing_files
),

reject_counts as (
    select file_sha256, count(*) as rejected_rows from ingest.rejects group by file_sha256
),

compared as (
    select
        manifest.file_name,
        file_lines.data_lines,
        manifest.rows_read,
        manifest.rows_loaded,
        manifest.rows_rejected,
        coalesce(clean_counts.clean_rows, 0) as clean_rows,
        coalesce(reject_counts.rejected_rows, 0) as rejected_rows
    from manifest
    left join clean_counts using (file_sha256)
    left join reject_counts using (file_sha256)
    left join file_lines using (file_name)
)

select * from compared
where rows_read is distinct from data_lines
    or rows_read <> rows_loaded + rows_rejected
    or rows_loaded <> clean_rows
    or rows_rejected <> rejected_rows
order by file_name
