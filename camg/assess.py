"""Assess stage: intake items + participants + rules -> person-day and person intakes with flags.

Person intake is the mean over the person's recall days (n_days kept); food and supplements are kept
apart and summed for the total. Flags compare observed intake with the person's DRI values: they are
screening flags, not usual intake (see `camg.summarise` for population prevalence).
"""

import polars as pl

from camg.dri import dri_for_profiles
from camg.reference import Reference
from schemas.intake import PersonDay, PersonIntake

# Atomic masses (g/mol), IUPAC 2021 standard atomic weights, for the molar ratio of DESIGN section 4.
CALCIUM_G_PER_MOL = 40.078
MAGNESIUM_G_PER_MOL = 24.305
NUTRIENT_COLUMNS = [
    "calcium_food_mg",
    "calcium_supplement_mg",
    "calcium_mg",
    "magnesium_food_mg",
    "magnesium_supplement_mg",
    "magnesium_mg",
]


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
    )
    days = days.with_columns(
        (pl.col("calcium_food_mg") + pl.col("calcium_supplement_mg")).alias("calcium_mg"),
        (pl.col("magnesium_food_mg") + pl.col("magnesium_supplement_mg")).alias("magnesium_mg"),
        (pl.col("n_unmatched_items") == 0).alias("is_complete"),
    )
    order = list(PersonDay.to_schema().columns)
    return PersonDay.validate(days.select(order).sort("study_id", "person_id", "recall_day"))


def calcium_to_magnesium_mass_ratio() -> pl.Expr:
    """Ca mg / Mg mg from total intake; null (never infinite) when Mg is 0 or unknown."""
    ratio = pl.col("calcium_mg") / pl.col("magnesium_mg")
    # A tiny positive Mg (1e-320 mg) overflows the quotient: undefined too, never infinite.
    return pl.when((pl.col("magnesium_mg") > 0) & ratio.is_finite()).then(ratio)


def calcium_to_magnesium_molar_ratio() -> pl.Expr:
    """Molar ratio = mass ratio x M(Mg) / M(Ca)."""
    return pl.col("calcium_to_magnesium_mass_ratio") * MAGNESIUM_G_PER_MOL / CALCIUM_G_PER_MOL


def person_means(days: pl.DataFrame) -> pl.DataFrame:
    """Mean daily intakes per person over their recall days."""
    return days.group_by("study_id", "person_id").agg(
        pl.len().cast(pl.Int64).alias("n_days"),
        pl.col("is_complete").sum().cast(pl.Int64).alias("n_complete_days"),
        pl.col("is_complete").all().alias("is_complete"),
        *[pl.col(c).mean() for c in NUTRIENT_COLUMNS],
    )


def ratio_bands(reference: Reference) -> dict[str, float]:
    """The Ca:Mg ratio band edges from the rules table."""
    names = ["ratio.detrimental_low", "ratio.optimal_high", "ratio.detrimental_high"]
    return {name: reference.threshold(name) for name in names}


def ratio_band(bands: dict[str, float]) -> pl.Expr:
    """Which band the mass ratio falls in, labelled by its edges (e.g. `1.70-2.60`)."""
    low, optimal_high = bands["ratio.detrimental_low"], bands["ratio.optimal_high"]
    high = bands["ratio.detrimental_high"]
    ratio = pl.col("calcium_to_magnesium_mass_ratio")
    return (
        pl.when(ratio < low)
        .then(pl.lit(f"below {low:.2f}"))
        .when(ratio <= optimal_high)
        .then(pl.lit(f"{low:.2f}-{optimal_high:.2f}"))
        .when(ratio <= high)
        .then(pl.lit(f"{optimal_high:.2f}-{high:.2f}"))
        .when(ratio > high)
        .then(pl.lit(f"above {high:.2f}"))
    )


