-- Remember that the dealers in $dealers were parsed from the files and code of $fingerprints.
insert into ingest.ingested_dealers
select $source, unnest($dealers), unnest($fingerprints)
