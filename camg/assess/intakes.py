"""Assess stage: intake items + participants + rules -> person-day and person intakes with flags.

A person's intakes are means over the days the assessment can rest on (`n_days_used`): complete days,
where every item has nutrient values and no item was lost to quarantine. Food and supplements are
kept apart and summed for the total; where a study supplied no supplement data at all, supplement
intakes are null (unknown), not 0, and totals are food only. Adequacy and the UL follow the DRI
method for individuals (`camg.assess.adequacy`, IOM 2000 ch.3); flags and the risk level rest on it.
A person with no complete day, or an infant whose age in months is unknown, gets no assessment:
`assessment_status` says why and every adequacy field, flag and the risk level are null.
"""

import polars as pl

from camg.assess import adequacy
from camg.nutrition.dri import dri_for_profiles
from camg.nutrition.ratio import (
    calcium_to_magnesium_mass_ratio,
    calcium_to_magnesium_molar_ratio,
    ratio_band,
    ratio_bands,
    ratio_flag_note,
    rule_population,
)
from camg.reference import Reference
from schemas.intake import PersonDay, PersonIntake

SUPPLEMENT_COLUMNS = ["calcium_supplement_mg", "magnesium_supplement_mg"]
NUTRIENT_COLUMNS = [
    "calcium_food_mg",
    "calcium_supplement_mg",
    "calcium_mg",
    "magnesium_food_mg",
    "magnesium_supplement_mg",
    "magnesium_mg",
]
ASSESSED, INSUFFICIENT, MONTH_UNKNOWN = "assessed", "insufficient data", "age in months unknown"
LOST_DAYS = pl.DataFrame(
    schema={"study_id": pl.String, "person_id": pl.String, "recall_day": pl.Int64}
)


def _summed(nutrient: str, kind: str | None) -> pl.Expr:
    """Sum of a nutrient over a day's items of one kind (all kinds when None); unknown counts 0."""
    value = pl.col(nutrient)
    if kind is not None:
        value = pl.when(pl.col("item_kind") == kind).then(value)
    return value.fill_null(0).sum()


def person_days(items: pl.DataFrame) -> pl.DataFrame:
    """Person-day intakes; a day with an unmatched food is kept but marked incomplete."""
    # Intake items arrive ordered by person and day: keeping that order halves the group-by's cost
    # at 10 M items (benchmarks/scale.py); the sort below still fixes the order for any input.
    days = items.group_by("study_id", "person_id", "recall_day", maintain_order=True).agg(
        _summed("calcium_mg", "food").alias("calcium_food_mg"),
        _summed("calcium_mg", "supplement").alias("calcium_supplement_mg"),
        _summed("magnesium_mg", "food").alias("magnesium_food_mg"),
        _summed("magnesium_mg", "supplement").alias("magnesium_supplement_mg"),
        pl.len().cast(pl.Int64).alias("n_items"),
        (~pl.col("is_matched")).sum().cast(pl.Int64).alias("n_unmatched_items"),
        (pl.col("item_kind") == "supplement").sum().cast(pl.Int64).alias("n_supplement_items"),
    )
    days = days.with_columns(
        (pl.col("calcium_food_mg") + pl.col("calcium_supplement_mg")).alias("calcium_mg"),
        (pl.col("magnesium_food_mg") + pl.col("magnesium_supplement_mg")).alias("magnesium_mg"),
        (pl.col("n_unmatched_items") == 0).alias("is_complete"),
    )
    order = list(PersonDay.to_schema().columns)
    return PersonDay.validate(days.select(order).sort("study_id", "person_id", "recall_day"))


def has_supplement_data() -> pl.Expr:
    """Whether the person's study supplied any supplement row (per study, over its days)."""
    return (pl.col("n_supplement_items").sum() > 0).over("study_id")


def days_with_supplement_status(days: pl.DataFrame) -> pl.DataFrame:
    """Person-days with supplement intakes null (unknown) in studies that supplied no supplement data."""
    known = has_supplement_data()
    return days.with_columns(pl.when(known).then(pl.col(c)).alias(c) for c in SUPPLEMENT_COLUMNS)


def used_days(days: pl.DataFrame, lost: pl.DataFrame) -> pl.DataFrame:
    """The days an assessment rests on: complete (every item matched) and no item quarantined."""
    keys = ["study_id", "person_id", "recall_day"]
    used = days.filter(pl.col("is_complete")).join(lost.select(keys), on=keys, how="anti")
    return used.sort(keys)  # a join may reorder rows: sums must add in one order (idempotent runs)


