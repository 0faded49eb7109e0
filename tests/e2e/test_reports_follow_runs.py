"""Reports follow the published run, through the README's commands on a small food-record batch.

Real `camg` processes (Prefect's temporary server, real DuckDB, real files): a second run on the same
inputs writes no report file; `camg run --no-reports` publishes the marts only and `camg report`
builds the reports after; `camg rollback` brings back the older run's reports, file for file.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from camg.report.keys import load_or_create_key, participant_token

REPO = Path(__file__).resolve().parents[2]
CAMG = str(Path(sys.executable).with_name("camg"))
STUDY = "cohort_x"
PARTICIPANTS = "participant_id,sex,age_years\na1,F,34\nb2,M,52\nc3,F,71\n"
# 01077: SR milk, 3.25 % fat; 12061: SR almonds; 11457: SR spinach, raw.
DIARY = (
    "participant_id,recall_day,food_code,food_system,amount,unit\n"
    "a1,1,01077,sr,250,g\na1,1,12061,sr,30,g\n"
    "b2,1,11457,sr,80,g\nb2,2,01077,sr,200,g\n"
    "c3,1,01077,sr,100,g\n"
)


def camg(root: Path, *args: str) -> subprocess.CompletedProcess:
    """A `camg` process with every folder under `root` and its own Prefect home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAMG_", "PREFECT_API"))}
    env |= {
        "CAMG_RAW_DIR": str(root / "raw"),
        "CAMG_MARTS_DIR": str(root / "marts"),
        "CAMG_REPORTS_DIR": str(root / "reports"),
        "CAMG_REFERENCE_DIR": str(REPO / "reference"),
        "CAMG_LOG_DIR": str(root / "logs"),
        "PREFECT_HOME": str(root / "prefect"),
    }
    result = subprocess.run(
        [CAMG, *args], env=env, capture_output=True, text=True, timeout=900, cwd=root
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under a folder: (inode, mtime in ns)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def run_ids(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "marts" / "runs").iterdir() if not p.name.startswith("."))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run 1, run 2 (same inputs), run 3 without c3 (--no-reports), `camg report`, rollback to 2."""
    root = tmp_path_factory.mktemp("follow")
    batch = root / "raw" / STUDY
    batch.mkdir(parents=True)
    (batch / "participants.csv").write_text(PARTICIPANTS)
    (batch / "diary.csv").write_text(DIARY)
    seen = {}
    camg(root, "run")
    seen["run1"] = files(root / "reports")
    camg(root, "run")
    seen["run2"] = files(root / "reports")
    seen["log2"] = (root / "logs" / "camg.log").read_text().splitlines()
    (batch / "participants.csv").write_text(PARTICIPANTS.replace("c3,F,71\n", ""))
    (batch / "diary.csv").write_text(DIARY.replace("c3,1,01077,sr,100,g\n", ""))
    camg(root, "run", "--no-reports")
    seen["run3_no_reports"] = files(root / "reports")
    seen["report"] = camg(root, "report").stdout
    seen["run3"] = files(root / "reports")
    _, second, third = run_ids(root)
    seen["rollback"] = camg(root, "rollback", second).stdout
    seen["rolled_back"] = files(root / "reports")
    seen["ids"] = (second, third)
    key = load_or_create_key(root / "marts" / ".report_key")
    seen["c3"] = f"{STUDY}/p/{participant_token(key, STUDY, 'c3')}.html"
    return seen


def test_a_second_run_on_the_same_inputs_writes_no_report_file(history: dict) -> None:
    assert len(history["run1"]) == 7  # index, quality, population, team page, 3 participants
    assert history["run2"] == history["run1"]  # same inodes and mtimes
    summaries = [line for line in history["log2"] if "pages (" in line]
    assert re.search(r"7 pages \(0 written, 7 unchanged; folder unchanged\)", summaries[-1])


def test_no_reports_then_report(history: dict) -> None:
    assert history["run3_no_reports"] == history["run2"]  # marts only: the reports stayed
    assert history["c3"] not in history["run3"]
    assert f"reports of run {history['ids'][1]}" in history["report"]
    assert "2 participants" in history["report"]


def test_rollback_brings_back_the_older_runs_reports(history: dict) -> None:
    assert f"published run {history['ids'][0]} again" in history["rollback"]
    assert f"reports of run {history['ids'][0]}" in history["rollback"]
    assert "0 written" in history["rollback"]
    assert history["rolled_back"] == history["run2"]  # the very files run 2 had
    assert history["c3"] in history["rolled_back"]
