-- One row per dealer among $dealers with loaded $source files: the paths DuckDB reads (UTF-8
-- copies where needed), in file name order, and their bytes, for batches of whole dealers.
select dealer_code, list(read_path order by file_name) as paths, sum(size_bytes) as size_bytes
from ingest.loaded_files
where source = $source and read_path is not null and dealer_code in (select unnest($dealers))
group by dealer_code
order by dealer_code