def person_means(days: pl.DataFrame, lost: pl.DataFrame) -> pl.DataFrame:
    """Per person: days recorded, days used, and mean daily intakes over the days used."""
    recorded = days.group_by("study_id", "person_id").agg(
        pl.len().cast(pl.Int64).alias("n_days"),
        pl.col("is_complete").sum().cast(pl.Int64).alias("n_complete_days"),
        pl.col("is_complete").all().alias("is_complete"),
        pl.col("n_unmatched_items").sum().cast(pl.Int64).alias("n_unmatched_items"),
        has_supplement_data().first().alias("has_supplement_data"),
    )
    means = (
        used_days(days, lost)
        .group_by("study_id", "person_id")
        .agg(
            pl.len().cast(pl.Int64).alias("n_days_used"),
            *[pl.col(c).mean() for c in NUTRIENT_COLUMNS],
        )
    )
    persons = recorded.join(means, on=["study_id", "person_id"], how="left")
    return persons.with_columns(
        pl.col("n_days_used").fill_null(0),
        *[
            pl.when(pl.col("has_supplement_data")).then(pl.col(c)).alias(c)
            for c in SUPPLEMENT_COLUMNS
        ],
    )


def assessment_status() -> pl.Expr:
    """assessed, age in months unknown (an infant without a month) or insufficient data."""
    return (
        pl.when(pl.col("age_months").is_null())
        .then(pl.lit(MONTH_UNKNOWN))
        .when(pl.col("n_days_used") == 0)
        .then(pl.lit(INSUFFICIENT))
        .otherwise(pl.lit(ASSESSED))
    )


def flags(reference: Reference) -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """Each flag: (the boolean, the rule id that sets it); null where it cannot be judged."""
    bands = ratio_bands(reference)
    ratio = pl.col("calcium_to_magnesium_mass_ratio")
    ca_supplement_min = reference.threshold("flag.calcium_supplement_min_mg")
    magnesium_need = pl.coalesce("magnesium_ear_mg", "magnesium_ai_mg")

    def concluded(column: str, category: str, allowed: list[str]) -> pl.Expr:
        judged = pl.col(column).is_in(allowed)
        if column.endswith("_adequacy"):  # only the EAR test can conclude inadequacy
            judged &= pl.col(f"{column}_reference") == "EAR"
        return pl.when(judged).then(pl.col(column) == category)

    on_ear = [adequacy.LIKELY_ADEQUATE, adequacy.UNCERTAIN, adequacy.LIKELY_INADEQUATE]
    on_ul = [adequacy.ABOVE_UL, adequacy.UNCERTAIN, adequacy.BELOW_UL]
    return {
        "is_calcium_likely_inadequate": (
            concluded("calcium_adequacy", adequacy.LIKELY_INADEQUATE, on_ear),
            pl.col("calcium_ear_rule_id"),
        ),
        "is_magnesium_likely_inadequate": (
            concluded("magnesium_adequacy", adequacy.LIKELY_INADEQUATE, on_ear),
            pl.col("magnesium_ear_rule_id"),
        ),
        "is_calcium_likely_above_ul": (
            concluded("calcium_ul_assessment", adequacy.ABOVE_UL, on_ul),
            pl.col("calcium_ul_rule_id"),
        ),
        "is_supplemental_magnesium_likely_above_ul": (
            concluded("supplemental_magnesium_ul_assessment", adequacy.ABOVE_UL, on_ul),
            pl.col("magnesium_ul_rule_id"),
        ),
        "is_ratio_above_high_band": (
            pl.when(rule_population(reference, "ratio.detrimental_high")).then(
                ratio > bands["ratio.detrimental_high"]
            ),
            pl.lit("ratio.detrimental_high"),
        ),
        "is_ratio_below_low_band": (
            pl.when(rule_population(reference, "ratio.detrimental_low")).then(
                ratio < bands["ratio.detrimental_low"]
            ),
            pl.lit("ratio.detrimental_low"),
        ),
        "is_calcium_supplement_without_magnesium": (
            (pl.col("calcium_supplement_mg") > ca_supplement_min)
            & (pl.col("magnesium_mg") < magnesium_need),
            pl.lit("flag.calcium_supplement_min_mg"),
        ),
    }


