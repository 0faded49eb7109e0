"""Ingest reader: a batch's `participants.csv` -> raw participant rows (DESIGN section 2).

Columns (case-insensitive): `participant_id`, `sex` (male/female, M/F, 1/2), `age_years` or
`age_months`, optional `life_stage`, and the survey design `weight`, `strata`, `psu` (or the columns
the batch's study.toml names for them), optional `survey_cycle` (the wave or cycle a person was
sampled in, when a study holds several). Values stay text; `camg.validate.diary_rows` types and checks them.
"""

import polars as pl

from camg.ingest.delimited import column_or_null, provenance_columns, renamed_columns
from camg.ingest.study import Source


def is_participants(header: list[str]) -> bool:
    """A participants file: ids, sex and an age."""
    names = {h.strip().lower() for h in header}
    return {"participant_id", "sex"} <= names and bool(names & {"age_years", "age_months"})


def design_column(rows: pl.DataFrame, source: Source, name: str) -> pl.Expr:
    """A survey design column under the name study.toml gives it (default: its own name)."""
    return column_or_null(rows, source.study.design.get(name, name).lower())


def read_participants(rows: pl.DataFrame, header: list[str], source: Source) -> pl.DataFrame:
    """Raw participant rows from a participants file."""
    rows = renamed_columns(rows, header, "lower")
    return rows.select(
        *provenance_columns(source.source_file, source.study_id, len(header)),
        pl.col("participant_id").alias("person_id"),
        pl.col("sex").alias("sex"),
        column_or_null(rows, "age_years").alias("age_years"),
        column_or_null(rows, "age_months").alias("age_months"),
        column_or_null(rows, "life_stage").alias("life_stage"),
        design_column(rows, source, "weight").alias("weight"),
        pl.lit(None, dtype=pl.String).alias("weight_two_day"),
        design_column(rows, source, "strata").alias("strata"),
        design_column(rows, source, "psu").alias("psu"),
        design_column(rows, source, "survey_cycle").alias("survey_cycle"),
    )
