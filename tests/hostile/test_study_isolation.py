"""Issue 17: an unexpected error in one study's (or one file's) work is that study's (file's) failure.

No real input triggers the guards any more (earlier fixes removed those bugs), so faults are
injected into camg's real stages (tests/hostile/faults.py): one study's assessment raises, another
study's food sources raise, and one file of the good study fails while it is enriched. The real
Prefect flow runs twice on the same inputs; the other studies are published, the study_status mart
says why, every file reconciles and the second run's marts equal the first's. The `camg run`
process (exit code, message, `camg status`) is tested the same way through the faults module.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from prefect.testing.utilities import prefect_test_harness

from flows.camg_flow import camg_flow
from tests.conftest import read_tables, settings_in
from tests.hostile import corpus, faults
from tests.integration.test_cli import camg, camg_env

pytestmark = pytest.mark.slow

GOOD, NO_ASSESSMENT, NO_SOURCES = "good_study", "assessment_fails", "sources_fail"
NO_PEOPLE = "people_fail"
BROKEN_FILE = f"{GOOD}/more_records.csv"
UNREAD_FILE = f"{NO_SOURCES}/late_records.csv"
PEOPLE_ERROR = (
    "validating the participants raised an unexpected error: "
    "InjectedFault: injected fault in validate_participants"
)
RUN_COLUMNS = {"run_id", "started_at", "finished_at", "code_version", "duration_seconds"}
RUN_COLUMNS |= {"read_from"}


def batch(raw: Path) -> None:
    """Three good studies; GOOD has a second file (the one whose enrichment will raise)."""
    for name in (GOOD, NO_ASSESSMENT, NO_SOURCES, NO_PEOPLE):
        corpus.good(raw, name)
    (raw / BROKEN_FILE).write_text(corpus.food_record(corpus.GOOD_ROWS[:3]))
    (raw / UNREAD_FILE).write_text(corpus.food_record(corpus.GOOD_ROWS[3:]))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("study_isolation")
    settings = settings_in(root)
    batch(settings.raw_dir)
    with pytest.MonkeyPatch.context() as patch:
        faults.inject(
            patch.setattr, [NO_ASSESSMENT], [NO_SOURCES], [BROKEN_FILE], [UNREAD_FILE], [NO_PEOPLE]
        )
        with prefect_test_harness(server_startup_timeout=None):
            first = read_tables(camg_flow(settings))
            second = read_tables(camg_flow(settings))
    log = (settings.log_dir / "camg.log").read_text(encoding="utf-8")
    return {"first": first, "second": second, "log": log}


def studies(frame: pl.DataFrame) -> set[str]:
    return set(frame["study_id"].unique().to_list())


def test_the_status_mart_says_which_study_failed_where_and_why(runs):
    status = runs["first"]["study_status"].sort("study_id")
    assert status.select("study_id", "status", "stage", "error").rows() == [
        (NO_ASSESSMENT, "failed", "assessment", "InjectedFault: injected fault in assess_persons"),
        (GOOD, "published", None, None),
        (NO_PEOPLE, "failed", "participants", PEOPLE_ERROR),
        (NO_SOURCES, "failed", "food sources", "InjectedFault: injected fault in food_sources"),
    ]


def test_the_other_study_is_published_and_the_failed_ones_keep_their_items(runs):
    tables = runs["first"]
    for name in ("intake_person", "intake_person_day", "population_summary", "food_sources"):
        assert studies(tables[name]) == {GOOD}, name
    assert studies(tables["intake_item"]) == {GOOD, NO_ASSESSMENT, NO_SOURCES}  # NO_PEOPLE: none
    assert tables["intake_person"].height == 3  # p1, p2, p3 of the good study
    log = tables["run_log"].row(0, named=True)
    assert log["status"] == "published_with_failed_studies"
    assert (log["n_studies_failed"], log["n_files_failed"]) == (3, 3)


def test_a_file_whose_validation_raises_is_failed_and_its_rows_quarantined(runs):
    tables = runs["first"]
    manifest = tables["file_manifest"]
    row = manifest.filter(pl.col("source_file") == BROKEN_FILE).row(0, named=True)
    assert row["status"] == "failed"
    assert row["error"] == "InjectedFault: injected fault in enrich"
    assert (row["rows_in"], row["rows_kept"], row["rows_quarantined"]) == (3, 0, 3)
    quarantined = tables["quarantine"].filter(pl.col("source_file") == BROKEN_FILE)
    assert quarantined["rule_id"].to_list() == ["file.failed"] * 3
    assert quarantined["source_line"].to_list() == [2, 3, 4]
    assert quarantined["raw"].to_list() == corpus.GOOD_ROWS[:3]
    assert "injected fault in enrich" in quarantined["message"][0]
    # The study's other file is read and its persons published.
    good = manifest.filter(pl.col("source_file") == f"{GOOD}/records.csv").row(0, named=True)
    assert (good["status"], good["rows_kept"]) == ("read", len(corpus.GOOD_ROWS))
    kept = tables["intake_item"].filter(pl.col("source_file") == BROKEN_FILE)
    assert kept.height == 0


def test_a_file_whose_reading_raises_is_failed_with_the_reason(runs):
    manifest = runs["first"]["file_manifest"]
    row = manifest.filter(pl.col("source_file") == UNREAD_FILE).row(0, named=True)
    assert row["status"] == "failed"
    assert row["error"] == (
        "reading the file raised an unexpected error: InjectedFault: injected fault in fill_rows"
    )
    assert (row["rows_in"], row["rows_kept"], row["rows_quarantined"]) == (0, 0, 0)


def test_a_study_whose_participant_validation_raises_is_failed_and_nothing_lost(runs):
    tables = runs["first"]
    people = f"{NO_PEOPLE}/participants.csv"
    row = tables["file_manifest"].filter(pl.col("source_file") == people).row(0, named=True)
    assert (row["status"], row["error"]) == ("failed", PEOPLE_ERROR)
    assert (row["rows_in"], row["rows_kept"], row["rows_quarantined"]) == (3, 0, 3)
    quarantine = tables["quarantine"].filter(pl.col("study_id") == NO_PEOPLE)
    by_rule = dict(quarantine.group_by("rule_id").len().iter_rows())
    assert by_rule == {"file.failed": 3, "participant.missing": len(corpus.GOOD_ROWS)}
    assert NO_PEOPLE not in studies(tables["participant"])


def test_every_file_reconciles(runs):
    for tables in (runs["first"], runs["second"]):
        manifest = tables["file_manifest"]
        off = manifest.filter(pl.col("rows_in") != pl.col("rows_kept") + pl.col("rows_quarantined"))
        assert off.height == 0


def test_a_rerun_gives_identical_marts(runs):
    first, second = runs["first"], runs["second"]
    assert set(first) == set(second)
    for name in first:
        columns = [c for c in first[name].columns if c not in RUN_COLUMNS]
        assert_frame_equal(
            first[name].select(columns), second[name].select(columns), check_exact=True
        )


def test_each_failure_is_logged_once_per_run_with_its_traceback(runs):
    log = runs["log"]
    assert log.count(f"study '{NO_ASSESSMENT}' not published: assessment failed") == 2
    assert log.count(f"study '{NO_SOURCES}' not published: food sources failed") == 2
    assert log.count(f"file '{BROKEN_FILE}' failed while validated") == 2
    assert log.count("InjectedFault: injected fault in assess_persons") >= 2
    assert "Traceback (most recent call last)" in log


def faulty_camg(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """A real `camg` process whose stages named by `env` raise (tests/hostile/faults.py)."""
    return subprocess.run(
        [sys.executable, "-m", "tests.hostile.faults", *args],
        env=camg_env(root, **env),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=Path(__file__).parents[2],
    )


def current_run(marts: Path) -> tuple:
    with duckdb.connect(str(marts / "camg.duckdb"), read_only=True) as con:
        return con.sql("select run_id, n_persons from run_log").fetchall()[0]


def test_camg_run_names_the_studies_not_published_and_exits_1_only_on_nothing(tmp_path):
    (tmp_path / "raw").mkdir()
    batch(tmp_path / "raw")
    (tmp_path / "raw" / "[red]odd").mkdir()  # an id rich would read as markup
    (tmp_path / "raw" / "[red]odd" / "records.csv").write_text(corpus.food_record(corpus.GOOD_ROWS))
    (tmp_path / "raw" / "[red]odd" / "participants.csv").write_text(corpus.PEOPLE)
    fail = {faults.ASSESSMENT: f"{NO_ASSESSMENT},[red]odd", faults.FOOD_SOURCES: NO_SOURCES}
    result = faulty_camg(tmp_path, "run", "--no-reports", **fail)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, said
    assert "published" in result.stdout
    assert (
        "studies NOT published (no person or population marts): "
        f"[red]odd (assessment: InjectedFault: injected fault in assess_persons); "
        f"{NO_ASSESSMENT} (assessment: InjectedFault: injected fault in assess_persons); "
        f"{NO_SOURCES} (food sources: InjectedFault:"
    ) in said
    published = current_run(tmp_path / "marts")
    assert published[1] == 6  # the persons of GOOD and NO_PEOPLE (no participant fault here)
    status = camg(tmp_path, "status", "--no-prefect")
    assert status.returncode == 0, status.stderr
    shown = " ".join(status.stdout.split())
    assert "Studies not published" in shown
    assert NO_SOURCES in shown
    assert "[red]odd" in shown

    # Every study with diary rows fails: nothing is published, the previous run stays.
    fail[faults.ASSESSMENT] += f",{GOOD},{NO_PEOPLE}"
    shutil.rmtree(tmp_path / "marts" / ".cache" / "study_marts")  # else GOOD's marts are reused
    again = faulty_camg(tmp_path, "run", "--no-reports", **fail)
    said = " ".join((again.stdout + again.stderr).split())
    assert again.returncode == 1, said
    assert "nothing was published: no study could be published:" in said
    assert f"{GOOD} (assessment: InjectedFault: injected fault in assess_persons)" in said
    assert current_run(tmp_path / "marts") == published
    assert os.path.exists(tmp_path / "marts" / "camg.duckdb")
