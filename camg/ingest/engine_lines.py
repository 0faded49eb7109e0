"""Ingest fast path: the records of a regular delimited file, read by polars' CSV reader (the engine).

Why: gunzipping, checking UTF-8 and cutting lines are the engine's work, in native threads that
read the next batch while camg checks the last one; the engine numbers the lines itself. It holds
the file's bytes on disk whole (a gzip compressed), so only files up to MAX_FILE_BYTES go to it.
camg's own streamed parse (camg.ingest.lines, camg.ingest.records) stays for every other file and
every file the engine cannot read exactly as that parse would. The engine reads a file that is
strict UTF-8 (a UTF-8 BOM allowed) and holds no NUL and no carriage return other than in CRLF
line ends. It reads each line as one text column (no quoting, a separator byte no such file
holds) and numbers it; camg.ingest.engine_records cuts the lines into records and fields as the
csv module would (quoted fields, quotes doubled, line ends inside quotes), so both give the same
records, line numbers and raw text. Anything the engine refuses (invalid UTF-8, a damaged gzip,
a line holding the separator) or any record the expressions cannot cut exactly raises
`NotRegular`, and the caller parses the whole file again in Python, keeping nothing of the
attempt.
"""

import os
from collections.abc import Iterator
from typing import BinaryIO

import polars as pl

from camg.ingest.delimited import DelimitedText, read_once
from camg.ingest.engine_records import RecordCutter, split_records
from camg.ingest.errors import NeedsCopy, NotRegular

# The column separator the engine is given: a line holding it has more than one field and the
# engine refuses the file (then the Python parse reads it); regular text never holds it.
LINE_SEPARATOR = "\x1f"
# Characters the engine leaves to the Python parse: NUL (the csv module refuses its line), a
# carriage return outside CRLF (a line end to the csv module, not to the engine).
IRREGULAR_PATTERN = r"[\x00\r]"
# Bytes on disk past which a file is left to the Python parse (which holds 1 MiB blocks): polars'
# CSV reader holds the file's bytes whole while it reads them (a plain file as it is, a gzip
# compressed), so this bounds what the engine holds of one file.
MAX_FILE_BYTES = 64 << 20
# Lines the engine hands over at once: what it buffers follows this (measured on a 300 MB gzip:
# +123 MB peak over the interpreter at 50,000 lines, +144 MB at 200,000, +265 MB at 1,000,000).
BATCH_LINES = 50_000


def descriptor_path(stream: BinaryIO, size: int) -> str | None:
    """A path naming the very file `stream` has open (so no one can swap it), or None.

    None too for a file of more than MAX_FILE_BYTES (`size`): the Python parse streams it.

    Why /proc/self/fd: the raw folder's trust boundary opens each file once (camg.ingest.entries);
    the engine opens the same inode through it, never the name a link or a rename could change.
    """
    if size > MAX_FILE_BYTES:
        return None
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    path = f"/proc/self/fd/{fd}"
    return path if os.path.exists(path) else None


def line_scan(path: str) -> pl.LazyFrame:
    """Every physical line of the file as `raw_line` (null when empty) with its 1-based number."""
    return pl.scan_csv(
        path,
        has_header=False,
        separator=LINE_SEPARATOR,
        quote_char=None,
        infer_schema=False,
        new_columns=["raw_line"],
        row_index_name="source_line",
        row_index_offset=1,
        glob=False,
        raise_if_empty=False,
    ).select(pl.col("source_line").cast(pl.Int64), "raw_line")


def engine_batches(path: str, max_expanded_bytes: int) -> Iterator[pl.DataFrame]:
    """The file's lines batch by batch; NotRegular for any line or engine error the fast path refuses.

    The expanded size is counted as the lines come: past `max_expanded_bytes` the Python parse
    reads the file and fails it with its own message (a gzip bomb is never read to its end).
    """
    expanded = 0
    try:
        for batch in line_scan(path).collect_batches(chunk_size=BATCH_LINES):
            line = pl.col("raw_line")
            sizes = batch.select(
                (line.str.len_bytes().fill_null(0) + 1).sum().alias("bytes"),
                line.str.contains(IRREGULAR_PATTERN).any().alias("irregular"),
            ).row(0)
            expanded += sizes[0] or 0
            if sizes[1] or expanded > max_expanded_bytes:
                raise NotRegular("a line the engine cannot read as one record, or too large")
            yield batch
    except NotRegular:
        raise
    except Exception as exc:  # any engine error (bad UTF-8, damaged gzip, ...): the Python parse
        refused = NeedsCopy if "utf-8" in str(exc).lower() else NotRegular
        raise refused(f"engine refused the file: {type(exc).__name__}: {exc}") from exc


def engine_frames(
    path: str, header: list[str], delimiter: str, max_expanded_bytes: int
) -> Iterator[pl.DataFrame]:
    """The records after the header line, as `RecordReader.frames` gives them (quotes included)."""
    cutter = RecordCutter(path)
    for batch in engine_batches(path, max_expanded_bytes):
        records = cutter.records(batch)
        first = pl.col("source_line") == 1
        if records.select((first & (pl.col("n_lines") > 1)).any()).item():
            raise NotRegular("a header over several lines")
        records = records.filter(~first)
        if records.height:
            yield split_records(records, header, delimiter)
    cutter.finish()


def engine_text(
    path: str, head: DelimitedText, encoding: str, max_expanded_bytes: int
) -> DelimitedText:
    """`head` (the header and delimiter the Python parse read) with the engine reading its records.

    `path` is UTF-8 text (the file itself, or its UTF-8 copy: camg.ingest.transcode) and
    `encoding` the name the manifest keeps. NotRegular for a SAS transport file (read whole).
    """
    if head.frames is None:
        raise NotRegular("a transport file: read by the Python parse")
    frames = read_once(lambda: engine_frames(path, head.header, head.delimiter, max_expanded_bytes))
    return DelimitedText(head.header, encoding, head.delimiter, frames=frames)
