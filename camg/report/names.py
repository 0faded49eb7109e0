"""Food names for reports: codes -> descriptions from the reference composition tables.

NHANES exports carry food codes without names; the names come from `reference/fndds` and
`reference/usda_sr24`. Names are data, not markup: templates escape them like any other text.
"""

from pathlib import Path

import polars as pl

from camg.reference import load_fndds, load_sr24

FoodKey = tuple[str, str]


def food_names(reference_dir: Path | None) -> dict[FoodKey, str]:
    """(food_system, food_code) -> description; empty when no reference folder is given."""
    if reference_dir is None:
        return {}
    foods = pl.concat(
        [load_fndds(reference_dir), load_sr24(reference_dir)[0]], how="diagonal_relaxed"
    )
    return {
        (row[0], row[1]): row[2]
        for row in foods.select("food_system", "food_code", "description").iter_rows()
        if row[2]
    }


def food_label(
    names: dict[FoodKey, str], system: str, code: str, reported: str | None, kind: str = "food"
) -> str:
    """What a person would call the food: the reported name, the table's name, else its code."""
    label = reported or names.get((system, code)) or f"{system} food {code}"
    return f"{label} (supplement)" if kind == "supplement" else label
