-- One row: the date every analysis runs as of. The run's --as-of, else the latest record date.
select coalesce($as_of::date, max(event_date)) as as_of
from identity.records
