-- stg_file_lines(paths): one row per loaded file among `paths`, with its lines as a list.
-- Staging is ephemeral: table macros over the landing files, read by the intermediate layer.
create or replace temp macro stg_file_lines(paths) as table
with files as (
    select file_id, read_path from ingest.loaded_files where read_path is not null
),

texts as (
    -- a CRLF file as LF: rtrim of every line would cost more than this pass over the few such files
    select filename as read_path,
           case when contains(content, chr(13)) then replace(content, chr(13) || chr(10), chr(10)) else content end
               as content
    from read_text(paths)
)

select files.file_id, string_split(texts.content, chr(10)) as lines
from texts
join files using (read_path)
