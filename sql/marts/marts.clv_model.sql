-- One row per fitted parameter and per backtest figure of the customer-value models:
--   parameter          BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, v) fitted up to as-of
--   holdout_parameter  the same models fitted up to as-of minus 12 months
--   holdout_metric     that fit's error on the 12 months to as-of (MAE, aggregate error, lift)
--   backtest_metric    churn ranking at as-of minus 12 months: classifier, BG/NBD p_alive, random
with parameters as (
    select 'parameter' as kind, model, param, value, time_unit, n_customers, calibration_end
    from analytics.clv_parameters
),

holdout_parameters as (
    select 'holdout_parameter' as kind, model, param, value, time_unit, n_customers, calibration_end
    from analytics.clv_holdout_parameters
),

holdout_metrics as (
    select
        'holdout_metric' as kind,
        'bgnbd_gamma_gamma' as model,
        metric as param,
        value,
        'weeks' as time_unit,
        (select value from analytics.clv_holdout where metric = 'customers')::bigint as n_customers,
        calibration_end
    from analytics.clv_holdout
),

churn_backtest as (
    select 'backtest_metric' as kind, model, metric as param, value, null as time_unit,
           test_customers as n_customers, test_cutoff as calibration_end
    from analytics.churn_backtest
)

select * from parameters
union all by name
select * from holdout_parameters
union all by name
select * from holdout_metrics
union all by name
select * from churn_backtest
