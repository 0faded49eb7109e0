"""Liveness of flow runs: which camg runs still have a live process (a stale "Running" is a crash).

Prefect records a run as Running until its process reports how it ended; a process killed with
SIGKILL, or whose machine went down, never does, and the run reads "Running" for ever. Each camg flow
run therefore holds an exclusive `flock` on `<marts>/.alive/<flow run id>` while it lives. The kernel
drops the lock when the process dies, so a marker that can be locked belongs to a dead run.
"""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ALIVE_DIR = ".alive"


def marker_path(marts_dir: Path, run_key: str) -> Path:
    """The marker of one flow run (its id is a UUID: a safe file name)."""
    if not run_key or Path(run_key).name != run_key or run_key.startswith("."):
        raise ValueError(f"not a run key: {run_key!r}")
    return marts_dir / ALIVE_DIR / run_key


@contextmanager
def alive_marker(marts_dir: Path, run_key: str) -> Iterator[Path]:
    """Hold the run's marker locked while inside; remove it on the way out."""
    path = marker_path(marts_dir, run_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield path
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def is_dead(marts_dir: Path, run_key: str) -> bool:
    """Whether the run left a marker that no live process holds (False when there is none)."""
    try:
        fd = os.open(marker_path(marts_dir, run_key), os.O_RDONLY)
    except (OSError, ValueError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops a lock taken here
    return True


def dead_runs(marts_dir: Path) -> list[str]:
    """The runs whose markers no live process holds."""
    folder = marts_dir / ALIVE_DIR
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return [name for name in names if is_dead(marts_dir, name)]


def forget(marts_dir: Path, run_key: str) -> None:
    """Remove a dead run's marker (once its crash is recorded)."""
    marker_path(marts_dir, run_key).unlink(missing_ok=True)
