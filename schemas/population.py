"""Population figures: summary statistics by group, and food sources of Ca and Mg."""

import pandera.polars as pa

from schemas import FiniteNumbers

BASES = ["single_day", "usual_intake"]
GROUPINGS = ["dri_age_group", "wweia_age_group", "headline_age_group", "overall"]
SUMMARY_SEXES = ["male", "female", "all"]
MEASURES = ["calcium_mg", "magnesium_mg", "calcium_to_magnesium_mass_ratio"]
STATISTICS = [
    "mean",
    "p5",
    "p25",
    "p50",
    "p75",
    "p95",
    "pct_below_ear",
    "pct_above_ul",
    "pct_below",
    "pct_above",
]
SOURCE_LEVELS = ["food", "food_group"]
# camg.population.reliability: NCHS standards for proportions (Parker et al. 2017), RSE / n rule for means.
RELIABILITY = ["reliable", "review", "suppress", "not_estimated"]


class PopulationSummary(FiniteNumbers):
    """One row per study x survey cycle x basis x grouping x group x measure x statistic.

    A group is a sex, age group and life stage. `survey_cycle` is `all` for all of a study's cycles
    together (weights divided by the number of cycles), or one cycle of a study that holds two or
    more (its own weights). `pct_below` / `pct_above` rows (Ca:Mg ratio bands) are told apart by
    `threshold_rule_id`. Values of `pct_*` statistics are percentages (0-100), their `se` in
    percentage points. `basis` says whether a row describes single-day (observed) intakes or the
    estimated usual-intake distribution.
    """

    study_id: str
    survey_cycle: str
    basis: str = pa.Field(isin=BASES)
    grouping: str = pa.Field(isin=GROUPINGS)
    sex: str = pa.Field(isin=SUMMARY_SEXES)
    age_group: str
    age_months_min: int = pa.Field(ge=0)
    life_stage: str
    measure: str = pa.Field(isin=MEASURES)
    statistic: str = pa.Field(isin=STATISTICS)
    threshold_rule_id: str = pa.Field(nullable=True)
    threshold_value: float = pa.Field(nullable=True)
    value: float = pa.Field(nullable=True)
    se: float = pa.Field(nullable=True, ge=0)
    se_method: str = pa.Field(nullable=True)
    df: int = pa.Field(nullable=True, ge=1)
    ci_low: float = pa.Field(nullable=True)
    ci_high: float = pa.Field(nullable=True)
    reliability: str = pa.Field(isin=RELIABILITY)
    reliability_reason: str = pa.Field(nullable=True)
    n_persons: int = pa.Field(ge=0)
    population_weighted: float = pa.Field(nullable=True, ge=0)
    weight_variable: str
    note: str = pa.Field(nullable=True)
    rules_version: str

    class Config:
        """Exactly these columns; one row per group, measure, statistic and threshold."""

        strict = True
        unique = [
            "study_id",
            "survey_cycle",
            "basis",
            "grouping",
            "sex",
            "age_group",
            "life_stage",
            "measure",
            "statistic",
            "threshold_rule_id",
        ]


RATIO_STATISTICS = [
    "mean",
    "p5",
    "p10",
    "p25",
    "p50",
    "p75",
    "p90",
    "p95",
    "pct_below",
    "pct_above",
]


class UsualRatio(FiniteNumbers):
    """One row per study x survey cycle x grouping x group x statistic of the usual Ca:Mg mass ratio.

    The ratio of each person's usual Ca to usual Mg intake from the bivariate usual-intake model
    (population.usual_ratio, Zhang et al. 2011). `pct_below` / `pct_above` (the share below the low and above
    the high Ca:Mg band, in percent; which band in `threshold_rule_id`) appear only for groups wholly in
    the population the bands' sources studied. `between_correlation` is the DRI-group fit's
    between-person correlation of transformed Ca and Mg (null for pooled groups).
    """

    study_id: str
    survey_cycle: str
    grouping: str = pa.Field(isin=GROUPINGS)
    sex: str = pa.Field(isin=SUMMARY_SEXES)
    age_group: str
    age_months_min: int = pa.Field(ge=0)
    life_stage: str
    statistic: str = pa.Field(isin=RATIO_STATISTICS)
    threshold_rule_id: str = pa.Field(nullable=True)
    threshold_value: float = pa.Field(nullable=True)
    value: float = pa.Field(nullable=True, ge=0)
    se: float = pa.Field(nullable=True, ge=0)
    se_method: str = pa.Field(nullable=True)
    df: int = pa.Field(nullable=True, ge=1)
    ci_low: float = pa.Field(nullable=True)
    ci_high: float = pa.Field(nullable=True)
    reliability: str = pa.Field(isin=RELIABILITY)
    reliability_reason: str = pa.Field(nullable=True)
    n_persons: int = pa.Field(ge=0)
    population_weighted: float = pa.Field(nullable=True, ge=0)
    between_correlation: float = pa.Field(nullable=True, ge=-1, le=1)
    weight_variable: str
    note: str = pa.Field(nullable=True)
    rules_version: str

    class Config:
        """Exactly these columns; one row per group and statistic."""

        strict = True
        unique = [
            "study_id",
            "survey_cycle",
            "grouping",
            "sex",
            "age_group",
            "life_stage",
            "statistic",
        ]


class FoodSource(FiniteNumbers):
    """One row per study x survey cycle x level (`food`/`food_group`) x food system x code: Ca, Mg shares.

    Shares use the population-ratio method: sum over persons of weight x the source's mean daily
    nutrient / sum over persons of weight x total mean daily nutrient, in percent.
    """

    study_id: str
    survey_cycle: str
    level: str = pa.Field(isin=SOURCE_LEVELS)
    food_system: str = pa.Field(nullable=True)
    code: str
    description: str = pa.Field(nullable=True)
    calcium_share_pct: float = pa.Field(nullable=True)
    magnesium_share_pct: float = pa.Field(nullable=True)
    calcium_mg_per_person_day: float = pa.Field(nullable=True)
    magnesium_mg_per_person_day: float = pa.Field(nullable=True)
    calcium_rank: int = pa.Field(nullable=True, ge=1)
    magnesium_rank: int = pa.Field(nullable=True, ge=1)
    n_items: int = pa.Field(ge=0)
    n_persons: int = pa.Field(ge=0)
    is_matched: bool
    weight_variable: str

    class Config:
        """Exactly these columns."""

        strict = True
        unique = ["study_id", "survey_cycle", "level", "food_system", "code"]
