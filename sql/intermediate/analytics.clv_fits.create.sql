-- The BG/NBD and Gamma-Gamma fits the CLV backtest (analytics/clv_holdout) used in its last run,
-- by the key of what they were fitted on (models.clv.fit_key): a later fit of the same key takes
-- their parameters instead of fitting again. Created on a first run; each asset replaces its own rows.
create table if not exists analytics.clv_fits (asset varchar, fit_key varchar, fit json)
