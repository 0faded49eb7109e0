"""Ingest trust boundary: the raw folder's entries -> the regular files a run reads, and why not the rest.

Only regular files inside `raw/<study_id>/` are read. A symbolic link is followed only while it stays
inside the raw folder (a link to `/etc/passwd` is refused, never hashed); FIFOs, sockets, devices,
dangling links, names that are not valid UTF-8, hidden entries and files lying directly in the raw
folder are not read either. Every such entry is still listed in the file manifest with its reason,
so nothing that landed in the raw folder goes unmentioned. A file is opened once, checked through
its descriptor (still a regular file), and its bytes are what is hashed and parsed.
"""

import os
import stat
from pathlib import Path
from typing import BinaryIO

# (manifest status, reason) of an entry that is not read; None: read it.
Refusal = tuple[str, str] | None
READ_BLOCK = 1 << 20


def display_name(path: Path | str) -> str:
    """A path as text that is always valid UTF-8 (undecodable bytes shown as backslash escapes)."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def is_valid_name(path: Path | str) -> bool:
    """True when the path's bytes are valid UTF-8 (so it can be stored, logged and shown as is)."""
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def walk(raw_dir: Path) -> list[tuple[str, Path]]:
    """(study_id, path) for every entry under the raw folder, sorted; study_id "" for top-level ones.

    Study folders are walked without following links; a hidden or linked folder is one entry.
    """
    found: list[tuple[str, Path]] = []
    for top in sorted(raw_dir.iterdir()):
        if not top.is_dir() or top.is_symlink() or top.name.startswith("."):
            found.append(("", top))
            continue
        for folder, dirs, files in os.walk(top, followlinks=False):
            here = Path(folder)
            odd = [d for d in dirs if d.startswith(".") or (here / d).is_symlink()]
            dirs[:] = sorted(d for d in dirs if d not in odd)
            found.extend((top.name, here / name) for name in sorted([*files, *odd]))
    return found


def refusal(raw_dir: Path, study_id: str, path: Path) -> Refusal:
    """Why an entry is not read, or None for a regular file inside a study folder."""
    relative = path.relative_to(raw_dir)
    if not is_valid_name(relative):
        return "failed", "file or folder name is not valid UTF-8: rename it"
    if any(part.startswith(".") for part in relative.parts):
        return "ignored", "hidden entry (its name starts with a dot)"
    try:
        if path.is_symlink() and not inside(path, raw_dir):
            return "failed", "symbolic link leads outside the raw folder: refused"
        if not study_id:
            return "ignored", "not in a study folder: only files in raw/<study_id>/ are read"
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if path.is_symlink():
            return "failed", "symbolic link to nothing (dangling)"
        return "failed", "file vanished before it was read"
    except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop
        return "failed", f"cannot inspect the entry: {exc}"
    if not stat.S_ISREG(mode):
        return "failed", f"not a regular file ({kind_of(mode)})"
    return None


def inside(path: Path, raw_dir: Path) -> bool:
    """True when the link's final target lies inside the raw folder (raises when it has none)."""
    return path.resolve(strict=True).is_relative_to(raw_dir.resolve())


def kind_of(mode: int) -> str:
    """What a non-regular entry is, for the manifest's reason."""
    kinds = [
        (stat.S_ISDIR, "a folder reached through a link"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a file")


def open_regular(path: Path) -> BinaryIO:
    """A regular file opened once for reading (a FIFO swapped in meanwhile never blocks the run).

    Raises OSError (FileNotFoundError, PermissionError, ...) or ValueError when it is no longer a
    regular file. The file is then read through this one descriptor (hashed, then parsed).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"not a regular file any more ({kind_of(mode)})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=READ_BLOCK)
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path) -> bytes:
    """The bytes of a small regular file (a study.toml), opened as `open_regular` does."""
    with open_regular(path) as stream:
        return stream.read()
