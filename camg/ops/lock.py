"""Run lock: one camg run at a time per marts folder, so two runs never publish at once.

An exclusive `fcntl.flock` on `<marts_dir>/.camg.lock`. The kernel drops the lock when its holder's
file is closed or its process dies, so a crashed run never leaves a stale lock behind. The holder
writes its pid and start time into the file so the one that waits can say who it waits for.
"""

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = ".camg.lock"
POLL_SECONDS = 0.2


class RunLockTimeout(RuntimeError):
    """Another run held the lock for longer than this run was willing to wait."""


def lock_path(marts_dir: Path) -> Path:
    """The lock file of a marts folder."""
    return marts_dir / LOCK_FILE


def holder(marts_dir: Path) -> str:
    """Who holds (or last held) the lock, as the holder wrote it ("" when unknown)."""
    try:
        return lock_path(marts_dir).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def try_flock(fd: int) -> bool:
    """Whether this process now holds the exclusive lock on `fd` (never blocks)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def run_lock(marts_dir: Path, timeout_seconds: float) -> Iterator[Path]:
    """Hold the marts folder's run lock, waiting up to `timeout_seconds` for another run."""
    marts_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(marts_dir)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_seconds
        while not try_flock(fd):
            if time.monotonic() >= deadline:
                raise RunLockTimeout(
                    f"another camg run holds {path} ({holder(marts_dir) or 'holder unknown'}); "
                    f"waited {timeout_seconds:g} s (CAMG_LOCK_TIMEOUT_SECONDS). Try again later."
                )
            time.sleep(POLL_SECONDS)
        stamp = f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, stamp.encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
