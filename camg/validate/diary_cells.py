"""A diary row's cells parsed once: raw text -> the values the rules and the typed row read.

Each raw text column is trimmed once (`TRIMMED`), then read as text or a number (`parsed_columns`);
the columns of few distinct values (system, unit, kind) are parsed once a value (`PER_VALUE`).
The rules that judge these values are in `camg.validate.diary_rows`.
"""

from collections.abc import Callable

import polars as pl

from camg.ingest.cells import number_of, text, text_of
from camg.reference import canonical_unit

# The dietary weights a diary export may carry on each row (NHANES WTDRD1, WTDR2D).
WEIGHT_COLUMNS = ("weight_one_day", "weight_two_day")
# The raw text columns the rules and the typed row read, each trimmed once (`with_lookups`); the
# columns of few values (system, unit, kind) are parsed once a value instead (`PER_VALUE`).
TRIMMED = [
    "person_id",
    "food_code",
    "food_description",
    "recall_day",
    "intake_date",
    "item_key",
    "amount",
    "reported_calcium_mg",
    "reported_magnesium_mg",
    "supplement_calcium_mg_per_unit",
    "supplement_magnesium_mg_per_unit",
    *WEIGHT_COLUMNS,
]


def typed_columns() -> list[pl.Expr]:
    """A diary row's canonical typed columns (from `with_lookups`' parsed columns), raw text left out."""
    return [
        pl.col("source_file"),
        pl.col("source_line"),
        pl.col("study_id"),
        pl.col("_person_id").alias("person_id"),
        # Every row is typed, broken ones too (recall_day.out_of_range: 1e20 is no Int64).
        pl.col("_day").cast(pl.Int64, strict=False).alias("recall_day"),
        pl.col("_kind").fill_null("food").alias("item_kind"),
        pl.col("_item_key").alias("item_key"),
        pl.col("_code").alias("food_code"),
        pl.col("_system").alias("food_system"),
        pl.col("food_description").alias("food_description"),
        pl.col("_amount").alias("amount"),
        pl.col("_unit").alias("unit"),
        pl.col("_reported_calcium_mg").alias("reported_calcium_mg"),
        pl.col("_reported_magnesium_mg").alias("reported_magnesium_mg"),
        pl.col("_ca_per_unit").alias("supplement_calcium_mg_per_unit"),
        pl.col("_mg_per_unit").alias("supplement_magnesium_mg_per_unit"),
    ]


def intake_date() -> pl.Expr:
    """The `intake_date` text as a date (ISO `YYYY-MM-DD`), null when missing or not a date."""
    return as_date(text("intake_date"))


def as_date(date_text: pl.Expr) -> pl.Expr:
    """Trimmed date text as a date (ISO `YYYY-MM-DD`), null when missing or not a date."""
    return date_text.str.to_date("%Y-%m-%d", strict=False)


def parsed_columns() -> list[pl.Expr]:
    """The values the rules and the typed row read, from the trimmed `_trim_<column>` text.

    Each column is trimmed once before (a value read as text and as a number was trimmed three
    times: ~20% of the rules' pass).
    """
    trim = {c: pl.col(f"_trim_{c}") for c in TRIMMED}
    texts = {
        "_person_id": "person_id",
        "_code": "food_code",
        "_description": "food_description",
        "_intake_date": "intake_date",
        "_item_key": "item_key",
        "_amount_text": "amount",
        **{f"_{w}_text": w for w in WEIGHT_COLUMNS},
    }
    numbers = {
        "_amount": "amount",
        "_ca_per_unit": "supplement_calcium_mg_per_unit",
        "_mg_per_unit": "supplement_magnesium_mg_per_unit",
        "_reported_calcium_mg": "reported_calcium_mg",
        "_reported_magnesium_mg": "reported_magnesium_mg",
        **{f"_{w}": w for w in WEIGHT_COLUMNS},
    }
    return [
        *[text_of(trim[c]).alias(name) for name, c in texts.items()],
        *[number_of(trim[c]).alias(name) for name, c in numbers.items()],
        text_of(trim["recall_day"]).alias("_day_text"),
        number_of(trim["recall_day"]).alias("_day"),
    ]


def trimmed(value: pl.Expr) -> pl.Expr:
    """Text trimmed, empty as null (`camg.ingest.cells.text` of an expression)."""
    return text_of(value.str.strip_chars())


# Parsed columns of few distinct values (`per_value_columns`): name -> (raw column, elementwise parse).
PER_VALUE: dict[str, tuple[str, Callable[[pl.Expr], pl.Expr]]] = {
    "_system": ("food_system", lambda v: trimmed(v).str.to_lowercase()),
    "_unit": ("unit", lambda v: canonical_unit(trimmed(v)).fill_null("g")),
    "_kind": ("item_kind", lambda v: trimmed(v).str.to_lowercase()),
}


def per_value_columns(raw: pl.LazyFrame) -> list[pl.Expr]:
    """The PER_VALUE columns: each parsed once per distinct value, and mapped to the rows.

    A file holds few systems, units and kinds: `canonical_unit` of 100k units took 20 ms, and 6 ms
    through its distinct values. They are found first (one collect) and mapped as constants (not
    an expression of the column's distinct values inside the plan: polars 2.1 panicked on that).
    """
    columns = sorted({column for column, _ in PER_VALUE.values()})
    distinct = raw.select(pl.col(c).unique().implode() for c in columns).collect()
    mapped = []
    for name, (column, parse) in PER_VALUE.items():
        values = distinct[column].explode()
        parsed = values.to_frame().select(parse(pl.col(column)))[column]
        mapped.append(pl.col(column).replace_strict(values, parsed).alias(name))
    return mapped
