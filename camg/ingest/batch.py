"""Ingest stage entry: a raw folder of batches -> raw diary rows, participants, totals, file manifest.

A batch is `raw/<study_id>/`; every file in it is read on its own, its format recognised from its
content (a batch's study.toml may narrow the formats and set defaults). A file that cannot be read is
recorded in the manifest with its status and error, and the rest go on. With a cache, an unchanged
file's rows are reused instead of parsed again (`camg.ops.cache`).
"""

import hashlib
import logging
from pathlib import Path
from typing import BinaryIO

from camg.ingest import entries, parse
from camg.ingest.fileread import FileRead
from camg.ingest.source import MAX_EXPANDED_BYTES, file_digest
from camg.ingest.study import STUDY_FILE, Source, StudyConfig, load_study
from camg.ops.cache import ReadCache, entry_key
from schemas.diary import empty_raw_diary
from schemas.participants import empty_raw_participants

LOG = logging.getLogger(__name__)
# Files in a batch folder that are documentation or configuration, not data.
NOT_DATA_SUFFIXES = {".md", ".txt", ".toml", ".json", ".yaml", ".yml", ".pdf"}


class NoInputError(Exception):
    """The raw folder is missing or holds no file: publishing would replace good marts with empty ones."""


def discover(raw_dir: Path) -> list[tuple[str, Path]]:
    """(study_id, path) of every entry under the raw folder, sorted for a stable order.

    Entries that will not be read (`camg.ingest.entries.refusal`) are listed too, so the manifest
    names them with the reason; study_id is "" for an entry directly in the raw folder.
    """
    if not raw_dir.is_dir():
        raise NoInputError(f"raw folder {raw_dir} does not exist (is the share mounted?)")
    found = entries.walk(raw_dir)
    if not any(entries.refusal(raw_dir, study_id, path) is None for study_id, path in found):
        raise NoInputError(f"raw folder {raw_dir} holds no batch file; nothing to publish")
    return found


def not_read(raw_dir: Path, study_id: str, path: Path, status: str, error: str) -> FileRead:
    """The manifest entry of an entry that is not read (refused, vanished, unreadable)."""
    try:
        size = path.lstat().st_size
    except OSError:
        size = 0
    name = entries.display_name(path.relative_to(raw_dir))
    return FileRead(name, entries.display_name(study_id), None, size, status=status, error=error)


def read_file(
    path: Path,
    raw_dir: Path,
    study_id: str,
    study: StudyConfig | None = None,
    cache: ReadCache | None = None,
    slim: bool = False,
    max_expanded_bytes: int = MAX_EXPANDED_BYTES,
    engine: bool = True,
) -> FileRead:
    """Read one export file; never raises for bad content (the manifest says what went wrong).

    The file is read once: the bytes hashed for the cache key are the bytes parsed. `slim` (with a
    cache): the diary rows are stored in the cache and not returned, only their count and side
    summaries, so a run's first pass holds O(files), not O(rows). `engine=False` forces the
    Python parse (camg.ingest.parse) even for a regular file.
    """
    try:
        stream = entries.open_regular(path)
    except FileNotFoundError:
        return not_read(raw_dir, study_id, path, "failed", "file vanished before it was read")
    except PermissionError:
        return not_read(raw_dir, study_id, path, "failed", "permission denied: cannot read file")
    except (OSError, ValueError) as exc:
        return not_read(raw_dir, study_id, path, "failed", f"cannot read file: {exc}")
    with stream:
        try:
            sha256, size = file_digest(stream)
            stream.seek(0)
        except OSError as exc:
            return not_read(raw_dir, study_id, path, "failed", f"cannot read file: {exc}")
        source = Source(path.relative_to(raw_dir).as_posix(), study_id, study or StudyConfig())
        result = FileRead(source.source_file, study_id, sha256, size)
        if path.suffix.lower() in NOT_DATA_SUFFIXES:
            result.status = "ignored"
            return result
        return read_content(stream, result, source, cache, slim, max_expanded_bytes, engine)


