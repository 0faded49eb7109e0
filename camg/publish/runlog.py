"""Run log: one row per run (status, counts, versions) and one per step of it (run_step)."""

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import polars as pl

import camg
from camg.publish.parquet_table import ParquetTable


def new_run_id() -> str:
    """A run id that sorts by start time and never repeats (UTC timestamp + random suffix)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid4().hex[:8]


def code_version() -> str:
    """Camg's version and, in a git checkout, the commit."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(camg.__file__).parent,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{camg.__version__}+{sha}" if sha else camg.__version__


def run_log_row(
    started_at: datetime,
    manifest: pl.DataFrame,
    persons: pl.DataFrame | ParquetTable,
    days: pl.DataFrame | ParquetTable,
    rules_version: str,
    composition_version: str,
    study_status: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The run's log row; `status` says whether any study or file failed (a study first)."""
    failed = manifest.filter(pl.col("status") == "failed").height
    studies_failed = 0 if study_status is None else study_status["status"].eq("failed").sum()
    status = "published_with_failed_files" if failed else "published"
    counts = ["n_items", "n_unmatched_items"]
    day_counts = days.collect(counts) if isinstance(days, ParquetTable) else days.select(counts)
    return pl.DataFrame(
        [
            {
                "started_at": started_at,
                "finished_at": datetime.now(UTC),
                "status": "published_with_failed_studies" if studies_failed else status,
                "n_files": manifest.height,
                "n_files_failed": failed,
                "n_studies_failed": int(studies_failed),
                "rows_in": int(manifest["rows_in"].sum()),
                "rows_kept": int(manifest["rows_kept"].sum()),
                "rows_quarantined": int(manifest["rows_quarantined"].sum()),
                # Every item is on one person-day: the day counts add up to the item counts.
                "n_items": int(day_counts["n_items"].sum()),
                "n_unmatched_items": int(day_counts["n_unmatched_items"].sum()),
                "n_person_days": days.height,
                "n_persons": persons.height,
                "rules_version": rules_version,
                "composition_version": composition_version,
                "code_version": code_version(),
            }
        ]
    )


# One record per task run or publish phase, as `run_steps` takes them.
STEP_RECORD_SCHEMA = {
    "step": pl.String,
    "state": pl.String,
    "started_at": pl.Datetime("us", "UTC"),
    "finished_at": pl.Datetime("us", "UTC"),
    "duration_seconds": pl.Float64,
}


def run_steps(records: list[dict]) -> pl.DataFrame:
    """The run_step table: one row per step, a step run several times (once per file) summed.

    `state` is Completed unless a run of the step ended otherwise (then that run's state).
    """
    frame = pl.DataFrame(records, schema=STEP_RECORD_SCHEMA, orient="row")
    worst = pl.col("state").filter(pl.col("state") != "Completed").first()
    return (
        frame.group_by("step")
        .agg(
            pl.len().cast(pl.Int64).alias("n_runs"),
            worst.fill_null("Completed").alias("state"),
            pl.col("started_at").min(),
            pl.col("finished_at").max(),
            pl.col("duration_seconds").sum(),
        )
        .sort("started_at", "step", nulls_last=True)
    )


def summed_step(step: str, records: list[dict], started_at: datetime) -> dict:
    """One Completed record of `step` summing `records` (0 s when there are none).

    A part timed inside a step may run once, many times or not at all (work reused from an
    earlier run); one record per run keeps run_step's rows and n_runs the same from run to run.
    """
    return {
        "step": step,
        "state": "Completed",
        "started_at": min((r["started_at"] for r in records), default=started_at),
        "finished_at": max((r["finished_at"] for r in records), default=started_at),
        "duration_seconds": sum(r["duration_seconds"] for r in records),
    }


@contextmanager
def timed_step(records: list[dict], step: str) -> Iterator[None]:
    """Append a Completed record of the block's start, end and duration to `records`."""
    started_at, clock = datetime.now(UTC), time.perf_counter()
    yield
    records.append(
        {
            "step": step,
            "state": "Completed",
            "started_at": started_at,
            "finished_at": datetime.now(UTC),
            "duration_seconds": time.perf_counter() - clock,
        }
    )
