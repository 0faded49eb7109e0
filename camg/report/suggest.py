"""Foods to suggest: composition + the study's own portions + rules -> safe Mg-rich foods for one person.

Candidates are FNDDS foods in the groups the rules name (`suggest.fndds_group.*`: legumes, nuts,
seeds, whole-wheat breads, cooked grains, dark-green vegetables). A portion is the median grams of
that food among persons of the same study and DRI age group (at least `suggest.portion_min_items`
items): a child gets a child's portion, and no portion (so no suggestion) where the group ate too
little of the food, never an adult's. A food qualifies when its own Ca:Mg ratio is at or below
`suggest.food_ratio_max`; for one person, a portion must give at least `suggest.magnesium_min_share_of_need`
of their own Mg RDA (or AI), so a child's threshold is a child's.

For one person (`for_person`): nothing under `suggest.min_age_months` (12); no food that an exclusion
rule names for the person's age (`suggest.exclude.*`: nuts, seeds, popcorn and raw vegetables under
4 years, a choking hazard (AAP); honey under 12 months, infant botulism (CDC)); only foods whose
ratio is below the person's; at most `suggest.foods_per_group_max` per group, `suggest.foods_max`.
"""

from dataclasses import dataclass

import polars as pl

from camg.report.names import FoodKey, food_label
from camg.report.rules import Rules

REQUIRED_RULES = (
    "suggest.food_ratio_max",
    "suggest.magnesium_min_share_of_need",
    "suggest.portion_min_items",
    "suggest.foods_per_group_max",
    "suggest.foods_max",
    "suggest.min_age_months",
)
EXCLUDE_KINDS = ("suggest_exclude_code_prefix", "suggest_exclude_word")
GroupKey = tuple[str, str | None]


@dataclass(frozen=True)
class Candidate:
    """A food that adds Mg at a low Ca:Mg ratio, per portion of the person's age group."""

    name: str
    group: str
    portion_grams: float
    calcium_mg: float
    magnesium_mg: float
    ratio: float
    food_code: str = ""


@dataclass(frozen=True)
class Exclusion:
    """A food no person younger than `age_max_months` is offered: by code prefix or by a word."""

    rule_id: str
    kind: str
    pattern: str
    age_max_months: float

    def excludes(self, food: Candidate, age_months: int) -> bool:
        """Whether this rule keeps the food from a person of this age."""
        if age_months >= self.age_max_months:
            return False
        if self.kind == "suggest_exclude_code_prefix":
            return food.food_code.startswith(self.pattern)
        return self.pattern.lower() in food.name.lower()


@dataclass(frozen=True)
class Policy:
    """The suggestion rules of a run: limits, minimum age and exclusions."""

    limits: dict[str, float]
    exclusions: tuple[Exclusion, ...]

    @classmethod
    def from_rules(cls, rules: Rules) -> "Policy | None":
        """The policy, or None when the run's rules table lacks a suggestion rule."""
        limits = {rule_id: rules.value(rule_id) for rule_id in REQUIRED_RULES}
        if any(v is None for v in limits.values()):
            return None
        rows = rules.frame.filter(pl.col("kind").is_in(EXCLUDE_KINDS)).iter_rows(named=True)
        exclusions = tuple(Exclusion(r["rule_id"], r["kind"], r["scope"], r["value"]) for r in rows)
        return cls({k: float(v) for k, v in limits.items() if v is not None}, exclusions)

    def why_none(self, age_months: int | None) -> str | None:
        """Why a person gets no suggestions at all (None when they may get some)."""
        if age_months is None or age_months < self.limits["suggest.min_age_months"]:
            return (
                "We do not suggest foods for babies under 12 months: breast milk or formula "
                "gives them their minerals, and their first foods are best chosen with their "
                "doctor. Honey is never safe before 12 months."
            )
        return None


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
    """The qualifying foods of one age group's portions, best Mg per portion first, one per kind."""
    policy, groups = Policy.from_rules(rules), rules.suggestion_groups()
    if policy is None or not groups:
        return []
    limits = policy.limits
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
        .filter(pl.col("ratio") <= limits["suggest.food_ratio_max"])
        .sort("magnesium_mg", "food_code", descending=[True, False])
    )
    chosen: list[Candidate] = []
    seen: set[str] = set()
    for row in foods.iter_rows(named=True):
        name = food_label(names, "fndds", row["food_code"], row["food_description"])
        kind = name.split(",")[0].strip().lower()  # "Cashews, salted" and "Cashews" are one kind
        if kind in seen:
            continue
        seen.add(kind)
        chosen.append(
            Candidate(
                name, row["group"], row["typical_grams"], row["calcium_mg"],
                row["magnesium_mg"], row["ratio"], row["food_code"],
            )
        )  # fmt: skip
    return chosen


def candidates_by_group(
    portions: pl.DataFrame, rules: Rules, names: dict[FoodKey, str]
) -> dict[GroupKey, list[Candidate]]:
    """Qualifying foods per (study, DRI age group), each with that group's own portion."""
    if portions.height == 0:
        return {}
    parts = portions.partition_by(["study_id", "dri_age_group"], as_dict=True)
    return {key: candidate_foods(part, rules, names) for key, part in parts.items()}  # type: ignore[misc]


def for_person(
    candidates: list[Candidate],
    person_ratio: float | None,
    age_months: int | None,
    need_mg: float | None,
    policy: Policy,
) -> list[Candidate]:
    """The candidates safe for this person's age, worth a portion, below their ratio, within limits.

    `need_mg` is the person's Mg RDA (or AI): without it nothing is sized for them, so nothing is
    suggested.
    """
    if policy.why_none(age_months) is not None or age_months is None or need_mg is None:
        return []
    min_mg = policy.limits["suggest.magnesium_min_share_of_need"] * need_mg
    per_group_max = policy.limits["suggest.foods_per_group_max"]
    chosen: list[Candidate] = []
    per_group: dict[str, int] = {}
    for food in candidates:
        if any(rule.excludes(food, age_months) for rule in policy.exclusions):
            continue
        if food.magnesium_mg < min_mg:
            continue
        if person_ratio is not None and food.ratio >= person_ratio:
            continue
        if per_group.get(food.group, 0) >= per_group_max:
            continue
        per_group[food.group] = per_group.get(food.group, 0) + 1
        chosen.append(food)
        if len(chosen) >= policy.limits["suggest.foods_max"]:
            break
    return chosen
