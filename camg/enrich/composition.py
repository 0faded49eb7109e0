"""Enrich stage: validated diary rows + composition tables -> intake items with grams, Ca and Mg.

The join runs in DuckDB (`sql/intake_item.sql`); frames reach it only through explicit `register`.
A food code the table lacks takes values imputed from the table's hierarchy (`camg.enrich.imputation`), is
matched and marked `is_imputed`; a food with no values even so keeps its row with null nutrients
and `is_matched = false`.

Only the columns the join reads cross into DuckDB (with a row index), and only the computed columns
come back: at 10 M items this avoids copying and sorting every text column twice (see
benchmarks/scale.py). The items are then ordered by person and day in polars.
"""

import duckdb
import polars as pl

from camg.enrich.imputation import imputed_composition
from camg.ops.queries import query
from camg.reference import Reference
from schemas.diary import IntakeItem

# Diary columns `sql/intake_item.sql` reads, and the order intake items are published in.
JOIN_INPUTS = [
    "item_kind",
    "food_system",
    "food_code",
    "amount",
    "unit",
    "supplement_calcium_mg_per_unit",
    "supplement_magnesium_mg_per_unit",
]
ITEM_ORDER = ["study_id", "person_id", "recall_day", "source_file", "source_line"]


def item_nutrients(diary: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """Grams, Ca, Mg, is_matched and the imputation columns of each diary row, in the diary's order."""
    rows = diary.select(JOIN_INPUTS).with_row_index("row_index")
    min_digits = int(reference.threshold("imputation.fndds_min_prefix_digits"))
    imputed = imputed_composition(rows, reference.composition, min_digits)
    with duckdb.connect() as con:
        # Arrow string views: the text columns cross into DuckDB with less copying.
        con.register("diary_rows", rows.to_arrow(compat_level=pl.CompatLevel.newest()))
        con.register("food_composition", reference.composition.to_arrow())
        con.register("imputed_composition", imputed.to_arrow())
        con.register("food_portion", reference.portions.to_arrow())
        nutrients = con.sql(query("intake_item")).pl()
    return nutrients.sort("row_index").drop("row_index")


def text_rank(column: pl.Series) -> pl.Series:
    """Each value's rank among the column's sorted distinct values: text that sorts as integers."""
    values = column.unique().sort()
    return column.replace_strict(values, pl.int_range(values.len(), dtype=pl.UInt32, eager=True))


def survey_cycle(items: pl.DataFrame, participants: pl.DataFrame | None) -> pl.Series:
    """Each item's person's survey cycle, in item order (null when unknown)."""
    keys = ["study_id", "person_id"]
    if participants is None or "survey_cycle" not in participants.columns:
        return pl.Series("survey_cycle", [None] * items.height, dtype=pl.String)
    cycles = participants.select(*keys, "survey_cycle").unique(subset=keys, keep="first")
    joined = items.select(keys).join(cycles, on=keys, how="left", maintain_order="left")
    return joined["survey_cycle"]


def in_item_order(items: pl.DataFrame) -> pl.DataFrame:
    """Items sorted by ITEM_ORDER, text keys sorted as ranks.

    Same order as `items.sort(ITEM_ORDER)`; at 10 M items that sort held 2 GB more and took a
    third more CPU time (benchmarks/scale.py).
    """
    keys = pl.DataFrame(
        [text_rank(items[c]) if items.schema[c] == pl.String else items[c] for c in ITEM_ORDER]
    )
    order = keys.with_row_index("row_index").sort(ITEM_ORDER).get_column("row_index")
    return items.select(pl.all().gather(order))


def enrich(
    diary: pl.DataFrame, reference: Reference, participants: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Intake items: every diary row with grams, calcium_mg, magnesium_mg and is_matched.

    An item's `survey_cycle` is its person's (`participants`: study_id, person_id, survey_cycle);
    null without them.
    """
    items = pl.concat([diary, item_nutrients(diary, reference)], how="horizontal")
    items = items.with_columns(survey_cycle(items, participants))
    columns = list(IntakeItem.to_schema().columns)
    return IntakeItem.validate(in_item_order(items.select(columns)))
