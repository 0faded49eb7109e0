"""Atomic replacement of the reports folder: build beside it, then swap in one step.

On Linux the two folders are exchanged with renameat2(RENAME_EXCHANGE), so at every instant a reader
sees the whole old set or the whole new set. Elsewhere the fallback is two renames, which leaves a
moment with no folder (never a half-written one).
"""

import ctypes
import ctypes.util
import os
import shutil
import uuid
from pathlib import Path

AT_FDCWD = -100
RENAME_EXCHANGE = 2


def building_dir(reports_dir: Path) -> Path:
    """A fresh hidden sibling of the reports folder (same file system, so renames are atomic).

    Its name carries the building process's id, so the next build removes the leftovers of a
    build that was killed (`remove_leftovers`) and never a live one's.
    """
    remove_leftovers(reports_dir)
    path = (
        reports_dir.parent / f".{reports_dir.name}.building-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    )
    path.mkdir(parents=True)
    return path


def remove_leftovers(reports_dir: Path) -> list[Path]:
    """Delete the staging and old folders of report builds whose process is gone; which went."""
    if not reports_dir.parent.is_dir():
        return []
    gone = []
    for kind in ("building", "old"):
        for path in reports_dir.parent.glob(f".{reports_dir.name}.{kind}-*"):
            pid = path.name.rsplit(f".{kind}-", 1)[1].split("-", 1)[0]
            if not (pid.isdigit() and is_alive(int(pid))):
                shutil.rmtree(path, ignore_errors=True)
                gone.append(path)
    return gone


def is_alive(pid: int) -> bool:
    """True when a process with this id exists (ours included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False when the platform cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    return result == 0


def swap_in(new_dir: Path, reports_dir: Path) -> None:
    """Make `new_dir` the reports folder and delete the old set."""
    if not reports_dir.exists():
        os.replace(new_dir, reports_dir)
        return
    if _exchange(new_dir, reports_dir):
        shutil.rmtree(new_dir)  # it now holds the old set
        return
    old = reports_dir.parent / f".{reports_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    os.replace(reports_dir, old)
    os.replace(new_dir, reports_dir)
    shutil.rmtree(old)
