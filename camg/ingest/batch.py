"""Ingest stage entry: a raw folder of batches -> raw diary rows, participants, totals, file manifest.

A batch is `raw/<study_id>/`; every file in it is read on its own, its format recognised from its
content (a batch's study.toml may narrow the formats and set defaults). A file that cannot be read is
recorded in the manifest with its status and error, and the rest go on. With a cache, an unchanged
file's rows are reused instead of parsed again (`camg.cache`).
"""

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandera.polars as pa
import polars as pl

from camg.cache import ParquetStream, ReadCache, entry_key
from camg.ingest import delimited, entries, sidecar
from camg.ingest.delimited import (
    MAX_EXPANDED_BYTES,
    DelimitedText,
    EmptyFileError,
    UnreadableFileError,
    expanded,
    parse_delimited,
)
from camg.ingest.formats import RAW_MODELS, recognise
from camg.ingest.study import STUDY_FILE, Source, StudyConfig, load_study
from camg.ingest.xpt import is_xport, parse_xport
from schemas.diary import empty_raw_diary, empty_raw_totals
from schemas.participants import empty_raw_participants

LOG = logging.getLogger(__name__)
# Files in a batch folder that are documentation or configuration, not data.
NOT_DATA_SUFFIXES = {".md", ".txt", ".toml", ".json", ".yaml", ".yml", ".pdf"}


@dataclass
class FileRead:
    """What reading one file gave: its manifest entry and its raw rows."""

    source_file: str
    study_id: str
    sha256: str | None  # None: not read (see `error`)
    size_bytes: int
    format: str | None = None
    status: str = "read"  # read, empty, failed, ignored, config
    error: str | None = None
    encoding: str | None = None
    read_from: str | None = None  # parsed, cache (None: not a data file)
    cache_key: str | None = None
    diary: pl.DataFrame = field(default_factory=empty_raw_diary)
    participants: pl.DataFrame = field(default_factory=empty_raw_participants)
    totals: pl.DataFrame = field(default_factory=empty_raw_totals)
    # Set when the diary (participant) rows stay in the cache (a run's first pass): their count.
    diary_rows: int | None = None
    participant_rows: int | None = None
    weights: pl.DataFrame = field(default_factory=lambda: sidecar.dietary_weights(pl.DataFrame()))
    dates: pl.DataFrame = field(default_factory=lambda: sidecar.intake_dates(pl.DataFrame()))
    streamed: bool = False  # the diary rows went straight into the cache entry

    @property
    def n_diary(self) -> int:
        """Diary rows the file holds, whether in memory or left in the cache."""
        return self.diary.height if self.diary_rows is None else self.diary_rows

    @property
    def rows_in(self) -> int:
        """Records read from the file (diary, participant or recall-total rows)."""
        return self.n_diary + self.n_participants + self.totals.height

    @property
    def n_participants(self) -> int:
        """Participant rows the file holds, whether in memory or left in the cache."""
        return self.participants.height if self.participant_rows is None else self.participant_rows


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


def parse_bytes(data: bytes, max_expanded_bytes: int = MAX_EXPANDED_BYTES) -> DelimitedText:
    """A file's records as text: SAS transport or delimited, gzip or not (from content, not name)."""
    data = expanded(data, max_expanded_bytes)
    return parse_xport(data) if is_xport(data) else parse_delimited(data)


