"""Summarise stage: person-days + persons + survey design -> the `population_summary` mart.

Two bases, both published and labelled in `basis`:
- `single_day`: the first recall day of each person, weighted means, percentiles and prevalences with
  Taylor-linearisation SEs (strata and PSU where the study has them; `population.survey`). Prevalence below
  the EAR uses each person's own EAR (cut-point method applied per person), so groups that mix DRI
  groups (WWEIA ages, overall) are still right. Single days overstate the tails (IOM 2000).
- `usual_intake`: the NCI amount-only model (`camg.population.usual_intake`, Tooze et al. 2006) fitted per DRI
  group (one EAR per group), with two-day weights where the study has them; other groups pool their
  members' pseudo-persons (`camg.population.usual_summary`).

Person-days that lost an item to quarantine (e.g. NHANES human milk without grams) have unknown
intake and are left out. Weights are divided by the study's `weight_divisor` (the number of NHANES
cycles combined, `camg.population.groups.weight_divisors`), so that combined cycles estimate one population;
means, shares and SEs do not depend on it, the weighted population counts do.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import polars as pl

from camg.ops.memory import release_freed_memory
from camg.population.groups import Group, Study, person_groups, studies
from camg.population.reliability import reliability_rules, with_intervals
from camg.population.shared_dri import SharedDri
from camg.population.survey import SurveyEstimate
from camg.population.taylor import TaylorDesign, woodruff
from camg.population.threads import each
from camg.population.usual_intake import PERCENTILES
from camg.population.usual_summary import usual_point_rows, usual_ses, with_ses
from camg.reference import Reference
from schemas.population import PopulationSummary

QUANTILE_PROBS = [p / 100 for p in PERCENTILES]
SE_METHOD = {True: "taylor_strata_psu", False: "taylor_srs"}
MAGNESIUM_UL_NOTE = "the Mg UL applies to Mg from supplements only: share with supplemental Mg > UL"
# The run's step table times the usual-intake replicate SEs apart (issue 16): the step's name, and
# the context manager a caller passes to time a named block (by default, none).
USUAL_SES_STEP = "usual-intake replicate SEs"
Timer = Callable[[str], AbstractContextManager]


def untimed(_step: str) -> AbstractContextManager:
    """No timing: the block just runs."""
    return nullcontext()


def _column(frame: pl.DataFrame, name: str) -> np.ndarray:
    """A numeric column as float numpy (null -> NaN)."""
    return frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy()


def _indicator(value: np.ndarray, cut: np.ndarray, below: bool) -> np.ndarray:
    """1/0 for value below (above) the cut; NaN where either is unknown."""
    hit = value < cut if below else value > cut
    return np.where(np.isfinite(value) & np.isfinite(cut), hit.astype(float), np.nan)


MEASURES = ("calcium_mg", "magnesium_mg", "calcium_to_magnesium_mass_ratio")
# Person columns the single-day rows read, as float numpy once per study.
NUMERIC = [*MEASURES, "single_day_weight", "magnesium_supplement_mg"]
NUMERIC += [f"{n}_{kind}_mg" for n in ("calcium", "magnesium") for kind in ("ear", "ul")]
# The Ca:Mg ratio's prevalences: (statistic, rule of the band edge, below it).
RATIO_BANDS = [
    ("pct_below", "ratio.detrimental_low", True),
    ("pct_above", "ratio.optimal_high", False),
    ("pct_above", "ratio.detrimental_high", False),
]


@dataclass(frozen=True, eq=False)
class StudyColumns:
    """What a study's single-day rows read of its persons and rules, made once per study."""

    numeric: dict[str, np.ndarray]  # the `NUMERIC` person columns as float (null: NaN)
    dri: SharedDri  # the EAR / UL a group's members share
    ratio_cuts: dict[str, float]  # the `RATIO_BANDS` rules' values

    @classmethod
    def of(cls, persons: pl.DataFrame, reference: Reference) -> "StudyColumns":
        """The study's columns and the band values."""
        numeric = {name: _column(persons, name) for name in NUMERIC}
        cuts = {rule: reference.threshold(rule) for _, rule, _ in RATIO_BANDS}
        return cls(numeric, SharedDri.of(persons), cuts)


def single_day_rows(
    study: Study, group: Group, design: TaylorDesign, columns: StudyColumns
) -> list[dict]:
    """Rows of one group's single-day statistics: mean, percentiles and prevalences per measure.

    `columns`: the study's (`StudyColumns`); `design`: its coded design (`camg.population.taylor`).
    """
    frame, w = study.persons, columns.numeric["single_day_weight"]
    rows = np.flatnonzero(group.mask & (w > 0))  # the domain: its persons with a weight
    w_in, out = w[rows], []
    for measure in MEASURES:
        y = columns.numeric[measure]
        prevalences = thresholds(group, measure, y, columns)
        values = np.column_stack([y, *(indicator for _, indicator, _, _ in prevalences)])[rows]
        mean, se, n = design.means(rows, values, w_in)
        used = rows[np.isfinite(y[rows])]
        out.append(_stat(group, measure, "mean", SurveyEstimate(mean[0], se[0], n[0]), w, used))
        q, q_se, q_n = woodruff(design, rows, y[rows], w_in, np.array(QUANTILE_PROBS))
        for i, p in enumerate(PERCENTILES):
            out.append(_stat(group, measure, f"p{p}", SurveyEstimate(q[i], q_se[i], q_n), w, used))
        for j, (statistic, indicator, rule, cut) in enumerate(prevalences, start=1):
            pct = SurveyEstimate(100 * mean[j], 100 * se[j], int(n[j]))
            used = rows[np.isfinite(indicator[rows])]
            out.append(_stat(group, measure, statistic, pct, w, used, rule, cut))
            if measure == "magnesium_mg" and statistic == "pct_above_ul":
                out[-1]["note"] = MAGNESIUM_UL_NOTE
    se_method = SE_METHOD[study.has_design]
    for row in out:
        is_percentile = row["statistic"][1:].isdigit()
        row["se_method"] = "woodruff_" + se_method if is_percentile else se_method
        row["weight_variable"] = frame["single_day_weight_variable"][0]
        row["df"] = study.df
    return out


