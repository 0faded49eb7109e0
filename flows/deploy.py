"""The nightly deployment: the camg flow served on a cron schedule by a local Prefect server.

Schedules need a real Prefect API (a temporary one refuses: "Cannot schedule flows on an ephemeral
server"). `camg serve` uses the server PREFECT_API_URL names, or starts `prefect server start`
(SQLite under PREFECT_HOME, no cloud account) beside itself and stops it when it stops.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from camg.ops.config import Settings
from flows.server import serve_api_path, served_api_url

FLOW_NAME = "camg"
# How long `camg serve` waits for its `prefect server start` (a loaded host takes minutes).
SERVER_START_TIMEOUT_SECONDS = 600.0
# Flow runs read to find this marts folder's (a server shared by several installations has more).
SCAN_LIMIT = 200


def configured_api_url() -> str:
    """PREFECT_API_URL from the environment or the active Prefect profile ("" when unset)."""
    from prefect.settings import get_current_settings

    return os.environ.get("PREFECT_API_URL") or str(get_current_settings().api.url or "")


def is_healthy(api_url: str) -> bool:
    """Whether a Prefect API answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=2) as response:
            return response.status == 200 and json.loads(response.read()) is True
    except (OSError, ValueError, urllib.error.URLError):
        return False


def wait_until_healthy(api_url: str, timeout_seconds: float, server: subprocess.Popen) -> None:
    """Block until the server answers; fail early if it exits or never answers."""
    deadline = time.monotonic() + timeout_seconds
    while not is_healthy(api_url):
        if server.poll() is not None:
            raise RuntimeError(f"prefect server exited with code {server.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"prefect server did not answer at {api_url}")
        time.sleep(0.5)


@contextmanager
def local_server(settings: Settings) -> Iterator[str]:
    """A `prefect server start` child on 127.0.0.1 (its output in the log folder); yields its API."""
    api_url = f"http://127.0.0.1:{settings.prefect_port}/api"
    if is_healthy(api_url):
        raise RuntimeError(f"a Prefect server already runs at {api_url}: export PREFECT_API_URL")
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    with (settings.log_dir / "prefect-server.log").open("ab") as out:
        server = subprocess.Popen(
            [*command, "--port", str(settings.prefect_port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    address = serve_api_path(settings)
    try:
        wait_until_healthy(api_url, SERVER_START_TIMEOUT_SECONDS, server)
        address.parent.mkdir(parents=True, exist_ok=True)
        address.write_text(api_url, encoding="utf-8")  # one-off runs of this folder use it
        yield api_url
    finally:
        address.unlink(missing_ok=True)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_now_hint(settings: Settings, api_url: str) -> str:
    """How to start a run of the deployment now, with the API address it needs, and the UI's."""
    ui = api_url.rstrip("/").removesuffix("/api")
    return (
        f"camg/{settings.deployment_name} is served on {api_url} (UI {ui}).\n"
        f"Start a run now: PREFECT_API_URL={api_url} prefect deployment run "
        f"camg/{settings.deployment_name}\n"
        "What the runs did: camg status"
    )


def serve(settings: Settings) -> None:
    """Register the nightly deployment and run its scheduled (and manually started) flow runs.

    Prefect's own start message names no API address (`prefect deployment run 'camg/nightly'`):
    followed in another shell it would start a second server on the same database, so camg prints
    its own (`run_now_hint`).
    """
    from prefect.flows import EntrypointType
    from prefect.schedules import Cron

    from flows.camg_flow import camg_flow, runner_environment

    # Each run is a process that imports the flow: its runner (Dask or threads) comes from these.
    os.environ.update(runner_environment(settings))
    camg_flow.serve(
        name=settings.deployment_name,
        schedule=Cron(settings.schedule_cron, timezone=settings.local_timezone()),
        parameters={"settings": settings_parameter(settings)},
        description="camg nightly: ingest data/raw, validate, enrich, assess, publish marts.",
        tags=["camg"],
        limit=1,
        pause_on_shutdown=False,
        entrypoint_type=EntrypointType.MODULE_PATH,
        print_starting_message=False,
    )


def settings_parameter(settings: Settings) -> dict[str, Any]:
    """The settings as the deployment's JSON parameter, paths absolute (runs must not need a cwd)."""
    resolved = settings.resolved()
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(resolved).items()}


def serve_with_server(settings: Settings, announce: Callable[[str], None]) -> None:
    """Serve on the configured Prefect API, or on a local server started (and stopped) here.

    `announce(api_url)` is called once the API is known, just before the deployment is served.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if api_url := configured_api_url():
        announce(api_url)
        serve(settings)
        return
    with local_server(settings) as api_url, temporary_settings({PREFECT_API_URL: api_url}):
        os.environ["PREFECT_API_URL"] = api_url  # for the flow runs' child processes
        announce(api_url)
        serve(settings)


def status_api_url(settings: Settings) -> str:
    """The Prefect API `camg status` asks (its runs are filtered to this marts folder's).

    The configured one, else this folder's `camg serve`'s, else a server on `prefect_port`.
    """
    local = f"http://127.0.0.1:{settings.prefect_port}/api"
    return configured_api_url() or served_api_url(settings) or (local if is_healthy(local) else "")


def is_installation_run(run: Any, marts_dir: Path) -> bool:
    """Whether a flow run published to this marts folder (a shared server holds others' runs too)."""
    settings = (run.parameters or {}).get("settings") or {}
    return isinstance(settings, dict) and settings.get("marts_dir") == str(marts_dir.resolve())


def recent_flow_runs(api_url: str, limit: int, marts_dir: Path) -> list[dict[str, Any]]:
    """This marts folder's next scheduled camg flow run, then its latest `limit` ones.

    Also the runs that failed or never ran; an unfinished run whose process is gone shows as crashed.
    """
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    now = datetime.now(UTC)
    camg = FlowFilter(name=FlowFilterName(any_=[FLOW_NAME]))
    with temporary_settings_api(api_url), get_client(sync_client=True) as client:
        upcoming = client.read_flow_runs(
            flow_filter=camg,
            flow_run_filter=FlowRunFilter(
                expected_start_time=FlowRunFilterExpectedStartTime(after_=now)
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=SCAN_LIMIT,
        )
        past = client.read_flow_runs(
            flow_filter=camg,
            flow_run_filter=FlowRunFilter(
                expected_start_time=FlowRunFilterExpectedStartTime(before_=now)
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=SCAN_LIMIT,
        )
    upcoming = [r for r in upcoming if is_installation_run(r, marts_dir)][:1]
    past = [r for r in past if is_installation_run(r, marts_dir)][:limit]
    return [flow_run_row(run, marts_dir) for run in [*upcoming, *past]]


def temporary_settings_api(api_url: str) -> AbstractContextManager:
    """Prefect's settings with PREFECT_API_URL set to `api_url` while inside."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings({PREFECT_API_URL: api_url})


def flow_run_row(run: Any, marts_dir: Path) -> dict[str, Any]:
    """A flow run as one row of `camg status`."""
    from flows.crashes import shown_state

    return {
        "name": run.name,
        "state": shown_state(str(run.id), run.state_name, marts_dir),
        "expected_start": run.expected_start_time,
        "start": run.start_time,
        "end": run.end_time,
        "message": (run.state.message or "") if run.state else "",
    }
