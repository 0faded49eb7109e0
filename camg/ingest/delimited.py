"""Ingest helper: a delimited text file (any encoding, delimiter, line end, gzip) -> rows of text.

Every export format is a delimited file at heart; this module is the one place that tells text
from binary, finds the delimiter and the header, and hands out the records with each one's
physical line number and raw text, so that a bad row can go to quarantine exactly as it arrived.
The file is streamed (issue 17, bounded memory): bytes come in blocks (camg.ingest.source), are
decoded line by line (camg.ingest.lines) and cut into records (camg.ingest.records) as the reader
asks for them, so memory follows the chunk of records being validated, not the file.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

import polars as pl

from camg.ingest import source
from camg.ingest.errors import EmptyFileError, UnreadableFileError
from camg.ingest.lines import LineDecoder
from camg.ingest.records import RecordReader, rows_frame

DELIMITERS = [",", "\t", ";", "|"]
# Share of C0 control bytes (other than tab, CR, LF) in a file's head above which it is binary.
BINARY_CONTROL_SHARE = 0.05
# Bytes of a file's head looked at to tell text from binary (and a blank file from one with data).
HEAD_BYTES = 4096
# Columns the parser adds to every record; a header naming one of them is renamed, never overwritten.
RESERVED_COLUMNS = ("source_line", "raw_line", "n_fields")
# Only whitespace (matched without copying, as bytes.strip() would).
BLANK_BYTES = re.compile(rb"\s*\Z")
# Characters that never belong in a diary value: C0 controls other than tab/CR/LF, and DEL.
CONTROL_CHARS_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
# Records split into columns at once: the knob for a parse's peak memory (a split record holds
# about 400 bytes until it is written out; see camg.ingest.batch).
CHUNK_RECORDS = 200_000
# Bytes of an in-memory file parsed at once (`parse_delimited`; a file on disk: source.BLOCK_BYTES).
SEGMENT_BYTES = source.BLOCK_BYTES


class DelimitedText:
    """A delimited file being read: its header, delimiter and encoding, and its records as frames.

    The records are one column per header name (text) + source_line, raw_line, n_fields, read
    from the stream as `chunks` asks (a file on disk is read once: its chunks can be taken once).
    The encoding is final once the records have been read (it is decided line by line).
    """

    def __init__(
        self,
        header: list[str],
        encoding: str | LineDecoder,
        delimiter: str,
        split: pl.DataFrame | None = None,
        frames: Callable[[], Iterator[pl.DataFrame]] | None = None,
    ) -> None:
        """`split`: every record at once (SAS transport); `frames`: makes the record stream."""
        self.header, self.delimiter = header, delimiter
        self._encoding, self.split, self.frames = encoding, split, frames

    @property
    def encoding(self) -> str:
        """The encoding name (of the lines read so far, for a stream not read to its end)."""
        return self._encoding if isinstance(self._encoding, str) else self._encoding.encoding

    @property
    def rows(self) -> pl.DataFrame:
        """Every record at once."""
        return pl.concat(list(self.chunks(None)))

    def chunks(self, size: int | None) -> Iterator[pl.DataFrame]:
        """The records in order, at most `size` at a time (None: all at once); at least one chunk."""
        empty = rows_frame({}, self.header)
        if self.frames is None:
            yield self.split if self.split is not None else empty
            return
        yield from rechunked(self.frames(), size, empty)

    def drain(self) -> None:
        """Read the rest of the stream without keeping it (so the encoding is final)."""
        for _ in self.frames() if self.frames is not None else ():
            pass


def rechunked(
    frames: Iterable[pl.DataFrame], size: int | None, empty: pl.DataFrame
) -> Iterator[pl.DataFrame]:
    """Frames regrouped into frames of `size` rows (None: one frame); at least one frame."""
    held: list[pl.DataFrame] = []
    n_held, yielded = 0, False
    for frame in frames:
        held.append(frame)
        n_held += frame.height
        while size is not None and n_held >= size:
            whole = pl.concat(held)
            yield whole.slice(0, size)
            yielded = True
            rest = whole.slice(size)
            held, n_held = [rest], rest.height
    if n_held or not yielded:
        yield pl.concat(held) if held else empty


def looks_binary(data: bytes) -> bool:
    """True when the head of the file is not text (an image, a zip, a spreadsheet, random bytes).

    Text in any 8-bit encoding has almost no C0 control bytes besides tab, CR and LF; compressed or
    binary data has about one in nine. A few stray controls (a NUL in one row) stay text, so that row
    alone goes to quarantine.
    """
    head = data[:HEAD_BYTES]
    if not head:
        return False
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13)) + head.count(127)
    return controls / len(head) > BINARY_CONTROL_SHARE


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most fields (comma on a tie)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 0 else ","


def unique_names(names: list[str]) -> list[str]:
    """Header names made unique (`a`, `a` -> `a`, `a_2`) so no column is silently overwritten."""
    taken: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name}_{n}"
        taken.add(candidate)
        out.append(candidate)
    return out


def distinct_from_reserved(names: list[str]) -> list[str]:
    """Names made unique, and never one of the columns camg adds (a `raw_line` header -> `raw_line_2`)."""
    return unique_names([*RESERVED_COLUMNS, *names])[len(RESERVED_COLUMNS) :]


def clean_header(names: list[str]) -> list[str]:
    """Header names trimmed (BOM included) and made unique; an all-empty header is unreadable."""
    header = distinct_from_reserved([h.strip().strip("\ufeff") for h in names])
    if not any(header):
        raise UnreadableFileError("header row is empty")
    return header


def head_of(blocks: Iterator[bytes]) -> bytes:
    """The first HEAD_BYTES (or more) of the stream; for a blank head, until it is not blank.

    A file of only whitespace is empty; one whose first line is blank has no header. Both are
    told without keeping the whitespace (a blank first line may be followed by gigabytes).
    """
    head = b""
    for block in blocks:
        head += block
        if len(head) >= HEAD_BYTES and (not BLANK_BYTES.match(head) or b"\n" in head):
            break
    if not BLANK_BYTES.match(head):
        return head
    if any(not BLANK_BYTES.match(block) for block in blocks):
        raise UnreadableFileError("header row is empty")
    raise EmptyFileError("file is empty")


def stream_delimited(blocks: Iterable[bytes], fast: bool = True) -> DelimitedText:
    """A delimited file from its byte blocks: header read now, records as they are asked for.

    Blank lines are skipped (they are not records). A record with the wrong number of fields keeps
    its raw text and `n_fields`, so validation can quarantine it as a ragged line. `fast=False`
    forces the csv-module path (tests compare the two).
    """
    blocks = iter(blocks)
    head = head_of(blocks)
    if looks_binary(head):
        raise UnreadableFileError("file is binary, not delimited text")
    decoder = LineDecoder()
    segments = decoder.segments(chain([head], blocks))
    first = next(segments, "")
    delimiter = sniff_delimiter(first[: first.find("\n")] if "\n" in first else first)
    reader = RecordReader(chain([first], segments), delimiter, fast)
    fields = reader.header()
    if fields is None:
        raise UnreadableFileError("file has no header")
    header = clean_header(fields)
    return DelimitedText(
        header, decoder, delimiter, frames=read_once(lambda: reader.frames(header))
    )


def read_once(
    make: Callable[[], Iterator[pl.DataFrame]],
) -> Callable[[], Iterator[pl.DataFrame]]:
    """`make` as a record stream that refuses a second call: a streamed file can be read once."""
    used = False

    def frames() -> Iterator[pl.DataFrame]:
        nonlocal used
        if used:
            raise RuntimeError("a streamed file's records can be read once")
        used = True
        return make()

    return frames


def in_segments(data: bytes) -> Iterator[bytes]:
    """Bytes in memory as blocks of SEGMENT_BYTES."""
    size = max(1, SEGMENT_BYTES)
    return (data[i : i + size] for i in range(0, max(1, len(data)), size))


def parse_delimited(data: bytes, fast: bool = True) -> DelimitedText:
    """`stream_delimited` of bytes in memory; its records can be read any number of times."""
    text = stream_delimited(in_segments(data), fast)
    text.drain()  # the encoding of every line

    def frames() -> Iterator[pl.DataFrame]:
        return stream_delimited(in_segments(data), fast).frames()

    return DelimitedText(text.header, text.encoding, text.delimiter, frames=frames)


def reader_rule(n_header: int) -> pl.Expr:
    """The reader-level rule a record breaks, or null: a ragged line or control characters."""
    return (
        pl.when(pl.col("n_fields") != n_header)
        .then(pl.lit("row.ragged"))
        .when(pl.col("raw_line").str.contains(CONTROL_CHARS_PATTERN))
        .then(pl.lit("row.control_characters"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def renamed_columns(rows: pl.DataFrame, header: list[str], case: str) -> pl.DataFrame:
    """Header columns renamed to one case (`lower` or `upper`), kept unique (`a`, `A` -> `a`, `a_2`)."""
    names = distinct_from_reserved([getattr(h, case)() for h in header])
    return rows.rename({h: n for h, n in zip(header, names, strict=True) if h != n})


def column_or_null(rows: pl.DataFrame, name: str) -> pl.Expr:
    """A column if the file has it, else null text (files and cycles differ in their columns)."""
    return pl.col(name) if name in rows.columns else pl.lit(None, dtype=pl.String)


def provenance_columns(source_file: str, study_id: str, n_header: int) -> list[pl.Expr]:
    """The columns every reader puts first: where a record came from and what the reader saw."""
    return [
        pl.lit(source_file).alias("source_file"),
        pl.col("source_line"),
        pl.col("raw_line"),
        reader_rule(n_header).alias("reader_rule"),
        pl.lit(study_id).alias("study_id"),
    ]