def groups_single_day_rows(
    study: Study, groups: list[Group], design: TaylorDesign, columns: StudyColumns
) -> list[dict]:
    """`single_day_rows` of every group, in the groups' order (groups on two threads)."""
    made = each(lambda i: single_day_rows(study, groups[i], design, columns), len(groups))
    return [row for rows in made for row in rows]


def thresholds(
    group: Group, measure: str, y: np.ndarray, columns: StudyColumns
) -> list[tuple[str, np.ndarray, str | None, float | None]]:
    """(statistic, 0/1 indicator, rule id, cut) for each prevalence of a measure.

    EAR and UL compare each person with their own value; the rule id and value are given when the
    whole group shares one (a DRI group), else null.
    """
    if measure == "calcium_to_magnesium_mass_ratio":
        out = []
        for statistic, rule, below in RATIO_BANDS:
            cut = columns.ratio_cuts[rule]
            out.append((statistic, _indicator(y, np.full(y.size, cut), below), rule, cut))
        return out
    nutrient, numeric = measure.removesuffix("_mg"), columns.numeric
    ul_value = y if nutrient == "calcium" else numeric["magnesium_supplement_mg"]
    ear = _indicator(y, numeric[f"{nutrient}_ear_mg"], True)
    ul = _indicator(ul_value, numeric[f"{nutrient}_ul_mg"], False)
    return [
        ("pct_below_ear", ear, *columns.dri.value(group.mask, f"{nutrient}_ear")),
        ("pct_above_ul", ul, *columns.dri.value(group.mask, f"{nutrient}_ul")),
    ]


def _stat(
    group: Group,
    measure: str,
    statistic: str,
    est: SurveyEstimate,
    w: np.ndarray,
    used: np.ndarray,
    rule: str | None = None,
    cut: float | None = None,
) -> dict:
    """One output row (the estimate's NaNs become nulls); `used`: the persons counted (indices)."""
    value, se = float(est.estimate), float(est.se)
    return {
        **group.labels,
        "measure": measure,
        "statistic": statistic,
        "threshold_rule_id": rule,
        "threshold_value": cut,
        "value": value if np.isfinite(value) else None,
        "se": se if np.isfinite(se) else None,
        "n_persons": int(used.size),
        "population_weighted": float(w[used].sum()),
        "note": None,
    }


def population_summary(
    days: pl.DataFrame,
    persons: pl.DataFrame,
    lost: pl.DataFrame,
    divisors: pl.DataFrame,
    reference: Reference,
    timed: Timer = untimed,
) -> pl.DataFrame:
    """The `population_summary` mart: single-day and usual-intake figures for every study and group.

    `timed(USUAL_SES_STEP)` wraps the usual-intake replicate SEs (`camg.population.usual_summary`):
    the run times them as a step of their own.
    """
    rows: list[dict] = []
    for study in studies(days, persons, lost, divisors):
        base = {"study_id": study.study_id, "survey_cycle": study.survey_cycle}
        groups = list(person_groups(study.persons))
        design = TaylorDesign.of(study.strata, study.psu, study.persons.height, study.df)
        columns = StudyColumns.of(study.persons, reference)
        single = groups_single_day_rows(study, groups, design, columns)
        rows += [base | {"basis": "single_day"} | r for r in single]
        made, fits = usual_point_rows(study, groups, reference)
        with timed(USUAL_SES_STEP):
            ses = usual_ses(study, groups, fits, reference)
        usual = with_ses(study, made, ses, reference)
        rows += [base | {"basis": "usual_intake"} | r for r in usual]
    release_freed_memory()  # the pseudo-persons' arrays: polars (the food sources) cannot reuse them
    frame = with_intervals(pl.DataFrame(rows, schema=_schema()), reliability_rules(reference))
    frame = frame.with_columns(pl.lit(reference.rules_version).alias("rules_version"))
    order = [
        "study_id",
        "survey_cycle",
        "basis",
        "grouping",
        "sex",
        "age_months_min",
        "life_stage",
        "measure",
    ]
    return PopulationSummary.validate(frame.sort(order, maintain_order=True))


def _schema() -> dict[str, type[pl.DataType]]:
    """Column types of the summary rows before the rules version is added."""
    kinds = {"n_persons": pl.Int64, "age_months_min": pl.Int64, "df": pl.Int64}
    floats = {"threshold_value", "value", "se", "population_weighted", "ci_low", "ci_high"}
    columns = [c for c in PopulationSummary.to_schema().columns if c != "rules_version"]
    return {c: kinds.get(c, pl.Float64 if c in floats else pl.String) for c in columns}
