"""Publishing while analysts read, and runs killed while publishing: real processes, real files.

The frames come from one real flow run on the bundled NHANES 2015-2016 batch (module fixture); each
test then publishes them with `run_folder.publish` under new run ids, which costs about a second a
run instead of a whole flow. Readers and killed runs are separate processes (tests/integration/
publish_reader.py and publish_killed.py), as analysts' sessions and the nightly run are.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest
from prefect.testing.utilities import prefect_test_harness

from camg.publish import kept_runs
from camg.publish.run_folder import DERIVED_MARTS, publish
from flows.camg_flow import camg_flow
from tests.conftest import copy_batch, settings_in

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
READER = HERE / "publish_reader.py"
KILLED = HERE / "publish_killed.py"
# Liveness guard for waiting on a child process; never an assertion about speed.
PATIENCE_SECONDS = 120


def run_id(n: int) -> str:
    """The n-th run id of a test: distinct and sorted in publish order."""
    return f"20260101T0000{n:02d}-{n:08x}"


def quiet(step: str) -> None:
    pass


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> Path:
    """Mart frames of one real flow run, as Parquet files a child process reads back."""
    root = tmp_path_factory.mktemp("seed")
    settings = settings_in(root)
    copy_batch("nhanes_2015_2016", settings.raw_dir)
    # The temporary server starts slowly on a busy machine (30 s by default).
    with prefect_test_harness(server_startup_timeout=None):
        published = camg_flow(settings)
    seed_dir = root / "frames"
    seed_dir.mkdir()
    with duckdb.connect(str(published), read_only=True) as con:
        for name in publish_inputs(con):
            con.sql(f'select * exclude (run_id) from "{name}"').pl().write_parquet(
                seed_dir / f"{name}.parquet"
            )
    return seed_dir


def publish_inputs(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables a flow hands to publish (not those publish derives, nor run_step)."""
    rows = con.sql("select table_name from duckdb_tables() where not internal").fetchall()
    return [n for (n,) in rows if n not in {*DERIVED_MARTS, "run_step"}]


def seed_tables(seed_dir: Path) -> dict[str, pl.DataFrame]:
    return {p.stem: pl.read_parquet(p) for p in sorted(seed_dir.glob("*.parquet"))}


def published_run(marts: Path, seed_dir: Path) -> str:
    """The one run the published marts hold, checked whole: every table, the Parquet copy, counts."""
    expected = {name: frame.height for name, frame in seed_tables(seed_dir).items()}
    with duckdb.connect(str(marts / "camg.duckdb"), read_only=True) as con:
        names = [n for (n,) in con.sql("select table_name from duckdb_tables()").fetchall()]
        ids = {
            i for n in names for (i,) in con.sql(f'select distinct run_id from "{n}"').fetchall()
        }
        counts = {n: con.sql(f'select count(*) from "{n}"').fetchall()[0][0] for n in expected}
    assert len(ids) == 1, f"mixed runs in one database: {ids}"
    assert counts == expected
    (run,) = ids
    assert os.readlink(marts / "current") == f"runs/{run}"
    files = sorted((marts / "parquet").glob("*.parquet"))
    # One file per table, intake_item (a view over store.intake_item) too (issue 17).
    assert {p.stem for p in files} == set(names)
    items = pl.read_parquet(marts / "parquet" / "intake_item.parquet")
    assert items.height == expected["intake_item"]
    parquet_ids = {i for p in files for i in pl.read_parquet(p, columns=["run_id"])["run_id"]}
    assert parquet_ids == {run}
    return run


class Child:
    """A child process whose stdout lines are collected as they come."""

    def __init__(self, args: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._collect, daemon=True)
        self.reader.start()

    def _collect(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, prefix: str) -> None:
        """Block until the child printed a line starting with `prefix` (or died trying)."""
        deadline = time.monotonic() + PATIENCE_SECONDS
        while not any(line.startswith(prefix) for line in self.lines):
            if self.process.poll() is not None and not self.reader.is_alive():
                raise AssertionError(f"child ended before {prefix!r}: {self.process.stderr.read()}")
            assert time.monotonic() < deadline, f"no {prefix!r} after {PATIENCE_SECONDS} s"
            time.sleep(0.02)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.reader.join()

    def finish(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=PATIENCE_SECONDS)
        self.reader.join()


def test_readers_see_whole_runs_and_no_errors_while_three_runs_publish(seed, tmp_path):
    marts, stop = tmp_path / "marts", tmp_path / "stop"
    tables = seed_tables(seed)
    publish(marts, tables, run_id(0), keep_runs=2, on_step=quiet)
    readers = {
        mode: Child([str(READER), str(marts), mode, str(stop)])
        for mode in ("reconnect", "held", "parquet")
    }
    for reader in readers.values():
        reader.wait_for(f"saw {run_id(0)}")
    for n in (1, 2, 3):
        publish(marts, tables, run_id(n), keep_runs=2, on_step=quiet)
        readers["reconnect"].wait_for(f"saw {run_id(n)}")
        readers["parquet"].wait_for(f"saw {run_id(n)}")
    stop.touch()
    summaries = {}
    for mode, reader in readers.items():
        reader.finish()
        summaries[mode] = json.loads(reader.lines[-1])
        print(f"reader {mode}: {summaries[mode]['queries']} queries, "
              f"{summaries[mode]['errors']} errors, {summaries[mode]['mixed']} mixed answers, "
              f"runs seen {len(summaries[mode]['runs_seen'])}")  # fmt: skip
    for mode, summary in summaries.items():
        assert (summary["errors"], summary["error"], summary["mixed"]) == (0, "", 0), mode
        assert summary["queries"] > 0, mode
    every_run = [run_id(n) for n in range(4)]
    assert summaries["reconnect"]["runs_seen"] == every_run
    assert summaries["parquet"]["runs_seen"] == every_run
    # The session left open keeps its run: whole, and readable after retention deleted its files.
    assert summaries["held"]["runs_seen"] == [run_id(0)]
    assert kept_runs.kept_runs(marts) == [run_id(2), run_id(3)]
    assert published_run(marts, seed) == run_id(3)


