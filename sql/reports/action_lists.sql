-- One row per home dealer: the sizes of the two lists it should act on now.
select
    home_dealer_code as dealer_code,
    count(*) filter (where action_list = 'new_not_yet_stable') as new_not_yet_stable,
    count(*) filter (where action_list = 'stable_starting_to_churn') as stable_starting_to_churn
from analytics.action_lists
group by home_dealer_code
order by dealer_code
