"""What the command line prints: tables of runs, files, quarantine and flow runs, on rich consoles."""

import sys
from datetime import datetime
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from camg.ops.config import Settings

# Piped into a file or a mail, tables keep their rows on one line each (not the 80 columns default).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)

# Column names of the runs table as shown (the marts keep the full names).
RUN_HEADINGS = {
    "run_id": "run",
    "started_at": "started",
    "status": "status",
    "n_files": "files",
    "n_files_failed": "failed files",
    "rows_in": "rows in",
    "rows_kept": "kept",
    "rows_quarantined": "quarantined",
    "n_persons": "persons",
    "is_current": "published",
}


def cell(value: object) -> str:
    """A value as table text: nulls empty, times to the second with their zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return str(value)


def frame_table(title: str, frame: pl.DataFrame) -> Table:
    """A polars frame as a rich table."""
    table = Table(title=title, title_justify="left")
    for name in frame.columns:
        table.add_column(name, overflow="fold")
    for row in frame.iter_rows():
        # Text, not markup: ids, food names and file names are untrusted ("[/]" must not crash).
        table.add_row(*(Text(cell(v)) for v in row))
    return table


def show_status(marts_dir: Path, limit: int) -> bool:
    """Print the recent runs, failed files and quarantine of the published marts (False: none)."""
    from camg.report.status import marts_status

    found = marts_status(marts_dir, limit)
    if found is None:
        out.print(
            f"no published marts in {marts_dir} yet: run `camg run` or wait for the nightly run"
        )
        return False
    runs = found.runs.select(list(RUN_HEADINGS)).rename(RUN_HEADINGS)
    out.print(frame_table(f"Recent runs ({found.marts_db})", runs))
    if found.studies_not_published is not None and found.studies_not_published.height:
        title = "Studies not published (latest run; study_status)"
        out.print(frame_table(title, found.studies_not_published))
    if found.failed_files.height:
        out.print(frame_table("Failed files (latest run)", found.failed_files))
    else:
        out.print("Failed files (latest run): none")
    if found.quarantine_by_rule.height:
        out.print(frame_table("Quarantined rows (latest run)", found.quarantine_by_rule))
    else:
        out.print("Quarantined rows (latest run): none")
    if found.disagreeing_recalls is not None and found.disagreeing_recalls.height:
        title = "Recalls whose kept items disagree with the export's totals (export_crosscheck)"
        out.print(frame_table(title, found.disagreeing_recalls))
    return True


def show_prefect_runs(settings: Settings, limit: int) -> None:
    """Print the camg flow runs the Prefect server knows (also those that failed or never ran)."""
    from flows import deploy

    api_url = deploy.status_api_url(settings)
    if not api_url:
        out.print("Prefect flow runs: no Prefect server (PREFECT_API_URL unset, none on the port)")
        return
    if not deploy.is_healthy(api_url):
        out.print(f"Prefect server {api_url} does not answer (is `camg serve` running?)")
        return
    found = deploy.recent_flow_runs(api_url, limit, settings.marts_dir)
    if not found:
        out.print(f"Prefect flow runs ({api_url}): none for {settings.marts_dir}")
        return
    runs = pl.DataFrame(found, infer_schema_length=None)
    out.print(frame_table(f"Prefect flow runs ({api_url})", runs))


def show_validation(quarantine: pl.DataFrame, unmatched: pl.DataFrame, limit: int) -> None:
    """Print the quarantine per rule, the bad lines with their values and the unmatched foods."""
    from camg.pipeline.preview import bad_lines, quarantine_summary

    if not quarantine.height:
        out.print("Would be quarantined: nothing")
    else:
        out.print(frame_table("Would be quarantined", quarantine_summary(quarantine)))
        out.print(
            frame_table(
                f"Bad lines (up to {limit} per file and rule)", bad_lines(quarantine, limit)
            )
        )
    if unmatched.height:
        title = "Food codes not in the composition tables (kept, Ca and Mg unknown)"
        out.print(frame_table(title, unmatched))
    else:
        out.print("Food codes not in the composition tables: none")
