"""Enrich stage: validated diary rows + composition tables -> intake items with grams, Ca and Mg.

The join runs in DuckDB (`sql/intake_item.sql`); frames reach it only through explicit `register`.
An unknown food keeps its row with null nutrients and `is_matched = false`.
"""

import duckdb
import polars as pl

from camg.queries import query
from camg.reference import Reference
from schemas.diary import IntakeItem


def enrich(diary: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """Intake items: every diary row with grams, calcium_mg, magnesium_mg and is_matched."""
    with duckdb.connect() as con:
        con.register("diary_rows", diary.to_arrow())
        con.register("food_composition", reference.composition.to_arrow())
        con.register("food_portion", reference.portions.to_arrow())
        items = con.sql(query("intake_item")).pl()
    return IntakeItem.validate(items.select(list(IntakeItem.to_schema().columns)))
