"""Assessed intakes: person-day sums and person means with DRI values, ratio and flags."""

import pandera.polars as pa

from schemas import FiniteNumbers

RISK_LEVELS = ["low", "moderate", "high", "undetermined"]
ASSESSMENT_STATUSES = ["assessed", "insufficient data", "age in months unknown"]
ADEQUACY = ["likely adequate", "uncertain", "likely inadequate", "cannot be determined"]
UL_ASSESSMENT = ["likely above UL", "uncertain", "likely below UL", "cannot be determined"]


class PersonDay(FiniteNumbers):
    """One row per person and recall day: Ca and Mg from food, supplements and in total (mg)."""

    study_id: str
    person_id: str
    recall_day: int = pa.Field(ge=1)
    calcium_food_mg: float = pa.Field(ge=0)
    calcium_supplement_mg: float = pa.Field(ge=0, nullable=True)
    calcium_mg: float = pa.Field(ge=0)
    magnesium_food_mg: float = pa.Field(ge=0)
    magnesium_supplement_mg: float = pa.Field(ge=0, nullable=True)
    magnesium_mg: float = pa.Field(ge=0)
    n_items: int = pa.Field(ge=1)
    n_unmatched_items: int = pa.Field(ge=0)
    n_supplement_items: int = pa.Field(ge=0)
    is_complete: bool

    class Config:
        """One row per person-day."""

        unique = ["study_id", "person_id", "recall_day"]


class PersonIntake(FiniteNumbers):
    """One row per person: mean daily intakes over the days used, ratio, DRI values, assessment, flags.

    The assessment is the DRI method for individuals (IOM 2000 ch.3): a z, the confidence and a
    category per mineral; flags and the risk level rest on it. Null where nothing can be concluded.
    """

    study_id: str
    person_id: str
    sex: str
    age_months: int = pa.Field(nullable=True)
    life_stage: str
    assessment_status: str = pa.Field(isin=ASSESSMENT_STATUSES)
    dri_age_group: str = pa.Field(nullable=True)
    n_days: int = pa.Field(ge=1)
    n_days_used: int = pa.Field(ge=0)
    n_complete_days: int = pa.Field(ge=0)
    n_unmatched_items: int = pa.Field(ge=0)
    is_complete: bool
    has_supplement_data: bool
    calcium_food_mg: float = pa.Field(ge=0, nullable=True)
    calcium_supplement_mg: float = pa.Field(ge=0, nullable=True)
    calcium_mg: float = pa.Field(ge=0, nullable=True)
    magnesium_food_mg: float = pa.Field(ge=0, nullable=True)
    magnesium_supplement_mg: float = pa.Field(ge=0, nullable=True)
    magnesium_mg: float = pa.Field(ge=0, nullable=True)
    calcium_to_magnesium_mass_ratio: float = pa.Field(nullable=True, ge=0)
    calcium_to_magnesium_molar_ratio: float = pa.Field(nullable=True, ge=0)
    ratio_band: str = pa.Field(nullable=True)
    ratio_flag_note: str = pa.Field(nullable=True)
    calcium_adequacy_z: float = pa.Field(nullable=True)
    calcium_adequacy_confidence: float = pa.Field(nullable=True, ge=0, le=1)
    calcium_adequacy: str = pa.Field(nullable=True, isin=ADEQUACY)
    magnesium_adequacy_z: float = pa.Field(nullable=True)
    magnesium_adequacy_confidence: float = pa.Field(nullable=True, ge=0, le=1)
    magnesium_adequacy: str = pa.Field(nullable=True, isin=ADEQUACY)
    calcium_ul_z: float = pa.Field(nullable=True)
    calcium_above_ul_confidence: float = pa.Field(nullable=True, ge=0, le=1)
    calcium_ul_assessment: str = pa.Field(nullable=True, isin=UL_ASSESSMENT)
    supplemental_magnesium_ul_z: float = pa.Field(nullable=True)
    supplemental_magnesium_above_ul_confidence: float = pa.Field(nullable=True, ge=0, le=1)
    supplemental_magnesium_ul_assessment: str = pa.Field(nullable=True, isin=UL_ASSESSMENT)
    is_calcium_observed_mean_below_ear: bool = pa.Field(nullable=True)
    is_magnesium_observed_mean_below_ear: bool = pa.Field(nullable=True)
    is_calcium_likely_inadequate: bool = pa.Field(nullable=True)
    is_magnesium_likely_inadequate: bool = pa.Field(nullable=True)
    is_calcium_likely_above_ul: bool = pa.Field(nullable=True)
    is_supplemental_magnesium_likely_above_ul: bool = pa.Field(nullable=True)
    is_ratio_above_high_band: bool = pa.Field(nullable=True)
    is_ratio_below_low_band: bool = pa.Field(nullable=True)
    is_calcium_supplement_without_magnesium: bool = pa.Field(nullable=True)
    n_flags: int = pa.Field(ge=0, nullable=True)
    risk_level: str = pa.Field(isin=RISK_LEVELS, nullable=True)
    rules_version: str

    class Config:
        """DRI values, rule ids, SDs and survey design columns ride along."""

        strict = False
        unique = ["study_id", "person_id"]
