"""Ingest stage, one file: its open stream -> records of its format -> rows into the cache or memory.

The file is read as a stream (camg.ingest.source, camg.ingest.delimited): diary rows go chunk by
chunk into the file cache (`DiarySink`), so a run's first pass holds one chunk of a big file, never
the whole file, its expanded text or all its rows. The bytes parsed are hashed as they are read and
must be the bytes whose hash keys the cache entry. A regular file's records are read by the engine
(camg.ingest.engine_lines); any other file, or one the engine refuses, by the Python parse.
"""

import copy
import logging
from collections.abc import Iterable
from itertools import chain
from typing import BinaryIO

import pandera.polars as pa
import polars as pl

from camg.ingest import delimited, engine_lines, sidecar, source, transcode
from camg.ingest.delimited import DelimitedText, stream_delimited
from camg.ingest.errors import EmptyFileError, NeedsCopy, UnreadableFileError
from camg.ingest.fileread import FileRead
from camg.ingest.formats import RAW_MODELS, recognise
from camg.ingest.study import Source
from camg.ingest.xpt import is_xport, parse_xport
from camg.ops.cache import ParquetStream, ReadCache
from schemas.diary import empty_raw_diary, empty_raw_totals
from schemas.participants import empty_raw_participants

LOG = logging.getLogger(__name__)
CHANGED_WHILE_READ = "file changed while it was read (its bytes differ from those hashed): not read"


def open_text(stream: BinaryIO, max_expanded_bytes: int) -> DelimitedText:
    """A file's records as text: SAS transport (read whole) or delimited (streamed), gzip or not."""
    blocks = source.blocks(stream, max_expanded_bytes)
    first = next(blocks, b"")
    if is_xport(first):  # pandas reads a transport file whole: up to the limit, then refused
        return parse_xport(bounded(chain([first], blocks), max_expanded_bytes))
    return stream_delimited(chain([first], blocks))


def bounded(blocks: Iterable[bytes], max_bytes: int) -> bytes:
    """The blocks joined, or UnreadableFileError past `max_bytes` (never held beyond it)."""
    held, size = [], 0
    for block in blocks:
        size += len(block)
        if size > max_bytes:
            raise UnreadableFileError(
                f"SAS transport file is larger than {max_bytes:,} bytes "
                "(setting max_expanded_bytes): not read"
            )
        held.append(block)
    return b"".join(held)