class DiarySink:
    """A file's raw diary rows streamed into the cache chunk by chunk, with their count and summaries.

    A run's first pass then holds one chunk of a big file's rows, not all of them (camg.parts reads
    the rows back from the cache in slices).
    """

    def __init__(self, stream: ParquetStream) -> None:
        """A sink writing into `stream`."""
        self.stream, self.rows = stream, 0
        self.weights: list[pl.DataFrame] = []
        self.dates: list[pl.DataFrame] = []

    def __call__(self, rows: pl.DataFrame) -> None:
        """Write one chunk and summarise it (the summaries of chunks combine like the whole's)."""
        if rows.height:
            self.stream.write(rows)
            self.rows += rows.height
            self.weights.append(sidecar.dietary_weights(rows))
            self.dates.append(sidecar.intake_dates(rows))

    def summaries(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The weights and dates of all chunks, as `sidecar` gives them for the whole file."""
        dates = pl.concat([sidecar.intake_dates(pl.DataFrame()), *self.dates])
        return sidecar.combined_weights(self.weights), dates.unique().sort(pl.all())


def fill_rows(
    result: FileRead, text: DelimitedText, source: Source, sink: DiarySink | None = None
) -> None:
    """Recognise the format and run its reader chunk by chunk; no records at all is status `empty`.

    With `sink`, diary rows go to it instead of `result.diary`.
    """
    result.encoding = text.encoding
    fmt = recognise(text.header, source.study.format)
    if fmt is None:
        wanted = f" ({source.study.format} per study.toml)" if source.study.format else ""
        result.status = "failed"
        result.error = f"unrecognised format{wanted}: header matches no known export"
        return
    result.format = fmt.name
    model, frames, n_rows = RAW_MODELS[fmt.yields], [], 0
    for chunk in text.chunks(delimited.CHUNK_RECORDS):
        rows = model.validate(fmt.read(chunk, text.header, source))
        n_rows += rows.height
        if sink is not None and fmt.yields == "diary":
            sink(rows)
        else:
            frames.append(rows)
    if frames:
        setattr(result, fmt.yields, pl.concat(frames))
    if n_rows == 0:
        result.status, result.error = "empty", "header only: the file holds no records"


def parse_file(
    data: bytes,
    result: FileRead,
    source: Source,
    sink: DiarySink | None = None,
    max_expanded_bytes: int = MAX_EXPANDED_BYTES,
) -> None:
    """Parse one file's bytes into `result` (diary rows into `sink` if given)."""
    try:
        text = parse_bytes(data, max_expanded_bytes)
    except EmptyFileError as exc:
        result.status, result.error = "empty", str(exc)
        return
    except (UnreadableFileError, UnicodeError) as exc:
        result.status, result.error = "failed", str(exc)
        return
    try:
        fill_rows(result, text, source, sink)
    except (pl.exceptions.PolarsError, pa.errors.SchemaError) as exc:
        result.status, result.error = "failed", f"reader error: {exc}"
        result.diary, result.participants = empty_raw_diary(), empty_raw_participants()
        result.totals = empty_raw_totals()


CACHED_FIELDS = ("format", "status", "error", "encoding")
# Row counts an entry records for the rows a first pass leaves in the cache.
COUNTED_KINDS = ("diary_rows", "participant_rows")
SIDE_KINDS = ("weights", "dates")


def with_side_summaries(result: FileRead) -> None:
    """Summarise the diary rows' weights and dates (cached with them; see `camg.ingest.sidecar`)."""
    result.weights = sidecar.dietary_weights(result.diary)
    result.dates = sidecar.intake_dates(result.diary)


def from_cache(result: FileRead, meta: dict, frames: dict[str, pl.DataFrame], slim: bool) -> None:
    """Fill `result` from a cache entry; `slim` leaves the diary rows in the cache."""
    for name in CACHED_FIELDS:
        setattr(result, name, meta[name])
    for kind, frame in frames.items():
        setattr(result, kind, frame)
    if slim:
        result.diary_rows = meta["diary_rows"]
        result.participant_rows = meta["participant_rows"]
    result.read_from = "cache"


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
) -> FileRead:
    """Read one export file; never raises for bad content (the manifest says what went wrong).

    The file is read once: the bytes hashed for the cache key are the bytes parsed. `slim` (with a
    cache): the diary rows are stored in the cache and not returned, only their count and side
    summaries, so a run's first pass holds O(files), not O(rows).
    """
    try:
        data = entries.read_regular(path)
    except FileNotFoundError:
        return not_read(raw_dir, study_id, path, "failed", "file vanished before it was read")
    except PermissionError:
        return not_read(raw_dir, study_id, path, "failed", "permission denied: cannot read file")
    except (OSError, ValueError) as exc:
        return not_read(raw_dir, study_id, path, "failed", f"cannot read file: {exc}")
    source = Source(path.relative_to(raw_dir).as_posix(), study_id, study or StudyConfig())
    sha256 = hashlib.sha256(data).hexdigest()
    result = FileRead(source.source_file, study_id, sha256, len(data))
    if path.suffix.lower() in NOT_DATA_SUFFIXES:
        result.status = "ignored"
        return result
    version = cache.version if cache else ""
    key = entry_key(sha256, source.source_file, study_id, source.study.digest, version)
    result.cache_key = key if cache else None
    slim = slim and cache is not None
    kinds = {"totals", "dates"} if slim else None  # slim: weights stay in the cache too
    hit = cache.load(key, kinds) if cache else None
    if hit is not None and {*CACHED_FIELDS, *COUNTED_KINDS} <= hit[0].keys():  # else parse again
        from_cache(result, *hit, slim=slim)
        return result
    parsed(data, result, source, cache if slim else None, max_expanded_bytes)
    if cache:
        store(cache, result)
    if slim and cache:
        result.diary_rows = result.n_diary
        result.diary = empty_raw_diary()
        result.participant_rows = result.participants.height
        result.participants = empty_raw_participants()
        result.weights = result.weights.clear()  # in the cache: `study_weights` reads them back
    return result


