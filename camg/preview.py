"""Preview: one batch folder or export file -> what a run would keep and quarantine (nothing published).

The files are read through a *batch view*: a temporary raw folder holding only a link to the batch,
named like it. The run's own readers then see the batch exactly as under `data/raw/<study_id>/`
(same study id, same `source_file` names), without reading the batches beside it.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from camg import marts, reconcile, validate
from camg import participants as participants_stage
from camg.ingest import batch, combine
from camg.reference import Reference


@dataclass(frozen=True)
class Preview:
    """The manifest and quarantine rows a run would produce for the checked files."""

    manifest: pl.DataFrame
    quarantine: pl.DataFrame


@contextmanager
def batch_view(batch_dir: Path) -> Iterator[Path]:
    """A temporary raw folder whose only batch is `batch_dir` (linked, not copied)."""
    batch_dir = batch_dir.resolve()
    if not batch_dir.is_dir():
        raise FileNotFoundError(f"no batch folder {batch_dir}")
    with tempfile.TemporaryDirectory(prefix="camg-view-") as tmp:
        (Path(tmp) / batch_dir.name).symlink_to(batch_dir, target_is_directory=True)
        yield Path(tmp)


def preview_raw(raw_dir: Path, reference: Reference) -> Preview:
    """Read and validate every batch of a raw folder as a run would, keeping nothing."""
    reads = batch.read_raw(raw_dir)
    raw_diary = combine.combined_diary(reads)
    participants = participants_stage.validate_participants(
        combine.combined_participants(reads), reference
    )
    people = participants_stage.attach_dietary_weights(participants.kept, raw_diary)
    diary = validate.validate_diary(raw_diary, people, reference)
    quarantine = marts.all_quarantine(participants, diary)
    kept = marts.kept_sources(participants, diary)
    return Preview(reconcile.file_manifest(reads, kept, quarantine), quarantine)


def preview(path: Path, reference: Reference) -> Preview:
    """Check a batch folder, or one file with the rest of its folder (its participants file)."""
    batch_dir = path if path.is_dir() else path.parent
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    with batch_view(batch_dir) as raw_dir:
        result = preview_raw(raw_dir, reference)
    if path.is_dir():
        return result
    source_file = f"{batch_dir.resolve().name}/{path.name}"
    return Preview(
        result.manifest.filter(pl.col("source_file") == source_file),
        result.quarantine.filter(pl.col("source_file") == source_file),
    )


def quarantine_summary(quarantine: pl.DataFrame) -> pl.DataFrame:
    """Quarantined rows per file and rule, with the first line and its message."""
    return (
        quarantine.sort("source_file", "source_line")
        .group_by("source_file", "rule_id", maintain_order=True)
        .agg(
            pl.len().alias("n_rows"),
            pl.col("source_line").first().alias("first_line"),
            pl.col("message").first(),
        )
        .sort("n_rows", "source_file", descending=[True, False])
    )