class DiarySink:
    """A file's raw diary rows streamed into the cache chunk by chunk, with their count and summaries.

    A run's first pass then holds one chunk of a big file's rows, not all of them
    (camg.pipeline.diary_files reads the rows back from the cache in slices).
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

    def restart(self) -> None:
        """Forget what was written (the engine gave up on the file; the Python parse starts over)."""
        self.stream.close(keep=False)
        self.stream, self.rows = ParquetStream(self.stream.path), 0
        self.weights, self.dates = [], []

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
    fmt = recognise(text.header, source.study.format)
    if fmt is None:
        text.drain()  # the encoding is decided by every line
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
    stream: BinaryIO,
    result: FileRead,
    source_: Source,
    sink: DiarySink | None = None,
    max_expanded_bytes: int = source.MAX_EXPANDED_BYTES,
    engine: bool = True,
) -> None:
    """Parse one open file into `result` (diary rows into `sink` if given), checking its hash.

    `engine`: a regular file's records are read by the engine; `False` forces the Python parse.
    """
    path = engine_lines.descriptor_path(stream, result.size_bytes) if engine else None
    if path is not None:
        if engine_parse(stream, path, result, source_, sink, max_expanded_bytes):
            return
        stream.seek(0)
    python_parse(stream, result, source_, sink, max_expanded_bytes)


def engine_parse(
    stream: BinaryIO,
    path: str,
    result: FileRead,
    source_: Source,
    sink: DiarySink | None,
    max_expanded_bytes: int,
) -> bool:
    """The engine's read of a file into `result`; False (nothing kept) when it cannot read it.

    The head (binary or text, header, delimiter, encoding) is read as the Python parse reads it;
    whatever that head or the engine finds wrong is left to the Python parse, which reports it.
    """
    before, check = copy.copy(result), source.HashCheck(stream)
    try:
        head = open_text(check, max_expanded_bytes)  # a transport file is read whole here
        if head.frames is None:
            fill_rows(result, head, source_, sink)
            result.encoding, result.reader = head.encoding, "python"
        else:
            engine_rows(path, head, result, source_, sink, max_expanded_bytes)
        if result.status == "failed":
            raise engine_lines.NotRegular(result.error)
    except Exception as exc:  # not regular, or any doubt: the Python parse reads it and reports
        LOG.debug("%s: read by the Python parse (%s)", result.source_file, exc)
        result.__dict__.update(copy.copy(before).__dict__)
        if sink is not None:
            sink.restart()
        return False
    if check.finish() != result.sha256:
        failed(result, CHANGED_WHILE_READ)
    return True


def engine_rows(
    path: str,
    head: DelimitedText,
    result: FileRead,
    source_: Source,
    sink: DiarySink | None,
    max_expanded_bytes: int,
) -> None:
    """The engine reading a delimited file's records into `result`, from a UTF-8 copy if need be.

    The copy (camg.ingest.transcode) goes beside the file's cache entry: with no cache, a file
    that is not UTF-8 is left to the Python parse. A file whose head is UTF-8 and a later line
    not, or a gzip file with a record over several lines, is read again from a copy, what was
    streamed of it dropped.
    """
    scratch = sink.stream.path.parent if sink is not None else None
    limits, before = (max_expanded_bytes, engine_lines.MAX_FILE_BYTES), copy.copy(result)
    for copied in (False, True):
        try:
            with transcode.utf8_file(path, head.encoding, scratch, limits, copied) as utf8:
                text = engine_lines.engine_text(utf8[0], head, utf8[1], max_expanded_bytes)
                fill_rows(result, text, source_, sink)
            break
        except NeedsCopy:
            if copied or sink is None or head.encoding not in transcode.ENGINE_ENCODINGS:
                raise
            result.__dict__.update(copy.copy(before).__dict__)
            sink.restart()
    result.encoding, result.reader = text.encoding, "engine"


def python_parse(
    stream: BinaryIO,
    result: FileRead,
    source_: Source,
    sink: DiarySink | None,
    max_expanded_bytes: int,
) -> None:
    """The Python parse (camg's own, streamed) of one open file (any encoding, quoting, line ends)."""
    result.reader = "python"
    check = source.HashCheck(stream)
    try:
        text = open_text(check, max_expanded_bytes)
    except EmptyFileError as exc:
        result.status, result.error = "empty", str(exc)
        return
    except (UnreadableFileError, UnicodeError) as exc:
        result.status, result.error = "failed", str(exc)
        return
    try:
        fill_rows(result, text, source_, sink)
    except (pl.exceptions.PolarsError, pa.errors.SchemaError) as exc:
        failed(result, f"reader error: {exc}")
    except (UnreadableFileError, UnicodeError) as exc:  # met mid-stream (gzip limit, bad bytes)
        failed(result, str(exc))
    result.encoding = text.encoding
    if result.status != "failed" and check.finish() != result.sha256:
        failed(result, CHANGED_WHILE_READ)


def failed(result: FileRead, error: str) -> None:
    """Mark `result` failed with `error`, holding no rows."""
    result.status, result.error = "failed", error
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


def parsed(
    stream: BinaryIO,
    result: FileRead,
    source: Source,
    cache: ReadCache | None,
    max_expanded_bytes: int,
    engine: bool = True,
) -> None:
    """Parse into `result`; with `cache` (a first pass), diary rows stream into its entry."""
    result.read_from = "parsed"
    key = result.cache_key
    sink = DiarySink(cache.stream(key, "diary")) if cache and key else None
    try:
        parse_file(stream, result, source, sink, max_expanded_bytes, engine)
    except BaseException:
        if sink is not None:
            sink.stream.close(keep=False)
        raise
    streamed = sink is not None and sink.rows > 0 and result.status != "failed"
    if sink is not None:
        sink.stream.close(keep=streamed)  # camg.pipeline.diary_files reads the rows from there
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
