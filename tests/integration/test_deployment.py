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
        wait_until_healthy(api_url, 600, server)
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
        flow_run = run_deployment(DEPLOYMENT, timeout=600, as_subflow=False, poll_interval=1)
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
        [CAMG, "status"], env=served["env"], capture_output=True, text=True, timeout=300
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


def test_serve_prints_how_to_start_a_run_with_the_api_address(served):
    log = (served["root"] / "serve.log").read_text()
    api_url = served["api_url"]
    assert f"Start a run now: PREFECT_API_URL={api_url} prefect deployment run camg/nightly" in log
    assert "prefect deployment run 'camg/nightly'" not in log  # Prefect's hint, without the address


def test_each_run_leaves_a_markdown_summary_in_prefect(served):
    with temporary_settings({PREFECT_API_URL: served["api_url"]}):
        flow_run = run_deployment(DEPLOYMENT, timeout=600, as_subflow=False, poll_interval=1)
    assert flow_run.state.is_completed()
    request = urllib.request.Request(
        f"{served['api_url']}/artifacts/filter",
        data=json.dumps(
            {
                "artifacts": {
                    "flow_run_id": {"any_": [str(flow_run.id)]},
                    "type": {"any_": ["markdown"]},
                }
            }
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        [artifact] = json.loads(response.read())
    assert artifact["key"] == "camg-run-summary"
    markdown = artifact["data"]
    with duckdb.connect(str(served["root"] / "marts" / "camg.duckdb"), read_only=True) as con:
        [(run_id, n_persons, rows_in)] = con.sql(
            "select run_id, n_persons, rows_in from run_log"
        ).fetchall()
    assert markdown.startswith(f"# camg run {run_id}: published")
    assert f"| {rows_in:,} |" in markdown
    assert f"| {n_persons:,} |" in markdown
    assert "## Quarantined rows by rule" in markdown
    assert "- reports: reports of run" in markdown


def test_a_killed_one_off_run_shows_as_crashed_and_is_recorded_so(served):
    """SIGKILL leaves Prefect's run "Running"; camg status says crashed; the next run records it."""
    from flows.crashes import record_crashed_runs

    root, marts = served["root"], served["root"] / "oneoff_marts"
    env = {**served["env"], "CAMG_MARTS_DIR": str(marts), "CAMG_LOG_DIR": str(root / "oneoff_logs")}
    log = root / "oneoff_logs" / "camg.log"
    run = started([CAMG, "run"], env, root / "oneoff.log")
    try:
        deadline = time.monotonic() + 600
        while not (log.exists() and "run lock held" in log.read_text()):
            assert time.monotonic() < deadline, (root / "oneoff.log").read_text()
            time.sleep(0.5)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    [flow_run_id] = [p.name for p in (marts / ".alive").iterdir()]
    assert flow_run_state(served["api_url"], flow_run_id) == "RUNNING"  # what Prefect believes

    status = subprocess.run([CAMG, "status"], env=env, capture_output=True, text=True, timeout=300)
    assert "Crashed (process gone)" in status.stdout, status.stdout + status.stderr
    assert "Completed" not in status.stdout  # the deployment's runs publish elsewhere

    with temporary_settings({PREFECT_API_URL: served["api_url"]}):
        assert record_crashed_runs(marts) == [flow_run_id]
    assert flow_run_state(served["api_url"], flow_run_id) == "CRASHED"
    assert not (marts / ".alive" / flow_run_id).exists()


def flow_run_state(api_url: str, flow_run_id: str) -> str:
    with urllib.request.urlopen(f"{api_url}/flow_runs/{flow_run_id}", timeout=30) as response:
        return json.loads(response.read())["state"]["type"]


def test_serve_refuses_a_port_another_server_holds(served):
    env = {k: v for k, v in served["env"].items() if k != "PREFECT_API_URL"}
    port = served["api_url"].split(":")[-1].split("/")[0]
    result = subprocess.run(
        [CAMG, "serve", "--port", port], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1
    assert f"a Prefect server already runs at {served['api_url']}" in result.stderr


def test_a_one_off_run_uses_only_its_own_folders_served_server(served, tmp_path):
    """`camg serve` writes its API address in its Prefect home; a dead or missing address is none."""
    from camg.ops.config import Settings
    from flows.server import serve_api_path, served_api_url

    settings = Settings(marts_dir=tmp_path / "marts")
    assert served_api_url(settings) == ""  # no camg serve for this folder
    serve_api_path(settings).parent.mkdir(parents=True)
    serve_api_path(settings).write_text(served["api_url"])
    assert served_api_url(settings) == served["api_url"]
    serve_api_path(settings).write_text(f"http://127.0.0.1:{free_port()}/api")
    assert served_api_url(settings) == ""  # a stale address of a stopped server
