"""Summarise helper: persons, person-days, design -> per-study person frames and population groups.

A study's person frame has one row per person: group attributes, DRI values, survey design, the weights
of each analysis (`single_day_weight`, `usual_weight`; 0 = not in it) and first-day intakes.
Groupings: sex x DRI age group x life stage (one set of DRI values per group, so usual intake
can use one EAR), sex (and both sexes) x the age groups of the WWEIA data tables, sex (and both) x
the headline ages (1+, 2+, 2-19, 20+), and overall.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from camg.nutrition.ratio import calcium_to_magnesium_mass_ratio

# Age groups (years, [min, max)) of the "What We Eat in America" data tables (USDA ARS, WWEIA
# NHANES, Nutrient Intakes from Food and Beverages: "2-5, 6-11, 12-19, 20-29, ..., 70 and over").
WWEIA_AGE_GROUPS: list[tuple[str, int, int | None]] = [
    ("2-5 y", 2, 6),
    ("6-11 y", 6, 12),
    ("12-19 y", 12, 20),
    ("20-29 y", 20, 30),
    ("30-39 y", 30, 40),
    ("40-49 y", 40, 50),
    ("50-59 y", 50, 60),
    ("60-69 y", 60, 70),
    ("70+ y", 70, None),
]
# Age spans of headline figures (years, [min, max)): national reports quote ages 2 and over, 2-19
# and 20 and over (e.g. USDA ARS WWEIA data tables; NCHS Data Briefs); 1 and over leaves infants
# (AI, no EAR) out.
HEADLINE_AGE_GROUPS: list[tuple[str, int, int | None]] = [
    ("1+ y", 1, None),
    ("2+ y", 2, None),
    ("2-19 y", 2, 20),
    ("20+ y", 20, None),
]
# survey_cycle of the figures for all of a study's cycles together.
ALL_CYCLES = "all"
DAY_COLUMNS = ["calcium_mg", "magnesium_mg", "magnesium_supplement_mg"]
DRI_LABEL = re.compile(r"^(\d+)(?:-\d+|\+) (mo|y)$")


@dataclass(frozen=True, eq=False)
class Group:
    """A population group: its labels for the mart and a boolean mask over the study's persons."""

    grouping: str
    sex: str
    age_group: str
    age_months_min: int
    life_stage: str
    mask: np.ndarray

    @property
    def labels(self) -> dict[str, object]:
        """The group's columns in `population_summary`."""
        return {
            "grouping": self.grouping,
            "sex": self.sex,
            "age_group": self.age_group,
            "age_months_min": self.age_months_min,
            "life_stage": self.life_stage,
        }


def dri_label_months(label: str) -> int:
    """Lower bound in months of a DRI age label from `nutrition.dri` (`6-12 mo` -> 6, `19-30 y` -> 228)."""
    match = DRI_LABEL.match(label)
    if match is None:
        raise ValueError(f"not a DRI age label: {label!r}")
    return int(match.group(1)) * (1 if match.group(2) == "mo" else 12)


def _sex_mask(persons: pl.DataFrame, sex: str) -> np.ndarray:
    """Persons of one sex, or everyone for `all`."""
    return np.ones(persons.height, bool) if sex == "all" else (persons["sex"] == sex).to_numpy()


def dri_groups(persons: pl.DataFrame) -> Iterator[Group]:
    """Sex x DRI age group x life stage groups present in the study."""
    keys = persons.select("sex", "dri_age_group", "life_stage").unique().drop_nulls()
    keyed = keys.with_columns(
        pl.col("dri_age_group").map_elements(dri_label_months, return_dtype=pl.Int64).alias("m")
    ).sort("sex", "m", "life_stage")
    for sex, label, stage, months in keyed.iter_rows():
        mask = (
            (persons["sex"] == sex)
            & (persons["dri_age_group"] == label)
            & (persons["life_stage"] == stage)
        )
        yield Group("dri_age_group", sex, label, months, stage, mask.fill_null(False).to_numpy())


