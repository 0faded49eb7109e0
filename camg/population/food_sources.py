"""Summarise stage: intake items + person weights -> the `food_sources` mart (population-ratio method).

A food's share of a population's Ca (or Mg) = sum over persons of weight x the food's mean daily Ca
over the person's usable days / sum over persons of weight x their mean daily Ca from everything
(Krebs-Smith et al. 1989, J Am Diet Assoc 89:1061, the "population ratio" used for WWEIA sources).
Weights are those of the usual-intake analysis (two-day weights where the study has them, divided by
the number of NHANES cycles combined). Days that lost an item to quarantine, or hold a food without
composition values even after imputation, are left out (`camg.population.groups.usable_days`); imputed
foods count with their imputed values.
Food groups: FNDDS codes grouped by their first two digits (FNDDS food subgroups), SR codes by the
SR food group of their NDB number, each named in reference/food_groups.csv; other systems form one
group each. Per survey cycle and for all cycles together (`survey_cycle`), as `population_summary`.
"""

import polars as pl

from camg.population.groups import ALL_CYCLES, design_weights, usable_days
from camg.reference import Reference
from schemas.population import FoodSource

# FNDDS food coding scheme: the first digit of an 8-digit food code is its major food group
# (USDA ARS, Food and Nutrient Database for Dietary Studies documentation, "Food coding scheme").
FNDDS_MAJOR_GROUPS = {
    "1": "Milk and milk products",
    "2": "Meat, poultry, fish, and mixtures",
    "3": "Eggs",
    "4": "Legumes, nuts, and seeds",
    "5": "Grain products",
    "6": "Fruits",
    "7": "Vegetables",
    "8": "Fats, oils, and salad dressings",
    "9": "Sugars, sweets, and beverages",
}
NUTRIENTS = ["calcium", "magnesium"]
# The scope of a share: a study, and one of its cycles or all of them.
SCOPE = ["study_id", "survey_cycle"]
# Item columns that name a food and its person (the aggregation's keys and counts).
ITEM_KEYS = [
    "study_id",
    "person_id",
    "item_kind",
    "food_system",
    "food_code",
    "food_description",
    "is_matched",
]
# Item columns the food sources read, not the raw text ones.
SOURCE_COLUMNS = [
    "study_id",
    "person_id",
    "recall_day",
    "item_kind",
    "food_system",
    "food_code",
    "food_description",
    "calcium_mg",
    "magnesium_mg",
    "is_matched",
]


def stable_sum(column: str) -> pl.Expr:
    """A float sum taken strictly in row order (a running total's last value).

    polars' `sum` splits a column across threads, so the last bits of a float total can change from
    run to run; identical inputs must give identical marts.
    """
    return pl.col(column).fill_null(0).cum_sum().last()


def weighted_contributions(
    items: pl.DataFrame,
    days: pl.DataFrame,
    persons: pl.DataFrame,
    lost: pl.DataFrame,
    divisors: pl.DataFrame,
) -> pl.DataFrame:
    """Items on usable days: their keys, cycle, `w` and `w_<nutrient>` = w x item nutrient / days.

    `w` is the person's usual-intake weight. One join of the items with their usable, weighted
    person-day: a study's items are the biggest frame of its population figures, and each join
    copies every column it keeps.
    """
    good = usable_days(days, lost).select("study_id", "person_id", "recall_day")
    weights = design_weights(persons, divisors).select(
        "study_id", "person_id", pl.col("usual_weight").alias("w")
    )
    cycles = persons.select("study_id", "person_id", cycle_of(persons))
    per_day = (
        good.with_columns(pl.len().over("study_id", "person_id").alias("n_days"))
        .join(weights, on=["study_id", "person_id"])
        .join(cycles, on=["study_id", "person_id"], how="left")
        .filter(pl.col("w") > 0)
    )
    # Row order is kept throughout, so float sums (and so the mart) are the same on every run.
    kept = items.join(per_day, on=["study_id", "person_id", "recall_day"], maintain_order="left")
    return kept.select(
        *ITEM_KEYS,
        "survey_cycle",
        "w",
        *[(pl.col("w") * pl.col(f"{n}_mg") / pl.col("n_days")).alias(f"w_{n}") for n in NUTRIENTS],
    )


