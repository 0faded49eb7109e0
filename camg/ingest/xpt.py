"""Ingest helper: a SAS transport (XPORT v5) file, as NHANES publishes it -> rows of text.

The records come out in the same shape as `delimited.parse_delimited` gives for a CSV (text columns,
`source_line`, `raw_line`, `n_fields`), so the NHANES reader and validation treat both alike. An XPT
has no header line: `source_line` is the 1-based record number, and `raw_line` is the record's values
joined by commas (the nearest thing to the raw text that a binary record has).
"""

import io

import pandas as pd
import polars as pl

from camg.ingest.delimited import DelimitedText, UnreadableFileError

XPORT_MAGIC = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"


def is_xport(data: bytes) -> bool:
    """True when the bytes start with the SAS XPORT library header."""
    return data.startswith(XPORT_MAGIC)


def _decoded(value: object) -> object:
    """SAS character values arrive as bytes: UTF-8 when they decode, else Latin-1 (any byte)."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return value


def numeric_text(column: str) -> pl.Expr:
    """A SAS numeric as the text a CSV export prints: whole numbers without `.0`, else the float."""
    value = pl.col(column)
    whole = value.is_finite() & (value == value.round()) & (value.abs() < 1e15)
    return (
        pl.when(value.is_nan())
        .then(None)
        .when(whole)
        .then(value.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(value.cast(pl.String))
        .alias(column)
    )


def _as_text(frame: pd.DataFrame) -> pl.DataFrame:
    """Every column of the SAS data set as text (missing -> null)."""
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(_decoded)
    table = pl.from_pandas(frame)
    return table.select(
        numeric_text(name) if dtype.is_float() else pl.col(name).cast(pl.String)
        for name, dtype in table.schema.items()
    )


def parse_xport(data: bytes) -> DelimitedText:
    """Parse SAS XPORT bytes into text columns with record numbers and a rendered raw line."""
    try:
        frame = pd.read_sas(io.BytesIO(data), format="xport")
    except Exception as exc:  # pandas raises many types for a damaged file; all mean "unreadable"
        raise UnreadableFileError(f"SAS transport file cannot be read: {exc}") from exc
    table = _as_text(frame)
    header = list(table.columns)
    rows = table.with_columns(
        pl.int_range(1, table.height + 1, dtype=pl.Int64).alias("source_line"),
        pl.concat_str([pl.col(h).fill_null("") for h in header], separator=",").alias("raw_line"),
        pl.lit(len(header), dtype=pl.Int32).alias("n_fields"),
    )
    return DelimitedText(header, "sas-xport", "", split=rows)
