"""Raw text cells -> values: the one parsing rule every reader and validator shares.

A cell is trimmed and empty text is null; a number is a plain ASCII decimal (no thousands
separators, no non-ASCII digits, no `inf` or `nan`), so what a reader accepts a validator accepts.
"""

import polars as pl

FLOAT_TEXT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def text(column: str) -> pl.Expr:
    """A text column trimmed, with empty text as null."""
    value = pl.col(column).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def number(column: str) -> pl.Expr:
    """A text column as a float; null when missing or not a plain decimal number.

    The trimmed text, not `text(column)`: empty text never matches FLOAT_TEXT, so the result is
    the same, and the expression is evaluated twice (an eager select does not share it).
    """
    value = pl.col(column).str.strip_chars()
    return pl.when(value.str.contains(FLOAT_TEXT)).then(value.cast(pl.Float64, strict=False))
