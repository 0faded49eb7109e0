"""Ingest reader: ASA24 researcher exports (Items and Totals files) -> raw canonical rows.

The Items file has one row per food reported in a recall (`UserName`, `RecallNo`, `FoodNum`,
`FoodCode` an FNDDS code, `FoodAmt` in grams, the export's own `CALC` and `MAGN`, ...). The Totals
file has one row per recall with the export's daily `CALC` and `MAGN`: camg never uses those instead
of its own values, it publishes them beside its own (`export_crosscheck`). Participants come from the
batch's participants file, matched on `UserName` (the id the researcher assigned).
"""

import polars as pl

from camg.ingest.delimited import column_or_null, provenance_columns, renamed_columns
from camg.ingest.study import Source

ITEMS_SIGNATURE = {"username", "recallno", "foodcode", "foodamt"}
TOTALS_SIGNATURE = {"username", "recallno", "calc", "magn"}
# ASA24 researcher data dictionary: RecallStatus 2 = complete, 5 = breakoff (not finished).
COMPLETE_RECALL_STATUS = ["2"]


def _names(header: list[str]) -> set[str]:
    """Header names in lower case (ASA24 spells them in CamelCase; teams re-save them otherwise)."""
    return {h.lower() for h in header}


def is_items(header: list[str]) -> bool:
    """An ASA24 Items (individual foods) file."""
    return _names(header) >= ITEMS_SIGNATURE


def is_totals(header: list[str]) -> bool:
    """An ASA24 Totals (one row per recall) file: nutrient totals, no food codes."""
    names = _names(header)
    return names >= TOTALS_SIGNATURE and "foodcode" not in names


def integer_text(column: str) -> pl.Expr:
    """ASA24 integers as text, without the `.0` a spreadsheet round-trip adds."""
    return pl.col(column).str.strip_chars().str.replace(r"^(\d+)\.0+$", "${1}")


# The Items file's own key of a row within a participant's recall (ASA24 researcher data
# dictionary): the user's id, the attempt at the recall, the food's number in the recall and the
# number of the food code within that food (a food reported with components, e.g. coffee with milk,
# is one FoodNum with CodeNum 1, 2, ...). RecallNo and UserName are the day and person columns.
ITEM_KEY_COLUMNS = ("userid", "recallattempt", "foodnum", "codenum")


def asa24_item_key(rows: pl.DataFrame) -> pl.Expr:
    """The item key as text (`UserID|RecallAttempt|FoodNum|CodeNum`); the line when FoodNum is absent.

    A column the file lacks is left empty in the key, so older exports without CodeNum still work.
    """
    if "foodnum" not in rows.columns:
        return pl.col("source_line").cast(pl.String)
    parts = [
        integer_text(c).fill_null("") if c in rows.columns else pl.lit("") for c in ITEM_KEY_COLUMNS
    ]
    return pl.concat_str(parts, separator="|")


def read_items(rows: pl.DataFrame, header: list[str], source: Source) -> pl.DataFrame:
    """Raw diary rows from an ASA24 Items file (one row per food item, grams)."""
    rows = renamed_columns(rows, header, "lower")
    status = integer_text("recallstatus") if "recallstatus" in rows.columns else None
    reliable = (
        pl.lit("true")
        if status is None
        else pl.when(status.is_null() | status.is_in(COMPLETE_RECALL_STATUS))
        .then(pl.lit("true"))
        .otherwise(pl.lit("false"))
    )
    item_key = asa24_item_key(rows)
    return rows.select(
        *provenance_columns(source.source_file, source.study_id, len(header)),
        pl.col("username").alias("person_id"),
        integer_text("recallno").alias("recall_day"),
        pl.lit(None, dtype=pl.String).alias("intake_date"),
        pl.lit("food").alias("item_kind"),
        item_key.alias("item_key"),
        integer_text("foodcode").alias("food_code"),
        pl.lit("fndds").alias("food_system"),
        column_or_null(rows, "food_description").alias("food_description"),
        pl.col("foodamt").alias("amount"),
        pl.lit("g").alias("unit"),
        column_or_null(rows, "calc").alias("reported_calcium_mg"),
        column_or_null(rows, "magn").alias("reported_magnesium_mg"),
        pl.lit(None, dtype=pl.String).alias("supplement_calcium_mg_per_unit"),
        pl.lit(None, dtype=pl.String).alias("supplement_magnesium_mg_per_unit"),
        reliable.alias("is_reliable_recall"),
    )


def read_totals(rows: pl.DataFrame, header: list[str], source: Source) -> pl.DataFrame:
    """Raw recall-total rows from an ASA24 Totals file (one row per recall)."""
    rows = renamed_columns(rows, header, "lower")
    return rows.select(
        *provenance_columns(source.source_file, source.study_id, len(header)),
        pl.col("username").alias("person_id"),
        integer_text("recallno").alias("recall_day"),
        pl.col("calc").alias("reported_calcium_mg"),
        pl.col("magn").alias("reported_magnesium_mg"),
    )
