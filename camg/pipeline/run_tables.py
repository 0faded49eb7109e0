"""Mart assembly: the frames of a run -> the named tables `publish` writes (DESIGN section 5)."""

from collections.abc import Sequence

import polars as pl

from camg.ingest.batch import FileRead
from camg.pipeline.run_diary import Diary
from camg.pipeline.study_status import with_studies_without_diary
from camg.population.food_sources import SOURCE_COLUMNS
from camg.publish.parquet_table import ParquetTable
from camg.publish.reconcile import manifest_from_counts
from camg.reference import Reference
from camg.validate.participants import People
from camg.validate.rules import Validated


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


def run_counts(diary: Diary, participants: People, totals: Validated) -> pl.DataFrame:
    """Rows kept and quarantined per source file: diary files from their parts, the rest counted.

    Diary files also give their imputed food items and grams (`Diary.imputed_counts`).
    """
    small = [
        frame.group_by("source_file").agg(pl.len().cast(pl.Int64).alias(name))
        for frame, name in (
            (participants.quarantine, "rows_quarantined"),
            (totals.kept, "rows_kept"),
            (totals.quarantine, "rows_quarantined"),
        )
    ]
    kept_people = participants.files.select("source_file", "rows_kept")
    frames = [diary.counts(), diary.imputed_counts(), kept_people, *small]
    return pl.concat(frames, how="diagonal_relaxed").fill_null(0)


def with_imputed_counts(manifest: pl.DataFrame, counts: pl.DataFrame) -> pl.DataFrame:
    """The manifest with each file's imputed food items and grams (0 for files without any)."""
    names = ["n_imputed_items", "imputed_grams"]
    if not set(names) <= set(counts.columns):
        counts = counts.with_columns(pl.lit(0).alias(names[0]), pl.lit(0.0).alias(names[1]))
    per_file = counts.group_by("source_file").agg(pl.col(*names).sum())
    return (
        manifest.join(per_file, on="source_file", how="left")
        .with_columns(
            pl.col(names[0]).fill_null(0).cast(pl.Int64),
            pl.col(names[1]).fill_null(0.0).cast(pl.Float64),
        )
        .sort("source_file")
    )


def run_manifest(
    reads: Sequence[FileRead],
    counts: pl.DataFrame,
    diary: Diary | None = None,
    people: People | None = None,
) -> pl.DataFrame:
    """The file manifest of a run from its per-file counts.

    A diary file whose validation raised (`camg.pipeline.failed_files`), or a participants file of a study
    whose participant validation raised (`camg.validate.participants.validated_or_failed`), is `failed`
    with its error, its records counted as read back (all quarantined).
    """
    manifest = manifest_from_counts(
        reads,
        counts.select("source_file", "rows_kept"),
        counts.select("source_file", "rows_quarantined"),
    )
    manifest = with_imputed_counts(manifest, counts)
    failures = pl.concat(
        [
            diary.failures() if diary is not None else FAILURES_SCHEMA,
            people_failures(reads, people),
        ]
    )
    if not failures.height:
        return manifest
    failed = manifest.join(failures, on="source_file", how="left", suffix="_failed")
    is_failed = pl.col("error_failed").is_not_null()
    return failed.with_columns(
        pl.when(is_failed).then(pl.lit("failed")).otherwise("status").alias("status"),
        pl.when(is_failed).then("error_failed").otherwise("error").alias("error"),
        pl.when(is_failed).then("rows_in_failed").otherwise("rows_in").alias("rows_in"),
    ).select(manifest.columns)


FAILURES_SCHEMA = pl.DataFrame(
    schema={"source_file": pl.String, "error": pl.String, "rows_in": pl.Int64}
)


def people_failures(reads: Sequence[FileRead], people: People | None) -> pl.DataFrame:
    """The participant files of the studies whose participant validation raised, with the error."""
    failed = people.failed if people is not None else {}
    rows = [
        (r.source_file, failed[r.study_id], r.rows_in)
        for r in reads
        if r.study_id in failed and r.n_participants
    ]
    return pl.DataFrame(rows, schema=FAILURES_SCHEMA.schema, orient="row")


def run_quarantine(diary: Diary, participants: People, totals: Validated) -> ParquetTable:
    """Every quarantined row of the run (diary rows stay in their parts), by file and line."""
    return diary.quarantine(pl.concat([participants.quarantine, totals.quarantine]))


def participant_table(participants: People) -> ParquetTable:
    """The participant mart by study and person: the study files in order, each sorted by person."""
    return ParquetTable(list(participants.paths.values()), participants.height)


def source_items(diary: Diary, totals: pl.DataFrame | None = None) -> pl.DataFrame:
    """Items in memory: the columns food sources read, or (with `totals`) the studies it covers."""
    if totals is None:
        return diary.item_frame(SOURCE_COLUMNS)
    return diary.item_frame(None, set(totals["study_id"].to_list()))


def reference_rules(reference: Reference) -> pl.DataFrame:
    """The rules table as used by this run."""
    return reference.rules.sort("rule_id")


def mart_tables(
    items: pl.DataFrame | ParquetTable,
    days: pl.DataFrame | ParquetTable,
    persons: pl.DataFrame | ParquetTable,
    participants: People,
    quarantine: pl.DataFrame | ParquetTable,
    manifest: pl.DataFrame,
    run_log: pl.DataFrame,
    reference: Reference,
    crosscheck: pl.DataFrame | None = None,
    summary: pl.DataFrame | None = None,
    sources: pl.DataFrame | None = None,
    ratio: pl.DataFrame | None = None,
    study_status: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame | ParquetTable]:
    """Tables to publish, by mart name, each in a stable row order (identical runs, identical marts).

    `study_status` (camg.pipeline.study_status): the studies whose person marts were attempted; every other
    study of the manifest is added as `no_diary_rows`.
    """
    extra = {"export_crosscheck": crosscheck} if crosscheck is not None else {}
    if study_status is not None:
        extra["study_status"] = with_studies_without_diary(study_status, manifest)
    # Population figures (population.summarise, .food_sources, .usual_ratio_summary): optional, so
    # callers without them still work.
    population = {"population_summary": summary, "food_sources": sources, "usual_ratio": ratio}
    extra |= {name: frame for name, frame in population.items() if frame is not None}
    return extra | {
        "intake_item": items,
        "intake_person_day": days,
        "intake_person": persons,
        "participant": participant_table(participants),
        "quarantine": quarantine,
        "file_manifest": manifest,
        "run_log": run_log,
        "reference_rules": reference_rules(reference),
    }
