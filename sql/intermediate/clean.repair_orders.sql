-- A view: one row per usable service record (typed, deduplicated), with the file it came from.
with checked as (
    select * from intermediate.service_checked
),

files as (
    select file_id, file_name, file_sha256 from ingest.loaded_files
)

select files.file_name, files.file_sha256, checked.* exclude (raw, reject_reason, reject_detail)
from checked
join files using (file_id)
where checked.reject_reason is null
