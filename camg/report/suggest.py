"""Foods to suggest: composition + typical portions + rules -> Mg-rich foods with a low Ca:Mg ratio.

Candidates are FNDDS foods in the groups the rules name (`suggest.fndds_group.*`: legumes, nuts,
seeds, whole-wheat breads, cooked grains, dark-green vegetables). A typical portion is the median
grams of that food as recorded in the marts (at least `suggest.portion_min_items` items), Ca and Mg
per 100 g are the composition values the run used. A food qualifies when its own Ca:Mg ratio is at or
below `suggest.food_ratio_max` and a portion gives at least `suggest.magnesium_min_mg_per_portion`.
For one person, only foods whose ratio is below theirs are shown: adding such a food raises Mg and
cannot raise the ratio.
"""

from dataclasses import dataclass

import polars as pl

from camg.report.names import FoodKey, food_label
from camg.report.rules import Rules

REQUIRED_RULES = (
    "suggest.food_ratio_max",
    "suggest.magnesium_min_mg_per_portion",
    "suggest.portion_min_items",
    "suggest.foods_per_group_max",
    "suggest.foods_max",
)


@dataclass(frozen=True)
class Candidate:
    """A food that adds Mg at a low Ca:Mg ratio, per typical portion."""

    name: str
    group: str
    portion_grams: float
    calcium_mg: float
    magnesium_mg: float
    ratio: float


def _in_groups(groups: dict[str, str]) -> pl.Expr:
    """The group name of a food code (longest matching prefix), null when in no group."""
    expr = pl.lit(None, dtype=pl.String)
    for prefix in sorted(groups, key=len):
        expr = (
            pl.when(pl.col("food_code").str.starts_with(prefix))
            .then(pl.lit(groups[prefix]))
            .otherwise(expr)
        )
    return expr


def candidate_foods(
    portions: pl.DataFrame, rules: Rules, names: dict[FoodKey, str]
) -> list[Candidate]:
    """The study-independent list of candidate foods, best Mg per portion first."""
    limits = {rule_id: rules.value(rule_id) for rule_id in REQUIRED_RULES}
    groups = rules.suggestion_groups()
    if any(v is None for v in limits.values()) or not groups:
        return []
    foods = (
        portions.filter(
            (pl.col("food_system") == "fndds")
            & (pl.col("n_items") >= limits["suggest.portion_min_items"])
        )
        .with_columns(_in_groups(groups).alias("group"))
        .filter(pl.col("group").is_not_null() & (pl.col("magnesium_mg_per_100g") > 0))
        .with_columns(
            (pl.col("typical_grams") * pl.col("calcium_mg_per_100g") / 100).alias("calcium_mg"),
            (pl.col("typical_grams") * pl.col("magnesium_mg_per_100g") / 100).alias("magnesium_mg"),
            (pl.col("calcium_mg_per_100g") / pl.col("magnesium_mg_per_100g")).alias("ratio"),
        )
        .filter(
            (pl.col("ratio") <= limits["suggest.food_ratio_max"])
            & (pl.col("magnesium_mg") >= limits["suggest.magnesium_min_mg_per_portion"])
        )
        .sort("magnesium_mg", "food_code", descending=[True, False])
    )
    chosen: list[Candidate] = []
    per_group: dict[str, int] = {}
    seen: set[str] = set()
    for row in foods.iter_rows(named=True):
        name = food_label(names, "fndds", row["food_code"], row["food_description"])
        kind = (
            name.split(",")[0].strip().lower()
        )  # "Cashews, salted" and "Cashews, unsalted" are one kind
        if kind in seen or per_group.get(row["group"], 0) >= limits["suggest.foods_per_group_max"]:
            continue
        seen.add(kind)
        per_group[row["group"]] = per_group.get(row["group"], 0) + 1
        chosen.append(
            Candidate(
                name,
                row["group"],
                row["typical_grams"],
                row["calcium_mg"],
                row["magnesium_mg"],
                row["ratio"],
            )
        )
        if len(chosen) >= limits["suggest.foods_max"]:
            break
    return chosen


def for_person(candidates: list[Candidate], person_ratio: float | None) -> list[Candidate]:
    """The candidates whose own ratio is below the person's (all of them when theirs is unknown)."""
    if person_ratio is None:
        return candidates
    return [food for food in candidates if food.ratio < person_ratio]
