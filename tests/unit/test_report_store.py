"""Reports follow the published run: unchanged pages are not written, rollback re-links a run's pages."""

from pathlib import Path

import duckdb
import pytest

from camg.publish import kept_runs
from camg.reference import Reference
from camg.report import build_reports, switch_reports
from camg.report.keys import load_or_create_key, participant_token
from camg.report.store import MANIFESTS, PageSet, object_path, store_dir
from tests.unit.test_report_marts import write_tiny_marts

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference"
RUN_A = "20260102T030405-0000000a"
RUN_B = "20260103T030405-0000000b"


def _files(reports: Path) -> dict[str, tuple[int, int]]:
    """Every file of the reports folder: (inode, mtime in ns)."""
    return {
        str(p.relative_to(reports)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in reports.rglob("*")
        if p.is_file()
    }


def _publish_run(marts: Path, run_id: str, reference: Reference, leaves: str | None) -> None:
    """A kept run folder holding the tiny marts (without person `leaves` of study_a), published."""
    folder = marts / kept_runs.RUNS_DIR / run_id
    folder.mkdir(parents=True)
    db = write_tiny_marts(folder / kept_runs.MARTS_FILE, reference)
    with duckdb.connect(str(db)) as con:
        con.execute("update run_log set run_id = $r", {"r": run_id})
        for table in ("intake_person", "intake_item"):
            con.execute(
                f"delete from {table} where study_id = 'study_a' and person_id = $p", {"p": leaves}
            )
    kept_runs.switch(marts, run_id)


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    return {
        "marts": tmp_path / "marts",
        "reports": tmp_path / "reports",
        "key": tmp_path / "marts" / ".report_key",
    }


def _build(f: dict[str, Path]) -> object:
    return build_reports(f["marts"] / kept_runs.MARTS_FILE, f["reports"], f["key"], REFERENCE_DIR)


def test_an_unchanged_rebuild_writes_no_file(folders: dict, reference: Reference) -> None:
    _publish_run(folders["marts"], RUN_A, reference, leaves=None)
    first = _build(folders)
    before = _files(folders["reports"])
    index = folders["key"].with_name("report_index.csv").stat()
    second = _build(folders)
    # 4 participants, 2 studies x (population, team), index, quality
    assert (first.n_written, first.n_files) == (10, 10)
    assert (second.n_written, second.is_switched) == (0, False)
    assert _files(folders["reports"]) == before  # same inodes, same mtimes
    assert folders["key"].with_name("report_index.csv").stat().st_mtime_ns == index.st_mtime_ns
    assert "10 pages (0 written, 10 unchanged; folder unchanged)" in str(second)


def test_a_leaving_participant_loses_their_page_and_rollback_brings_it_back(
    folders: dict, reference: Reference
) -> None:
    marts, reports = folders["marts"], folders["reports"]
    _publish_run(marts, RUN_A, reference, leaves=None)
    _build(folders)
    key = load_or_create_key(folders["key"])
    p1 = reports / "study_a" / "p" / f"{participant_token(key, 'study_a', 'p1')}.html"
    a_files = _files(reports)
    a_page = p1.read_bytes()

    _publish_run(marts, RUN_B, reference, leaves="p1")
    b = _build(folders)
    assert not p1.exists()
    assert b.n_participants == 3
    assert b.n_written == 3  # study_a's population and team pages, and the index (counts changed)
    now = _files(reports)
    same = [k for k, v in a_files.items() if now.get(k) == v]  # same inode and mtime
    assert len(same) == len(a_files) - 1 - b.n_written

    kept_runs.rollback(marts, RUN_A)
    back = switch_reports(marts / kept_runs.MARTS_FILE, reports, folders["key"], REFERENCE_DIR)
    assert (back.run_id, back.n_written, back.n_participants) == (RUN_A, 0, 4)
    assert p1.read_bytes() == a_page
    assert _files(reports) == a_files  # the very files run A had
    assert sorted(p.name for p in (marts / MANIFESTS).iterdir()) == [
        f"{RUN_A}.json",
        f"{RUN_B}.json",
    ]


def test_rollback_to_a_run_without_reports_builds_them(folders: dict, reference: Reference) -> None:
    marts, reports = folders["marts"], folders["reports"]
    _publish_run(marts, RUN_A, reference, leaves=None)  # published with --no-reports
    _publish_run(marts, RUN_B, reference, leaves="p1")
    _build(folders)
    kept_runs.rollback(marts, RUN_A)
    back = switch_reports(marts / kept_runs.MARTS_FILE, reports, folders["key"], REFERENCE_DIR)
    assert (back.run_id, back.n_participants) == (RUN_A, 4)
    assert len(list((reports / "study_a" / "p").iterdir())) == 3


def test_pruned_runs_take_their_pages_along(folders: dict, reference: Reference) -> None:
    marts = folders["marts"]
    _publish_run(marts, RUN_A, reference, leaves=None)
    _build(folders)
    _publish_run(marts, RUN_B, reference, leaves="p1")
    kept_runs.prune(marts, keep=1)  # run A is no longer kept
    _build(folders)
    key = load_or_create_key(folders["key"])
    token = participant_token(key, "study_a", "p1")
    objects = list((store_dir(folders["reports"]) / "objects").glob("*/*"))
    assert len(objects) == 9  # 3 participants, 2 studies x 2, index, quality
    assert [p.name for p in (marts / MANIFESTS).iterdir()] == [f"{RUN_B}.json"]
    assert not list(folders["reports"].rglob(f"{token}.html"))


def test_a_page_is_stored_once_by_its_content(tmp_path: Path) -> None:
    pages = PageSet(tmp_path / "store")
    pages.put("a.html", "<p>same</p>")
    pages.put("b.html", "<p>same</p>")
    pages.put("c.html", "<p>other</p>")
    assert pages.written == 2
    assert pages.pages["a.html"] == pages.pages["b.html"]
    stored = object_path(tmp_path / "store", pages.pages["a.html"])
    assert stored.read_text() == "<p>same</p>"
    assert oct(stored.stat().st_mode & 0o777) == "0o444"
