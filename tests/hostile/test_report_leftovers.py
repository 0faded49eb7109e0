"""Issue 17: a report build killed midway leaves a staging folder; the next build removes it."""

import subprocess
from pathlib import Path

from camg.report import build_reports
from tests.unit.test_report_marts import write_tiny_marts

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference"


def dead_pid() -> int:
    """The id of a process that has ended (started and reaped here)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_leftovers_of_killed_builds_are_removed_and_live_ones_kept(tmp_path, reference):
    marts = write_tiny_marts(tmp_path / "camg.duckdb", reference)
    reports = tmp_path / "reports"
    killed = tmp_path / f".reports.building-{dead_pid()}-0123456789ab"
    (killed / "study_a" / "p").mkdir(parents=True)
    (killed / "study_a" / "p" / ("0" * 32 + ".html")).write_text("a participant's page")
    legacy = tmp_path / ".reports.building-0123456789ab"  # named before the builder's pid was
    legacy.mkdir()
    old = tmp_path / f".reports.old-{dead_pid()}-0123456789ab"
    old.mkdir()
    with subprocess.Popen(["sleep", "600"]) as live_builder:
        live = tmp_path / f".reports.building-{live_builder.pid}-0123456789ab"
        live.mkdir()
        try:
            build_reports(marts, reports, tmp_path / "private" / ".report_key", REFERENCE_DIR)
        finally:
            live_builder.kill()
    assert (reports / "index.html").is_file()
    assert not killed.exists()
    assert not legacy.exists()
    assert not old.exists()
    assert live.exists(), "a build still running keeps its staging folder"
