-- The dealers among $dealers whose $source rows must be parsed again: their files (names, bytes,
-- status, header mapping) or the parsing code ($version) differ from when they were last ingested,
-- or a row rejected as future_date is no longer after $future_limit. One row per such dealer,
-- with the fingerprint to remember once it is ingested.
with requested as (
    select unnest($dealers) as dealer_code
),

files as (
    select * from ingest.loaded_files where source = $source
),

current_files as (
    select
        requested.dealer_code,
        md5($version || coalesce(string_agg(cast(files as varchar), chr(10) order by files.file_name), ''))
            as fingerprint,
        count(files.file_name) > 0 as has_files
    from requested
    left join files using (dealer_code)
    group by requested.dealer_code
),

ingested as (
    select dealer_code, fingerprint from ingest.ingested_dealers where source = $source
),

no_longer_future as (
    select dealer_code from ingest.ingested_dealers
    where source = $source and first_future_date <= $future_limit::date
)

select current_files.dealer_code, current_files.fingerprint
from current_files
left join ingested using (dealer_code)
-- a dealer that has no file of $source and kept none has nothing to parse
where (ingested.fingerprint is distinct from current_files.fingerprint
       and (current_files.has_files or ingested.dealer_code is not null))
    or current_files.dealer_code in (select dealer_code from no_longer_future)
order by current_files.dealer_code
