-- What each dealer's rows of a source were last parsed from: the fingerprint of its files and of
-- the parsing code (ingest.stale_dealers compares against it). Kept across runs.
create table if not exists ingest.ingested_dealers (source varchar, dealer_code varchar, fingerprint varchar)
