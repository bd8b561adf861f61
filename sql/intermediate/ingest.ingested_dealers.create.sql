-- What each dealer's rows of a source were last parsed from: the fingerprint of its files and of
-- the parsing code, and the first date it rejected as in the future (ingest.stale_dealers
-- compares against them). On the parsing connection, filled anew from the dealers' kept files each
-- time one source's dealers are looked at.
create or replace table ingest.ingested_dealers (
    source varchar, dealer_code varchar, fingerprint varchar, first_future_date date
)
