"""Assessment helper: person means, DRI values and the study's days -> the DRI method for one person.

A few recall days are not usual intake, so a person's mean is not compared with the EAR as it is.
camg follows the Institute of Medicine (2000), Dietary Reference Intakes: Applications in Dietary
Assessment (doi:10.17226/9956), chapter 3 and appendix B:

- EAR: z = (mean - EAR) / sqrt(SD_req^2 + SD_within^2 / n); the confidence that usual intake is
  adequate is Phi(z). SD_req = CV x EAR (`assess.requirement_cv.*`); SD_within is the day-to-day SD
  of the nutrient, pooled over the study's persons of the same sex x DRI group x life stage with two
  or more complete days (the usual-intake model's variance component), else pooled over the study,
  else the published default (`assess.within_person_sd_default.*`).
- AI (infants): z = (mean - AI) / (SD_within / sqrt(n)); only "likely adequate" can be concluded,
  otherwise adequacy "cannot be determined" (IOM 2000 ch.3: intake below the AI says nothing).
- UL: z = (mean - UL) / (SD_within / sqrt(n)); Phi(z) is the confidence that usual intake is above.

Categories cut the confidence at `assess.confidence_level` (85 percent, IOM 2000 Table B-1).
"""

import numpy as np
import polars as pl
from scipy.special import ndtr

from camg.nutrition.dri import matching_rules
from camg.population.usual_intake import variance_components
from camg.reference import Reference

NUTRIENTS = ("calcium", "magnesium")
GROUP = ["study_id", "sex", "dri_age_group", "life_stage"]
# Intakes with a within-person SD: total Ca and Mg (EAR, AI, Ca UL) and supplemental Mg (Mg UL).
SD_INTAKES = {
    "calcium": "calcium_mg",
    "magnesium": "magnesium_mg",
    "supplemental_magnesium": "magnesium_supplement_mg",
}
LIKELY_ADEQUATE, UNCERTAIN, LIKELY_INADEQUATE = "likely adequate", "uncertain", "likely inadequate"
UNDETERMINED = "cannot be determined"
ABOVE_UL, BELOW_UL = "likely above UL", "likely below UL"
ADEQUACY_CATEGORIES = [LIKELY_ADEQUATE, UNCERTAIN, LIKELY_INADEQUATE, UNDETERMINED]
UL_CATEGORIES = [ABOVE_UL, UNCERTAIN, BELOW_UL, UNDETERMINED]


def pooled_sd(days: pl.DataFrame, intake: str) -> tuple[float | None, int]:
    """(day-to-day SD in mg, persons with 2+ days) from `camg.population.usual_intake.variance_components`."""
    days = days.filter(pl.col(intake).is_not_null())
    if days.height == 0:
        return None, 0
    vc = variance_components(
        days[intake].to_numpy(), days["person_id"].to_numpy(), days["recall_day"].to_numpy(),
        day2_effect=False,
    )  # fmt: skip
    ok = vc.n_repeat > 0 and np.isfinite(vc.var_within) and vc.var_within >= 0
    return (float(np.sqrt(vc.var_within)) if ok else None), vc.n_repeat


def within_person_sd(
    used_days: pl.DataFrame, persons: pl.DataFrame, reference: Reference
) -> pl.DataFrame:
    """Per person: the day-to-day SD of each intake and (Ca, Mg) where it came from.

    `used_days` are the complete days the means rest on; `persons` carry the GROUP columns.
    """
    min_persons = reference.threshold("assess.within_person_sd_min_persons")
    keys = ["study_id", "person_id"]
    days = used_days.join(persons.select("person_id", *GROUP), on=keys, how="inner")
    days = days.sort(*keys, "recall_day")  # one order, so the pooled sums are the same every run
    rows = []
    studies = days.partition_by("study_id", as_dict=True)
    for name, intake in SD_INTAKES.items():
        default = _default_sd(reference, name)
        by_study = {key[0]: pooled_sd(frame, intake) for key, frame in studies.items()}
        for key, group in days.partition_by(GROUP, as_dict=True, include_key=True).items():
            sd, n = pooled_sd(group, intake)
            study_sd, study_n = by_study[key[0]]
            if sd is not None and n >= min_persons:
                source = f"this study's {key[2]} {key[1]} group: {n} persons with 2+ complete days"
            elif study_sd is not None and study_n >= min_persons:
                sd, source = study_sd, f"this study, all groups: {study_n} persons with 2+ days"
            else:
                sd, source = default
            rows.append(dict(zip(GROUP, key, strict=True)) | {"n": name, "sd": sd, "src": source})
    schema = {c: pl.String for c in GROUP} | {"n": pl.String, "sd": pl.Float64, "src": pl.String}
    table = pl.DataFrame(rows, schema=schema)
    out = persons.select("person_id", *GROUP)
    for name in SD_INTAKES:
        part = table.filter(pl.col("n") == name).select(
            *GROUP,
            pl.col("sd").alias(f"{name}_within_person_sd_mg"),
            pl.col("src").alias(f"{name}_within_person_sd_source"),
        )
        out = out.join(part, on=GROUP, how="left", nulls_equal=True)
    return out.drop(GROUP[1:]).drop("supplemental_magnesium_within_person_sd_source")


def _default_sd(reference: Reference, name: str) -> tuple[float | None, str | None]:
    """The published last-resort SD of a nutrient (none for supplemental Mg)."""
    rule_id = f"assess.within_person_sd_default.{name}"
    if name not in NUTRIENTS:
        return None, None
    return reference.threshold(rule_id), rule_id


