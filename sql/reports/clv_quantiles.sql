-- One row per home dealer and one for the network (ALL): quartiles and 5th/95th percentiles of
-- 12-month CLV, the box of the head-office report's CLV chart.
select
    coalesce(home_dealer_code, 'ALL') as dealer_code,
    round(quantile_cont(clv_12m, 0.05), 2) as p05,
    round(quantile_cont(clv_12m, 0.25), 2) as q1,
    round(quantile_cont(clv_12m, 0.50), 2) as median,
    round(quantile_cont(clv_12m, 0.75), 2) as q3,
    round(quantile_cont(clv_12m, 0.95), 2) as p95
from marts.customer_360
where clv_12m is not null
group by grouping sets ((home_dealer_code), ())
order by dealer_code = 'ALL', dealer_code
