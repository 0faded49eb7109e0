"""Ingest reader: camg food-record CSV (cohorts' own records, DESIGN section 2) -> raw canonical rows.

Header names are case-insensitive; extra columns stay in the raw line. A row names its day by
`recall_day` or by `intake_date` (validation numbers a person's dates 1, 2, ...), its food by
`food_code` in `food_system` (the column, else the batch's study.toml default) and/or
`food_description`, its amount in `unit` (`g` when absent). A supplement row carries `calcium_mg` and
`magnesium_mg` per unit; on a food row those columns are ignored (a food's nutrients come from the
composition table).
"""

import polars as pl

from camg.ingest.delimited import column_or_null, provenance_columns, renamed_columns
from camg.ingest.study import Source

FOOD_COLUMNS = {"food_code", "food_description", "item_kind"}


def _names(header: list[str]) -> set[str]:
    """Header names in lower case."""
    return {h.strip().lower() for h in header}


def is_food_record(header: list[str]) -> bool:
    """A camg food record: participant ids, amounts and something naming the food."""
    names = _names(header)
    return {"participant_id", "amount"} <= names and bool(names & FOOD_COLUMNS)


def read_food_record(rows: pl.DataFrame, header: list[str], source: Source) -> pl.DataFrame:
    """Raw diary rows from a camg food-record file (one row per food or supplement item)."""
    rows = renamed_columns(rows, header, "lower")
    is_supplement = (
        column_or_null(rows, "item_kind").str.strip_chars().str.to_lowercase() == "supplement"
    )
    default_system = pl.lit(source.study.food_system, dtype=pl.String)
    return rows.select(
        *provenance_columns(source.source_file, source.study_id, len(header)),
        pl.col("participant_id").alias("person_id"),
        column_or_null(rows, "recall_day").alias("recall_day"),
        column_or_null(rows, "intake_date").alias("intake_date"),
        column_or_null(rows, "item_kind").alias("item_kind"),
        pl.lit(None, dtype=pl.String).alias("item_key"),
        column_or_null(rows, "food_code").alias("food_code"),
        pl.coalesce(
            column_or_null(rows, "food_system").str.strip_chars().replace("", None),
            default_system,
        ).alias("food_system"),
        column_or_null(rows, "food_description").alias("food_description"),
        pl.col("amount").alias("amount"),
        column_or_null(rows, "unit").alias("unit"),
        pl.lit(None, dtype=pl.String).alias("reported_calcium_mg"),
        pl.lit(None, dtype=pl.String).alias("reported_magnesium_mg"),
        pl.when(is_supplement)
        .then(column_or_null(rows, "calcium_mg"))
        .alias("supplement_calcium_mg_per_unit"),
        pl.when(is_supplement)
        .then(column_or_null(rows, "magnesium_mg"))
        .alias("supplement_magnesium_mg_per_unit"),
    )
