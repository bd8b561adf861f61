-- One row per file whose rows the warehouse holds (loaded or failed, not re-deliveries).
-- load_seq orders them by path: of two rows with one record id, the later file's row is kept.
with landing as (
    select * from ingest.landing_files
)

select
    dealer_code,
    source,
    file_name,
    file_sha256,
    n_header_fields,
    error,
    cast(row_number() over (order by file_name) as integer) as load_seq
from landing
where status in ('loaded', 'failed')
