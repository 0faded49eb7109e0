"""Assessed intakes: person-day sums and person means with DRI values, ratio and flags."""

import pandera.polars as pa

from schemas import FiniteNumbers

RISK_LEVELS = ["low", "moderate", "high", "unknown"]


class PersonDay(FiniteNumbers):
    """One row per person and recall day: Ca and Mg from food, supplements and in total (mg)."""

    study_id: str
    person_id: str
    recall_day: int = pa.Field(ge=1)
    calcium_food_mg: float = pa.Field(ge=0)
    calcium_supplement_mg: float = pa.Field(ge=0)
    calcium_mg: float = pa.Field(ge=0)
    magnesium_food_mg: float = pa.Field(ge=0)
    magnesium_supplement_mg: float = pa.Field(ge=0)
    magnesium_mg: float = pa.Field(ge=0)
    n_items: int = pa.Field(ge=1)
    n_unmatched_items: int = pa.Field(ge=0)
    is_complete: bool

    class Config:
        """One row per person-day."""

        unique = ["study_id", "person_id", "recall_day"]


class PersonIntake(FiniteNumbers):
    """One row per person: mean daily intakes over their recall days, ratio, DRI values and flags.

    Flags are screening results on observed intake (a few days), not a diagnosis.
    """

    study_id: str
    person_id: str
    sex: str
    age_months: int
    life_stage: str
    dri_age_group: str = pa.Field(nullable=True)
    n_days: int = pa.Field(ge=1)
    n_complete_days: int = pa.Field(ge=0)
    is_complete: bool
    calcium_food_mg: float = pa.Field(ge=0)
    calcium_supplement_mg: float = pa.Field(ge=0)
    calcium_mg: float = pa.Field(ge=0)
    magnesium_food_mg: float = pa.Field(ge=0)
    magnesium_supplement_mg: float = pa.Field(ge=0)
    magnesium_mg: float = pa.Field(ge=0)
    calcium_to_magnesium_mass_ratio: float = pa.Field(nullable=True, ge=0)
    calcium_to_magnesium_molar_ratio: float = pa.Field(nullable=True, ge=0)
    ratio_band: str = pa.Field(nullable=True)
    is_calcium_below_ear: bool = pa.Field(nullable=True)
    is_magnesium_below_ear: bool = pa.Field(nullable=True)
    is_calcium_above_ul: bool = pa.Field(nullable=True)
    is_supplemental_magnesium_above_ul: bool = pa.Field(nullable=True)
    is_ratio_above_high_band: bool = pa.Field(nullable=True)
    is_ratio_below_low_band: bool = pa.Field(nullable=True)
    is_calcium_supplement_without_magnesium: bool = pa.Field(nullable=True)
    n_flags: int = pa.Field(ge=0)
    risk_level: str = pa.Field(isin=RISK_LEVELS)
    rules_version: str

    class Config:
        """DRI values, rule ids and survey design columns ride along."""

        strict = False
        unique = ["study_id", "person_id"]
