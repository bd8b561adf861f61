-- One row per home dealer and one for the network (ALL): quartiles and 5th/95th percentiles of
-- 12-month CLV, the box of the head-office report's CLV chart.
select
    coalesce(home_dealer_code, 'ALL') as dealer_code,
    quantile_cont(clv_12m, 0.05) as p05,
    quantile_cont(clv_12m, 0.25) as q1,
    quantile_cont(clv_12m, 0.50) as median,
    quantile_cont(clv_12m, 0.75) as q3,
    quantile_cont(clv_12m, 0.95) as p95
from marts.customer_360
where clv_12m is not null
group by grouping sets ((home_dealer_code), ())
order by dealer_code = 'ALL', dealer_code
