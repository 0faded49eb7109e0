"""Diary rows: raw text rows from a reader -> validated canonical rows -> enriched intake items."""

import pandera.polars as pa
import polars as pl

from schemas import FiniteNumbers
from schemas.raw import RawRecord

ITEM_KINDS = ["food", "supplement"]


class RawDiaryRow(RawRecord):
    """One row per record read from a diary export, every value still the text the export held.

    Readers emit this; `camg.validate.diary_rows` turns it into `DiaryRow` or quarantines it.
    """

    recall_day: str = pa.Field(nullable=True)
    intake_date: str = pa.Field(nullable=True)
    item_kind: str = pa.Field(nullable=True)
    item_key: str = pa.Field(nullable=True)
    food_code: str = pa.Field(nullable=True)
    food_system: str = pa.Field(nullable=True)
    food_description: str = pa.Field(nullable=True)
    amount: str = pa.Field(nullable=True)
    unit: str = pa.Field(nullable=True)
    reported_calcium_mg: str = pa.Field(nullable=True)
    reported_magnesium_mg: str = pa.Field(nullable=True)
    supplement_calcium_mg_per_unit: str = pa.Field(nullable=True)
    supplement_magnesium_mg_per_unit: str = pa.Field(nullable=True)


class DiaryRow(FiniteNumbers):
    """One row per validated diary item: the canonical row of DESIGN section 2, typed."""

    source_file: str
    source_line: int = pa.Field(ge=1)
    study_id: str = pa.Field(str_length={"min_value": 1})
    person_id: str = pa.Field(str_length={"min_value": 1})
    recall_day: int = pa.Field(ge=1)
    item_kind: str = pa.Field(isin=ITEM_KINDS)
    item_key: str = pa.Field(nullable=True)
    food_code: str = pa.Field(nullable=True)
    food_system: str = pa.Field(nullable=True)
    food_description: str = pa.Field(nullable=True)
    amount: float = pa.Field(gt=0)
    unit: str
    reported_calcium_mg: float = pa.Field(nullable=True, ge=0)
    reported_magnesium_mg: float = pa.Field(nullable=True, ge=0)
    supplement_calcium_mg_per_unit: float = pa.Field(nullable=True, ge=0)
    supplement_magnesium_mg_per_unit: float = pa.Field(nullable=True, ge=0)

    class Config:
        """Exactly the canonical columns."""

        strict = True


class IntakeItem(DiaryRow):
    """One row per validated diary item with its grams and Ca/Mg (null when the food is unknown).

    `is_matched`: the item has composition values, from its own code or imputed (`is_imputed`, with
    `imputation_method` and the `imputed_from_codes` behind the value). `survey_cycle`: the
    person's (null when the study does not say).
    """

    grams: float = pa.Field(nullable=True, ge=0)
    calcium_mg: float = pa.Field(nullable=True, ge=0)
    magnesium_mg: float = pa.Field(nullable=True, ge=0)
    is_matched: bool
    is_imputed: bool
    imputation_method: str = pa.Field(nullable=True)
    imputed_from_codes: str = pa.Field(nullable=True)
    survey_cycle: str = pa.Field(nullable=True)

    class Config:
        """Exactly the canonical columns plus the enrichment."""

        strict = True


class RawRecallTotal(RawRecord):
    """One row per record of an export's per-recall totals file (ASA24 Totals), values as text."""

    recall_day: str = pa.Field(nullable=True)
    reported_calcium_mg: str = pa.Field(nullable=True)
    reported_magnesium_mg: str = pa.Field(nullable=True)


class RecallTotal(FiniteNumbers):
    """One row per person and recall of an export's totals file: the export's own Ca and Mg."""

    source_file: str
    source_line: int = pa.Field(ge=1)
    study_id: str
    person_id: str = pa.Field(str_length={"min_value": 1})
    recall_day: int = pa.Field(ge=1)
    reported_calcium_mg: float = pa.Field(nullable=True, ge=0)
    reported_magnesium_mg: float = pa.Field(nullable=True, ge=0)

    class Config:
        """Exactly these columns."""

        strict = True


class ExportCrosscheck(FiniteNumbers):
    """One row per recall an export totals: camg's Ca/Mg beside the export's, and the difference."""

    study_id: str
    person_id: str
    recall_day: int = pa.Field(ge=1)
    source_file: str
    n_items: int = pa.Field(ge=0)
    n_unmatched_items: int = pa.Field(ge=0)
    calcium_mg_camg: float = pa.Field(nullable=True)
    calcium_mg_export: float = pa.Field(nullable=True)
    calcium_mg_difference: float = pa.Field(nullable=True)
    magnesium_mg_camg: float = pa.Field(nullable=True)
    magnesium_mg_export: float = pa.Field(nullable=True)
    magnesium_mg_difference: float = pa.Field(nullable=True)
    calcium_mg_items_reported: float = pa.Field(nullable=True)
    magnesium_mg_items_reported: float = pa.Field(nullable=True)
    is_items_disagreeing: bool

    class Config:
        """Exactly these columns."""

        strict = True


DIARY_TEXT_COLUMNS: list[str] = [
    name
    for name in RawDiaryRow.to_schema().columns
    if name not in {"source_file", "source_line", "raw_line", "reader_rule", "study_id"}
]


def empty_raw_diary() -> pl.DataFrame:
    """A raw diary frame with no rows, for files that hold none."""
    schema = {name: pl.String for name in RawDiaryRow.to_schema().columns}
    schema["source_line"] = pl.Int64
    return pl.DataFrame(schema=schema)


def empty_raw_totals() -> pl.DataFrame:
    """A raw recall-totals frame with no rows, for files that hold none."""
    schema = {name: pl.String for name in RawRecallTotal.to_schema().columns}
    schema["source_line"] = pl.Int64
    return pl.DataFrame(schema=schema)
