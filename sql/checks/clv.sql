-- One row of counts over analytics.clv: customers listed twice, negative CLV, p_alive outside 0-1.
select
    count(*) as rows,
    count(*) - count(distinct customer_id) as duplicate_keys,
    count(*) filter (where clv_12m < 0) as negative_amounts,
    count(*) filter (where p_alive not between 0 and 1) as probabilities_out_of_range
from analytics.clv
