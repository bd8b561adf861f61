"""Customer analytics as of one date, one module per model: features, segments (RFM, ABC,
lifecycle), CLV, churn, and the action lists built from them. Features are computed in DuckDB;
the models in `models/` are plain functions over Polars frames."""

from assets.analytics.action_lists import action_lists
from assets.analytics.churn import churn_backtest, churn_risk
from assets.analytics.clv import clv, clv_holdout
from assets.analytics.features import customer_events, customer_features
from assets.analytics.segments import abc, lifecycle, rfm

analytics_assets = [customer_events, customer_features, rfm, abc, lifecycle, clv, clv_holdout, churn_backtest,
                    churn_risk, action_lists]
