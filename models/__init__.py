"""Analytical and ML models (RFM, ABC, lifecycle, CLV, churn, identity scoring) as plain
functions over DataFrames. Nothing in here imports Dagster."""
