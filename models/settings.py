"""The analytics settings, with the reasoning behind each default.

Every analysis runs as of one date and reads only records dated on or before it. Changing a
setting changes the marts, so they are all here, in one place, and none is read from the clock.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class IngestSettings(BaseModel):
    """What the parsing accepts."""

    future_tolerance_days: int = Field(1, description=(
        "A record dated after the day of the run plus this many days is a future_date reject (no "
        "DMS records what has not happened): a day of slack for exports written near midnight in "
        "another time zone than the run's (Asia/Shanghai)."))


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


class FollowUpStep(BaseModel):
    """One call of post-delivery care."""

    step: str
    due_days: int = Field(description="Days after the delivery (sale_date) the call is due.")
    window_days: int = Field(description=(
        "Days the step stays open from its due date, the due date included: a call within them "
        "completes the step; after them an uncompleted step is missed."))


class ServiceInterval(BaseModel):
    """A maintenance schedule: the first service after delivery, then the regular one; whichever
    of time and mileage comes first."""

    brand: str | None = Field(None, description="Brand of dealers.csv this schedule is for; None: every other brand.")
    first_months: int = 6
    first_km: int = 5_000
    months: int = 12
    km: int = 10_000


class ActSettings(BaseModel):
    """Settings of the staff's work lists: follow-ups, service reminders and win-back."""

    follow_up_steps: list[FollowUpStep] = Field(default_factory=lambda: [
        FollowUpStep(step="24h", due_days=1, window_days=2),
        FollowUpStep(step="3d", due_days=3, window_days=2),
        FollowUpStep(step="7d", due_days=7, window_days=3),
        FollowUpStep(step="30d", due_days=30, window_days=7),
    ], description=(
        "The four calls after a new-car delivery. Windows do not overlap, so one call completes "
        "one step; a call is due on its day and overdue until its window closes."))
    service_intervals: list[ServiceInterval] = Field(default_factory=lambda: [ServiceInterval()], description=(
        "Maintenance schedules per brand; the one without a brand applies to every other brand. "
        "The defaults are the common Chinese schedule: first service at 6 months or 5,000 km, "
        "then every 12 months or 10,000 km."))
    due_soon_days: int = Field(30, description="A maintenance due within this many days after as-of is due_30d.")
    mileage_prior_strength: float = Field(2.0, description=(
        "A vehicle's own km per day (first to last odometer reading) is blended with its model's "
        "median (else the network's) as if the median were this many reading intervals: one "
        "interval moves the estimate a third of the way, eight intervals four fifths."))
    min_model_vehicles: int = Field(10, description="A model's median km per day needs this many vehicles with readings.")
    default_km_per_day: float = Field(40.0, description=(
        "Km per day when no vehicle of the network has two readings: about 15,000 km a year, "
        "the typical distance of a private car in China."))
    left_to_win_back_intervals: float = Field(2.0, description=(
        "A vehicle not serviced for more than this many maintenance intervals (time) leaves the "
        "reminder list: it is a win-back case, not a reminder."))
    conversion_window_days: int = Field(60, description=(
        "Service-due conversion: a vehicle due 3 to 6 months before as-of converted when it was "
        "serviced (anywhere in the network) by this many days after its due date."))
    win_back_lookback_days: int = Field(1825, description=(
        "Customers lost by a dealer more than five years ago are no longer on its win-back list: "
        "their car has most likely left the road or the region."))
    win_back_min_visits: int = Field(2, description=(
        "A customer is a dealer's to win back when they bought a vehicle there or came for this "
        "many service visits; one visit while passing through is not a relationship."))
    won_back_within_days: int = Field(90, description=(
        "A win-back call counts as won when the customer comes back to that dealer within this "
        "many days."))