def cycle_of(persons: pl.DataFrame) -> pl.Expr:
    """Each person's survey cycle (null when the persons carry none)."""
    if "survey_cycle" in persons.columns:
        return pl.col("survey_cycle")
    return pl.lit(None, dtype=pl.String).alias("survey_cycle")


def source_keys() -> list[pl.Expr]:
    """Expressions naming each item's food (system, code) and food group (code, kind of group).

    A group's description follows from its code and kind (`group_description`), so it is written
    once per group rather than once per item.
    """
    fndds = (pl.col("food_system") == "fndds") & pl.col("food_code").str.contains(r"^\d{8}$")
    sr = (pl.col("food_system") == "sr") & pl.col("food_code").str.contains(r"^\d{5}$")
    supplement = pl.col("item_kind") == "supplement"
    # A food reported by description alone (allowed by the contract) has no system: "(none)".
    system = pl.coalesce("food_system", pl.lit("(none)"))
    return [
        pl.when(supplement).then(pl.lit("supplement")).otherwise(system).alias("system"),
        pl.coalesce("food_code", "food_description", pl.lit("(none)")).alias("code"),
        pl.when(supplement)
        .then(pl.lit("supplement"))
        .when(fndds)
        .then(pl.col("food_code").str.slice(0, 2))
        .when(sr)
        .then(pl.col("food_code").str.slice(0, 2) + "00")
        .otherwise(system)
        .alias("group_code"),
        pl.when(supplement)
        .then(pl.lit("supplement"))
        .when(fndds)
        .then(pl.lit("fndds"))
        .when(sr)
        .then(pl.lit("sr"))
        .otherwise(pl.lit("system"))
        .alias("group_kind"),
    ]


def group_description(groups: pl.DataFrame) -> pl.Expr:
    """A food group's own name (reference/food_groups.csv) from its code and kind (`source_keys`).

    A code the table does not name says which codes it holds; the major group of an FNDDS code's
    first digit is added to it, so no two groups share a label.
    """
    names = dict(
        zip(
            groups["food_system"] + ":" + groups["group_code"],
            groups["description"],
            strict=True,
        )
    )
    named = pl.concat_str("group_kind", pl.lit(":"), "group_code").replace_strict(
        names, default=None, return_dtype=pl.String
    )
    major = pl.col("group_code").str.slice(0, 1).replace_strict(FNDDS_MAJOR_GROUPS, default=None)
    return (
        pl.when(pl.col("group_kind") == "supplement")
        .then(pl.lit("Dietary supplements"))
        .when(named.is_not_null())
        .then(named)
        .when(pl.col("group_kind") == "fndds")
        .then(pl.format("{}, other (FNDDS codes {}xxxxxx)", major, pl.col("group_code")))
        .when(pl.col("group_kind") == "sr")
        .then(pl.format("SR foods, NDB numbers {}xxx", pl.col("group_code").str.slice(0, 2)))
        .otherwise(pl.format("All {} foods (no groups defined)", pl.col("group_code")))
    )


def _aggregate(frame: pl.DataFrame, keys: list[str], totals: pl.DataFrame) -> pl.DataFrame:
    """Shares, mean mg per person-day, counts and matched flag per source key."""
    sums = frame.group_by(*SCOPE, *keys).agg(
        *[stable_sum(f"w_{n}").alias(f"_{n}") for n in NUTRIENTS],
        *[pl.col(f"w_{n}").is_null().any().alias(f"_{n}_unknown") for n in NUTRIENTS],
        pl.len().cast(pl.Int64).alias("n_items"),
        pl.col("person_id").n_unique().cast(pl.Int64).alias("n_persons"),
        pl.col("is_matched").all().alias("is_matched"),
        pl.col("food_description").min().alias("_reported"),
    )
    out = sums.join(totals, on=SCOPE)
    for n in NUTRIENTS:
        known = ~pl.col(f"_{n}_unknown") | (pl.col(f"_{n}") > 0)
        out = out.with_columns(
            pl.when(known)
            .then(100 * pl.col(f"_{n}") / pl.col(f"_total_{n}"))
            .alias(f"{n}_share_pct"),
            pl.when(known).then(pl.col(f"_{n}") / pl.col("_w")).alias(f"{n}_mg_per_person_day"),
        )
    return out


