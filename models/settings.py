"""The analytics settings, with the reasoning behind each default.

Every analysis runs as of one date and reads only records dated on or before it. Changing a
setting changes the marts, so they are all here, in one place, and none is read from the clock.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class AnalyticsSettings(BaseModel):
    """Settings of RFM, ABC tiers, lifecycle stages, CLV and churn risk."""

    # --- what counts as value -------------------------------------------------------------
    window_months: int = Field(36, description=(
        "Frequency, monetary value and ABC value count the last 36 months: three maintenance "
        "cycles of a car still in warranty age, long enough to see a rhythm, short enough to "
        "forget customers whose car left years ago."))
    vehicle_margin_rate: float = Field(0.05, description=(
        "A vehicle sale adds its gross profit to a customer's value (the file's gross_profit, else "
        "this share of the price): what the dealer earns on the car, not the 200,000 yuan the "
        "carmaker is paid. After-sales spend counts in full."))

    # --- ABC tiers (Pareto) ---------------------------------------------------------------
    a_share: float = Field(0.80, description="A: the customers who together bring this share of value.")
    b_share: float = Field(0.95, description="B: the next customers up to this cumulative share; C: the rest.")

    # --- lifecycle stage ------------------------------------------------------------------
    stable_min_visits: int = Field(3, description=(
        "A customer is new until three service visits and a year of tenure: two intervals are "
        "the fewest that show a rhythm."))
    new_tenure_days: int = Field(365, description="Tenure below which a customer is new whatever the visits.")
    prior_strength_gaps: float = Field(3.0, description=(
        "The peer norm counts as this many observed intervals when it is blended with a "
        "customer's own mean interval (empirical-Bayes shrinkage): one interval moves the "
        "expectation a quarter of the way, twelve intervals four fifths."))
    default_interval_days: float = Field(180.0, description="Expected interval when no peer has a history.")
    churning_ratio: float = Field(1.5, description=(
        "Churning from 1.5 expected intervals since the last visit: service intervals vary by "
        "about a third around their mean, so half an interval late is beyond normal variation."))
    lost_ratio: float = Field(3.0, description="Lost from three expected intervals: two visits missed in a row.")
    lost_after_days: int = Field(730, description=(
        "Lost after two years without any visit or purchase, whatever the rhythm: longer than "
        "any maintenance schedule (carmakers ask for a visit every 12 months or 10,000 km)."))

    min_customers: int = Field(100, description=(
        "Below this many customers (or repeat customers, for Gamma-Gamma and the churn model's "
        "classes) the CLV and churn models are not fitted: their columns stay empty and the "
        "asset metadata says why, rather than publishing estimates from a handful of people."))

    # --- CLV ------------------------------------------------------------------------------
    horizon_months: int = Field(12, description="CLV, expected visits and the holdout period, in months.")
    annual_discount_rate: float = Field(0.10, description="Discount rate of CLV cash flows, per year.")
    penalizer: float = Field(0.0, description="L2 penalty of the BG/NBD and Gamma-Gamma fits (0 = plain MLE).")

    # --- churn risk -----------------------------------------------------------------------
    active_window_days: int = Field(730, description=(
        "The churn model learns from and is judged on customers seen in the two years before its "
        "cut-off: customers lost long ago are easy to call and would flatter the backtest."))
    max_training_rows: int = Field(100_000, description="Training rows sampled (seeded) for the classifier.")
    seed: int = Field(42, description="Seed of every sample and model.")

    @model_validator(mode="after")
    def _ordered(self) -> AnalyticsSettings:
        if not 0 < self.a_share < self.b_share < 1:
            raise ValueError("need 0 < a_share < b_share < 1")
        if not 1 < self.churning_ratio < self.lost_ratio:
            raise ValueError("need 1 < churning_ratio < lost_ratio")
        return self

    @property
    def monthly_discount_rate(self) -> float:
        return (1 + self.annual_discount_rate) ** (1 / 12) - 1


class MarketingSettings(BaseModel):
    """Who a marketing list may contact."""

    unknown_consent_contactable: bool = Field(False, description=(
        "A customer whose records at a dealer never answer the marketing-consent question is not "
        "contactable by that dealer: China's Personal Information Protection Law asks for consent "
        "to marketing, and an unanswered question is not consent. Set True where the dealer holds "
        "consent outside the DMS."))