def age_span_groups(
    persons: pl.DataFrame, grouping: str, spans: list[tuple[str, int, int | None]]
) -> Iterator[Group]:
    """Sex (and both sexes) x age spans in years ([min, max), max None = no upper bound)."""
    years = (persons["age_months"] // 12).to_numpy()
    for sex in ("male", "female", "all"):
        for label, low, high in spans:
            in_age = (years >= low) & (years < high if high is not None else True)
            yield Group(grouping, sex, label, low * 12, "all", _sex_mask(persons, sex) & in_age)


def person_groups(persons: pl.DataFrame) -> Iterator[Group]:
    """Every group of a study: DRI, WWEIA and headline age groups, then overall by sex and for all."""
    yield from dri_groups(persons)
    yield from age_span_groups(persons, "wweia_age_group", WWEIA_AGE_GROUPS)
    yield from age_span_groups(persons, "headline_age_group", HEADLINE_AGE_GROUPS)
    for sex in ("male", "female", "all"):
        yield Group("overall", sex, "all", 0, "all", _sex_mask(persons, sex))


def weight_divisors(participants: pl.DataFrame) -> pl.DataFrame:
    """study_id and weight_divisor: the number of survey cycles combined in the study (else 1).

    NCHS analytic guidelines (Johnson CL et al. 2013, National Health and Nutrition Examination
    Survey: Analytic guidelines, 1999-2010, Vital Health Stat 2(161), section "Combining cycles"):
    when 2-year cycles are combined, divide each 2-year weight by the number of cycles so that the
    weights sum to one (mid-period) population. A participant's cycle is `survey_cycle` (NHANES: the
    DEMO file's letter suffix, DEMO_E = 2007-2008, ...); persons without one count as one cycle.
    """
    return (
        participants.group_by("study_id")
        .agg(pl.col("survey_cycle").drop_nulls().n_unique().alias("n_cycles"))
        .select(
            "study_id", pl.max_horizontal("n_cycles", 1).cast(pl.Float64).alias("weight_divisor")
        )
        .sort("study_id")
    )


def days_with_lost_items(quarantine: pl.DataFrame, raw_diary: pl.DataFrame) -> pl.DataFrame:
    """Person-days that lost a diary item to quarantine (repeats excepted): their intake is unknown."""
    lost = quarantine.filter(
        (pl.col("record_kind") == "diary") & (pl.col("rule_id") != "row.duplicate")
    ).select("source_file", "source_line")
    keys = raw_diary.select(
        "source_file",
        "source_line",
        "study_id",
        pl.col("person_id").str.strip_chars(),
        pl.col("recall_day").str.strip_chars().cast(pl.Int64, strict=False),
    )
    return (
        keys.join(lost, on=["source_file", "source_line"], how="semi")
        .drop_nulls()
        .select("study_id", "person_id", "recall_day")
        .unique()
        .sort("study_id", "person_id", "recall_day")
    )


def design_weights(persons: pl.DataFrame, divisors: pl.DataFrame) -> pl.DataFrame:
    """Per person: `single_day_weight` and `usual_weight` (0 = not in that analysis) and their names.

    Single day: the one-day weight where the study has one, else the two-day weight, else 1.
    Usual intake: the two-day weight where the study has one, else the one-day weight, else 1.
    """
    has_one = pl.col("weight").is_not_null().any().over("study_id")
    has_two = pl.col("weight_two_day").is_not_null().any().over("study_id")
    divisor = pl.col("weight_divisor")
    suffix = pl.when(divisor == 1).then(pl.lit("")).otherwise(pl.format("/{}", divisor.round(4)))

    def chosen(first: str, second: str, has_first: pl.Expr, has_second: pl.Expr) -> list[pl.Expr]:
        value = pl.when(has_first).then(first).when(has_second).then(second).otherwise(1.0)
        name = pl.when(has_first).then(pl.lit(first)).when(has_second).then(pl.lit(second))
        return [
            (value.fill_null(0.0) / divisor).alias("w"),
            pl.concat_str(name.otherwise(pl.lit("none (unweighted)")), suffix).alias("name"),
        ]

    with_divisor = persons.join(divisors, on="study_id", how="left").with_columns(
        divisor.fill_null(1.0)
    )
    single = chosen("weight", "weight_two_day", has_one, has_two)
    usual = chosen("weight_two_day", "weight", has_two, has_one)
    return with_divisor.select(
        "study_id",
        "person_id",
        single[0].alias("single_day_weight"),
        single[1].alias("single_day_weight_variable"),
        usual[0].alias("usual_weight"),
        usual[1].alias("usual_weight_variable"),
    )


def usable_days(days: pl.DataFrame, lost: pl.DataFrame) -> pl.DataFrame:
    """Person-days whose intake is known, with the day's Ca:Mg ratio.

    Left out: days that lost an item to quarantine, and days with a food that has no composition
    values even after imputation (`n_unmatched_items`): counting it as 0 mg would bias every
    population figure down.
    """
    known = days.join(lost, on=["study_id", "person_id", "recall_day"], how="anti")
    return known.filter(pl.col("n_unmatched_items") == 0).with_columns(
        calcium_to_magnesium_mass_ratio().alias("calcium_to_magnesium_mass_ratio")
    )


@dataclass(frozen=True)
class Study:
    """One study's (or one of its cycles') persons, first-day intakes and usable person-days."""

    study_id: str
    survey_cycle: str
    persons: pl.DataFrame
    days: pl.DataFrame
    strata: np.ndarray | None
    psu: np.ndarray | None

    @property
    def has_design(self) -> bool:
        """Whether strata and PSUs are known for this study."""
        return self.strata is not None

    @cached_property
    def df(self) -> int:
        """Design degrees of freedom: PSUs - strata (R survey's degf), or persons - 1 without design.

        Computed once per study: every group's rows ask for it, and the unique (stratum, PSU) pairs
        of a whole study took half of population_summary's time when recomputed per call.
        """
        if self.strata is None or self.psu is None:
            return max(self.persons.height - 1, 1)
        psus = np.unique(np.column_stack([self.strata, self.psu]), axis=0).shape[0]
        return max(psus - np.unique(self.strata).size, 1)


def _weighted_people(
    persons: pl.DataFrame, divisors: pl.DataFrame, first: pl.DataFrame
) -> pl.DataFrame:
    """Persons with their analysis weights (divided by `divisors`) and first-day intakes."""
    return (
        persons.select(pl.exclude(*DAY_COLUMNS, "calcium_to_magnesium_mass_ratio"))
        .join(design_weights(persons, divisors), on=["study_id", "person_id"], how="left")
        .join(first, on=["study_id", "person_id"], how="left")
        .sort("study_id", "person_id")
    )


def _study(study_id: str, cycle: str, frame: pl.DataFrame, good: pl.DataFrame) -> Study:
    """A Study of these persons: integer design codes and their usable, weighted days."""
    has_design = frame["strata"].is_not_null().any() and frame["psu"].is_not_null().any()
    strata = psu = None
    if has_design:
        # Integer codes once per study: the survey functions then never sort text per call.
        strata = np.unique(frame["strata"].fill_null("missing"), return_inverse=True)[1]
        psu = np.unique(frame["psu"].fill_null("missing"), return_inverse=True)[1]
    study_days = (
        good.filter(pl.col("study_id") == study_id)
        .join(frame.select("person_id", "usual_weight"), on="person_id", how="inner")
        .sort("person_id", "recall_day")
    )
    return Study(study_id, cycle, frame, study_days, strata, psu)


def studies(
    days: pl.DataFrame, persons: pl.DataFrame, lost: pl.DataFrame, divisors: pl.DataFrame
) -> Iterator[Study]:
    """Each study with all its cycles together, then (when it holds 2+) each cycle on its own.

    A cycle on its own is a complete survey: its persons with their undivided weights (NCHS analytic
    guidelines), so per-cycle figures equal those of a study holding that cycle alone.
    """
    if "survey_cycle" not in persons.columns:
        persons = persons.with_columns(pl.lit(None, dtype=pl.String).alias("survey_cycle"))
    good = usable_days(days, lost)
    first = good.filter(pl.col("recall_day") == 1).select(
        "study_id", "person_id", *DAY_COLUMNS, "calcium_to_magnesium_mass_ratio"
    )
    people = _weighted_people(persons, divisors, first)
    undivided = divisors.with_columns(pl.lit(1.0).alias("weight_divisor"))
    for (study_id,), frame in people.group_by("study_id", maintain_order=True):
        yield _study(str(study_id), ALL_CYCLES, frame, good)
        cycles = sorted(frame["survey_cycle"].drop_nulls().unique())
        if len(cycles) < 2:
            continue
        own = persons.filter(pl.col("study_id") == study_id)
        own = _weighted_people(own, undivided, first)
        for cycle in cycles:
            in_cycle = own.filter(pl.col("survey_cycle") == cycle)
            yield _study(str(study_id), cycle, in_cycle, good)
