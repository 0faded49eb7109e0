"""Run log: one row per run with its status, counts and the versions it was computed with."""

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import polars as pl

import camg


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
    persons: pl.DataFrame,
    days: pl.DataFrame,
    items: pl.DataFrame,
    rules_version: str,
    composition_version: str,
) -> pl.DataFrame:
    """The run's log row; `status` says whether any file failed."""
    failed = manifest.filter(pl.col("status") == "failed").height
    return pl.DataFrame(
        [
            {
                "started_at": started_at,
                "finished_at": datetime.now(UTC),
                "status": "published_with_failed_files" if failed else "published",
                "n_files": manifest.height,
                "n_files_failed": failed,
                "rows_in": int(manifest["rows_in"].sum()),
                "rows_kept": int(manifest["rows_kept"].sum()),
                "rows_quarantined": int(manifest["rows_quarantined"].sum()),
                "n_items": items.height,
                "n_unmatched_items": int((~items["is_matched"]).sum()),
                "n_person_days": days.height,
                "n_persons": persons.height,
                "rules_version": rules_version,
                "composition_version": composition_version,
                "code_version": code_version(),
            }
        ]
    )
