"""Ingest formats: which export a file is (from its header, never its name) and which reader reads it.

Each format names its family (study.toml `format` narrows a batch to one), its signature over the
header, its reader (text rows -> raw canonical rows) and the kind of rows it yields.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from camg.ingest import asa24, food_record, nhanes, participants
from camg.ingest.study import Source
from schemas.diary import RawDiaryRow, RawRecallTotal
from schemas.participants import RawParticipant

Reader = Callable[[pl.DataFrame, list[str], Source], pl.DataFrame]
RAW_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "diary": RawDiaryRow,
    "participants": RawParticipant,
    "totals": RawRecallTotal,
}


@dataclass(frozen=True)
class Format:
    """An export format: its family (study.toml `format`), signature and the rows it yields."""

    name: str
    family: str | None  # None: belongs to every family (a participants file)
    recognise: Callable[[list[str]], bool]
    read: Reader
    yields: str  # "diary", "participants" or "totals"


FORMATS: list[Format] = [
    Format("nhanes_iff", "nhanes", nhanes.is_iff, nhanes.read_iff, "diary"),
    Format("nhanes_demo", "nhanes", nhanes.is_demo, nhanes.read_demo, "participants"),
    Format("asa24_items", "asa24", asa24.is_items, asa24.read_items, "diary"),
    Format("asa24_totals", "asa24", asa24.is_totals, asa24.read_totals, "totals"),
    Format(
        "participants",
        None,
        participants.is_participants,
        participants.read_participants,
        "participants",
    ),
    Format(
        "food_record",
        "food_record",
        food_record.is_food_record,
        food_record.read_food_record,
        "diary",
    ),
]


def recognise(header: list[str], family: str | None = None) -> Format | None:
    """The first format whose signature the header matches (within `family` when one is set)."""
    candidates = [f for f in FORMATS if family is None or f.family in (None, family)]
    return next((f for f in candidates if f.recognise(header)), None)
