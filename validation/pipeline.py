"""Run camg's pipeline order (camg.pipeline.run) on one bundled batch, for the validation scripts."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from camg.ops.config import Settings
from camg.pipeline.run import Runner, run_tables_of
from camg.reference import Reference

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    """The frames of one batch's run (camg.pipeline.run's tables, before publishing)."""

    reference: Reference
    items: pl.DataFrame
    days: pl.DataFrame
    persons: pl.DataFrame
    quarantine: pl.DataFrame
    lost: pl.DataFrame
    divisors: pl.DataFrame
    summary: pl.DataFrame
    sources: pl.DataFrame


def run_batch(study_id: str = "nhanes_2007_2012") -> Run:
    """Run the pipeline's order (as `camg run` does) on one batch of data/raw, in a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        # a copy: camg refuses symlinks that leave the raw folder (issue 17)
        shutil.copytree(REPO / "data" / "raw" / study_id, raw / study_id)
        settings = Settings(
            raw_dir=raw, marts_dir=Path(tmp) / "marts", reference_dir=REPO / "reference"
        )
        made = run_tables_of(settings, Runner())
        return Run(
            made.reference,
            made.diary.items().collect(),
            made.days.collect(),
            made.persons.collect(),
            made.tables["quarantine"].collect(),
            made.diary.lost,
            made.divisors,
            made.tables["population_summary"],
            made.tables["food_sources"],
        )
