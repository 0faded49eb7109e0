"""The `camg` command line on a tmp copy of the bundled batch plus a batch with a bad file and row.

`camg run` runs as a real subprocess (its own temporary Prefect API); the commands that need no
Prefect (status, validate, --help) run in-process through typer's runner on the published marts.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import REFERENCE_DIR, copy_batch

pytestmark = pytest.mark.slow

CAMG = str(Path(sys.executable).parent / "camg")
COMMANDS = ["run", "serve", "report", "status", "validate", "version"]
# One good diary line, one line with a field missing (ragged), for two participants.
BAD_DR1IFF = """SEQN,DR1ILINE,DR1IFDCD,DR1IGRMS,DR1ICALC,DR1IMAGN,DR1DRSTZ
90001,1,11111000,244,276,24,1
90001,2,11111000,100,113
"""
BAD_DEMO = """SEQN,RIAGENDR,RIDAGEYR,RIDAGEMN,RIDEXPRG,SDMVPSU,SDMVSTRA
90001,2,40,,,1,1
"""
runner = CliRunner()


def write_bad_batch(raw_dir: Path) -> Path:
    batch = raw_dir / "bad_batch"
    batch.mkdir()
    (batch / "DR1IFF_X.csv").write_text(BAD_DR1IFF)
    (batch / "DEMO_X.csv").write_text(BAD_DEMO)
    (batch / "junk.csv").write_bytes(b"\x00\x01\x02\x03 not text")
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
        **extra,
    }


def camg(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CAMG, *args], env=camg_env(root, **env), capture_output=True, text=True, timeout=300
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
    # nhanes_2015_2016: DEMO, DR1IFF, DR2IFF, PROVENANCE.md; bad_batch: DR1IFF_X, DEMO_X, junk.
    assert (n_files_failed, rows_quarantined) == (1, 1)
    assert n_files >= 6
    assert run_id in result.stdout  # the run's summary follows the run
    assert re.search(r"done: [a-z ]+-\w+ \d+ steps", result.stderr)  # the progress line


def test_run_writes_the_log_file(published):
    log = (published["root"] / "logs" / "camg.log").read_text()
    assert "camg run started" in log
    assert "publish marts" in log  # Prefect's task-run records reach the file too


def test_status_shows_runs_failed_files_and_quarantine(published):
    result = runner.invoke(app, ["status", "--marts", str(published["marts"]), "--no-prefect"])
    assert result.exit_code == 0, result.output
    [(run_id, *_)] = run_log(published["marts"])
    assert run_id in result.output
    assert "published_with_failed_files" in result.output
    assert "bad_batch/junk.csv" in result.output
    assert "file is binary" in result.output
    assert "row.ragged" in result.output


def test_status_without_published_marts_says_so(tmp_path):
    result = runner.invoke(app, ["status", "--marts", str(tmp_path), "--no-prefect"])
    assert result.exit_code == 1
    assert "no published marts" in result.output


def test_validate_a_folder_prints_what_would_be_quarantined(published, tmp_path):
    before = sorted(p.name for p in published["marts"].iterdir())
    batch = published["root"] / "raw" / "bad_batch"
    result = runner.invoke(app, ["validate", str(batch)])
    assert result.exit_code == 1, result.output  # junk.csv cannot be read
    assert "row.ragged" in result.output
    assert "bad_batch/junk.csv" in result.output
    assert sorted(p.name for p in published["marts"].iterdir()) == before  # nothing published


def test_validate_one_file_checks_it_against_its_batch(published):
    path = published["root"] / "raw" / "bad_batch" / "DR1IFF_X.csv"
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "row.ragged" in result.output
    assert "junk.csv" not in result.output  # only the file asked about


def test_validate_a_good_batch_quarantines_nothing():
    result = runner.invoke(
        app, ["validate", str(REFERENCE_DIR.parent / "data/raw/nhanes_2015_2016")]
    )
    assert result.exit_code == 0, result.output
    assert "Would be quarantined: nothing" in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_run_refuses_a_missing_raw_folder(tmp_path):
    result = runner.invoke(
        app, ["run", "--raw", str(tmp_path / "absent"), "--marts", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "no raw folder" in result.output
    assert not (tmp_path / "camg.duckdb").exists()


def test_bad_settings_are_a_usage_error(tmp_path):
    result = runner.invoke(app, ["status"], env={"CAMG_TIMEZONE": "Mars/Olympus"})
    assert result.exit_code == 2
    assert "unknown timezone" in result.output


def test_report_rebuilds_reports_from_the_marts(published, tmp_path):
    result = runner.invoke(
        app, ["report", "--marts", str(published["marts"]), "--reports", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "out").rglob("*.html"))


def test_run_one_study_and_a_locked_marts_folder(published, tmp_path):
    """`--study` reads one batch; a run that finds the lock taken exits 1 and publishes nothing."""
    root = published["root"]
    study_marts = tmp_path / "study_marts"
    result = camg(root, "run", "--study", "nhanes_2015_2016", "--marts", str(study_marts))
    assert result.returncode == 0, result.stdout + result.stderr
    [(_, n_files, n_files_failed, _)] = run_log(study_marts)
    assert (n_files, n_files_failed) == (4, 0)  # the bad batch was not read

    hold = "import sys, pathlib, camg.lock as l\nwith l.run_lock(pathlib.Path(sys.argv[1]), 0):\n"
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
