"""Reference data: the versioned nutrition rules and the food composition tables."""

import pandera.polars as pa


class NutritionRule(pa.DataFrameModel):
    """One row per rule: a DRI value, a ratio band or a camg threshold, with its source."""

    version: str
    rule_id: str = pa.Field(unique=True)
    nutrient: str
    kind: str
    sex: str = pa.Field(isin=["male", "female", "both"])
    age_min_months: int = pa.Field(nullable=True, ge=0)
    age_max_months: int = pa.Field(nullable=True, ge=0)
    life_stage: str = pa.Field(isin=["general", "pregnant", "lactating", "all"])
    value: float = pa.Field(ge=0)
    unit: str
    scope: str
    verification: str
    source: str = pa.Field(str_length={"min_value": 1})
    source_detail: str = pa.Field(nullable=True)


class FoodComposition(pa.DataFrameModel):
    """One row per food of a composition table; an empty nutrient is unknown, never zero."""

    food_system: str
    food_code: str
    description: str = pa.Field(nullable=True)
    calcium_mg_per_100g: float = pa.Field(nullable=True, ge=0)
    magnesium_mg_per_100g: float = pa.Field(nullable=True, ge=0)
    method: str = pa.Field(nullable=True)

    class Config:
        """Keys are unique per food system."""

        unique = ["food_system", "food_code"]


class FoodPortion(pa.DataFrameModel):
    """One row per household measure of a food: grams in one `unit` (e.g. one cup)."""

    food_system: str
    food_code: str
    unit: str
    grams: float = pa.Field(gt=0)

    class Config:
        """One gram weight per food and unit."""

        unique = ["food_system", "food_code", "unit"]


class FoodGroup(pa.DataFrameModel):
    """One row per food group of a composition system: its own name, never shared with another group."""

    food_system: str = pa.Field(isin=["fndds", "sr"])
    group_code: str = pa.Field(str_matches=r"^[0-9]{2}([0-9]{2})?$")
    description: str = pa.Field(unique=True, str_length={"min_value": 1})
    source: str = pa.Field(str_length={"min_value": 1})

    class Config:
        """One name per group code of a system."""

        unique = ["food_system", "group_code"]