# Where a run is killed -> what the published marts must then hold (the old run or the new one).
KILL_POINTS = [
    ("locked", "old"),
    ("cleaned", "old"),
    ("wrote intake_item", "old"),  # in the middle of writing the new database
    ("database written", "old"),
    ("parquet written", "old"),
    ("built", "old"),  # sealed, still hidden as runs/.building-<id>
    ("renamed", "old"),  # complete as runs/<id>, not yet published
    ("switching current", "old"),  # the new link is made beside `current`, not yet renamed over it
    ("switched", "new"),
    ("pruned", "new"),
]


@pytest.fixture(scope="module")
def one_published_run(seed, tmp_path_factory) -> Path:
    """A marts folder with one published run, copied by each kill test."""
    marts = tmp_path_factory.mktemp("template") / "marts"
    publish(marts, seed_tables(seed), run_id(1), on_step=quiet)
    return marts


def killed_publish(seed: Path, marts: Path, pause_at: str) -> Child:
    """Start publishing run 2 in a child and SIGKILL it where it paused at `pause_at`."""
    child = Child([str(KILLED), str(seed), str(marts), run_id(2), pause_at])
    child.wait_for("paused")
    child.kill()
    return child


def killed_when(seed: Path, marts: Path, seen: Callable[[Path], bool]) -> Child:
    """Start publishing run 2 in a child, never paused, and SIGKILL it once `seen(marts)` holds.

    The parent polls the files, so the kill lands wherever the child happens to be: inside a
    DuckDB write or a Parquet COPY, not only at the points the progress callback names.
    """
    child = Child([str(KILLED), str(seed), str(marts), run_id(2)])
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not seen(marts):
        assert child.process.poll() is None, "the run finished before the kill point"
        assert time.monotonic() < deadline, f"kill point not seen after {PATIENCE_SECONDS} s"
        time.sleep(0.0005)
    child.kill()
    return child


def assert_next_run_succeeds_and_cleans_up(seed: Path, marts: Path) -> None:
    publish(marts, seed_tables(seed), run_id(3), on_step=quiet)
    assert published_run(marts, seed) == run_id(3)
    hidden = [p.name for p in [*marts.iterdir(), *(marts / "runs").iterdir()]]
    assert [n for n in hidden if n.startswith((".building-", ".switch-"))] == []


@pytest.mark.parametrize(("point", "expected"), KILL_POINTS)
def test_sigkill_at_a_named_point_leaves_old_or_new_marts_whole(
    seed, one_published_run, tmp_path, point, expected
):
    marts = Path(shutil.copytree(one_published_run, tmp_path / "marts", symlinks=True))
    killed_publish(seed, marts, point)
    assert published_run(marts, seed) == (run_id(1) if expected == "old" else run_id(2))
    assert_next_run_succeeds_and_cleans_up(seed, marts)


def building(marts: Path) -> Path:
    return kept_runs.building_dir(marts, run_id(2))


def file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


# Moments seen in the files, not announced by the run: where the kill lands is up to the child.
# Measured order: the database file appears; the tables go to its WAL (~10 MB here); Parquet files
# are written; the checkpoint then copies the WAL into the database file (which grows past 1 MB).
WATCHED = {
    "database file created": lambda m: (building(m) / "camg.duckdb").exists(),
    "tables being written (WAL past 1 MB)": lambda m: (
        file_size(building(m) / "camg.duckdb.wal") > 1_000_000
    ),
    "parquet being written (third file started)": lambda m: (
        len(list(building(m).glob("parquet/*.parquet"))) >= 3
    ),
    "checkpoint under way (database past 1 MB)": lambda m: (
        file_size(building(m) / "camg.duckdb") > 1_000_000
    ),
}


@pytest.mark.parametrize("moment", list(WATCHED))
def test_sigkill_at_a_moment_seen_in_the_files_leaves_old_marts_whole(
    seed, one_published_run, tmp_path, moment
):
    marts = Path(shutil.copytree(one_published_run, tmp_path / "marts", symlinks=True))
    child = killed_when(seed, marts, WATCHED[moment])
    reached = [line for line in child.lines if line.startswith("reached ")]
    print(f"killed when {moment}; last point announced before the kill: {reached[-1]}")
    assert published_run(marts, seed) == run_id(1)
    assert_next_run_succeeds_and_cleans_up(seed, marts)
