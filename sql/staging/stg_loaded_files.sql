-- One row per file whose rows the warehouse holds (loaded or failed, not re-deliveries).
-- file_id numbers them in path order, which is also load order: of two rows with one record id,
-- the row of the later file is kept.
with landing as (
    select * from ingest.landing_files
)

select
    cast(row_number() over (order by file_name) as integer) as file_id,
    *
from landing
where status in ('loaded', 'failed')