def parsed(
    data: bytes,
    result: FileRead,
    source: Source,
    cache: ReadCache | None,
    max_expanded_bytes: int,
) -> None:
    """Parse into `result`; with `cache` (a first pass), diary rows stream into its entry."""
    result.read_from = "parsed"
    key = result.cache_key
    sink = DiarySink(cache.stream(key, "diary")) if cache and key else None
    try:
        parse_file(data, result, source, sink, max_expanded_bytes)
    except BaseException:
        if sink is not None:
            sink.stream.close(keep=False)
        raise
    streamed = sink is not None and sink.rows > 0 and result.status != "failed"
    if sink is not None:
        sink.stream.close(keep=streamed)  # camg.parts reads the rows from there
    if streamed:
        result.diary_rows = sink.rows
        result.weights, result.dates = sink.summaries()
        result.streamed = True
    else:
        with_side_summaries(result)


def store(cache: ReadCache, result: FileRead) -> None:
    """Write a parsed file's entry (its streamed diary rows are already there)."""
    meta = {name: getattr(result, name) for name in CACHED_FIELDS}
    meta["diary_rows"] = result.n_diary
    meta["participant_rows"] = result.participants.height
    kinds = [*RAW_MODELS, *SIDE_KINDS]
    frames = {k: getattr(result, k) for k in kinds if getattr(result, k).height}
    cache.store(result.cache_key, meta, frames, streamed=["diary"] if result.streamed else [])


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
        return read_file(path, raw_dir, study_id, study, cache, slim, max_expanded_bytes)
    except Exception as exc:  # whatever one file raises is that file's failure, not the run's
        LOG.error("file %s failed while read", path, exc_info=exc)
        error = f"reading the file raised an unexpected error: {type(exc).__name__}: {exc}"
        return not_read(raw_dir, study_id, path, "failed", " ".join(error.split()))


def scan_found(
    found: tuple[str, Path],
    raw_dir: Path,
    marts_dir: Path,
    max_expanded_bytes: int = MAX_EXPANDED_BYTES,
) -> FileRead:
    """A run's first pass over one file: read (or reuse) it, leaving its diary rows in the cache."""
    return read_found(found, raw_dir, marts_dir, True, max_expanded_bytes)


def prune_cache(marts_dir: Path, reads: list[FileRead]) -> int:
    """Drop cache entries no file of this run used (changed or removed files); how many went."""
    return ReadCache(marts_dir).prune({r.cache_key for r in reads if r.cache_key})


def read_raw(raw_dir: Path, marts_dir: Path | None = None) -> list[FileRead]:
    """Read every file of every batch under `raw_dir`; with `marts_dir`, through its file cache."""
    reads = [read_found(found, raw_dir, marts_dir) for found in discover(raw_dir)]
    if marts_dir is not None:
        prune_cache(marts_dir, reads)
    return reads
