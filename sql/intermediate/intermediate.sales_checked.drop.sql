-- Drop the checked sales rows of files no longer loaded (removed, replaced, or now a re-delivery)
-- and of the dealers in $dealers (about to be parsed again).
delete from intermediate.sales_checked
where file_id not in (select file_id from ingest.loaded_files)
    or dealer_code in (select unnest($dealers))
