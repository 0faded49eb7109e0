"""The nightly deployment for real: a local Prefect server, `camg serve`, a run started through Prefect.

A `prefect server start` subprocess (SQLite in a tmp PREFECT_HOME, a free localhost port), then
`camg serve` as a subprocess pointed at it; the test starts a run of `camg/nightly` through the
Prefect client and checks that it completed and published new marts from a tmp copy of the batch.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.deploy import wait_until_healthy
from tests.conftest import REFERENCE_DIR, copy_batch

pytestmark = pytest.mark.slow

CAMG = str(Path(sys.executable).parent / "camg")
DEPLOYMENT = "camg/nightly"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, and everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def started(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            cwd=log.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def deployment(api_url: str) -> dict | None:
    """The deployment as the server holds it, or None while it is not registered."""
    try:
        with urllib.request.urlopen(f"{api_url}/deployments/name/{DEPLOYMENT}", timeout=5) as r:
            return json.loads(r.read())
    except OSError:
        return None


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[dict]:
    """A local Prefect server and `camg serve` on it, over a tmp copy of the bundled batch."""
    root = tmp_path_factory.mktemp("served")
    (root / "raw").mkdir()
    copy_batch("nhanes_2015_2016", root / "raw")
    api_url = f"http://127.0.0.1:{free_port()}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CAMG_", "PREFECT_"))}
    env = {
        **base,
        "PREFECT_HOME": str(root / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": api_url,
        "CAMG_RAW_DIR": str(root / "raw"),
        "CAMG_MARTS_DIR": str(root / "marts"),
        "CAMG_REPORTS_DIR": str(root / "reports"),
        "CAMG_REFERENCE_DIR": str(REFERENCE_DIR),
        "CAMG_LOG_DIR": str(root / "logs"),
        "CAMG_TIMEZONE": "Europe/Paris",
    }
    port = api_url.split(":")[-1].split("/")[0]
    server_cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    server = started([*server_cmd, "--port", port], env, root / "server.log")
    serve = None
    try:
        t0 = time.monotonic()
        wait_until_healthy(api_url, 120, server)
        server_seconds = time.monotonic() - t0
        serve = started([CAMG, "serve"], env, root / "serve.log")
        while deployment(api_url) is None:
            assert serve.poll() is None, (root / "serve.log").read_text()
            time.sleep(0.5)
        print(
            f"prefect server up in {server_seconds:.1f} s; deployment after {time.monotonic() - t0:.1f} s"
        )
        yield {"root": root, "api_url": api_url, "env": env}
    finally:
        if serve is not None:
            stop(serve)
        stop(server)


def test_a_run_started_through_prefect_completes_and_publishes(served):
    marts = served["root"] / "marts"
    assert not (marts / "camg.duckdb").exists()
    t0 = time.monotonic()
    with temporary_settings({PREFECT_API_URL: served["api_url"]}):
        flow_run = run_deployment(DEPLOYMENT, timeout=240, as_subflow=False, poll_interval=1)
    print(f"deployment run took {time.monotonic() - t0:.1f} s")
    assert flow_run.state is not None
    assert flow_run.state.is_completed(), (served["root"] / "serve.log").read_text()[-4000:]
    with duckdb.connect(str(marts / "camg.duckdb"), read_only=True) as con:
        [(n_files, n_files_failed, n_persons)] = con.sql(
            "select n_files, n_files_failed, n_persons from run_log"
        ).fetchall()
    assert (n_files, n_files_failed) == (4, 0)  # DEMO, DR1IFF, DR2IFF, PROVENANCE.md
    assert n_persons > 0
    log = (served["root"] / "logs" / "camg.log").read_text()
    assert f"[{flow_run.name}]" in log  # the served run's own process logs to the file

    status = subprocess.run(
        [CAMG, "status"], env=served["env"], capture_output=True, text=True, timeout=120
    )
    assert status.returncode == 0, status.stderr
    assert flow_run.name in status.stdout
    assert "Completed" in status.stdout


def test_the_deployment_runs_nightly_at_two_local_time(served):
    found = deployment(served["api_url"])
    [schedule] = [s["schedule"] for s in found["schedules"]]
    assert (schedule["cron"], schedule["timezone"]) == ("0 2 * * *", "Europe/Paris")
    assert found["paused"] is False
    assert found["parameters"]["settings"]["marts_dir"] == str(served["root"] / "marts")