def flags(reference: Reference) -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """Each flag: (the boolean, the rule id that sets it). Null where the DRI has no such value."""
    bands = ratio_bands(reference)
    ratio = pl.col("calcium_to_magnesium_mass_ratio")
    ca_supplement_min = reference.threshold("flag.calcium_supplement_min_mg")
    magnesium_need = pl.coalesce("magnesium_ear_mg", "magnesium_ai_mg")
    return {
        "is_calcium_below_ear": (
            pl.col("calcium_mg") < pl.col("calcium_ear_mg"),
            pl.col("calcium_ear_rule_id"),
        ),
        "is_magnesium_below_ear": (
            pl.col("magnesium_mg") < pl.col("magnesium_ear_mg"),
            pl.col("magnesium_ear_rule_id"),
        ),
        "is_calcium_above_ul": (
            pl.col("calcium_mg") > pl.col("calcium_ul_mg"),
            pl.col("calcium_ul_rule_id"),
        ),
        "is_supplemental_magnesium_above_ul": (
            pl.col("magnesium_supplement_mg") > pl.col("magnesium_ul_mg"),
            pl.col("magnesium_ul_rule_id"),
        ),
        "is_ratio_above_high_band": (
            ratio > bands["ratio.detrimental_high"],
            pl.lit("ratio.detrimental_high"),
        ),
        "is_ratio_below_low_band": (
            ratio < bands["ratio.detrimental_low"],
            pl.lit("ratio.detrimental_low"),
        ),
        "is_calcium_supplement_without_magnesium": (
            (pl.col("calcium_supplement_mg") > ca_supplement_min)
            & (pl.col("magnesium_mg") < magnesium_need),
            pl.lit("flag.calcium_supplement_min_mg"),
        ),
    }


# Flags that make a person high risk on their own (DESIGN section 4; docs/risk.md).
HIGH_RISK_FLAGS = [
    "is_calcium_above_ul",
    "is_supplemental_magnesium_above_ul",
    "is_calcium_supplement_without_magnesium",
]


def risk_level(flag_names: list[str], high_flag_count: float) -> pl.Expr:
    """high: an above-UL or supplement flag, or >= `high_flag_count` flags; moderate: one; else low."""
    n_flags = pl.sum_horizontal([pl.col(f).fill_null(False).cast(pl.Int64) for f in flag_names])
    any_high = pl.any_horizontal([pl.col(f).fill_null(False) for f in HIGH_RISK_FLAGS])
    return (
        pl.when(pl.col("calcium_to_magnesium_mass_ratio").is_null() & (n_flags == 0))
        .then(pl.lit("unknown"))
        .when(any_high | (n_flags >= high_flag_count))
        .then(pl.lit("high"))
        .when(n_flags >= 1)
        .then(pl.lit("moderate"))
        .otherwise(pl.lit("low"))
    )


def assess_persons(
    days: pl.DataFrame, participants: pl.DataFrame, reference: Reference
) -> pl.DataFrame:
    """Person intakes with ratio, DRI values, flags (each with its rule id) and risk level."""
    profile = ["sex", "age_months", "life_stage"]
    persons = person_means(days).join(
        participants.drop("source_file", "source_line"), on=["study_id", "person_id"], how="inner"
    )
    persons = persons.join(dri_for_profiles(persons, reference.rules), on=profile, how="left")
    persons = persons.with_columns(
        calcium_to_magnesium_mass_ratio().alias("calcium_to_magnesium_mass_ratio")
    )
    persons = persons.with_columns(
        calcium_to_magnesium_molar_ratio().alias("calcium_to_magnesium_molar_ratio"),
        ratio_band(ratio_bands(reference)).alias("ratio_band"),
    )
    flag_exprs = flags(reference)
    persons = persons.with_columns(
        *[expr.alias(name) for name, (expr, _) in flag_exprs.items()],
        *[
            pl.when(expr).then(rule).alias(name.removeprefix("is_") + "_rule_id")
            for name, (expr, rule) in flag_exprs.items()
        ],
    )
    high_count = reference.threshold("risk.high_flag_count")
    persons = persons.with_columns(
        pl.sum_horizontal([pl.col(f).fill_null(False).cast(pl.Int64) for f in flag_exprs]).alias(
            "n_flags"
        ),
        risk_level(list(flag_exprs), high_count).alias("risk_level"),
        pl.lit(reference.rules_version).alias("rules_version"),
    )
    return PersonIntake.validate(persons.sort("study_id", "person_id"))
