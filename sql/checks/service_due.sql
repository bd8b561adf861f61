-- One row of counts over act.service_due: vehicles listed twice, statuses and due_by outside the
-- contract's sets, a next due date that is not the earlier of time and mileage, non-positive km per
-- day. All must be 0.
with service_due as (
    select * from act.service_due
)

select
    count(*) as rows,
    count(*) - count(distinct vin) as duplicate_keys,
    count(*) filter (where status not in ('overdue', 'due_30d', 'not_due') or due_by not in ('time', 'mileage'))
        as unknown_codes,
    count(*) filter (where next_due_date is distinct from least(time_due_date, mileage_due_date)) as wrong_due_dates,
    count(*) filter (where not km_per_day > 0) as bad_km_per_day
from service_due
