"""Reconcile: every file's rows in = rows kept + rows quarantined, or the run publishes nothing."""

from collections.abc import Sequence

import polars as pl

from camg.ingest.batch import FileRead


class ReconciliationError(Exception):
    """Counts do not add up: publishing would lose or invent rows."""


def file_manifest(
    reads: Sequence[FileRead], kept: pl.DataFrame, quarantine: pl.DataFrame
) -> pl.DataFrame:
    """One row per input file: hash, format, status, error and its row counts.

    `kept` holds one `source_file` per kept row (diary items and participants together).
    """
    kept_counts = kept.group_by("source_file").agg(pl.len().cast(pl.Int64).alias("rows_kept"))
    bad_counts = quarantine.group_by("source_file").agg(
        pl.len().cast(pl.Int64).alias("rows_quarantined")
    )
    return manifest_from_counts(reads, kept_counts, bad_counts)


def manifest_from_counts(
    reads: Sequence[FileRead], kept_counts: pl.DataFrame, bad_counts: pl.DataFrame
) -> pl.DataFrame:
    """The file manifest from per-file counts (`rows_kept`, `rows_quarantined` by source_file).

    A file missing from a count frame has none of those rows; a file counted twice is summed.
    """
    kept_counts = kept_counts.group_by("source_file").agg(pl.col("rows_kept").sum())
    bad_counts = bad_counts.group_by("source_file").agg(pl.col("rows_quarantined").sum())
    files = pl.DataFrame(
        [
            {
                "source_file": r.source_file,
                "study_id": r.study_id,
                "sha256": r.sha256,
                "size_bytes": r.size_bytes,
                "format": r.format,
                "encoding": r.encoding,
                "status": r.status,
                "error": r.error,
                "rows_in": r.rows_in,
                "read_from": r.read_from,
            }
            for r in reads
        ],
        schema={
            "source_file": pl.String,
            "study_id": pl.String,
            "sha256": pl.String,
            "size_bytes": pl.Int64,
            "format": pl.String,
            "encoding": pl.String,
            "status": pl.String,
            "error": pl.String,
            "rows_in": pl.Int64,
            "read_from": pl.String,
        },
    )
    return (
        files.join(kept_counts, on="source_file", how="left")
        .join(bad_counts, on="source_file", how="left")
        .with_columns(pl.col("rows_kept", "rows_quarantined").fill_null(0))
        .sort("source_file")
    )


def check_reconciled(manifest: pl.DataFrame, quarantine: pl.DataFrame) -> None:
    """Raise unless rows_in = rows_kept + rows_quarantined for every file and for the run."""
    off = manifest.filter(pl.col("rows_in") != pl.col("rows_kept") + pl.col("rows_quarantined"))
    if off.height:
        detail = "; ".join(
            f"{r['source_file']}: in {r['rows_in']}, kept {r['rows_kept']}, "
            f"quarantined {r['rows_quarantined']}"
            for r in off.iter_rows(named=True)
        )
        raise ReconciliationError(f"row counts do not reconcile: {detail}")
    orphans = quarantine.join(manifest, on="source_file", how="anti")
    if orphans.height:
        raise ReconciliationError(f"{orphans.height} quarantined rows name no input file")
