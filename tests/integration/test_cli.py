"""The `camg` command line on a tmp copy of the bundled batch plus a batch with a bad file and rows.

Every command runs as a real `camg` subprocess (`camg run` with its own temporary Prefect API),
its progress on stderr and its results on stdout, as an operator sees them.
"""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REFERENCE_DIR, copy_batch

pytestmark = pytest.mark.slow

CAMG = str(Path(sys.executable).parent / "camg")
COMMANDS = ["run", "serve", "report", "status", "validate", "version"]
# One good diary line, one line with a field missing (ragged), a food code no table holds, two
# bad amounts.
BAD_DR1IFF = """SEQN,DR1ILINE,DR1IFDCD,DR1IGRMS,DR1ICALC,DR1IMAGN,DR1DRSTZ
90001,1,11111000,244,276,24,1
90001,2,11111000,100,113
90001,3,99999999,50,1,1,1
90001,4,11111000,-5,1,1,1
90001,5,11111000,-7,1,1,1
"""
BAD_DEMO = """SEQN,RIAGENDR,RIDAGEYR,RIDAGEMN,RIDEXPRG,SDMVPSU,SDMVSTRA
90001,2,40,,,1,1
"""


def write_bad_batch(raw_dir: Path) -> Path:
    batch = raw_dir / "bad_batch"
    batch.mkdir()
    (batch / "DR1IFF_X.csv").write_text(BAD_DR1IFF)
    (batch / "DEMO_X.csv").write_text(BAD_DEMO)
    (batch / "junk.csv").write_bytes(b"\x00\x01\x02\x03 not text")
    (batch / "mystery.csv").write_text("id,what,grams\n1,milk,100\n")
    return batch


def camg_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a `camg` subprocess: folders under `root`, no Prefect or telemetry setting.

    camg itself keeps Prefect's state in `<marts>/.prefect` and turns telemetry off; only the
    start-up timeout of Prefect's temporary server is passed on (conftest sets it for the host).
    """
    timeout = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CAMG_", "PREFECT_")) and k != "DO_NOT_TRACK"
    }
    return {
        **env,
        timeout: os.environ.get(timeout, "120"),
        "CAMG_RAW_DIR": str(root / "raw"),
        "CAMG_MARTS_DIR": str(root / "marts"),
        "CAMG_REPORTS_DIR": str(root / "reports"),
        "CAMG_REFERENCE_DIR": str(REFERENCE_DIR),
        "CAMG_LOG_DIR": str(root / "logs"),
        # No `camg serve` listens there: a run starts its own temporary Prefect server.
        "CAMG_PREFECT_PORT": str(free_port()),
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def camg(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CAMG, *args], env=camg_env(root, **env), capture_output=True, text=True, timeout=900
    )


def run_log(marts_dir: Path) -> list[tuple]:
    with duckdb.connect(str(marts_dir / "camg.duckdb"), read_only=True) as con:
        return con.sql(
            "select run_id, n_files, n_files_failed, rows_quarantined from run_log"
        ).fetchall()


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict:
    """One real `camg run` (folders from CAMG_* variables); its output and folders."""
    root = tmp_path_factory.mktemp("cli")
    (root / "raw").mkdir()
    copy_batch("nhanes_2015_2016", root / "raw")
    write_bad_batch(root / "raw")
    result = camg(root, "run")
    return {"root": root, "result": result, "marts": root / "marts"}


def test_run_publishes_and_reports_the_bad_file(published):
    result = published["result"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"published {published['marts'] / 'camg.duckdb'}" in result.stdout
    [(run_id, n_files, n_files_failed, rows_quarantined)] = run_log(published["marts"])
    # nhanes_2015_2016: DEMO, DR1IFF, DR2IFF, PROVENANCE.md; bad_batch: DR1IFF_X, DEMO_X, junk,
    # mystery.
    assert (n_files_failed, rows_quarantined) == (2, 3)
    assert n_files == 8
    assert run_id in result.stdout  # the run's summary follows the run


def test_run_progress_names_each_step_with_files_rows_and_times(published):
    """One line per counted step: files and rows done of the total, the step's time; then reports."""
    lines = published["result"].stderr.splitlines()
    clock = r"\(\d+:\d\d:\d\d\)"
    reads = [
        i
        for i, line in enumerate(lines)
        if re.fullmatch(rf"read raw file: 8/8 files, [\d,]+ rows {clock}", line)
    ]
    checks = [
        i
        for i, line in enumerate(lines)
        if re.fullmatch(rf"validate diary rows: 3/3 files, ([\d,]+)/\1 rows {clock}", line)
    ]
    pages = [
        i
        for i, line in enumerate(lines)
        if re.fullmatch(rf"participant pages: ([\d,]+)/\1 participants {clock}", line)
    ]
    assert len(reads) == len(checks) == len(pages) == 1, published["result"].stderr
    assert reads[0] < checks[0] < pages[0]  # in the order they ran; reports come last
    assert re.fullmatch(r"done after \d+:\d\d:\d\d", lines[-1])


def test_run_writes_the_log_file(published):
    log = (published["root"] / "logs" / "camg.log").read_text()
    assert "camg run started" in log
    assert "publish marts" in log  # Prefect's task-run records reach the file too
    assert "camg_step" not in log
    assert "participant pages" not in log


