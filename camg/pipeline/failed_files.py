"""File isolation: an unexpected error while validating one diary file -> that file failed, the run goes on.

Bad rows are quarantined by rules (`camg.validate`); this is for what no rule foresaw: a code bug
or an input that makes validation or enrichment raise. The file then becomes a failed part: every
record it holds goes to quarantine under `file.failed` (with its line and raw text, so nothing is
lost and its counts reconcile: rows_in = rows_quarantined), its manifest row says `failed` with the
error, and the error is logged once with its traceback. Nothing of it is cached as a good part, so
the next run tries the file again.
"""

import logging
import shutil
from dataclasses import replace
from pathlib import Path

import polars as pl

from camg.ops.cache import ReadCache
from camg.ops.failure import error_line
from camg.pipeline import large_files
from camg.pipeline.diary_files import (
    DiaryJob,
    Part,
    finish_part,
    parts_root,
    process_diary_file,
    temp_folder,
)
from camg.reference import Reference
from camg.validate.rules import quarantine_rows
from schemas import empty_frame
from schemas.quarantine import QuarantineRow

LOG = logging.getLogger(__name__)
FAILED_RULE = "file.failed"
RAW_COLUMNS = ["source_file", "source_line", "study_id", "raw_line"]


def process_or_fail(
    job: DiaryJob, reference: Reference, marts_dir: Path, slice_rows: int = large_files.SLICE_ROWS
) -> Part:
    """`camg.pipeline.diary_files.process_diary_file`, or the file's failed part when it raises.

    Catching every Exception is the point: whatever one file raises is that file's failure.
    """
    try:
        return process_diary_file(job, reference, marts_dir, slice_rows)
    except Exception as exc:
        LOG.error(
            "file %r failed while validated: quarantined whole", job.source_file, exc_info=exc
        )
        return failed_part(job, marts_dir, error_line(exc))


def failed_rows(job: DiaryJob, marts_dir: Path, error: str) -> pl.DataFrame:
    """Every record of the file's cached raw rows as quarantine rows under `file.failed`."""
    raw = pl.read_parquet(ReadCache(marts_dir).path(job.read_key, "diary"), columns=RAW_COLUMNS)
    message = f"validating the file raised an unexpected error: {error}"
    rows = raw.with_columns(
        pl.lit(job.source_file).alias("source_file"),
        pl.lit(FAILED_RULE).alias("rule_id"),
        pl.lit(message).alias("message"),
    )
    return quarantine_rows(rows, "diary").sort("source_line")


def failed_part(job: DiaryJob, marts_dir: Path, error: str) -> Part:
    """A part holding only the file's quarantined records (no items, days or lost days).

    Its folder is named by the file's read key, so a re-run on the same inputs writes the same part.
    """
    folder = parts_root(marts_dir) / f"failed-{job.read_key}"
    shutil.rmtree(folder, ignore_errors=True)  # a failed part is never reused
    try:
        quarantine = failed_rows(job, marts_dir, error)
    except Exception as exc:  # its cached rows are gone too: the manifest then counts none
        LOG.error("records of %r not read back", job.source_file, exc_info=exc)
        error = f"{error}; its records could not be read back ({error_line(exc)})"
        quarantine = empty_frame(QuarantineRow)
    part = Part(
        job.source_file,
        job.study_id,
        folder.name,
        str(folder),
        job.read_key,
        quarantine.height,
        0,
        quarantine.height,
        (),
        error=error,
    )
    tmp = temp_folder(folder, part)
    quarantine.write_parquet(tmp / "quarantine.parquet")
    return replace(finish_part(tmp, folder, part), folder=str(folder))