def read_content(
    stream: BinaryIO,
    result: FileRead,
    source: Source,
    cache: ReadCache | None,
    slim: bool,
    max_expanded_bytes: int,
    engine: bool = True,
) -> FileRead:
    """A data file's rows: from its cache entry when its key is there, else parsed from `stream`."""
    version = cache.version if cache else ""
    key = entry_key(
        result.sha256 or "", source.source_file, source.study_id, source.study.digest, version
    )
    result.cache_key = key if cache else None
    slim = slim and cache is not None
    kinds = {"totals", "dates"} if slim else None  # slim: weights stay in the cache too
    hit = cache.load(key, kinds) if cache else None
    wanted = {*parse.CACHED_FIELDS, *parse.COUNTED_KINDS}
    if hit is not None and wanted <= hit[0].keys():  # else parse again
        parse.from_cache(result, *hit, slim=slim)
        return result
    parse.parsed(stream, result, source, cache if slim else None, max_expanded_bytes, engine)
    if cache:
        parse.store(cache, result)
    if slim and cache:
        result.diary_rows = result.n_diary
        result.diary = empty_raw_diary()
        result.participant_rows = result.participants.height
        result.participants = empty_raw_participants()
        result.weights = result.weights.clear()  # in the cache: `study_weights` reads them back
    return result


def study_read(batch_dir: Path, raw_dir: Path, error: str | None) -> FileRead:
    """The manifest entry of a batch's study.toml: `config` when used, `failed` with its error."""
    path = batch_dir / STUDY_FILE
    try:
        data = entries.read_regular(path)
    except (OSError, ValueError) as exc:
        return not_read(raw_dir, batch_dir.name, path, "failed", f"cannot read file: {exc}")
    return FileRead(
        path.relative_to(raw_dir).as_posix(),
        batch_dir.name,
        hashlib.sha256(data).hexdigest(),
        len(data),
        format="study_toml",
        status="failed" if error else "config",
        error=error,
    )


def read_found(
    found: tuple[str, Path],
    raw_dir: Path,
    marts_dir: Path | None = None,
    slim: bool = False,
    max_expanded_bytes: int = MAX_EXPANDED_BYTES,
    engine: bool = True,
) -> FileRead:
    """One discovered (study_id, path) read with its batch's study.toml; the unit of fan-out.

    An entry outside the trust boundary (`camg.ingest.entries`) gets its manifest row and reason.
    With `marts_dir`, an unchanged file's rows come from the cache under it instead of a new parse
    (and with `slim`, diary rows stay there: see `read_file`).
    """
    study_id, path = found
    if (refused := entries.refusal(raw_dir, study_id, path)) is not None:
        return not_read(raw_dir, study_id, path, *refused)
    batch_dir = raw_dir / study_id
    study, error = load_study(batch_dir)
    if path == batch_dir / STUDY_FILE:
        return study_read(batch_dir, raw_dir, error)
    cache = ReadCache(marts_dir) if marts_dir is not None else None
    try:
        return read_file(path, raw_dir, study_id, study, cache, slim, max_expanded_bytes, engine)
    except Exception as exc:  # whatever one file raises is that file's failure, not the run's
        LOG.error("file %s failed while read", path, exc_info=exc)
        error = f"reading the file raised an unexpected error: {type(exc).__name__}: {exc}"
        return not_read(raw_dir, study_id, path, "failed", " ".join(error.split()))


def batch_files(raw_dir: Path, study: str = "") -> list[tuple[str, Path]]:
    """The (study_id, path) entries a run reads: every batch's, or only batch `study`'s.

    Why a filter and not a folder of links to the one batch: the raw folder's trust boundary
    refuses links that lead out of it, and a batch keeps its own `source_file` names this way.
    """
    found = discover(raw_dir)
    return [entry for entry in found if entry[0] == study] if study else found


def scan_found(
    found: tuple[str, Path],
    raw_dir: Path,
    marts_dir: Path,
    max_expanded_bytes: int = MAX_EXPANDED_BYTES,
    engine: bool = True,
) -> FileRead:
    """A run's first pass over one file: read (or reuse) it, leaving its diary rows in the cache.

    `engine=False` (setting `engine_reader`) forces the Python parse for every file.
    """
    return read_found(found, raw_dir, marts_dir, True, max_expanded_bytes, engine)


def prune_cache(marts_dir: Path, reads: list[FileRead]) -> int:
    """Drop cache entries no file of this run used (changed or removed files); how many went."""
    return ReadCache(marts_dir).prune({r.cache_key for r in reads if r.cache_key})


def read_raw(raw_dir: Path, marts_dir: Path | None = None, engine: bool = True) -> list[FileRead]:
    """Read every file of every batch under `raw_dir`; with `marts_dir`, through its file cache."""
    found = discover(raw_dir)
    reads = [read_found(entry, raw_dir, marts_dir, engine=engine) for entry in found]
    if marts_dir is not None:
        prune_cache(marts_dir, reads)
    return reads
