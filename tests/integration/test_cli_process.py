"""`camg` as an operator meets it: bad settings, signals, a slow Prefect, an interactive terminal.

Every test runs the real `camg` command as a subprocess (its own temporary Prefect server, camg's
own Prefect home in the marts folder). Waits poll with generous deadlines: the host is loaded.
"""

import os
import pty
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.server import TIMED_OUT, ServerStartTimeout, with_startup_retry
from tests.conftest import copy_batch
from tests.integration.test_cli import CAMG, camg, camg_env

pytestmark = pytest.mark.slow

WAIT_SECONDS = 600


def wait_for(condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    """Poll `condition` until it holds; fail naming `what` after `seconds` (a loaded host is slow)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting for {what} after {seconds} s")
        time.sleep(0.5)


def process_environ(pid: int) -> dict[str, str]:
    """A live process's environment ({} when it is gone or not readable)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def is_running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for its reaper is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def prefect_servers(prefect_home: Path) -> list[int]:
    """Live Prefect server processes (temporary or not) whose PREFECT_HOME is `prefect_home`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not is_running(int(entry.name)):
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        is_server = any(name in command for name in ("uvicorn", "prefect server", "prefect.server"))
        if is_server and process_environ(int(entry.name)).get("PREFECT_HOME") == str(prefect_home):
            found.append(int(entry.name))
    return found


def new_raw(root: Path) -> Path:
    (root / "raw").mkdir()
    copy_batch("nhanes_2015_2016", root / "raw")
    return root


@pytest.mark.parametrize(
    ("command", "env", "named"),
    [
        (["serve"], {"CAMG_SCHEDULE_CRON": "61 2 * * *"}, "CAMG_SCHEDULE_CRON = '61 2 * * *'"),
        (["run"], {"CAMG_KEEP_RUNS": "abc"}, "CAMG_KEEP_RUNS = 'abc': not a whole number"),
        (["serve", "--cron", "0 2 * *"], {}, "schedule_cron (command-line option)"),
        (["status"], {"CAMG_TIMEZONE": "Mars/Olympus"}, "CAMG_TIMEZONE = 'Mars/Olympus'"),
    ],
)
def test_a_bad_setting_stops_before_anything_starts(tmp_path, command, env, named):
    """Exit 2 and one line naming the setting and its value; no Prefect server, no marts."""
    result = camg(new_raw(tmp_path), *command, **env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "logs" / "prefect-server.log").exists()
    assert not (tmp_path / "marts").exists()


@pytest.mark.parametrize("moment", ["while Prefect starts", "while the flow runs"])
def test_sigterm_ends_the_run_and_its_temporary_server(tmp_path, moment):
    """`kill -TERM` of `camg run`: the run stops, nothing is published, no Prefect server is left."""
    root = new_raw(tmp_path)
    home = root / "marts" / ".prefect"
    log = root / "logs" / "camg.log"
    with (root / "run.out").open("w") as out:
        run = subprocess.Popen([CAMG, "run"], env=camg_env(root), stdout=out, stderr=out)
    try:
        if moment == "while Prefect starts":
            wait_for(lambda: prefect_servers(home), "the temporary Prefect server to start")
        else:
            wait_for(lambda: log.exists() and "run lock held" in log.read_text(), "the flow")
        servers = prefect_servers(home)
        assert servers
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=WAIT_SECONDS)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode != 0
    wait_for(lambda: not any(is_running(pid) for pid in servers), "the server to stop", 120)
    assert prefect_servers(home) == []
    assert not (root / "marts" / "camg.duckdb").exists()
    if moment == "while the flow runs":
        assert "Finished in state Crashed" in log.read_text()  # Prefect records the run crashed


def test_a_temporary_server_too_slow_to_start_is_retried_once_then_one_line(tmp_path):
    """Start-up timeout 0 s: one retry, then a one-line error naming the setting; no orphan."""
    root = new_raw(tmp_path)
    result = camg(root, "run", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0")
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if "did not start" in line]
    assert "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in line
    assert "Traceback" not in result.stderr
    assert (root / "logs" / "camg.log").read_text().count("trying once more") == 1
    assert prefect_servers(root / "marts" / ".prefect") == []
    assert not (root / "marts" / "camg.duckdb").exists()


def test_startup_retry_calls_again_once_after_a_timeout_only():
    calls = []

    def slow_once() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(f"{TIMED_OUT}.")
        return "ran"

    assert with_startup_retry(slow_once) == "ran"
    assert len(calls) == 2

    def always_slow() -> str:
        raise RuntimeError(TIMED_OUT)

    with pytest.raises(
        ServerStartTimeout, match="PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
    ):
        with_startup_retry(always_slow)

    def other_error() -> str:
        calls.append(1)
        raise RuntimeError("disk full")

    calls.clear()
    with pytest.raises(RuntimeError, match="disk full"):
        with_startup_retry(other_error)
    assert len(calls) == 1  # only a start-up timeout is tried again


def test_no_telemetry_notice_in_an_interactive_terminal(tmp_path):
    """Prefect prints "collects anonymous usage data" on a new home in a terminal; camg never."""
    env = camg_env(tmp_path, HOME=str(tmp_path / "home"))
    (tmp_path / "marts").mkdir()  # status then looks for Prefect flow runs (and imports Prefect)
    for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "BUILDKITE", "CI_NAME"):
        env.pop(name, None)  # Prefect keeps quiet on CI machines whatever camg does
    primary, secondary = pty.openpty()
    status = subprocess.Popen(
        [CAMG, "status"], env=env, stdin=secondary, stdout=secondary, stderr=secondary
    )
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        output += chunk
    status.wait(timeout=WAIT_SECONDS)
    os.close(primary)
    text = output.decode(errors="replace")
    assert "no published marts" in text  # it ran, and imported Prefect to look for flow runs
    assert "anonymous usage" not in text
    assert not (tmp_path / "marts" / ".prefect" / ".sdk_telemetry").exists()
