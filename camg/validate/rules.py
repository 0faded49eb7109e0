"""Validation machinery: named rules as polars expressions, quarantine rows and the pandera backstop.

Each rule has an id, a message and a polars expression that is true for a bad row; a row is
quarantined under the first rule it breaks (rules are ordered from the most basic). What passes the
rules is then validated by the pandera model of the stage boundary; anything pandera still rejects is
quarantined under `schema.<column>.<check>`, so no row is ever lost or crashes the run.
"""

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from schemas.quarantine import QuarantineRow

# ASCII digits only: the regex engine's \d also matches other scripts' digits, which no cast reads.
INT_TEXT = r"^[+-]?[0-9]+(\.0*)?$"
NOT_FINITE_TEXT = r"(?i)^[+-]?(nan|inf|infinity)$"


@dataclass(frozen=True)
class Rule:
    """A named validation rule: `broken` is true for a row that breaks it."""

    rule_id: str
    message: str
    broken: pl.Expr


@dataclass(frozen=True)
class Validated:
    """Rows that passed and rows that went to quarantine."""

    kept: pl.DataFrame
    quarantine: pl.DataFrame


def apply_rules(frame: pl.DataFrame, rules: list[Rule]) -> pl.DataFrame:
    """The frame with `rule_id` and `message` of the first rule each row breaks (null if none).

    Every rule is evaluated once, side by side (polars shares their common parts), then the first
    broken one is picked by its number (the smallest): cheaper than one nested when/then chain per
    output column, and than a text column per rule (~20 of ~120 ms per 100k diary rows).
    """
    flags = [f"_broken_{i}" for i in range(len(rules))]
    checked = frame.with_columns(
        rule.broken.fill_null(False).alias(flag) for rule, flag in zip(rules, flags, strict=True)
    )
    first = pl.min_horizontal(
        pl.when(pl.col(flag)).then(pl.lit(i, dtype=pl.UInt16)) for i, flag in enumerate(flags)
    )
    ids = {i: rule.rule_id for i, rule in enumerate(rules)}
    messages = {i: rule.message for i, rule in enumerate(rules)}
    return (
        checked.with_columns(first.alias("_first_broken"))
        .with_columns(
            pl.col("_first_broken")
            .replace_strict(ids, default=None, return_dtype=pl.String)
            .alias("rule_id"),
            pl.col("_first_broken")
            .replace_strict(messages, default=None, return_dtype=pl.String)
            .alias("message"),
        )
        .drop(*flags, "_first_broken")
    )


def quarantine_rows(frames: pl.DataFrame | list[pl.DataFrame], record_kind: str) -> pl.DataFrame:
    """Quarantine rows from frames carrying source, rule_id, message and raw_line.

    Several frames are validated as one (pandera costs ~10 ms a call whatever the row count).
    """
    frames = [frames] if isinstance(frames, pl.DataFrame) else frames
    columns = ["source_file", "source_line", "study_id", "rule_id", "message", "raw_line"]
    rows = pl.concat([f.select(columns) for f in frames])
    return QuarantineRow.validate(rows.select(quarantine_columns(record_kind)))


def quarantine_columns(record_kind: str) -> list[pl.Expr]:
    """A quarantine row's columns from a row carrying source, rule_id, message and raw_line."""
    return [
        pl.col("source_file"),
        pl.col("source_line"),
        pl.col("study_id"),
        pl.lit(record_kind).alias("record_kind"),
        pl.col("rule_id"),
        pl.col("message"),
        pl.col("raw_line").alias("raw"),
    ]


def schema_failures(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """Row index, rule id and message of every pandera failure (empty when all rows pass)."""
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        if errors.failure_cases["index"].null_count():
            raise  # a missing column or wrong dtype: camg's own frame is wrong, not a row of data
        cases = errors.failure_cases
        return cases.select(
            pl.col("index").cast(pl.UInt32),
            pl.concat_str(pl.lit("schema."), "column", pl.lit("."), "check").alias("rule_id"),
            pl.concat_str(pl.lit("failed pandera check "), "check", pl.lit(" on "), "column").alias(
                "message"
            ),
        ).unique(subset="index", keep="first")
    return pl.DataFrame(schema={"index": pl.UInt32, "rule_id": pl.String, "message": pl.String})


def split_on_schema(
    frame: pl.DataFrame, model: type[pa.DataFrameModel], carry: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows pandera accepts, rows it rejects with rule_id/message); `carry` columns are kept aside.

    The accepted rows are the model's validated rows (less `carry`): validating them again would
    only repeat the same checks on a subset.
    """
    failures = schema_failures(frame.drop(carry), model)
    if failures.height == 0:
        return frame, frame.clear().with_columns(
            pl.lit(None, dtype=pl.String).alias("rule_id"),
            pl.lit(None, dtype=pl.String).alias("message"),
        )
    indexed = frame.with_row_index("index")
    bad = indexed.join(failures, on="index", how="inner").drop("index")
    good = indexed.join(failures, on="index", how="anti").drop("index")
    return good, bad


def reader_rules() -> list[Rule]:
    """The rules a reader already checked while splitting the line (every record kind has them)."""
    return [
        Rule(
            "row.ragged",
            "line has a different number of fields than the header",
            pl.col("reader_rule") == "row.ragged",
        ),
        Rule(
            "row.control_characters",
            "line holds NUL or other control characters",
            pl.col("reader_rule") == "row.control_characters",
        ),
    ]
