"""Customer lifetime value: BG/NBD on repeat service visits, Gamma-Gamma on their spend (lifetimes).

A customer is born at their first visit or vehicle purchase; the repeat transactions are the
service visits (distinct days) after that day. frequency / recency / T (exact days in weeks) and the mean
spend of repeat visits (in cents) are computed in DuckDB (`analytics.features.sql`), not with lifetimes'
pandas helpers, and both models are fitted on the distinct rows with their counts as weights:
the same likelihood, far fewer rows. Predictions are also made once per distinct row.

The model a run scores customers with is kept between runs (`ClvModel.to_json`, in the output's
models folder): BG/NBD and Gamma-Gamma parameters describe the network, not one night's rows, and a
week of new visits moves them little. It is fitted again when asked, when as-of has moved more than
a setting since it was fitted, or when the customers changed by more than a share (`refit_reason`);
otherwise every run scores its own customers with it, as the linkage model is kept.

A fit is a function of its rows: fitting the rows of the last fit again gives its parameters
again. So each fit is keyed by a fingerprint of its rows, the settings and the libraries
(`fit_key`); given the fits of the last run (`KeptFits`), a fit whose key is among them takes their
parameters instead of fitting again: a holdout whose calibration rows a new month did not touch
costs no fit, and its figures are those a fit would give.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from importlib.metadata import version

import numpy as np
import pandas as pd
import polars as pl
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import ConvergenceError

from models.settings import AnalyticsSettings

TIME_UNIT = "weeks"
WEEKS_PER_MONTH = 365.25 / 12 / 7
BGNBD_PARAMS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMS = ("p", "q", "v")
FIT_ATTEMPTS = ((None, 1e-7), (None, 1e-6), (None, 1e-5), (1e-4, 1e-7), (1e-2, 1e-7))
"""(penalizer, tolerance) tried in turn until a fit converges: lifetimes' default tolerance first;
then looser tolerances, because BFGS can stop at the optimum with "precision loss" when the
likelihood is flat along one axis (Gamma-Gamma's q and v); then a penalizer (None: the
settings' own), which moves the estimates and is therefore the last resort."""


KeptFits = dict[str, dict]
"""Fits by their key (`fit_key`): {"params": {name: value}, "penalizer": float, "note": str}."""

LIBRARIES = tuple(f"{name}=={version(name)}" for name in ("lifetimes", "scipy", "numpy", "autograd"))
"""What a fit's result also depends on, and so its key."""


def model_fingerprint(penalizer: float) -> str:
    """What a kept model's fit depends on besides its rows: the penalizer, the attempts tried and
    the libraries. A kept model of another fingerprint is fitted again."""
    return hashlib.sha256(repr((penalizer, FIT_ATTEMPTS, LIBRARIES)).encode()).hexdigest()


def fit_key(fitter, columns: list[np.ndarray], weights: np.ndarray, penalizer: float) -> str:
    """A fingerprint of everything one fit's result depends on: the fitter, its rows and weights,
    and what `model_fingerprint` covers."""
    digest = hashlib.sha256(f"{fitter.__name__}:{model_fingerprint(penalizer)}".encode())
    for array in (*columns, weights):
        array = np.ascontiguousarray(array)
        digest.update(str(array.dtype).encode() + array.tobytes())
    return digest.hexdigest()


class FitFailed(RuntimeError):
    """No attempt of FIT_ATTEMPTS converged."""


def _fitted(fitter, fit: dict):
    """A model of `fitter` with the parameters of a kept fit, as its own fit would leave it."""
    model = fitter(penalizer_coef=fit["penalizer"])
    model.params_ = pd.Series(fit["params"], dtype=np.float64)
    return model


def _kept_fit(model, note: str) -> dict:
    return {"params": {name: float(value) for name, value in model.params_.items()},
            "penalizer": float(model.penalizer_coef), "note": note}


@dataclass(frozen=True)
class ClvModel:
    bgnbd: BetaGeoFitter
    gamma_gamma: GammaGammaFitter
    n_customers: int
    n_repeat_customers: int
    frequency_spend_correlation: float
    fit_notes: dict[str, str]
    fits: KeptFits = field(default_factory=dict)
    """The fits this model is made of, by key: kept for the next run."""
    calibration_end: dt.date | None = None
    """The last day of the rows it was fitted on."""
    fingerprint: str = ""
    """`model_fingerprint` of its fit."""

    def parameters(self) -> pl.DataFrame:
        """model, param, value: the fitted parameters (Gamma-Gamma's v is the paper's gamma)."""
        rows = [("bgnbd", name, float(self.bgnbd.params_[name])) for name in BGNBD_PARAMS]
        rows += [("gamma_gamma", name, float(self.gamma_gamma.params_[name])) for name in GAMMA_GAMMA_PARAMS]
        return pl.DataFrame(rows, schema=["model", "param", "value"], orient="row")

    def to_json(self) -> str:
        """The model as a file: both fits' parameters (floats written so they read back exactly),
        what they were fitted on, and the fingerprint of the fit."""
        return json.dumps({
            "calibration_end": self.calibration_end.isoformat() if self.calibration_end else None,
            "n_customers": self.n_customers, "n_repeat_customers": self.n_repeat_customers,
            "frequency_spend_correlation": self.frequency_spend_correlation, "fingerprint": self.fingerprint,
            "bgnbd": _kept_fit(self.bgnbd, self.fit_notes["bgnbd_fit"]),
            "gamma_gamma": _kept_fit(self.gamma_gamma, self.fit_notes["gamma_gamma_fit"])}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> ClvModel:
        data = json.loads(text)
        return cls(bgnbd=_fitted(BetaGeoFitter, data["bgnbd"]),
                   gamma_gamma=_fitted(GammaGammaFitter, data["gamma_gamma"]),
                   n_customers=data["n_customers"], n_repeat_customers=data["n_repeat_customers"],
                   frequency_spend_correlation=data["frequency_spend_correlation"],
                   fit_notes={"bgnbd_fit": data["bgnbd"]["note"], "gamma_gamma_fit": data["gamma_gamma"]["note"]},
                   calibration_end=dt.date.fromisoformat(data["calibration_end"]) if data["calibration_end"] else None,
                   fingerprint=data["fingerprint"])


def refit_reason(kept: ClvModel | None, n_customers: int, as_of: dt.date | None,
                 settings: AnalyticsSettings) -> str | None:
    """Why the kept model must be fitted again on the customers of now, or None to score with it:
    there is none, its fit had other settings or libraries, as-of is before the day it was fitted
    up to (it would know the future) or more than `refit_after_days` after it, or the customers
    differ from those it was fitted on by more than `refit_new_share`."""
    if kept is None or kept.calibration_end is None or as_of is None:
        return "no kept model"
    if kept.fingerprint != model_fingerprint(settings.penalizer):
        return "the penalizer, the fit attempts or the libraries changed"
    days = (as_of - kept.calibration_end).days
    if days < 0:
        return f"as-of is before the kept model's calibration end ({kept.calibration_end})"
    if days > settings.refit_after_days:
        return f"as-of is {days} days after the kept model's calibration end (more than {settings.refit_after_days})"
    changed = abs(n_customers - kept.n_customers) / max(n_customers, 1)
    if changed > settings.refit_new_share:
        return f"the customers changed by {changed:.0%} since the fit (more than {settings.refit_new_share:.0%})"
    return None


def weighted_rows(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Distinct rows of `columns` with their count as `weight`, in a fixed order."""
    return frame.group_by(columns).agg(weight=pl.len()).sort(columns)


def _fit_with_fallbacks(fitter, columns: list[np.ndarray], weights: np.ndarray, penalizer: float,
                        kept: KeptFits | None, fits: KeptFits | None):
    """The first of FIT_ATTEMPTS that converges, and a note of which it was; the parameters of a
    kept fit of the same key instead, without fitting. The fit used is added to `fits`."""
    key = fit_key(fitter, columns, weights, penalizer)
    kept, fits = kept or {}, {} if fits is None else fits
    if key in kept:
        fits[key] = kept[key]
        return _fitted(fitter, kept[key]), kept[key]["note"]
    for attempt_penalizer, tol in FIT_ATTEMPTS:
        used = penalizer if attempt_penalizer is None else max(penalizer, attempt_penalizer)
        model = fitter(penalizer_coef=used)
        try:
            # lifetimes prints scipy's whole result before it raises; the note below says enough
            with contextlib.redirect_stdout(io.StringIO()):
                model.fit(*columns, weights=weights, tol=tol)
        except ConvergenceError:
            continue
        note = "converged" if (attempt_penalizer, tol) == FIT_ATTEMPTS[0] else f"converged with tol={tol:g}, " \
                                                                             f"penalizer={used:g}"
        fits[key] = _kept_fit(model, note)
        return model, note
    raise FitFailed(f"{fitter.__name__} did not converge with any of {len(FIT_ATTEMPTS)} attempts")


def fit_bgnbd(summary: pl.DataFrame, penalizer: float = 0.0, kept: KeptFits | None = None,
              fits: KeptFits | None = None) -> tuple[BetaGeoFitter, str]:
    """BG/NBD on frequency, recency, T (one row per customer, or distinct rows with `weight`), and
    a note of how it converged (`kept`, `fits`: see _fit_with_fallbacks)."""
    rows = summary if "weight" in summary.columns else weighted_rows(summary, ["frequency", "recency", "T"])
    return _fit_with_fallbacks(BetaGeoFitter, [rows[c].to_numpy() for c in ("frequency", "recency", "T")],
                               rows["weight"].to_numpy().astype(np.float64), penalizer, kept, fits)


def fit_gamma_gamma(repeaters: pl.DataFrame, penalizer: float = 0.0, kept: KeptFits | None = None,
                    fits: KeptFits | None = None) -> tuple[GammaGammaFitter, str]:
    """Gamma-Gamma on frequency and monetary_value (mean spend per repeat visit) of customers with
    at least one repeat visit that cost something, and a note of how it converged."""
    usable = repeaters.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
    rows = usable if "weight" in usable.columns else weighted_rows(usable, ["frequency", "monetary_value"])
    return _fit_with_fallbacks(GammaGammaFitter, [rows[c].to_numpy() for c in ("frequency", "monetary_value")],
                               rows["weight"].to_numpy().astype(np.float64), penalizer, kept, fits)


def unfit_reason(summary: pl.DataFrame, min_customers: int) -> str | None:
    """Why the models should not be fitted on `summary`, or None when they can be."""
    repeaters = summary.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0)).height
    if summary.height < min_customers or repeaters < min_customers // 2:
        return f"too few customers to fit: {summary.height} customers, {repeaters} with repeat visits " \
               f"(need {min_customers} and {min_customers // 2})"
    return None


def fit_clv(summary: pl.DataFrame, penalizer: float = 0.0, kept: KeptFits | None = None,
            calibration_end: dt.date | None = None) -> ClvModel:
    """Both models on a per-customer summary (frequency, recency, T, monetary_value) ending at
    `calibration_end`; a fit of `kept` with the same key is taken instead of fitting again."""
    repeaters = summary.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
    correlation = repeaters.select(pl.corr("frequency", "monetary_value")).item() if repeaters.height > 2 else None
    fits: KeptFits = {}
    bgnbd, bgnbd_note = fit_bgnbd(summary.select("frequency", "recency", "T"), penalizer, kept, fits)
    gamma_gamma, gamma_gamma_note = fit_gamma_gamma(repeaters.select("frequency", "monetary_value"), penalizer,
                                                    kept, fits)
    return ClvModel(
        bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
        n_customers=summary.height,
        n_repeat_customers=repeaters.height,
        frequency_spend_correlation=float(correlation) if correlation is not None else float("nan"),
        fit_notes={"bgnbd_fit": bgnbd_note, "gamma_gamma_fit": gamma_gamma_note},
        fits=fits,
        calibration_end=calibration_end,
        fingerprint=model_fingerprint(penalizer),
    )


def _expected_visits(model: BetaGeoFitter, weeks: float, f: pd.Series, r: pd.Series, t: pd.Series):
    """Expected visits within `weeks`: what lifetimes' `predict` (an alias its fit sets, which a kept
    fit's model lacks) computes."""
    return model.conditional_expected_number_of_purchases_up_to_time(weeks, f, r, t)


def predict_visits(model: BetaGeoFitter, summary: pl.DataFrame, horizon_months: int,
                   monthly_discount_rate: float | None) -> pl.DataFrame:
    """Per distinct (frequency, recency, T): p_alive, expected visits within the horizon, and
    (given a discount rate) the discounted expected visits of its months: lifetimes' CLV with a
    spend of 1, which CLV is linear in."""
    rows = summary.select("frequency", "recency", "T").unique().sort("frequency", "recency", "T")
    f, r, t = (rows[c].to_pandas() for c in ("frequency", "recency", "T"))
    discounted = np.full(len(f), np.nan)
    if monthly_discount_rate is not None:
        discounted = discounted_visits(model, f, r, t, horizon_months, monthly_discount_rate)
    return rows.with_columns(
        p_alive=pl.Series(np.asarray(model.conditional_probability_alive(f, r, t))),
        expected_visits=pl.Series(np.asarray(_expected_visits(model, horizon_months * WEEKS_PER_MONTH, f, r, t))),
        discounted_visits=pl.Series(discounted),
    )


LIFETIMES_WEEKS_PER_MONTH = 4.345
"""The weeks of a month in lifetimes' CLV (its `freq="W"`), kept so CLV stays lifetimes' figure."""


def discounted_visits(model: BetaGeoFitter, f: pd.Series, r: pd.Series, t: pd.Series, horizon_months: int,
                      monthly_discount_rate: float) -> np.ndarray:
    """Expected visits of each month of the horizon, discounted to today and summed: lifetimes'
    `GammaGammaFitter.customer_lifetime_value` with a spend of 1 (CLV is linear in it), through
    the model's public predictions only."""
    total = np.zeros(len(f))
    for month in np.arange(1, horizon_months + 1):
        weeks = month * LIFETIMES_WEEKS_PER_MONTH
        in_month = (_expected_visits(model, weeks, f, r, t)
                    - _expected_visits(model, weeks - LIFETIMES_WEEKS_PER_MONTH, f, r, t))
        total = total + np.asarray(in_month) / (1 + monthly_discount_rate) ** (weeks / LIFETIMES_WEEKS_PER_MONTH)
    return total


def score_customers(model: ClvModel, summary: pl.DataFrame, horizon_months: int,
                    monthly_discount_rate: float | None) -> pl.DataFrame:
    """Per customer: p_alive, expected_visits (horizon), expected_spend per visit, and the
    discounted clv of the horizon (null without a discount rate: the backtest needs no CLV)."""
    visits = predict_visits(model.bgnbd, summary, horizon_months, monthly_discount_rate)
    spend_rows = summary.select("frequency", "monetary_value").unique().sort("frequency", "monetary_value")
    spend = spend_rows.with_columns(expected_spend=pl.Series(np.asarray(
        model.gamma_gamma.conditional_expected_average_profit(
            spend_rows["frequency"].to_pandas(), spend_rows["monetary_value"].to_pandas()))))
    return (summary.join(visits, on=["frequency", "recency", "T"], how="left")
            .join(spend, on=["frequency", "monetary_value"], how="left")
            .with_columns(clv=pl.col("expected_spend") * pl.col("discounted_visits"))
            .select("customer_id", "p_alive", "expected_visits", "expected_spend", "clv"))


def holdout_metrics(scored: pl.DataFrame) -> dict[str, float]:
    """Error of predicted against actual visits in the holdout (`expected_visits`,
    `actual_visits`, `customer_id`): per-customer MAE, aggregate error and decile lift."""
    scored = scored.sort("customer_id")  # sums of floats in a fixed order: the same figures every run
    deciles = scored.sort(["expected_visits", "customer_id"], descending=[True, False]).with_columns(
        decile=(pl.int_range(pl.len()) * 10 // pl.len() + 1))
    by_decile = deciles.group_by("decile").agg(pl.col("actual_visits").sum()).sort("decile")
    actual_total = scored["actual_visits"].sum()
    predicted_total = scored["expected_visits"].sum()
    top_share = by_decile["actual_visits"][0] / actual_total if actual_total else float("nan")
    return {
        "customers": float(scored.height),
        "mae_visits": float((scored["expected_visits"] - scored["actual_visits"]).abs().mean()),
        "actual_visits": float(actual_total),
        "predicted_visits": float(predicted_total),
        "aggregate_error": float((predicted_total - actual_total) / actual_total) if actual_total else float("nan"),
        "top_decile_lift": float(top_share * 10),
        **{f"decile_{d}_actual_share": float(v / actual_total) if actual_total else float("nan")
           for d, v in by_decile.iter_rows()},
    }


SCORE_COLUMNS = {"p_alive": pl.Float64, "expected_visits": pl.Float64, "expected_spend": pl.Float64,
                 "clv": pl.Float64}
PARAMETER_SCHEMA = {"model": pl.String, "param": pl.String, "value": pl.Float64, "time_unit": pl.String,
                    "n_customers": pl.Int64, "calibration_end": pl.Date}


@dataclass(frozen=True)
class ClvFit:
    """What fitting and scoring one cut-off's summary gave: per-customer scores (empty columns
    when the models were not fitted), the parameter rows, and notes on the fit (`model` says
    "fitted" or why not)."""

    scores: pl.DataFrame
    parameters: pl.DataFrame
    notes: dict
    fits: KeptFits = field(default_factory=dict)
    model: ClvModel | None = None

    @property
    def fitted(self) -> bool:
        return self.notes["model"] == "fitted"


def fit_and_score(summary: pl.DataFrame, calibration_end: dt.date | None, settings: AnalyticsSettings,
                  with_clv: bool, kept: KeptFits | None = None, model: ClvModel | None = None) -> ClvFit:
    """Fit BG/NBD + Gamma-Gamma on a per-customer summary (customer_id, frequency, recency, T,
    monetary_value) ending at `calibration_end`, or take `model`, and score its customers: p_alive,
    expected visits and spend, and (`with_clv`) the discounted CLV of the horizon. Data too small
    to fit, or a fit that does not converge, gives empty scores and says why. A fit of `kept` (the
    last run's `fits`) with the same key is taken instead of fitting again; `fits` are this one's,
    kept. The parameters' calibration end and customers are those of the fit."""
    reason = unfit_reason(summary, settings.min_customers)
    if not reason and model is None:
        try:
            model = fit_clv(summary, settings.penalizer, kept, calibration_end)
        except FitFailed as exc:
            reason = f"not fitted: {exc}"
    if reason:
        scores = summary.select("customer_id").with_columns(
            **{name: pl.lit(None, dtype) for name, dtype in SCORE_COLUMNS.items()})
        return ClvFit(scores, pl.DataFrame(schema=PARAMETER_SCHEMA), {"model": reason})
    scores = score_customers(model, summary, settings.horizon_months,
                             settings.monthly_discount_rate if with_clv else None)
    parameters = model.parameters().with_columns(
        time_unit=pl.lit(TIME_UNIT), n_customers=pl.lit(model.n_customers, pl.Int64),
        calibration_end=pl.lit(model.calibration_end, pl.Date))
    return ClvFit(scores, parameters, {
        "model": "fitted", **model.fit_notes, "repeat_customers": model.n_repeat_customers,
        "frequency_spend_correlation": round(model.frequency_spend_correlation, 4),
        **({"fits_kept": sum(key in kept for key in model.fits)} if kept is not None else {})}, model.fits, model)
