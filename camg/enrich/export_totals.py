"""Cross-check stage: an export's own per-recall totals (ASA24 Totals) -> beside camg's, per recall.

camg computes every recall's Ca and Mg from the items and its composition table; an export that also
ships its own daily totals gets them published beside camg's (`export_crosscheck`), with the
difference, so a team sees where the two disagree (a quarantined item, an unmatched food, another
FNDDS release). The export's values are never used instead of camg's.
"""

import duckdb
import polars as pl

from camg.ingest.cells import number, text
from camg.ops.queries import query
from camg.reference import Reference
from camg.validate.rules import (
    Rule,
    Validated,
    apply_rules,
    quarantine_rows,
    reader_rules,
)
from schemas.diary import ExportCrosscheck, RecallTotal

RECORD_KIND = "recall_total"
# A recall number: a whole number of at most 9 ASCII digits (the diary's recall-day ceiling is far
# below; more digits would not fit the integer column the recall is kept in).
RECALL_NUMBER_TEXT = r"^[+]?[0-9]{1,9}(\.0*)?$"


def total_rules() -> list[Rule]:
    """The named rules for per-recall total rows, in the order they are checked."""
    nutrients = ("reported_calcium_mg", "reported_magnesium_mg")
    return [
        *reader_rules(),
        Rule("person_id.missing", "participant id is empty", text("person_id").is_null()),
        Rule(
            "recall_day.invalid",
            "recall number is missing or not a whole number >= 1",
            ~text("recall_day").str.contains(RECALL_NUMBER_TEXT).fill_null(False)
            | (number("recall_day") < 1),
        ),
        Rule(
            "recall_total.unparseable",
            "the export's Ca or Mg total is not a finite non-negative number",
            pl.any_horizontal(
                text(n).is_not_null() & ~((number(n) >= 0) & number(n).is_finite()).fill_null(False)
                for n in nutrients
            ),
        ),
    ]


def validate_recall_totals(raw: pl.DataFrame) -> Validated:
    """Raw total rows -> `RecallTotal` rows and quarantine; a repeated recall keeps its first row."""
    checked = apply_rules(raw, total_rules())
    passed = checked.filter(pl.col("rule_id").is_null())
    key = ["study_id", text("person_id"), number("recall_day")]
    first = pl.int_range(pl.len()).over(key, order_by=["source_file", "source_line"]) == 0
    dup = passed.filter(~first).with_columns(
        pl.lit("recall_total.duplicate").alias("rule_id"),
        pl.lit("the export repeats totals for this person and recall").alias("message"),
    )
    kept = passed.filter(first).select(
        "source_file",
        "source_line",
        "study_id",
        text("person_id").alias("person_id"),
        number("recall_day").cast(pl.Int64).alias("recall_day"),
        number("reported_calcium_mg").alias("reported_calcium_mg"),
        number("reported_magnesium_mg").alias("reported_magnesium_mg"),
    )
    bad = pl.concat([checked.filter(pl.col("rule_id").is_not_null()), dup], how="diagonal_relaxed")
    return Validated(RecallTotal.validate(kept), quarantine_rows(bad, RECORD_KIND))


def export_crosscheck(
    items: pl.DataFrame, totals: pl.DataFrame, reference: Reference
) -> pl.DataFrame:
    """One row per recall the export totals: camg's Ca/Mg, the export's, camg minus export.

    And whether the kept items' own reported values disagree with the export's total beyond
    rounding (`crosscheck.recall_total_tolerance_mg`): a recall that lost items shows there.
    """
    tolerance = reference.threshold("crosscheck.recall_total_tolerance_mg")
    with duckdb.connect() as con:
        con.register("intake_item", items.to_arrow())
        con.register("recall_total", totals.to_arrow())
        result = con.sql(query("export_crosscheck"), params={"tolerance_mg": tolerance}).pl()
    return ExportCrosscheck.validate(result)
