-- One row of counts over analytics.rfm: customers listed twice or without an id, scores outside 1-5.
select
    count(*) as rows,
    count(*) - count(distinct customer_id) as duplicate_keys,
    count(*) filter (where customer_id is null) as null_keys,
    count(*) filter (where r_score not between 1 and 5 or f_score not between 1 and 5 or m_score not between 1 and 5)
        as scores_out_of_range
from analytics.rfm
