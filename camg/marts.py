"""Mart assembly: the frames of a run -> the named tables `publish` writes (DESIGN section 5)."""

import polars as pl

from camg.reference import Reference
from camg.validate import Validated


def kept_sources(participants: Validated, diary: Validated) -> pl.DataFrame:
    """The source file of every kept row (participants and diary items), for the manifest."""
    return pl.concat([participants.kept.select("source_file"), diary.kept.select("source_file")])


def all_quarantine(participants: Validated, diary: Validated) -> pl.DataFrame:
    """Every quarantined row of the run, in a stable order."""
    return pl.concat([participants.quarantine, diary.quarantine]).sort("source_file", "source_line")


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
) -> dict[str, pl.DataFrame]:
    """Tables to publish, by mart name, each in a stable row order (identical runs, identical marts)."""
    return {
        "intake_item": items,
        "intake_person_day": days,
        "intake_person": persons,
        "participant": participants.sort("study_id", "person_id"),
        "quarantine": quarantine,
        "file_manifest": manifest,
        "run_log": run_log,
        "reference_rules": reference_rules(reference),
    }
