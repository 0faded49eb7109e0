"""Assessment helper: person attributes (sex, age, life stage) + rules table -> DRI values per person.

DRI age bands in the rules table are half-open in months, [age_min_months, age_max_months): a child of
47 months is in the 12-48 band, one of 48 months in the 48-108 band. Pregnancy and lactation rows exist
for ages 14-50 only; outside them the general row of that sex applies.
"""

import polars as pl

DRI_KINDS = ["ear", "rda", "ai", "ul"]
DRI_NUTRIENTS = ["calcium", "magnesium"]


def dri_value_columns() -> list[str]:
    """Names of the per-person DRI columns, e.g. `calcium_ear_mg`, with their rule ids."""
    return [f"{n}_{k}_mg" for n in DRI_NUTRIENTS for k in DRI_KINDS]


def age_band_label(age_min_months: pl.Expr, age_max_months: pl.Expr) -> pl.Expr:
    """A DRI age band as people write it: `0-6 mo`, `1-3 y`, `71+ y` (from half-open months)."""
    years_min = (age_min_months // 12).cast(pl.String)
    years_max = (age_max_months // 12 - 1).cast(pl.String)
    return (
        pl.when(age_max_months.is_null())
        .then(pl.concat_str(years_min, pl.lit("+ y")))
        .when(age_max_months <= 12)
        .then(
            pl.concat_str(
                age_min_months.cast(pl.String),
                pl.lit("-"),
                age_max_months.cast(pl.String),
                pl.lit(" mo"),
            )
        )
        .otherwise(pl.concat_str(years_min, pl.lit("-"), years_max, pl.lit(" y")))
    )


def matching_rules(
    profiles: pl.DataFrame, rules: pl.DataFrame, kinds: list[str] = DRI_KINDS
) -> pl.DataFrame:
    """The best-fitting rule of each kind for each profile (sex, age band and life stage fit).

    A profile with an unknown age (an infant whose month is not known) fits no rule.
    """
    dri = rules.filter(pl.col("nutrient").is_in(DRI_NUTRIENTS) & pl.col("kind").is_in(kinds))
    pairs = profiles.join(dri, how="cross").filter(
        ((pl.col("sex_right") == pl.col("sex")) | (pl.col("sex_right") == "both"))
        & (pl.col("age_months") >= pl.col("age_min_months"))
        & (pl.col("age_max_months").is_null() | (pl.col("age_months") < pl.col("age_max_months")))
        & (
            (pl.col("life_stage_right") == pl.col("life_stage"))
            | (pl.col("life_stage_right") == "general")
        )
    )
    # A pregnancy or lactation row beats the general row; a sex-specific row beats "both".
    return (
        pairs.with_columns(
            (
                (pl.col("life_stage_right") == pl.col("life_stage")).cast(pl.Int8) * 2
                + (pl.col("sex_right") == pl.col("sex")).cast(pl.Int8)
            ).alias("fit")
        )
        .sort("fit", descending=True)
        .unique(subset=["sex", "age_months", "life_stage", "nutrient", "kind"], keep="first")
    )


def dri_for_profiles(profiles: pl.DataFrame, rules: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct (sex, age_months, life_stage): DRI values, their rule ids, the age group.

    Looking up distinct profiles (a few thousand at most) rather than persons keeps the cross join small
    for any cohort size.
    """
    keys = ["sex", "age_months", "life_stage"]
    profiles = profiles.select(keys).unique()
    matched = matching_rules(profiles, rules).with_columns(
        pl.concat_str("nutrient", pl.lit("_"), "kind", pl.lit("_mg")).alias("column"),
    )
    values = matched.pivot(on="column", index=keys, values="value")
    rule_ids = matched.with_columns(pl.col("column").str.replace("_mg$", "_rule_id")).pivot(
        on="column", index=keys, values="rule_id"
    )
    group = (
        matched.filter(pl.col("nutrient") == "calcium")
        .sort("kind")
        .unique(subset=keys, keep="first")
        .select(
            *keys,
            age_band_label(pl.col("age_min_months"), pl.col("age_max_months")).alias(
                "dri_age_group"
            ),
        )
    )
    out = profiles.join(values, on=keys, how="left").join(rule_ids, on=keys, how="left")
    out = out.join(group, on=keys, how="left")
    for column in dri_value_columns():
        if column not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias(column))
        rule_column = column.replace("_mg", "_rule_id")
        if rule_column not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.String).alias(rule_column))
    return out.select(
        *keys,
        "dri_age_group",
        *dri_value_columns(),
        *[c.replace("_mg", "_rule_id") for c in dri_value_columns()],
    )
