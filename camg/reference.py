"""Reference data loading: rules and composition files (with provenance) -> validated frames.

Every threshold camg uses lives in these files, each row with its source; the version strings they
yield are written into every mart row and the run log.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from schemas.reference import FoodComposition, FoodGroup, FoodPortion, NutritionRule

RULES_FILES = ("nutrition_rules.csv", "camg_rules.csv")
FNDDS_FILE = Path("fndds") / "fndds_ca_mg_per100g.csv.gz"
SR_FOODS_FILE = Path("usda_sr24") / "foods.csv"
SR_PORTIONS_FILE = Path("usda_sr24") / "portions.csv"
FOOD_GROUPS_FILE = Path("food_groups.csv")
# Spellings of a unit as diaries and SR write it -> the one name camg joins portions on.
UNIT_ALIASES = {
    "g": ["g", "gm", "gms", "gr", "gram", "grams", "gramme", "grammes"],
    "ml": ["ml", "mls", "millilitre", "millilitres", "milliliter", "milliliters", "cc"],
    "cup": ["cup", "cups", "c"],
    "tbsp": ["tbsp", "tbsps", "tbs", "tbl", "tblsp", "tablespoon", "tablespoons"],
    "tsp": ["tsp", "tsps", "teaspoon", "teaspoons"],
    "oz": ["oz", "ozs", "ounce", "ounces"],
    "fl oz": ["fl oz", "floz", "fl. oz", "fl.oz", "fluid ounce", "fluid ounces", "fl ounce"],
    "lb": ["lb", "lbs", "pound", "pounds"],
    "kg": ["kg", "kgs", "kilogram", "kilograms"],
}
ALIAS_TO_UNIT = {alias: unit for unit, aliases in UNIT_ALIASES.items() for alias in aliases}
# Units that weigh the same for every food: (unit, rule id of its grams); food_portion rows "*"/"*".
MASS_UNITS = {"oz": "unit.oz_grams", "lb": "unit.lb_grams", "kg": "unit.kg_grams"}
ANY_FOOD = "*"


def canonical_unit(unit: pl.Expr) -> pl.Expr:
    """A unit as camg names it (`Tablespoons` -> `tbsp`, `fl. oz.` -> `fl oz`).

    Trimmed, lower case, spaces collapsed, a final dot dropped, aliases mapped; an unknown unit stays
    as written (validation then quarantines it as `unit.unknown`).
    """
    cleaned = (
        unit.str.strip_chars().str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_suffix(".")
    )
    return cleaned.replace(ALIAS_TO_UNIT)


def base_unit(unit: pl.Expr) -> pl.Expr:
    """The measure an SR portion name starts with (`cup, chopped` and `cup (8 fl oz)` -> `cup`)."""
    return canonical_unit(unit.str.replace(r"\s*[,(].*$", ""))


@dataclass(frozen=True)
class Reference:
    """All reference data of a run, validated, with the versions that name it."""

    rules: pl.DataFrame
    rules_version: str
    composition: pl.DataFrame
    portions: pl.DataFrame
    composition_version: str
    # Food group names: food_system, group_code, description, source (reference/food_groups.csv).
    food_groups: pl.DataFrame

    def threshold(self, rule_id: str) -> float:
        """The value of one named rule (a camg threshold)."""
        row = self.rules.filter(pl.col("rule_id") == rule_id)
        if row.height != 1:
            raise KeyError(f"rule {rule_id!r} is not in the rules table")
        return float(row["value"][0])


def load_rules(reference_dir: Path) -> tuple[pl.DataFrame, str]:
    """The rules tables stacked and validated, and their combined version (`a+b`)."""
    frames = [
        pl.read_csv(
            reference_dir / name,
            schema_overrides={"age_min_months": pl.Int64, "age_max_months": pl.Int64},
            infer_schema=False,
        ).with_columns(
            pl.col("age_min_months", "age_max_months").cast(pl.Int64),
            pl.col("value").cast(pl.Float64),
        )
        for name in RULES_FILES
    ]
    rules = NutritionRule.validate(pl.concat(frames))
    version = "+".join(sorted(rules["version"].unique().to_list()))
    return rules, version


def load_fndds(reference_dir: Path) -> pl.DataFrame:
    """The FNDDS per-100 g Ca/Mg table (derived, see reference/fndds/PROVENANCE.md)."""
    return pl.read_csv(
        reference_dir / FNDDS_FILE,
        schema_overrides={"food_code": pl.String},
        columns=[
            "food_code",
            "description",
            "calcium_mg_per_100g",
            "magnesium_mg_per_100g",
            "method",
        ],
    ).select(pl.lit("fndds").alias("food_system"), pl.all())


def load_sr24(reference_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """USDA SR24 foods (per 100 g) and household measures (grams per one unit)."""
    foods = pl.read_csv(reference_dir / SR_FOODS_FILE, infer_schema=False).select(
        pl.lit("sr").alias("food_system"),
        pl.col("ndb_no").alias("food_code"),
        "description",
        pl.col("calcium_mg").cast(pl.Float64).alias("calcium_mg_per_100g"),
        pl.col("magnesium_mg").cast(pl.Float64).alias("magnesium_mg_per_100g"),
        pl.lit("sr24").alias("method"),
    )
    portions = (
        pl.read_csv(reference_dir / SR_PORTIONS_FILE, infer_schema=False)
        .select(
            pl.lit("sr").alias("food_system"),
            pl.col("ndb_no").alias("food_code"),
            pl.col("unit").str.strip_chars().str.to_lowercase().alias("unit"),
            (pl.col("grams").cast(pl.Float64) / pl.col("amount").cast(pl.Float64)).alias("grams"),
        )
        .filter(pl.col("grams") > 0)
        # SR lists some measures twice (e.g. two "cup" rows); the first listed is the common one.
        .unique(subset=["food_system", "food_code", "unit"], keep="first", maintain_order=True)
    )
    return foods, portions


def with_unit_forms(portions: pl.DataFrame, rules: pl.DataFrame) -> pl.DataFrame:
    """SR portions plus the unit forms diaries use.

    Adds a food's base measures (`cup` from `cup, chopped`, first listed wins), its `ml` (grams per
    ml from its `fl oz`, else its `cup`, portion) and the mass units every food shares (food_system
    and food_code `*`).
    """
    value = dict(zip(rules["rule_id"], rules["value"], strict=True))
    exact = portions.with_columns(canonical_unit(pl.col("unit")).alias("unit"))
    base = portions.with_columns(base_unit(pl.col("unit")).alias("unit"))
    per_ml = pl.when(pl.col("unit") == "fl oz").then(pl.col("grams") / value["unit.fl_oz_ml"])
    ml = (
        base.filter((pl.col("unit") == "fl oz") | (pl.col("unit") == "cup"))
        .sort(pl.col("unit") != "fl oz", maintain_order=True)
        .with_columns(
            per_ml.otherwise(pl.col("grams") / value["unit.cup_ml"]).alias("grams"),
            pl.lit("ml").alias("unit"),
        )
    )
    mass = pl.DataFrame(
        {
            "food_system": [ANY_FOOD] * len(MASS_UNITS),
            "food_code": [ANY_FOOD] * len(MASS_UNITS),
            "unit": list(MASS_UNITS),
            "grams": [value[rule] for rule in MASS_UNITS.values()],
        }
    )
    return pl.concat([exact, base, ml, mass]).unique(
        subset=["food_system", "food_code", "unit"], keep="first", maintain_order=True
    )


def files_digest(paths: list[Path]) -> str:
    """A short content hash of reference files, so a changed table gets a new version."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def load_reference(reference_dir: Path) -> Reference:
    """Rules and composition for a run."""
    rules, rules_version = load_rules(reference_dir)
    sr_foods, sr_portions = load_sr24(reference_dir)
    composition = FoodComposition.validate(pl.concat([load_fndds(reference_dir), sr_foods]))
    portions = FoodPortion.validate(with_unit_forms(sr_portions, rules))
    files = [
        reference_dir / FNDDS_FILE,
        reference_dir / SR_FOODS_FILE,
        reference_dir / SR_PORTIONS_FILE,
        reference_dir / FOOD_GROUPS_FILE,
    ]
    composition_version = f"fndds-derived+sr24@{files_digest(files)}"
    groups = FoodGroup.validate(pl.read_csv(reference_dir / FOOD_GROUPS_FILE, infer_schema=False))
    return Reference(rules, rules_version, composition, portions, composition_version, groups)
