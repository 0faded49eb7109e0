"""Population figures for the report: the `population_summary` mart, or a labelled fallback.

Both sources give the same long frame (one row per group x measure x statistic, with value, se,
n_persons and basis), so the view code has one path. The fallback, used when the run published no
`population_summary`, is unweighted and on observed intake (mean of each person's recorded days); its
standard errors assume simple random sampling. The report says which source it shows.
"""

import polars as pl

MEASURES = ["calcium_mg", "magnesium_mg", "calcium_to_magnesium_mass_ratio"]
QUANTILES = {"p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95}
# Observed-intake comparisons of intake_person (not the individual assessment) and the statistic
# they estimate in the fallback.
FLAG_STATISTICS = {
    ("calcium_mg", "pct_below_ear"): pl.col("is_calcium_observed_mean_below_ear"),
    ("calcium_mg", "pct_above_ul"): pl.col("calcium_mg") > pl.col("calcium_ul_mg"),
    ("magnesium_mg", "pct_below_ear"): pl.col("is_magnesium_observed_mean_below_ear"),
    ("magnesium_mg", "pct_above_ul"): (
        pl.col("magnesium_supplement_mg") > pl.col("magnesium_ul_mg")
    ),
}
LONG_COLUMNS = [
    "sex",
    "age_group",
    "life_stage",
    "age_months_min",
    "measure",
    "statistic",
    "value",
    "se",
    "n_persons",
    "basis",
    "reliability",
]
BASIS_PREFERENCE = {"usual_intake": 0, "single_day": 1}
# Fewest persons behind a published figure (rules table reliability.min_sample_size; NCHS).
MIN_PERSONS = 30


def _group_aggregates() -> list[pl.Expr]:
    """Count, mean, percentiles and flag prevalence (with its SRS standard error) of one group."""
    exprs = [pl.len().alias("n_persons"), pl.col("age_months").min().alias("age_months_min")]
    for measure in MEASURES:
        exprs.append(pl.col(measure).mean().alias(f"{measure}|mean"))
        exprs += [
            pl.col(measure).quantile(q, "linear").alias(f"{measure}|{s}")
            for s, q in QUANTILES.items()
        ]
    for (measure, statistic), flag in FLAG_STATISTICS.items():
        share = flag.cast(pl.Float64).mean()
        # SE of a proportion under simple random sampling: sqrt(p (1 - p) / n), in percentage points.
        se = (share * (1 - share) / flag.count()).sqrt()
        exprs += [
            (100 * share).alias(f"{measure}|{statistic}"),
            (100 * se).alias(f"{measure}|{statistic}|se"),
        ]
    return exprs


def _long(wide: pl.DataFrame) -> pl.DataFrame:
    """Wide `measure|statistic[|se]` columns -> one row per group x measure x statistic."""
    keys = ["sex", "age_group", "life_stage", "age_months_min", "n_persons"]
    long = wide.unpivot(index=keys, variable_name="name", value_name="number")
    long = long.with_columns(pl.col("name").str.split("|").alias("parts")).with_columns(
        pl.col("parts").list.get(0).alias("measure"),
        pl.col("parts").list.get(1).alias("statistic"),
        (pl.col("parts").list.len() == 3).alias("is_se"),
    )
    values = long.filter(~pl.col("is_se")).select(
        *keys, "measure", "statistic", pl.col("number").alias("value")
    )
    ses = long.filter(pl.col("is_se")).select(
        *keys, "measure", "statistic", pl.col("number").alias("se")
    )
    joined = values.join(ses, on=[*keys, "measure", "statistic"], how="left")
    # Without SEs of the design, only the sample-size part of the NCHS rules can be applied.
    small = pl.when(pl.col("n_persons") < MIN_PERSONS).then(pl.lit("suppress"))
    return joined.with_columns(
        pl.lit("single_day").alias("basis"), small.otherwise(pl.lit(None)).alias("reliability")
    ).select(LONG_COLUMNS)


def fallback_summary(persons: pl.DataFrame) -> pl.DataFrame:
    """Unweighted observed-intake figures by sex x DRI age group x life stage, plus all persons."""
    grouped = persons.with_columns(
        pl.col("dri_age_group").fill_null("no DRI group").alias("age_group")
    )
    by_group = grouped.group_by("sex", "age_group", "life_stage").agg(_group_aggregates())
    overall = grouped.select(
        pl.lit("all").alias("sex"),
        pl.lit("all ages").alias("age_group"),
        pl.lit("all").alias("life_stage"),
        *_group_aggregates(),
    )
    wide = pl.concat([by_group, overall], how="diagonal_relaxed")
    return _long(wide)


def mart_summary(summary: pl.DataFrame, study_id: str) -> pl.DataFrame:
    """The mart's rows of a study (all cycles) by DRI group and overall: a known value, usual first."""
    rows = summary.filter(
        (pl.col("study_id") == study_id)
        & (pl.col("survey_cycle") == "all")
        & ((pl.col("grouping") == "dri_age_group") | (pl.col("grouping") == "overall"))
        & ~pl.col("statistic").is_in(["pct_below", "pct_above"])
    )
    overall = pl.col("grouping") == "overall"
    rows = rows.with_columns(
        pl.when(overall).then(pl.lit("all ages")).otherwise(pl.col("age_group")).alias("age_group"),
        pl.when(overall).then(pl.lit("all")).otherwise(pl.col("life_stage")).alias("life_stage"),
    )
    rank = pl.col("basis").replace_strict(BASIS_PREFERENCE, default=9)
    if "reliability" not in rows.columns:  # a mart published before reliability marks
        rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias("reliability"))
    return (
        rows.with_columns(rank.alias("basis_rank"))
        .sort(pl.col("value").is_null(), "basis_rank")
        .unique(subset=["sex", "age_group", "life_stage", "measure", "statistic"], keep="first")
        .select(LONG_COLUMNS)
    )


def study_summary(
    summary: pl.DataFrame | None, persons: pl.DataFrame, study_id: str
) -> tuple[pl.DataFrame, bool]:
    """The long figures for one study and whether they come from the mart (else the fallback)."""
    if summary is not None:
        rows = mart_summary(summary, study_id)
        if rows.height:
            return rows, True
    return fallback_summary(persons.filter(pl.col("study_id") == study_id)), False
