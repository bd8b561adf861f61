-- One row per line after the header of every file in the batch, blank lines included.
-- source_row counts lines after the header (the header is row 0), as the contract defines it.
with batch as (
    select file_sha256, read_path from ingest.batch_files where read_path is not null
),

texts as (
    select filename as read_path, content from read_text($paths)
),

files as (
    select batch.file_sha256, string_split(texts.content, chr(10)) as lines
    from texts
    join batch using (read_path)
),

numbered as (
    select
        file_sha256,
        len(lines) - 1 as last_index,
        unnest(range(len(lines))) as source_row,
        unnest(lines) as line
    from files
)

select file_sha256, cast(source_row as integer) as source_row, rtrim(line, chr(13)) as raw
from numbered
-- the empty piece after the file's final line break is not a line
where source_row > 0 and not (source_row = last_index and line = '')