def food_sources(
    items: pl.DataFrame,
    days: pl.DataFrame,
    persons: pl.DataFrame,
    lost: pl.DataFrame,
    divisors: pl.DataFrame,
    reference: Reference,
) -> pl.DataFrame:
    """The `food_sources` mart: each food's and group's share of each study's (cycle's) Ca and Mg.

    Rows for all of a study's cycles (`survey_cycle` = all) and, for a study holding two or more,
    for each cycle: shares are ratios of weighted sums, so one cycle's are its own rows' (the
    divisor of combined weights cancels).
    """
    frame = weighted_contributions(items, days, persons, lost, divisors)
    del items  # a study's biggest frame: freed once joined (callers pass it unnamed)
    frame = frame.with_columns(source_keys())
    several = pl.col("survey_cycle").drop_nulls().n_unique().over("study_id") > 1
    per_cycle = frame.filter(several & pl.col("survey_cycle").is_not_null())
    combined = frame.with_columns(pl.lit(ALL_CYCLES).alias("survey_cycle"))
    del frame
    undivided = divisors.with_columns(pl.lit(1.0).alias("weight_divisor"))
    parts = [_sources(combined, persons, divisors, reference)]
    if per_cycle.height:
        parts.append(_sources(per_cycle, persons, undivided, reference))
    return FoodSource.validate(_finish(pl.concat(parts)))


def _sources(
    frame: pl.DataFrame, persons: pl.DataFrame, divisors: pl.DataFrame, reference: Reference
) -> pl.DataFrame:
    """Food and food-group rows of each study and cycle in `frame`, before ranks."""
    # A study's usual-intake weight has one name (camg.population.groups.design_weights).
    variables = (
        design_weights(persons, divisors)
        .filter(pl.col("usual_weight") > 0)
        .group_by("study_id", maintain_order=True)
        .agg(pl.col("usual_weight_variable").first().alias("weight_variable"))
    )
    totals = (
        frame.group_by(SCOPE)
        .agg(*[stable_sum(f"w_{n}").alias(f"_total_{n}") for n in NUTRIENTS])
        .join(variables, on="study_id", how="left")
    )
    weight_sums = (
        frame.unique(["study_id", "survey_cycle", "person_id"], maintain_order=True)
        .group_by(SCOPE)
        .agg(stable_sum("w").alias("_w"))
    )
    totals = totals.join(weight_sums, on=SCOPE)
    names = reference.composition.select(
        pl.col("food_system").alias("system"), pl.col("food_code").alias("code"), "description"
    )
    foods = (
        _aggregate(frame, ["system", "code"], totals)
        .join(names, on=["system", "code"], how="left")
        .with_columns(
            pl.lit("food").alias("level"),
            pl.col("system").alias("food_system"),
            pl.coalesce("description", "_reported").alias("description"),
        )
    )
    groups = _aggregate(frame, ["group_code", "group_kind"], totals).with_columns(
        pl.lit("food_group").alias("level"),
        pl.lit(None, dtype=pl.String).alias("food_system"),
        pl.col("group_code").alias("code"),
        group_description(reference.food_groups).alias("description"),
    )
    return pl.concat([_select(foods), _select(groups)])


def _select(frame: pl.DataFrame) -> pl.DataFrame:
    """The mart's columns, before ranks."""
    return frame.select(
        "study_id",
        "survey_cycle",
        "level",
        "food_system",
        "code",
        "description",
        *[f"{n}_share_pct" for n in NUTRIENTS],
        *[f"{n}_mg_per_person_day" for n in NUTRIENTS],
        "n_items",
        "n_persons",
        "is_matched",
        "weight_variable",
    )


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Ranks by share within study and level (1 = largest; ties share a rank), in a stable order."""
    ranks = [
        pl.col(f"{n}_share_pct")
        .rank("min", descending=True)
        .over("study_id", "survey_cycle", "level")
        .cast(pl.Int64)
        .alias(f"{n}_rank")
        for n in NUTRIENTS
    ]
    order = ["study_id", "survey_cycle", "level", "calcium_rank", "food_system", "code"]
    return (
        frame.with_columns(ranks)
        .sort(order, nulls_last=True)
        .select(*FoodSource.to_schema().columns)
    )
