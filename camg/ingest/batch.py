"""Ingest stage entry: a raw folder of batches -> raw diary rows, participants, totals, file manifest.

A batch is `raw/<study_id>/`; every file in it is read on its own, its format recognised from its
content (a batch's study.toml may narrow the formats and set defaults). A file that cannot be read is
recorded in the manifest with its status and error, and the rest go on. With a cache, an unchanged
file's rows are reused instead of parsed again (`camg.cache`).
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandera.polars as pa
import polars as pl

from camg.cache import ParquetStream, ReadCache, entry_key
from camg.ingest import delimited, sidecar
from camg.ingest.delimited import (
    DelimitedText,
    EmptyFileError,
    UnreadableFileError,
    parse_delimited,
    read_bytes,
)
from camg.ingest.formats import RAW_MODELS, recognise
from camg.ingest.study import STUDY_FILE, Source, StudyConfig, load_study
from camg.ingest.xpt import is_xport, parse_xport
from schemas.diary import empty_raw_diary, empty_raw_totals
from schemas.participants import empty_raw_participants

# Files in a batch folder that are documentation or configuration, not data.
NOT_DATA_SUFFIXES = {".md", ".txt", ".toml", ".json", ".yaml", ".yml", ".pdf"}


@dataclass
class FileRead:
    """What reading one file gave: its manifest entry and its raw rows."""

    source_file: str
    study_id: str
    sha256: str
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


def sha256_of(path: Path) -> str:
    """The file's sha256, streamed so a large export is not held twice."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class NoInputError(Exception):
    """The raw folder is missing or holds no file: publishing would replace good marts with empty ones."""


