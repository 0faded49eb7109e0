"""Report store: rendered pages -> content-addressed objects, a manifest per run, the reports folder.

A build renders every page but writes only the pages whose bytes are new: each page is stored once,
under its SHA-256, in a store beside the reports folder (same file system):

    .<reports>.store/objects/<2 hex>/<sha256>   one read-only file per distinct page content

A run's set of pages is its manifest, {path in reports folder: sha256} plus the team's index rows,
kept beside the report key (outside `reports/`, mode 0600, since it maps ids to files):

    <key folder>/report_runs/<run_id>.json

The reports folder is then a tree of hard links to the objects, built beside it and swapped in at
once (`swap`), so an unchanged participant's file keeps its inode and mtime, a participant who left
has no file, and rolling back the marts re-links the older run's manifest: nothing is rendered.
Manifests of runs the marts no longer keep are deleted with the objects only they named.
"""

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from camg.report.swap import building_dir, swap_in

OBJECTS = "objects"
MANIFESTS = "report_runs"
KEEP_IN_FOLDER = (".gitkeep",)
OBJECT_MODE = 0o444


def store_dir(reports_dir: Path) -> Path:
    """The object store of a reports folder: a hidden sibling (hard links need one file system)."""
    return reports_dir.parent / f".{reports_dir.name}.store"


@contextmanager
def store_lock(store: Path) -> Iterator[None]:
    """Hold the store's lock: one build or switch at a time (the kernel frees it if we die)."""
    store.mkdir(parents=True, exist_ok=True)
    fd = os.open(store / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def manifest_path(key_path: Path, run_id: str) -> Path:
    """Where a run's manifest lives (beside the key; `run_id` is a checked camg run id)."""
    return key_path.parent / MANIFESTS / f"{run_id}.json"


@dataclass
class PageSet:
    """The pages of one build as they are stored: path -> content hash, and what was written."""

    store: Path
    pages: dict[str, str] = field(default_factory=dict)
    written: int = 0

    def put(self, path: str, html: str) -> None:
        """Record a page; write its object only when no page with the same bytes was stored before."""
        data = html.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        self.pages[path] = digest
        target = object_path(self.store, digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, OBJECT_MODE)
        os.replace(tmp, target)
        self.written += 1


def object_path(store: Path, digest: str) -> Path:
    """The object file of a content hash."""
    return store / OBJECTS / digest[:2] / digest


def _same_file(a: Path, b: Path) -> bool:
    """True when both names are the same inode (a link made earlier)."""
    try:
        sa, sb = a.stat(), b.stat()
    except FileNotFoundError:
        return False
    return (sa.st_ino, sa.st_dev) == (sb.st_ino, sb.st_dev)


def is_current(store: Path, pages: dict[str, str], reports_dir: Path) -> bool:
    """True when the reports folder already links exactly these pages (nothing to swap)."""
    if not reports_dir.is_dir():
        return False
    present = {
        str(p.relative_to(reports_dir))
        for p in reports_dir.rglob("*")
        if p.is_file() and p.name not in KEEP_IN_FOLDER
    }
    return present == set(pages) and all(
        _same_file(reports_dir / path, object_path(store, digest)) for path, digest in pages.items()
    )


def _link(source: Path, target: Path) -> None:
    """A hard link to an object (a copy where the file system refuses links)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def materialise(store: Path, pages: dict[str, str], reports_dir: Path) -> bool:
    """Make the reports folder hold exactly `pages`; False when it already did (nothing changed)."""
    if is_current(store, pages, reports_dir):
        return False
    staging = building_dir(reports_dir)
    try:
        for path, digest in sorted(pages.items()):
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            _link(object_path(store, digest), target)
        for name in KEEP_IN_FOLDER:
            if (reports_dir / name).exists():
                (staging / name).touch()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, reports_dir)
    return True


def write_manifest(path: Path, run_id: str, pages: dict[str, str], index: list[list[str]]) -> None:
    """A run's manifest (mode 0600, replaced atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"run_id": run_id, "pages": pages, "index": index}, out, separators=(",", ":"))
    os.replace(tmp, path)


def read_manifest(path: Path) -> tuple[dict[str, str], list[list[str]]] | None:
    """A run's pages and index rows; None when the run has no manifest."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["pages"], data["index"]


def has_objects(store: Path, pages: dict[str, str]) -> bool:
    """True when every page of a manifest is still in the store."""
    return all(object_path(store, digest).is_file() for digest in pages.values())


def prune(store: Path, manifests: Path, keep: set[str]) -> tuple[int, int]:
    """Delete the manifests of runs not in `keep` and the objects no kept manifest names."""
    removed_runs = 0
    for path in manifests.glob("*.json") if manifests.is_dir() else []:
        if path.stem not in keep:
            path.unlink()
            removed_runs += 1
    used = set()
    for path in manifests.glob("*.json") if manifests.is_dir() else []:
        used.update(json.loads(path.read_text(encoding="utf-8"))["pages"].values())
    removed_objects = 0
    for path in (store / OBJECTS).glob("*/*"):
        if path.name not in used:
            path.unlink()
            removed_objects += 1
    return removed_runs, removed_objects
