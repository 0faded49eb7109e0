"""Run lock: two real processes on one marts folder; the second waits, times out or takes over."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from camg.ops.lock import RunLockTimeout, holder, run_lock

# A process that takes the lock, says so, and holds it until its stdin closes.
HOLD = """
import sys
from pathlib import Path
from camg.ops.lock import run_lock
with run_lock(Path(sys.argv[1]), timeout_seconds=float(sys.argv[2])):
    print("held", flush=True)
    sys.stdin.read()
print("released", flush=True)
"""


def start_holder(marts_dir: Path, timeout: float = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(marts_dir), str(timeout)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def first(tmp_path):
    """A process holding the lock on tmp_path/marts (stopped at the end)."""
    process = start_holder(tmp_path / "marts")
    assert process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_second_process_times_out_with_a_clear_message(tmp_path, first):
    second = start_holder(tmp_path / "marts", timeout=0.5)
    _, stderr = second.communicate(timeout=60)
    assert second.returncode != 0
    assert "RunLockTimeout: another camg run holds" in stderr
    assert f"pid {first.pid}" in stderr  # says who holds it
    assert "CAMG_LOCK_TIMEOUT_SECONDS" in stderr


def test_second_process_waits_and_runs_after_the_first_releases(tmp_path, first):
    second = start_holder(tmp_path / "marts", timeout=120)
    assert holder(tmp_path / "marts").startswith(f"pid {first.pid} ")
    first.stdin.close()  # the first run ends
    assert first.stdout.readline().strip() == "released"
    assert second.stdout.readline().strip() == "held"
    assert holder(tmp_path / "marts").startswith(f"pid {second.pid} ")
    second.stdin.close()
    assert second.wait(timeout=60) == 0


def test_a_killed_holder_leaves_no_stale_lock(tmp_path, first):
    first.send_signal(signal.SIGKILL)
    first.wait()
    with run_lock(tmp_path / "marts", timeout_seconds=5) as path:
        assert holder(tmp_path / "marts").startswith(f"pid {os.getpid()} ")
        assert path == tmp_path / "marts" / ".camg.lock"


def test_lock_is_exclusive_within_one_process_too(tmp_path):
    # flock belongs to an open file: a second open of the same lock file is a second run.
    with (
        run_lock(tmp_path, timeout_seconds=0),
        pytest.raises(RunLockTimeout),
        run_lock(tmp_path, timeout_seconds=0),
    ):
        pass
    with run_lock(tmp_path, timeout_seconds=0):
        pass  # released on leaving the block


def test_lock_creates_the_marts_folder(tmp_path):
    with run_lock(tmp_path / "new" / "marts", timeout_seconds=0) as path:
        assert path.exists()