def discover(raw_dir: Path) -> list[tuple[str, Path]]:
    """(study_id, path) for every data file under raw/<study_id>/, sorted for a stable order."""
    if not raw_dir.is_dir():
        raise NoInputError(f"raw folder {raw_dir} does not exist (is the share mounted?)")
    found = []
    for batch in sorted(p for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(batch.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                found.append((batch.name, path))
    if not found:
        raise NoInputError(f"raw folder {raw_dir} holds no batch file; nothing to publish")
    return found


def parse_bytes(path: Path) -> DelimitedText:
    """A file's records as text: SAS transport or delimited, gzip or not (from content, not name)."""
    data = read_bytes(path)
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


def parse_file(path: Path, result: FileRead, source: Source, sink: DiarySink | None = None) -> bool:
    """Parse one file into `result` (diary rows into `sink` if given).

    False when the failure may be transient (do not cache it).
    """
    try:
        text = parse_bytes(path)
    except EmptyFileError as exc:
        result.status, result.error = "empty", str(exc)
        return True
    except (UnreadableFileError, UnicodeError) as exc:
        result.status, result.error = "failed", str(exc)
        return True
    except OSError as exc:
        result.status, result.error = "failed", f"cannot read file: {exc}"
        return False
    try:
        fill_rows(result, text, source, sink)
    except (pl.exceptions.PolarsError, pa.errors.SchemaError) as exc:
        result.status, result.error = "failed", f"reader error: {exc}"
        result.diary, result.participants = empty_raw_diary(), empty_raw_participants()
        result.totals = empty_raw_totals()
    return True


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


def read_file(
    path: Path,
    raw_dir: Path,
    study_id: str,
    study: StudyConfig | None = None,
    cache: ReadCache | None = None,
    slim: bool = False,
) -> FileRead:
    """Read one export file; never raises for bad content (the manifest says what went wrong).

    `slim` (with a cache): the diary rows are stored in the cache and not returned, only their
    count and side summaries, so a run's first pass holds O(files), not O(rows).
    """
    source = Source(path.relative_to(raw_dir).as_posix(), study_id, study or StudyConfig())
    result = FileRead(source.source_file, study_id, sha256_of(path), path.stat().st_size)
    if path.suffix.lower() in NOT_DATA_SUFFIXES:
        result.status = "ignored"
        return result
    key = entry_key(
        result.sha256,
        source.source_file,
        study_id,
        source.study.digest,
        cache.version if cache else "",
    )
    result.cache_key = key if cache else None
    slim = slim and cache is not None
    kinds = {"totals", "dates"} if slim else None  # slim: weights stay in the cache too
    hit = cache.load(key, kinds) if cache else None
    if hit is not None and {*CACHED_FIELDS, *COUNTED_KINDS} <= hit[0].keys():  # else parse again
        from_cache(result, *hit, slim=slim)
        return result
    result.read_from = "parsed"
    sink = DiarySink(cache.stream(key, "diary")) if slim and cache else None
    cacheable = parse_file(path, result, source, sink)
    streamed = sink is not None and sink.rows > 0 and result.status != "failed"
    if sink is not None:
        sink.stream.close(keep=streamed)  # camg.parts reads the rows from there
    if streamed:
        result.diary_rows = sink.rows
        result.weights, result.dates = sink.summaries()
    else:
        with_side_summaries(result)
    if cache and cacheable:
        meta = {name: getattr(result, name) for name in CACHED_FIELDS}
        meta["diary_rows"] = result.n_diary
        meta["participant_rows"] = result.participants.height
        kinds = [*RAW_MODELS, *SIDE_KINDS]
        frames = {k: getattr(result, k) for k in kinds if getattr(result, k).height}
        cache.store(key, meta, frames, streamed=["diary"] if streamed else [])
    if slim and cacheable and not streamed:
        result.diary_rows, result.diary = result.diary.height, empty_raw_diary()
    if slim and cacheable:
        result.participant_rows = result.participants.height
        result.participants = empty_raw_participants()
        result.weights = result.weights.clear()  # in the cache: `study_weights` reads them back
    return result


def study_read(batch_dir: Path, raw_dir: Path, error: str | None) -> FileRead:
    """The manifest entry of a batch's study.toml: `config` when used, `failed` with its error."""
    path = batch_dir / STUDY_FILE
    return FileRead(
        path.relative_to(raw_dir).as_posix(),
        batch_dir.name,
        sha256_of(path),
        path.stat().st_size,
        format="study_toml",
        status="failed" if error else "config",
        error=error,
    )


def read_found(
    found: tuple[str, Path], raw_dir: Path, marts_dir: Path | None = None, slim: bool = False
) -> FileRead:
    """One discovered (study_id, path) read with its batch's study.toml; the unit of fan-out.

    With `marts_dir`, an unchanged file's rows come from the cache under it instead of a new parse
    (and with `slim`, diary rows stay there: see `read_file`).
    """
    study_id, path = found
    batch_dir = raw_dir / study_id
    study, error = load_study(batch_dir)
    if path == batch_dir / STUDY_FILE:
        return study_read(batch_dir, raw_dir, error)
    cache = ReadCache(marts_dir) if marts_dir is not None else None
    return read_file(path, raw_dir, study_id, study, cache, slim)


def scan_found(found: tuple[str, Path], raw_dir: Path, marts_dir: Path) -> FileRead:
    """A run's first pass over one file: read (or reuse) it, leaving its diary rows in the cache."""
    return read_found(found, raw_dir, marts_dir, slim=True)


def prune_cache(marts_dir: Path, reads: list[FileRead]) -> int:
    """Drop cache entries no file of this run used (changed or removed files); how many went."""
    return ReadCache(marts_dir).prune({r.cache_key for r in reads if r.cache_key})


def read_raw(raw_dir: Path, marts_dir: Path | None = None) -> list[FileRead]:
    """Read every file of every batch under `raw_dir`; with `marts_dir`, through its file cache."""
    reads = [read_found(found, raw_dir, marts_dir) for found in discover(raw_dir)]
    if marts_dir is not None:
        prune_cache(marts_dir, reads)
    return reads
