"""Run camg's plain stage functions (no Prefect) on one bundled batch; shared by the validation scripts."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from camg import assess, enrich, population, validate
from camg import participants as participants_stage
from camg.ingest import batch, combine
from camg.reference import Reference, load_reference

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
    divisors = population.weight_divisors(people)
    diary = validate.validate_diary(raw_diary, people, reference)
    items = enrich.enrich(diary.kept, reference, people)
    days = assess.days_with_supplement_status(assess.person_days(items))
    quarantine = pl.concat([participants.quarantine, diary.quarantine])
    lost = population.days_with_lost_items(quarantine, raw_diary)
    persons = assess.assess_persons(days, people, reference, lost)
    return Run(reference, raw_diary, items, days, persons, quarantine, lost, divisors)