def requirement_cvs(persons: pl.DataFrame, rules: pl.DataFrame) -> pl.DataFrame:
    """Per (sex, age_months, life_stage): the CV of requirement of Ca and Mg (null if none)."""
    keys = ["sex", "age_months", "life_stage"]
    profiles = persons.select(keys).unique().drop_nulls()
    matched = matching_rules(profiles, rules, ["requirement_cv"])
    out = profiles
    for nutrient in NUTRIENTS:
        cv = matched.filter(pl.col("nutrient") == nutrient).select(
            *keys, pl.col("value").alias(f"{nutrient}_requirement_cv")
        )
        out = out.join(cv, on=keys, how="left")
    return out


def phi(z: pl.Expr) -> pl.Expr:
    """Standard normal cdf of z (null stays null; +-inf give 1 and 0)."""
    return z.map_batches(
        lambda s: pl.Series(ndtr(s.cast(pl.Float64).to_numpy()), dtype=pl.Float64),
        return_dtype=pl.Float64,
    ).fill_nan(None)


def adequacy_z(nutrient: str) -> pl.Expr:
    """The z of the EAR test, or of the AI test where the group has an AI and no EAR."""
    mean, n = pl.col(f"{nutrient}_mg"), pl.col("n_days_used")
    ear, ai = pl.col(f"{nutrient}_ear_mg"), pl.col(f"{nutrient}_ai_mg")
    sd_w = pl.col(f"{nutrient}_within_person_sd_mg")
    sd_req = pl.col(f"{nutrient}_requirement_cv") * ear
    on_ear = (mean - ear) / (sd_req.pow(2) + sd_w.pow(2) / n).sqrt()
    on_ai = (mean - ai) / (sd_w / n.sqrt())
    z = pl.when(ear.is_not_null()).then(on_ear).otherwise(on_ai)
    return pl.when(z.is_finite()).then(z)  # an SD of 0 is no estimate: nothing concluded


def adequacy_category(nutrient: str, level: float) -> pl.Expr:
    """Category on the EAR (likely adequate, uncertain, likely inadequate) or the AI (adequate or not)."""
    conf = pl.col(f"{nutrient}_adequacy_confidence")
    has_ear = pl.col(f"{nutrient}_ear_mg").is_not_null()
    has_ai = pl.col(f"{nutrient}_ai_mg").is_not_null()
    return (
        pl.when(~has_ear & ~has_ai)
        .then(None)
        .when(conf.is_null())
        .then(pl.lit(UNDETERMINED))
        .when(conf >= level)
        .then(pl.lit(LIKELY_ADEQUATE))
        .when(~has_ear)
        .then(pl.lit(UNDETERMINED))
        .when(conf <= 1 - level)
        .then(pl.lit(LIKELY_INADEQUATE))
        .otherwise(pl.lit(UNCERTAIN))
    )


def ul_z(name: str, intake: str, ul: str) -> pl.Expr:
    """The z of the UL test: (mean - UL) / (SD_within / sqrt(n))."""
    sd_w = pl.col(f"{name}_within_person_sd_mg")
    z = (pl.col(intake) - pl.col(ul)) / (sd_w / pl.col("n_days_used").sqrt())
    return pl.when(z.is_finite()).then(z)  # an SD of 0 is no estimate: nothing concluded


def ul_category(name: str, ul: str, level: float) -> pl.Expr:
    """Category: likely above UL / uncertain / likely below UL; null where the group has no UL."""
    conf = pl.col(f"{name}_above_ul_confidence")
    return (
        pl.when(pl.col(ul).is_null())
        .then(None)
        .when(conf.is_null())
        .then(pl.lit(UNDETERMINED))
        .when(conf >= level)
        .then(pl.lit(ABOVE_UL))
        .when(conf <= 1 - level)
        .then(pl.lit(BELOW_UL))
        .otherwise(pl.lit(UNCERTAIN))
    )


def assess_adequacy(persons: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """Persons with z, confidence and category for each mineral's EAR (or AI) and UL test."""
    level = reference.threshold("assess.confidence_level")
    out = persons
    for nutrient in NUTRIENTS:
        out = out.with_columns(adequacy_z(nutrient).alias(f"{nutrient}_adequacy_z"))
        out = out.with_columns(
            phi(pl.col(f"{nutrient}_adequacy_z")).alias(f"{nutrient}_adequacy_confidence"),
            pl.when(pl.col(f"{nutrient}_ear_mg").is_not_null())
            .then(pl.lit("EAR"))
            .when(pl.col(f"{nutrient}_ai_mg").is_not_null())
            .then(pl.lit("AI"))
            .alias(f"{nutrient}_adequacy_reference"),
        )
        out = out.with_columns(adequacy_category(nutrient, level).alias(f"{nutrient}_adequacy"))
    uls = (("calcium", "calcium_mg", "calcium_ul_mg"),)
    uls += (("supplemental_magnesium", "magnesium_supplement_mg", "magnesium_ul_mg"),)
    for name, intake, ul in uls:
        out = out.with_columns(ul_z(name, intake, ul).alias(f"{name}_ul_z"))
        out = out.with_columns(phi(pl.col(f"{name}_ul_z")).alias(f"{name}_above_ul_confidence"))
        out = out.with_columns(ul_category(name, ul, level).alias(f"{name}_ul_assessment"))
    return out
