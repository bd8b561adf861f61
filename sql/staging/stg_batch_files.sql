-- One row per file to parse in this run: held by the landing folder, not staged yet.
with landing as (
    select * from ingest.landing_files
),

staged as (
    select * from ingest.staged_files
)

select landing.*
from landing
where landing.status in ('loaded', 'failed')
    and landing.file_sha256 not in (select file_sha256 from staged)