def test_status_shows_runs_failed_files_and_quarantine(published):
    result = camg(published["root"], "status", "--no-prefect")
    assert result.returncode == 0, result.stderr
    [(run_id, *_)] = run_log(published["marts"])
    assert run_id in result.stdout
    assert "published_with_failed_files" in result.stdout
    assert "bad_batch/junk.csv" in result.stdout
    assert "file is binary" in result.stdout
    assert "row.ragged" in result.stdout


def test_status_without_published_marts_says_so(tmp_path):
    result = camg(tmp_path, "status", "--no-prefect")
    assert result.returncode == 1
    assert "no published marts" in result.stdout


def test_validate_a_folder_prints_every_bad_line_value_and_unmatched_food(published):
    before = sorted(p.name for p in published["marts"].iterdir())
    batch = published["root"] / "raw" / "bad_batch"
    result = camg(published["root"], "validate", str(batch))
    assert result.returncode == 1, result.stdout + result.stderr  # junk.csv cannot be read
    out = result.stdout
    assert "bad_batch/junk.csv" in out
    # Every bad line with its value: both bad amounts, not only the first line per rule.
    assert re.search(r"amount\.not_positive\s.*\s5\s.*'-5'", out)
    assert re.search(r"amount\.not_positive\s.*\s6\s.*'-7'", out)
    assert re.search(r"row\.ragged\s.*\s3\s.*90001,2,11111000,100,113", out)
    assert re.search(
        r"Food codes not in the composition tables.*\n(.*\n)*.*99999999\s.*\s1\s.*\s4\s", out
    )
    # mystery.csv is no known export: the header each one needs is listed.
    assert "unrecognised format" in out
    assert "SEQN, RIAGENDR, RIDAGEYR" in out
    assert "participant_id, amount, and one of" in out
    assert re.search(r"read files: 4/4 files, 5 rows", result.stderr)  # the progress
    assert sorted(p.name for p in published["marts"].iterdir()) == before  # nothing published


def test_validate_lists_bad_lines_up_to_the_limit(published):
    batch = published["root"] / "raw" / "bad_batch"
    result = camg(published["root"], "validate", str(batch), "--limit", "1")
    assert "'-5'" in result.stdout
    assert "'-7'" not in result.stdout  # the second line of the rule is counted, not listed
    assert re.search(r"amount\.not_positive\s.*\s2\s", result.stdout)  # counted: 2 rows


def test_validate_one_file_checks_it_against_its_batch(published):
    path = published["root"] / "raw" / "bad_batch" / "DR1IFF_X.csv"
    result = camg(published["root"], "validate", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "row.ragged" in result.stdout
    assert "junk.csv" not in result.stdout  # only the file asked about


def test_validate_a_good_batch_quarantines_nothing(tmp_path):
    result = camg(tmp_path, "validate", str(REFERENCE_DIR.parent / "data/raw/nhanes_2015_2016"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Would be quarantined: nothing" in result.stdout


def test_validate_a_missing_path_is_a_usage_error(tmp_path):
    result = camg(tmp_path, "validate", str(tmp_path / "absent"))
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(tmp_path, command):
    result = camg(tmp_path, command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_run_refuses_a_missing_raw_folder(tmp_path):
    result = camg(tmp_path, "run", "--raw", str(tmp_path / "absent"))
    assert result.returncode == 2
    assert "no raw folder" in result.stderr
    assert not (tmp_path / "marts").exists()


def test_report_rebuilds_reports_with_progress_and_a_short_summary(published, tmp_path):
    result = camg(published["root"], "report", "--reports", str(tmp_path / "out"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert list((tmp_path / "out").rglob("*.html"))
    assert re.search(r"participant pages: ([\d,]+)/\1 participants", result.stderr)
    [summary] = result.stdout.strip().splitlines()
    assert summary.startswith("reports of run ")
    assert "ReportSummary" not in summary
    assert "PosixPath" not in summary


def test_report_without_published_marts_says_so(tmp_path):
    result = camg(tmp_path, "report")
    assert result.returncode == 1
    assert "no published marts" in result.stderr


def test_runs_and_rollback_errors(published, tmp_path):
    assert camg(tmp_path, "runs").returncode == 1  # nothing kept yet
    result = camg(published["root"], "rollback", "20000101T000000-deadbeef")
    assert result.returncode == 2
    assert "camg runs" in result.stderr


def test_run_one_study_and_a_locked_marts_folder(published, tmp_path):
    """`--study` reads one batch; a run that finds the lock taken exits 1 and publishes nothing."""
    root = published["root"]
    study_marts = tmp_path / "study_marts"
    result = camg(root, "run", "--study", "nhanes_2015_2016", "--marts", str(study_marts))
    assert result.returncode == 0, result.stdout + result.stderr
    [(_, n_files, n_files_failed, _)] = run_log(study_marts)
    assert (n_files, n_files_failed) == (4, 0)  # the bad batch was not read

    hold = (
        "import sys, pathlib, camg.ops.lock as l\nwith l.run_lock(pathlib.Path(sys.argv[1]), 0):\n"
    )
    hold += "    print('held', flush=True); sys.stdin.read()"
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(study_marts)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = run_log(study_marts)
        locked = camg(root, "run", "--marts", str(study_marts), CAMG_LOCK_TIMEOUT_SECONDS="0")
    finally:
        holder.kill()
        holder.wait()
    assert locked.returncode == 1
    assert "nothing was published" in locked.stderr
    assert "another camg run holds" in locked.stderr
    assert run_log(study_marts) == before
