"""Churn risk: the probability a customer does not come back for service in the next 12 months.

A gradient-boosted classifier (scikit-learn) on behaviour features computed in DuckDB at a
cut-off date, labelled by what happened in the 12 months after it. The backtest is time-based:
train at as-of minus 24 months, test at as-of minus 12 months, so the model never sees the
period it is judged on (`backtest`). The scoring model is trained at as-of minus 12 months
(`train_churn_model`, then `churn_risk`).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.calibration import calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.settings import ChurnSettings

FEATURES = [
    "recency_days", "tenure_days", "n_visits", "visits_window", "spend_window", "n_purchases",
    "mean_gap_days", "last_gap_days", "maintenance_share", "vehicle_age_days", "n_vehicles", "n_dealers",
]


def active_base(features: pl.DataFrame, active_window_days: int) -> pl.DataFrame:
    """Customers seen in the `active_window_days` before the cut-off: the ones churn is about."""
    return features.filter(pl.col("recency_days") <= active_window_days)


def feature_matrix(features: pl.DataFrame) -> np.ndarray:
    return features.select(pl.col(FEATURES).cast(pl.Float64)).to_numpy()


def churn_labels(features: pl.DataFrame) -> np.ndarray:
    """1 when the customer made no service visit in the 12 months after the cut-off."""
    return (features["visits_next"] == 0).cast(pl.Int8).to_numpy()


def unfit_reason(features: pl.DataFrame, min_rows: int) -> str | None:
    """Why a classifier should not be trained or judged on `features`, or None."""
    churned = int(churn_labels(features).sum()) if features.height else 0
    if features.height < min_rows or min(churned, features.height - churned) < min_rows // 10:
        return f"too few customers: {features.height}, of whom {churned} churned (need {min_rows}, " \
               f"and {min_rows // 10} of each outcome)"
    return None


def train_churn_model(features: pl.DataFrame, settings: ChurnSettings) -> HistGradientBoostingClassifier:
    """Fit on labelled features (at most `settings.max_training_rows`, sampled with its seed)."""
    training = features.sort("customer_id")
    if training.height > settings.max_training_rows:
        training = training.sample(settings.max_training_rows, seed=settings.seed)
    model = HistGradientBoostingClassifier(max_iter=settings.max_iter, learning_rate=settings.learning_rate,
                                           max_leaf_nodes=settings.max_leaf_nodes, early_stopping=False,
                                           random_state=settings.seed)
    model.fit(feature_matrix(training), churn_labels(training))
    return model


def churn_risk(model: HistGradientBoostingClassifier, features: pl.DataFrame) -> pl.DataFrame:
    """customer_id, churn_risk for every row of `features`."""
    return features.select("customer_id").with_columns(
        churn_risk=pl.Series(model.predict_proba(feature_matrix(features))[:, 1]))


def ranking_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), Brier score and the base rate."""
    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "pr_auc": float(average_precision_score(labels, scores)),
        "brier": float(brier_score_loss(labels, scores)),
        "base_rate": float(labels.mean()),
    }


def calibration_table(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Observed churn rate against mean predicted risk, per decile of predicted risk."""
    observed, predicted = calibration_curve(labels, scores, n_bins=bins, strategy="quantile")
    return pl.DataFrame({"bin": np.arange(1, len(observed) + 1), "predicted": predicted, "observed": observed})


BACKTEST_SCHEMA = {"model": pl.String, "metric": pl.String, "value": pl.Float64}
CALIBRATION_SCHEMA = {"bin": pl.Int64, "predicted": pl.Float64, "observed": pl.Float64, "model": pl.String}


def backtest(training: pl.DataFrame, test: pl.DataFrame, settings: ChurnSettings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Train the backtest model at the earlier cut-off (`training`) and rank the later cut-off's
    customers (`test`, with BG/NBD's `p_alive` where fitted); the same customers ranked by p_alive
    and at random. Returns the metrics (model, metric, value) and the calibration tables."""
    model = train_churn_model(training, settings)
    labels = churn_labels(test)
    rankings = {
        "churn_classifier": churn_risk(model, test)["churn_risk"].to_numpy(),
        "random": np.random.default_rng(settings.seed).random(test.height),
    }
    if test["p_alive"].null_count() < test.height:
        rankings["bgnbd_p_alive"] = 1 - test["p_alive"].fill_null(1.0).to_numpy()
    metrics = pl.DataFrame([(name, metric, value) for name, scores in rankings.items()
                            for metric, value in ranking_metrics(labels, scores).items()],
                           schema=BACKTEST_SCHEMA, orient="row")
    calibration = pl.concat([calibration_table(labels, scores).with_columns(model=pl.lit(name))
                             for name, scores in rankings.items() if name != "random"])
    return metrics, calibration
