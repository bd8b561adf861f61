-- One row per dealer just parsed (ingest.stale_dealers) of $source: the fingerprint its rows were
-- parsed from, and the first date it rejected as in the future (from parsed_rows: dealer_code,
-- event_date, reject_reason), kept beside its rows as what ingest.ingested_dealers reads next time.
with stale as (
    select * from ingest.stale_dealers
),

future as (
    select dealer_code, min(event_date) as first_future_date
    from parsed_rows
    where reject_reason = 'future_date'
    group by dealer_code
)

select $source as source, stale.dealer_code, stale.fingerprint, future.first_future_date
from stale
left join future using (dealer_code)
order by stale.dealer_code
