"""Publish history: the marts folder's kept runs -> which one is published, rollback and clean-up.

Layout of a marts folder (DESIGN section 5, "Publish protocol"):

    runs/<run_id>/camg.duckdb        one complete, read-only database per kept run
    runs/<run_id>/parquet/<t>.parquet the same tables as Parquet
    current -> runs/<run_id>         the published run: the only name a publish ever changes
    camg.duckdb -> current/camg.duckdb   what analysts open (read_only)
    parquet -> current/parquet       what Parquet tools read

Publishing or rolling back is one `rename(2)` of a symlink over `current`, so every name resolves to
the whole old run or the whole new one. A reader that opened the old files keeps the old inodes
(Linux keeps an unlinked file's data while it is open), so it neither blocks nor sees the switch.
"""

import fcntl
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

MARTS_FILE = "camg.duckdb"
PARQUET_DIR = "parquet"
RUNS_DIR = "runs"
CURRENT = "current"
BUILDING_PREFIX = ".building-"
SWITCH_PREFIX = ".switch-"
LOCK_FILE = ".publish.lock"
# Run ids are made by camg.publish.runlog.new_run_id (UTC timestamp + hex); anything else is refused.
RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")
RUN_LIST_COLUMNS = [
    "run_id",
    "is_current",
    "started_at",
    "finished_at",
    "status",
    "n_files",
    "n_files_failed",
    "n_persons",
    "rules_version",
    "composition_version",
    "code_version",
]

Progress = Callable[[str], None]


class UnknownRunError(ValueError):
    """The run id names no kept run of this marts folder."""


def no_progress(step: str) -> None:
    """A progress callback that reports nothing."""


def checked_run_id(run_id: str) -> str:
    """The run id, if it has the shape camg gives run ids (it becomes a path component)."""
    if not RUN_ID.match(run_id):
        raise UnknownRunError(f"not a camg run id: {run_id!r}")
    return run_id


def run_dir(marts_dir: Path, run_id: str) -> Path:
    """The kept folder of a run."""
    return marts_dir / RUNS_DIR / checked_run_id(run_id)


def building_dir(marts_dir: Path, run_id: str) -> Path:
    """Where a run builds its folder before it is complete (hidden, named for the run)."""
    return marts_dir / RUNS_DIR / f"{BUILDING_PREFIX}{checked_run_id(run_id)}"


def fsync_path(path: Path) -> None:
    """Flush a file or directory to disk, so a crash after a rename cannot lose what it names."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def publish_lock(marts_dir: Path) -> Iterator[None]:
    """Hold the exclusive publish lock; the kernel releases it if the holder dies (even SIGKILL).

    Readers never take it. Publishing, rollback and clean-up do, so whatever clean-up finds under
    the lock is the leftover of a dead process, never the work of a live one.
    """
    runs = marts_dir / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    fd = os.open(runs / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remove_leftovers(marts_dir: Path) -> list[str]:
    """Delete what killed runs left (building folders, half-made switch links); call under the lock."""
    runs = marts_dir / RUNS_DIR
    leftovers = [
        *runs.glob(f"{BUILDING_PREFIX}*"),
        *marts_dir.glob(f"{SWITCH_PREFIX}*"),
        *marts_dir.glob(f"{BUILDING_PREFIX}*.duckdb*"),  # the single-file layout's leftovers
    ]
    for path in leftovers:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    return sorted(p.name for p in leftovers)


def current_run_id(marts_dir: Path) -> str | None:
    """The published run, or None before the first publish."""
    link = marts_dir / CURRENT
    return Path(os.readlink(link)).name if link.is_symlink() else None


def replace_link(link: Path, target: str, on_step: Progress = no_progress) -> None:
    """Point `link` at `target` in one rename: a new symlink beside it, renamed over it."""
    tmp = link.with_name(f"{SWITCH_PREFIX}{link.name}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    on_step(f"switching {link.name}")
    os.replace(tmp, link)


def switch(marts_dir: Path, run_id: str, on_step: Progress = no_progress) -> None:
    """Publish a kept run: `current` now names it, and the fixed names resolve through `current`."""
    replace_link(marts_dir / CURRENT, f"{RUNS_DIR}/{checked_run_id(run_id)}", on_step)
    fsync_path(marts_dir)
    on_step("switched")
    for name in (MARTS_FILE, PARQUET_DIR):
        target = f"{CURRENT}/{name}"
        link = marts_dir / name
        if not (link.is_symlink() and os.readlink(link) == target):
            replace_link(link, target, on_step)  # first publish, or a folder from before `current`
    fsync_path(marts_dir)


def kept_runs(marts_dir: Path) -> list[str]:
    """Ids of the complete runs kept in the folder, oldest first."""
    runs = marts_dir / RUNS_DIR
    if not runs.is_dir():
        return []
    return sorted(p.name for p in runs.iterdir() if RUN_ID.match(p.name) and p.is_dir())


def prune(marts_dir: Path, keep: int) -> list[str]:
    """Delete all but the newest `keep` runs, never the published one; call under the lock.

    A reader still holding a deleted run's files keeps reading them: the data go when it closes.
    """
    current = current_run_id(marts_dir)
    old = [r for r in kept_runs(marts_dir)[: -keep or None] if r != current]
    for run_id in old:
        shutil.rmtree(run_dir(marts_dir, run_id))
    return old


def rollback(marts_dir: Path, run_id: str) -> None:
    """Publish an earlier kept run again (the next run publishes a new one as usual)."""
    with publish_lock(marts_dir):
        if checked_run_id(run_id) not in kept_runs(marts_dir):
            raise UnknownRunError(f"no kept run {run_id} in {marts_dir / RUNS_DIR}")
        switch(marts_dir, run_id)


def run_summary(marts_dir: Path, run_id: str) -> pl.DataFrame:
    """A kept run's run_log row, read from its Parquet copy (never opens a database a reader holds)."""
    path = run_dir(marts_dir, run_id) / PARQUET_DIR / "run_log.parquet"
    if not path.is_file():
        return pl.DataFrame({"run_id": [run_id]})
    # Through DuckDB, so times come in the same zone as a query on the database gives them.
    with duckdb.connect() as con:
        return con.sql("select * from read_parquet($path)", params={"path": str(path)}).pl()


def list_runs(marts_dir: Path) -> pl.DataFrame:
    """The kept runs, newest first, with the published one marked."""
    current = current_run_id(marts_dir)
    frames = [run_summary(marts_dir, run_id) for run_id in kept_runs(marts_dir)]
    if not frames:
        return pl.DataFrame(schema={"run_id": pl.String, "is_current": pl.Boolean})
    runs = pl.concat(frames, how="diagonal_relaxed").with_columns(
        (pl.col("run_id") == current).alias("is_current")
    )
    present = [c for c in RUN_LIST_COLUMNS if c in runs.columns]
    return runs.select(present).sort("run_id", descending=True)