def risk_level(reference: Reference) -> pl.Expr:
    """Risk: high / moderate / low / undetermined from the assessment (docs/risk.md; rules risk.*)."""
    high, moderate = (reference.threshold(f"risk.{k}.confidence") for k in ("high", "moderate"))
    inadequacy = [
        pl.when(pl.col(f"{n}_adequacy_reference") == "EAR").then(
            1 - pl.col(f"{n}_adequacy_confidence")
        )
        for n in adequacy.NUTRIENTS
    ]
    above = [pl.col(f"{n}_above_ul_confidence") for n in ("calcium", "supplemental_magnesium")]

    def any_at(level: float) -> pl.Expr:
        return pl.any_horizontal([(c >= level).fill_null(False) for c in [*inadequacy, *above]])

    supplement = pl.col("is_calcium_supplement_without_magnesium").fill_null(False)
    adequate = [adequacy.LIKELY_ADEQUATE, adequacy.UNCERTAIN]
    both_adequate = pl.all_horizontal(
        [pl.col(f"{n}_adequacy").is_in(adequate).fill_null(False) for n in adequacy.NUTRIENTS]
    )
    return (
        pl.when(pl.col("assessment_status") != ASSESSED)
        .then(None)
        .when(any_at(high) | supplement)
        .then(pl.lit("high"))
        .when(any_at(moderate))
        .then(pl.lit("moderate"))
        .when(both_adequate)
        .then(pl.lit("low"))
        .otherwise(pl.lit("undetermined"))
    )


ASSESSMENT_COLUMNS = [
    f"{n}_{c}"
    for n in adequacy.NUTRIENTS
    for c in ("adequacy_z", "adequacy_confidence", "adequacy", "adequacy_reference")
] + [
    f"{n}_{c}"
    for n in ("calcium", "supplemental_magnesium")
    for c in ("ul_z", "above_ul_confidence", "ul_assessment")
]


def observed_below_ear() -> list[pl.Expr]:
    """The plain comparison of the observed mean with the EAR (not the assessment: see adequacy)."""
    return [
        (pl.col(f"{n}_mg") < pl.col(f"{n}_ear_mg")).alias(f"is_{n}_observed_mean_below_ear")
        for n in adequacy.NUTRIENTS
    ]


def with_dri_and_ratio(persons: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """Persons with status, DRI values, requirement CVs, the ratio, its band and the band note."""
    profile = ["sex", "age_months", "life_stage"]
    persons = persons.with_columns(assessment_status().alias("assessment_status"))
    persons = persons.join(dri_for_profiles(persons, reference.rules), on=profile, how="left")
    persons = persons.join(
        adequacy.requirement_cvs(persons, reference.rules), on=profile, how="left"
    )
    persons = persons.with_columns(
        calcium_to_magnesium_mass_ratio().alias("calcium_to_magnesium_mass_ratio")
    )
    note = ratio_flag_note(reference)
    return persons.with_columns(
        calcium_to_magnesium_molar_ratio().alias("calcium_to_magnesium_molar_ratio"),
        pl.when(note.is_null()).then(ratio_band(ratio_bands(reference))).alias("ratio_band"),
        note.alias("ratio_flag_note"),
    )


def assess_persons(
    days: pl.DataFrame,
    participants: pl.DataFrame,
    reference: Reference,
    lost: pl.DataFrame = LOST_DAYS,
) -> pl.DataFrame:
    """Person intakes with ratio, DRI values, the individual assessment, flags and risk level.

    `lost` lists person-days that lost an item to quarantine: not used for the assessment.
    """
    persons = person_means(days, lost).join(
        participants.drop("source_file", "source_line"), on=["study_id", "person_id"], how="inner"
    )
    persons = with_dri_and_ratio(persons, reference)
    sds = adequacy.within_person_sd(used_days(days, lost), persons, reference)
    persons = adequacy.assess_adequacy(
        persons.join(sds, on=["study_id", "person_id"], how="left"), reference
    )
    assessed = pl.col("assessment_status") == ASSESSED
    supplements = pl.col("has_supplement_data")
    guarded = {c: assessed for c in ASSESSMENT_COLUMNS}
    guarded |= {c: assessed & supplements for c in ASSESSMENT_COLUMNS if "supplemental" in c}
    persons = persons.with_columns(
        *[pl.when(ok).then(pl.col(c)).alias(c) for c, ok in guarded.items()],
        *[pl.when(assessed).then(e) for e in observed_below_ear()],
    )
    flag_exprs = flags(reference)
    persons = persons.with_columns(
        *[pl.when(assessed).then(expr).alias(name) for name, (expr, _) in flag_exprs.items()],
    )
    persons = persons.with_columns(
        *[
            pl.when(pl.col(name)).then(rule).alias(name.removeprefix("is_") + "_rule_id")
            for name, (_, rule) in flag_exprs.items()
        ],
        pl.when(assessed)
        .then(pl.sum_horizontal([pl.col(f).fill_null(False).cast(pl.Int64) for f in flag_exprs]))
        .alias("n_flags"),
    )
    persons = persons.with_columns(
        risk_level(reference).alias("risk_level"),
        pl.lit(reference.rules_version).alias("rules_version"),
    )
    return PersonIntake.validate(persons.sort("study_id", "person_id"))
