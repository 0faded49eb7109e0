"""Run markers: a run's marker is locked while its process lives; a dead process's marker is not."""

import subprocess
import sys

import pytest

from camg.ops import liveness

HOLD = """
import sys, pathlib
from camg.ops.liveness import alive_marker
with alive_marker(pathlib.Path(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_live_runs_marker_is_not_dead_and_a_killed_runs_is(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "run-1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not liveness.is_dead(tmp_path, "run-1")
        assert liveness.dead_runs(tmp_path) == []
    finally:
        holder.kill()  # SIGKILL: no clean-up runs, the marker stays
        holder.wait()
    assert liveness.is_dead(tmp_path, "run-1")
    assert liveness.dead_runs(tmp_path) == ["run-1"]
    liveness.forget(tmp_path, "run-1")
    assert liveness.dead_runs(tmp_path) == []


def test_a_run_that_ends_removes_its_marker(tmp_path):
    with liveness.alive_marker(tmp_path, "run-2") as path:
        assert path.exists()
        assert not liveness.is_dead(tmp_path, "run-2")
    assert not path.exists()
    assert not liveness.is_dead(tmp_path, "run-2")  # no marker: nothing to say


@pytest.mark.parametrize("key", ["", "../x", ".hidden", "a/b"])
def test_run_keys_are_file_names(tmp_path, key):
    with pytest.raises(ValueError, match="not a run key"):
        liveness.marker_path(tmp_path, key)
