-- One row of counts over act.follow_ups: deliveries without exactly one row per step, statuses
-- outside the contract's set, due dates that are not the sale date plus the step's days, done
-- steps without the contact that completed them. All must be 0.
with follow_ups as (
    select * from act.follow_ups
),

steps as (
    select unnest($steps, recursive := true)
),

per_delivery as (
    select dealer_code, sale_id, count(distinct step) as steps, count(*) as n from follow_ups group by all
)

select
    (select count(*) from follow_ups) as rows,
    (select count(*) from per_delivery where steps <> (select count(*) from steps) or n <> steps) as deliveries_without_every_step,
    count(*) filter (where status not in ('upcoming', 'due', 'overdue', 'done', 'missed')) as unknown_statuses,
    count(*) filter (where follow_ups.due_date <> follow_ups.sale_date + steps.due_days) as wrong_due_dates,
    count(*) filter (where status = 'done' and contacted_on is null) as done_without_contact
from follow_ups
join steps using (step)
