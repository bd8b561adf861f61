"""Every setting of the pipeline, with the reasoning behind each default: one home.

Every analysis runs as of one date and reads only records dated on or before it. Changing a
setting changes the marts, so they are all here, in one place, and none is read from the clock.
The sections are pydantic models (Dagster's `Config`, so the launchpad shows each field with its
description) gathered in one resource, `Settings`: a run sets any of them from its run config
(`resources: settings: config: identity: match_threshold: 0.9`) or from a YAML/JSON file of the
same shape (`crm run --settings FILE`, or `CRM_SETTINGS` for `dagster dev`).
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import yaml
from pydantic import Field, model_validator


class IngestSettings(dg.Config):
    """What the parsing accepts."""

    future_tolerance_days: int = Field(1, description=(
        "A record dated after the day of the run plus this many days is a future_date reject (no "
        "DMS records what has not happened): a day of slack for exports written near midnight in "
        "another time zone than the run's (Asia/Shanghai)."))


class IdentitySettings(dg.Config):
    """Thresholds and seeds of identity resolution."""

    match_threshold: float = Field(
        0.95, description="Splink match probability at or above which two profiles are one customer "
                         "(calibrated on labelled data: bench/RESULTS.md, identity threshold).")
    score_floor: float = Field(
        0.5, description="Pairs scored at or above this are kept in identity.signature_pairs, so the "
                         "threshold's effect can be read without scoring again.")
    min_name_similarity: float = Field(
        0.92, description="Jaro-Winkler similarity of two Latin name keys at which the names agree "
                          "(Jon Smith, John Smith): a shared car under names that do not agree is "
                          "the next owner.")
    common_name_share: float = Field(
        5e-4, description="A name key carried by at least this share of signatures, and by at least "
                          "common_name_min_count, is common (张伟): sharing it needs a second strong "
                          "agreement to link.")
    common_name_min_count: int = Field(10, description="See common_name_share.")
    max_household_size: int = Field(
        6, description="A mobile or address shared by more customers than this is not a household's.")
    seed: int = Field(42, description="Seed of Splink's random sampling for u probabilities.")
    u_max_pairs: float = Field(1e6, description="Pairs sampled to estimate u probabilities (those of the "
                                                 "exact levels are computed, not sampled).")
    em_max_pairs: float = Field(2e5, description="Pairs per expectation-maximisation training block.")
    max_block_pairs_per_signature: float = Field(
        0.5, description="A scoring block that would compare more pairs across profiles than this "
                         "many per signature (and more than min_block_budget) is left out (a surname "
                         "and a city's postcode, at a large network): the others still find the "
                         "pairs, and the asset's metadata names the blocks used.")
    min_block_budget: float = Field(1e5, description="See max_block_pairs_per_signature.")
    retrain_new_share: float = Field(
        0.2, description="The kept model is trained again when the signatures it has not seen are more "
                         "than this share of all (a network that grew by a fifth has other names and "
                         "addresses to learn from); otherwise every run scores with the kept model file.")
    rescore_share: float = Field(
        0.3, description="A run scores again only the pairs of the signatures that changed since the last "
                         "scoring (with a model whose term frequencies are frozen), unless these are more "
                         "than this share of all: every pair is then scored, which is cheaper. The pairs "
                         "and their scores are the same either way.")
    min_training_pairs: int = Field(
        50, description="A training block with fewer pairs than this is skipped; what no block "
                        "trains keeps its shipped parameters.")


class AnalyticsSettings(dg.Config):
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
    refit_after_days: int = Field(7, description=(
        "The kept CLV model is fitted again when as-of is more than this many days after the end of "
        "the rows it was fitted on (and by the weekly schedule, or --retrain): a week of nightly runs "
        "scores its customers with one model. Its parameters describe the network, which a week of "
        "visits moves little; each customer's own history is read at every run's as-of."))
    refit_new_share: float = Field(0.05, description=(
        "The kept CLV model is also fitted again when the customers differ from those it was "
        "fitted on by more than this share (dealers joined, or left, the network)."))

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


class ChurnSettings(dg.Config):
    """The churn classifier (scikit-learn's HistGradientBoostingClassifier) and what it learns from."""

    active_window_days: int = Field(730, description=(
        "The churn model learns from and is judged on customers seen in the two years before its "
        "cut-off: customers lost long ago are easy to call and would flatter the backtest."))
    max_training_rows: int = Field(100_000, description="Training rows sampled (seeded) for the classifier.")
    max_iter: int = Field(60, description=(
        "Boosting iterations. 60 at a learning rate of 0.2 ranks as well as 150 at 0.1 on the bench "
        "set (bench/RESULTS.md) and scores faster."))
    learning_rate: float = Field(0.2, description="Shrinkage of each tree's contribution.")
    max_leaf_nodes: int = Field(31, description="Leaves per tree (scikit-learn's default).")
    seed: int = Field(42, description="Seed of the training sample, the classifier and the random ranking.")


class MarketingSettings(dg.Config):
    """Who a marketing list may contact."""

    unknown_consent_contactable: bool = Field(False, description=(
        "A customer whose records at a dealer never answer the marketing-consent question is not "
        "contactable by that dealer: China's Personal Information Protection Law asks for consent "
        "to marketing, and an unanswered question is not consent. Set True where the dealer holds "
        "consent outside the DMS."))


class FollowUpStep(dg.Config):
    """One call of post-delivery care."""

    step: str
    due_days: int = Field(description="Days after the delivery (sale_date) the call is due.")
    window_days: int = Field(description=(
        "Days the step stays open from its due date, the due date included: a call within them "
        "completes the step; after them an uncompleted step is missed."))


class ServiceInterval(dg.Config):
    """A maintenance schedule: the first service after delivery, then the regular one; whichever
    of time and mileage comes first."""

    brand: str | None = Field(None, description="Brand of dealers.csv this schedule is for; None: every other brand.")
    first_months: int = 6
    first_km: int = 5_000
    months: int = 12
    km: int = 10_000


class ActSettings(dg.Config):
    """Settings of the staff's work lists: follow-ups, service reminders and win-back."""

    follow_up_steps: list[FollowUpStep] = Field([
        {"step": "24h", "due_days": 1, "window_days": 2},
        {"step": "3d", "due_days": 3, "window_days": 2},
        {"step": "7d", "due_days": 7, "window_days": 3},
        {"step": "30d", "due_days": 30, "window_days": 7},
    ], description=(
        "The four calls after a new-car delivery. Windows do not overlap, so one call completes "
        "one step; a call is due on its day and overdue until its window closes."))
    service_intervals: list[ServiceInterval] = Field([{}], description=(
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

    @model_validator(mode="after")
    def _typed_lists(self) -> ActSettings:
        # Dagster takes a list of Config only as plain values for its default: type them here
        object.__setattr__(self, "follow_up_steps", [FollowUpStep.model_validate(step) if isinstance(step, dict)
                                                     else step for step in self.follow_up_steps])
        object.__setattr__(self, "service_intervals", [ServiceInterval.model_validate(i) if isinstance(i, dict)
                                                       else i for i in self.service_intervals])
        return self


class Settings(dg.ConfigurableResource):
    """Every setting of a run, by stage. Defaults are the product's; a run overrides any field."""

    ingest: IngestSettings = Field(default_factory=IngestSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    churn: ChurnSettings = Field(default_factory=ChurnSettings)
    marketing: MarketingSettings = Field(default_factory=MarketingSettings)
    act: ActSettings = Field(default_factory=ActSettings)

    @classmethod
    def from_file(cls, path: str | Path | None) -> Settings:
        """The settings of a YAML or JSON file shaped like the run config (sections, then fields);
        no path: the defaults."""
        if not path:
            return cls()
        text = Path(path).read_text(encoding="utf-8")
        try:
            values = (json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"not YAML: {exc}") from None
        unknown = set(values) - set(SECTIONS)
        if unknown:
            raise ValueError(f"unknown section(s) {', '.join(sorted(unknown))}; the sections are {', '.join(SECTIONS)}")
        return cls(**{section: SECTIONS[section](**fields) for section, fields in values.items()})


SECTIONS = {"ingest": IngestSettings, "identity": IdentitySettings, "analytics": AnalyticsSettings,
            "churn": ChurnSettings, "marketing": MarketingSettings, "act": ActSettings}
