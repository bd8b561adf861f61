-- One row of counts over act.win_back: pairs listed twice, reasons outside the contract's set,
-- serviced_elsewhere without the other dealer, priorities that do not run 1..n per dealer, rows
-- contactable where the marketing list says they are not. All must be 0.
with win_back as (
    select * from act.win_back
),

priorities as (
    select dealer_code, count(*) as n, count(distinct priority) as distinct_priorities, max(priority) as top
    from win_back group by dealer_code
)

select
    count(*) as rows,
    count(*) - count(distinct (customer_id, dealer_code)) as duplicate_keys,
    count(*) filter (where reason not in ('serviced_elsewhere', 'vehicle_sold', 'moved', 'unknown')) as unknown_reasons,
    count(*) filter (where reason = 'serviced_elsewhere' and other_dealer_code is null) as elsewhere_without_dealer,
    (select count(*) from priorities where distinct_priorities <> n or top <> n) as broken_priorities,
    count(*) filter (where win_back.contactable and not coalesce(members.contactable, false)) as contactable_against_members
from win_back
left join marts.segment_members as members using (customer_id, dealer_code)
