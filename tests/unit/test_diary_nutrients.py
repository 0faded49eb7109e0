"""enrich.composition.item_nutrients: grams, Ca and Mg of diary rows, by hand-worked numbers.

The lookups are polars joins (they were DuckDB SQL): these pin the values each kind of row gets,
and that a food's nutrient is a true division by 100 (as the SQL computed it), not a multiplication
by 0.01, which differs in the last bit for many values.
"""

import random
from dataclasses import replace

import polars as pl

from camg.enrich.composition import JOIN_INPUTS, item_nutrients

COMPOSITION = {
    "food_system": ["fndds", "sr"],
    "food_code": ["11111000", "01077"],
    "description": ["milk", "milk, sr"],
    "calcium_mg_per_100g": [10.89, 113.0],
    "magnesium_mg_per_100g": [57.18, None],
    "method": ["m", "m"],
}
PORTIONS = {
    "food_system": ["fndds", "*", "*"],
    "food_code": ["11111000", "*", "*"],
    "unit": ["cup", "oz", "kg"],
    "grams": [244.0, 28.349523, 1000.0],
}


def small_reference(reference):
    """The real rules with a two-food composition table and three portions."""
    composition = pl.DataFrame(COMPOSITION, schema=reference.composition.schema)
    return replace(reference, composition=composition, portions=pl.DataFrame(PORTIONS))


def rows(*values: tuple) -> pl.DataFrame:
    """Diary rows of the join's input columns (kind, system, code, amount, unit, Ca/unit, Mg/unit)."""
    schema = dict.fromkeys(JOIN_INPUTS, pl.String) | {
        c: pl.Float64
        for c in ["amount", "supplement_calcium_mg_per_unit", "supplement_magnesium_mg_per_unit"]
    }
    return pl.DataFrame(list(values), schema=schema, orient="row")


def test_each_kind_of_row_gets_its_grams_and_nutrients_in_row_order(reference):
    diary = rows(
        ("food", "fndds", "11111000", 10.0, "g", None, None),  # as weighed
        ("food", "fndds", "11111000", 2.0, "cup", None, None),  # the food's own portion
        ("food", "sr", "01077", 3.0, "oz", None, None),  # a mass unit of every food
        ("food", "fndds", "99999999", 50.0, "g", None, None),  # no values, none to impute
        ("supplement", None, None, 2.0, "tablet", 250.0, None),  # amount x mg per unit
        ("food", "fndds", "11111000", 1.0, "tbsp", None, None),  # a unit it has no portion for
    )
    got = item_nutrients(diary, small_reference(reference))
    assert got["grams"].to_list() == [10.0, 488.0, 3.0 * 28.349523, 50.0, None, None]
    assert got["calcium_mg"].to_list() == [
        10.0 * 10.89 / 100,
        488.0 * 10.89 / 100,
        3.0 * 28.349523 * 113.0 / 100,
        None,
        500.0,
        None,
    ]
    assert got["magnesium_mg"].to_list() == [
        10.0 * 57.18 / 100,
        488.0 * 57.18 / 100,
        None,
        None,
        None,
        None,
    ]
    assert got["is_matched"].to_list() == [True, True, True, False, True, True]
    assert got["is_imputed"].to_list() == [False] * 6


def test_a_food_nutrient_is_a_true_division_by_100(reference):
    # 10 g x 10.89 = 108.9 mg per 100 g: 108.9 / 100 = 1.089, but 108.9 x 0.01 = 1.0890000000000002.
    assert 108.9 / 100 != 108.9 * 0.01
    generator = random.Random(16)
    amounts = [10.0] + [round(generator.uniform(0.1, 500), 2) for _ in range(2000)]
    diary = rows(*[("food", "fndds", "11111000", a, "g", None, None) for a in amounts])
    got = item_nutrients(diary, small_reference(reference))
    assert got["calcium_mg"].to_list() == [a * 10.89 / 100 for a in amounts]
    assert got["calcium_mg"][0] == 1.089
