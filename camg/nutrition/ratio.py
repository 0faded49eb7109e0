"""Assessment helper: person intakes + rules -> the Ca:Mg ratio, its band, and where the bands apply.

The ratio bands (1.70 / 2.60 / 2.80) come from studies of adults; each band row of the rules table
names the ages (and sex) its source studied. Outside them a person gets no band and no ratio flag,
and `ratio_flag_note` says why.
"""

import polars as pl

from camg.reference import Reference

# Atomic masses (g/mol), IUPAC 2021 standard atomic weights, for the molar ratio of DESIGN section 4.
CALCIUM_G_PER_MOL = 40.078
MAGNESIUM_G_PER_MOL = 24.305
ASSESSED = "assessed"


def calcium_to_magnesium_mass_ratio() -> pl.Expr:
    """Ca mg / Mg mg from total intake; null (never infinite) when Mg is 0 or unknown."""
    ratio = pl.col("calcium_mg") / pl.col("magnesium_mg")
    # A tiny positive Mg (1e-320 mg) overflows the quotient: undefined too, never infinite.
    return pl.when((pl.col("magnesium_mg") > 0) & ratio.is_finite()).then(ratio)


def calcium_to_magnesium_molar_ratio() -> pl.Expr:
    """Molar ratio = mass ratio x M(Mg) / M(Ca)."""
    return pl.col("calcium_to_magnesium_mass_ratio") * MAGNESIUM_G_PER_MOL / CALCIUM_G_PER_MOL


def ratio_bands(reference: Reference) -> dict[str, float]:
    """The Ca:Mg ratio band edges from the rules table."""
    names = ["ratio.detrimental_low", "ratio.optimal_high", "ratio.detrimental_high"]
    return {name: reference.threshold(name) for name in names}


def rule_population(reference: Reference, rule_id: str) -> pl.Expr:
    """True where the person's sex and age are in the population the rule's source studied."""
    row = reference.rules.filter(pl.col("rule_id") == rule_id).row(0, named=True)
    age = pl.col("age_months")
    fits = age >= (row["age_min_months"] or 0)
    if row["age_max_months"] is not None:
        fits &= age < row["age_max_months"]
    if row["sex"] != "both":
        fits &= pl.col("sex") == row["sex"]
    return fits.fill_null(False)


def ratio_flag_note(reference: Reference) -> pl.Expr:
    """Why a person has no ratio flag (null when the flags apply)."""
    row = reference.rules.filter(pl.col("rule_id") == "ratio.detrimental_high").row(0, named=True)
    ages = f"{(row['age_min_months'] or 0) // 12}+ years"
    if row["age_max_months"] is not None:
        ages = f"{row['age_min_months'] // 12}-{row['age_max_months'] // 12 - 1} years"
    applies = rule_population(reference, "ratio.detrimental_low") & rule_population(
        reference, "ratio.detrimental_high"
    )
    return (
        pl.when(pl.col("assessment_status") != ASSESSED)
        .then(pl.col("assessment_status"))
        .when(~applies)
        .then(pl.lit(f"the Ca:Mg ratio bands come from studies of people aged {ages}; not applied"))
        .when(pl.col("calcium_to_magnesium_mass_ratio").is_null())
        .then(pl.lit("no ratio: magnesium intake is 0"))
    )


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
