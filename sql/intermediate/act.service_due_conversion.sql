-- Service-due conversion: one row per vehicle whose next maintenance, as it stood $months_back
-- months before as-of (act.service_due_then), fell due 3 to 6 months before as-of, with whether it
-- was serviced anywhere in the network between that day and $window_days days after its due date.
-- The dealer is the one that would have called (its last service dealer at that day).
with as_of as (
    select as_of, (as_of - to_months($months_back))::date as then_day,
           (as_of - to_months($months_back - 3))::date as due_until
    from analytics.as_of
),

due_then as (
    select due.vin, due.dealer_code, due.next_due_date
    from act.service_due_then as due, as_of
    where due.next_due_date >= as_of.then_day and due.next_due_date <= as_of.due_until
),

serviced as (
    select due_then.vin, min(orders.open_date) as serviced_on
    from due_then
    cross join as_of
    join clean.repair_orders as orders
        on orders.vin = due_then.vin
        and orders.open_date > as_of.then_day
        and orders.open_date <= due_then.next_due_date + $window_days
        and orders.open_date <= as_of.as_of
    group by due_then.vin
)

select due_then.*, serviced.serviced_on, serviced.serviced_on is not null as converted
from due_then
left join serviced using (vin)
order by dealer_code, vin
