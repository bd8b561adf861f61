-- One row per file whose rows the warehouse holds (loaded or failed, not re-deliveries).
-- file_id comes from the file's bytes, so it stays the same from run to run while the file does and
-- rows parsed in an earlier run (another dealer's partition) still join to it. load_order numbers a
-- dealer's files in path order: of two rows with one record id, the row of the later file is kept.
-- The inspection key (size and modification time) stays out: touching a file is no change.
with landing as (
    select * from ingest.landing_files
)

select
    cast('0x' || left(file_sha256, 15) as bigint) as file_id,
    cast(row_number() over (partition by dealer_code, source order by file_name) as integer) as load_order,
    * exclude (inspection_key)
from landing
where status in ('loaded', 'failed')
