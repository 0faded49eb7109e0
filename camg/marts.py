"""Mart assembly: the frames of a run -> the named tables `publish` writes (DESIGN section 5)."""

import polars as pl

from camg.reference import Reference
from camg.rules import Validated


def kept_sources(
    participants: Validated, diary: Validated, totals: Validated | None = None
) -> pl.DataFrame:
    """The source file of every kept row (participants, diary items, export totals), for the manifest."""
    parts = [participants, diary] + ([totals] if totals is not None else [])
    return pl.concat([part.kept.select("source_file") for part in parts])


def all_quarantine(
    participants: Validated, diary: Validated, totals: Validated | None = None
) -> pl.DataFrame:
    """Every quarantined row of the run, in a stable order."""
    parts = [participants, diary] + ([totals] if totals is not None else [])
    return pl.concat([part.quarantine for part in parts]).sort("source_file", "source_line")


def reference_rules(reference: Reference) -> pl.DataFrame:
    """The rules table as used by this run."""
    return reference.rules.sort("rule_id")


def mart_tables(
    items: pl.DataFrame,
    days: pl.DataFrame,
    persons: pl.DataFrame,
    participants: pl.DataFrame,
    quarantine: pl.DataFrame,
    manifest: pl.DataFrame,
    run_log: pl.DataFrame,
    reference: Reference,
    crosscheck: pl.DataFrame | None = None,
    summary: pl.DataFrame | None = None,
    sources: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame]:
    """Tables to publish, by mart name, each in a stable row order (identical runs, identical marts)."""
    extra = {"export_crosscheck": crosscheck} if crosscheck is not None else {}
    # Population figures (camg.summarise, camg.food_sources): optional, so callers without them still work.
    population = {"population_summary": summary, "food_sources": sources}
    extra |= {name: frame for name, frame in population.items() if frame is not None}
    return extra | {
        "intake_item": items,
        "intake_person_day": days,
        "intake_person": persons,
        "participant": participants.sort("study_id", "person_id"),
        "quarantine": quarantine,
        "file_manifest": manifest,
        "run_log": run_log,
        "reference_rules": reference_rules(reference),
    }
