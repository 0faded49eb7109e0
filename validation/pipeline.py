"""Run camg's plain stage functions (no Prefect) on one bundled batch; shared by the validation scripts."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from camg.assess import intakes
from camg.enrich import composition
from camg.ingest import batch, combine
from camg.population import groups
from camg.reference import Reference, load_reference
from camg.validate import diary_rows
from camg.validate import participants as participants_stage

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    reference: Reference
    raw_diary: pl.DataFrame
    items: pl.DataFrame
    days: pl.DataFrame
    persons: pl.DataFrame
    quarantine: pl.DataFrame
    lost: pl.DataFrame
    divisors: pl.DataFrame


def run_batch(study_id: str = "nhanes_2007_2012") -> Run:
    """Ingest, validate, enrich and assess one batch of data/raw (read from a temporary copy)."""
    reference = load_reference(REPO / "reference")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp)
        # a copy: camg refuses symlinks that leave the raw folder (issue 17)
        shutil.copytree(REPO / "data" / "raw" / study_id, raw / study_id)
        reads = batch.read_raw(raw)
    raw_diary = combine.combined_diary(reads)
    participants = participants_stage.validate_participants(
        combine.combined_participants(reads), reference
    )
    people = participants_stage.attach_dietary_weights(participants.kept, raw_diary)
    divisors = groups.weight_divisors(people)
    diary = diary_rows.validate_diary(raw_diary, people, reference)
    items = composition.enrich(diary.kept, reference)
    days = intakes.days_with_supplement_status(intakes.person_days(items))
    quarantine = pl.concat([participants.quarantine, diary.quarantine])
    lost = groups.days_with_lost_items(quarantine, raw_diary)
    persons = intakes.assess_persons(days, people, reference, lost)
    return Run(reference, raw_diary, items, days, persons, quarantine, lost, divisors)
