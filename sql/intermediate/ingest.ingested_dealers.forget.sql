-- Forget that dealers of $source were parsed, so they are parsed again when asked: those in
-- $dealers (every dealer of the source when $dealers is null) and those with no loaded file left.
delete from ingest.ingested_dealers
where source = $source
    and ($dealers is null
         or dealer_code in (select unnest($dealers))
         or dealer_code not in (select dealer_code from ingest.loaded_files where source = $source))
