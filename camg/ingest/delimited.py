"""Ingest helper: a delimited text file (any encoding, delimiter, line end, gzip) -> rows of text.

Every export format is a delimited file at heart; this module is the one place that decodes bytes,
finds the delimiter and keeps each record's physical line number and raw text, so that a bad row can go
to quarantine exactly as it arrived.
"""

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

GZIP_MAGIC = b"\x1f\x8b"
DELIMITERS = [",", "\t", ";", "|"]
# Share of C0 control bytes (other than tab, CR, LF) in a file's head above which it is binary.
BINARY_CONTROL_SHARE = 0.05
# Columns the parser adds to every record; a header naming one of them is renamed, never overwritten.
RESERVED_COLUMNS = ("source_line", "raw_line", "n_fields")
# A file of only whitespace (matched without copying a large file, as bytes.strip() would).
BLANK_BYTES = re.compile(rb"\s*\Z")
# A line of only spaces and tabs is blank (not a record) in both the slow and the fast path.
BLANK_LINE = re.compile(r"[ \t\r\n]*")
# Characters that never belong in a diary value: C0 controls other than tab/CR/LF, and DEL.
CONTROL_CHARS_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


class UnreadableFileError(Exception):
    """The file cannot be read as delimited text at all (binary, truncated, empty)."""


class EmptyFileError(UnreadableFileError):
    """The file holds no bytes other than whitespace (manifest status `empty`, not `failed`)."""


# Records split into columns at once: the knob for a parse's peak memory (a split record holds
# about 400 bytes until it is written out; see camg.ingest.batch).
CHUNK_RECORDS = 200_000
# Characters of text cut into lines at once (the fast path's other memory knob).
SEGMENT_CHARS = 8_000_000


@dataclass(frozen=True)
class DelimitedText:
    """A decoded delimited file: its header, records and how it was read.

    The records are one column per header name (text) + source_line, raw_line, n_fields. `lines`
    (the fast path) holds the unsplit record lines, split chunk by chunk by `chunks`; otherwise
    `rows` holds them split.
    """

    header: list[str]
    encoding: str
    delimiter: str
    split: pl.DataFrame | None = None
    lines: pl.DataFrame | None = None

    @property
    def rows(self) -> pl.DataFrame:
        """Every record at once."""
        return pl.concat(list(self.chunks(None)))

    def chunks(self, size: int | None) -> Iterator[pl.DataFrame]:
        """The records in order, at most `size` at a time (None: all at once); at least one chunk."""
        if self.lines is None:
            yield self.split if self.split is not None else _rows_frame({}, self.header)
            return
        size = size or max(1, self.lines.height)
        for start in range(0, max(1, self.lines.height), size):
            yield _split_lines(self.lines.slice(start, size), self.header, self.delimiter)


# Bytes a gzip file may expand to unless the settings say otherwise (`max_expanded_bytes`): a
# small file that expands without end (a "gzip bomb") is failed, not decompressed into memory.
MAX_EXPANDED_BYTES = 1 << 30
EXPAND_BLOCK = 1 << 20


def read_bytes(path: Path, max_expanded_bytes: int = MAX_EXPANDED_BYTES) -> bytes:
    """The file's bytes, gunzipped when the content (not the name) says gzip."""
    return expanded(path.read_bytes(), max_expanded_bytes)


def expanded(data: bytes, max_expanded_bytes: int = MAX_EXPANDED_BYTES) -> bytes:
    """`data` gunzipped (streamed, every member) when it is gzip, else as it is.

    Raises UnreadableFileError past `max_expanded_bytes` of output, so memory stays bounded.
    """
    if data[:2] != GZIP_MAGIC:
        return data
    out, size = [], 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while block := stream.read(EXPAND_BLOCK):
                size += len(block)
                if size > max_expanded_bytes:
                    raise UnreadableFileError(
                        f"gzip file expands to more than {max_expanded_bytes:,} bytes "
                        "(setting max_expanded_bytes): not read"
                    )
                out.append(block)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFileError(f"gzip stream is damaged or truncated: {exc}") from exc
    return b"".join(out)


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (with or without BOM), else decided line by line.

    A file that is not valid UTF-8 as a whole is decoded per line: UTF-8 where the line is valid
    UTF-8, else Latin-1 (which decodes any byte). A Latin-1 file is then read as Latin-1, and a UTF-8
    file with one re-saved Latin-1 line keeps its other lines' text ("José" stays "José"): no line
    is ever mojibake. The name is `latin-1` when no line needed UTF-8, else `utf-8+latin-1`.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    lines, utf8_lines = [], 0
    for line in data.split(b"\n"):
        try:
            lines.append(line.decode("utf-8"))
            utf8_lines += not line.isascii()
        except UnicodeDecodeError:
            lines.append(line.decode("latin-1"))
    return "\n".join(lines), "utf-8+latin-1" if utf8_lines else "latin-1"


def looks_binary(data: bytes) -> bool:
    """True when the head of the file is not text (an image, a zip, a spreadsheet, random bytes).

    Text in any 8-bit encoding has almost no C0 control bytes besides tab, CR and LF; compressed or
    binary data has about one in nine. A few stray controls (a NUL in one row) stay text, so that row
    alone goes to quarantine.
    """
    head = data[:4096]
    if not head:
        return False
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13)) + head.count(127)
    return controls / len(head) > BINARY_CONTROL_SHARE


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most fields (comma on a tie)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 0 else ","


def _physical_records(text: str, delimiter: str) -> Iterator[tuple[int, str, list[str]]]:
    """Yield (first line number, raw text, fields) per CSV record, quoted newlines included.

    A quote left open swallows the lines after it into one record. When a multi-line record has a
    different number of fields than the header and its second line alone is a record of the
    header's width, the quote was left open: only its first line is yielded (without fields, so it
    is quarantined as ragged) and reading resumes at the next line.
    """
    lines = list(io.StringIO(text, newline=""))
    pos = 0  # the next line the csv reader is fed

    def feed() -> Iterator[str]:
        nonlocal pos
        while pos < len(lines):
            pos += 1
            yield lines[pos - 1]

    reader = csv.reader(feed(), delimiter=delimiter, strict=False)
    n_header: int | None = None
    while True:
        start = pos
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            fields = None  # an unparseable record; its raw text still goes to quarantine
        if n_header is not None and swallowed(lines, start, pos, fields, delimiter, n_header):
            yield start + 1, lines[start].rstrip("\r\n"), []
            pos = start + 1
            reader = csv.reader(feed(), delimiter=delimiter, strict=False)
            continue
        n_header = len(fields or []) if n_header is None else n_header
        yield start + 1, "".join(lines[start:pos]).rstrip("\r\n"), fields or []


def swallowed(
    lines: list[str], start: int, end: int, fields: list[str] | None, delimiter: str, width: int
) -> bool:
    """True when lines[start:end] is one ragged record whose second line is a record by itself."""
    if end - start < 2 or len(fields or []) == width:
        return False
    try:
        alone = next(csv.reader([lines[start + 1]], delimiter=delimiter, strict=False), [])
    except csv.Error:
        return False
    return len(alone) == width


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


def needs_line_handling(text: str) -> bool:
    """True when a record may span lines or hold quoting (the csv-module path must read it)."""
    return '"' in text or "\x00" in text or text.count("\r") != text.count("\r\n")


def _rows_frame(columns: dict[str, list], header: list[str]) -> pl.DataFrame:
    """The records as text columns plus source_line, raw_line and n_fields."""
    return pl.DataFrame(
        columns,
        schema={
            **{name: pl.String for name in header},
            "source_line": pl.Int64,
            "raw_line": pl.String,
            "n_fields": pl.Int32,
        },
    )


def _slow_rows(text: str, delimiter: str) -> tuple[list[str], pl.DataFrame]:
    """Header and records through the csv module: quotes, quoted newlines, stray CR and NUL."""
    records = _physical_records(text, delimiter)
    try:
        _, _, header = next(records)
    except StopIteration as exc:
        raise UnreadableFileError("file has no header") from exc
    header = clean_header(header)
    columns: dict[str, list] = {
        name: [] for name in [*header, "source_line", "raw_line", "n_fields"]
    }
    for line_no, raw, fields in records:
        if BLANK_LINE.fullmatch(raw):
            continue
        for i, name in enumerate(header):
            columns[name].append(fields[i] if i < len(fields) else None)
        columns["source_line"].append(line_no)
        columns["raw_line"].append(raw)
        columns["n_fields"].append(len(fields))
    return header, _rows_frame(columns, header)


def _line_frame(text: str, first_line: int) -> pl.DataFrame:
    """The physical lines of `text` (a whole number of lines) numbered from `first_line`."""
    lines = pl.Series("raw_line", [text]).str.split("\n").explode()
    if text.endswith("\n"):
        lines = lines.slice(0, lines.len() - 1)  # the empty text after the last line end
    return (
        lines.str.strip_suffix("\r")
        .to_frame()
        .with_row_index("source_line", offset=first_line)
        .with_columns(pl.col("source_line").cast(pl.Int64))
    )


def _fast_lines(text: str, delimiter: str) -> tuple[list[str], pl.DataFrame]:
    """Header and record lines (source_line, raw_line), for text without quotes, NUL or stray CR.

    Split into fields by `_split_lines`, this gives exactly what `_slow_rows` gives for such text
    (tests/property checks it), at a fraction of the time and memory: one record per physical line.
    The text is cut into lines SEGMENT_CHARS at a time, so splitting holds one segment's copies.
    """
    frames, start, next_line = [], 0, 1
    while start < len(text) or not frames:
        cut = text.find("\n", start + SEGMENT_CHARS)
        end = len(text) if cut == -1 else cut + 1
        frame = _line_frame(text[start:end], next_line)
        frames.append(frame)
        start, next_line = end, next_line + frame.height
    lines = pl.concat(frames)
    header = clean_header(lines["raw_line"][0].split(delimiter))
    return header, lines.slice(1).filter(~pl.col("raw_line").str.contains(r"^[ \t]*$"))


def _split_lines(lines: pl.DataFrame, header: list[str], delimiter: str) -> pl.DataFrame:
    """Record lines split into the header's columns, fields on the delimiter."""
    fields = pl.col("_fields")  # split once: polars would split again for every column taken
    return lines.with_columns(pl.col("raw_line").str.split(delimiter).alias("_fields")).select(
        *[fields.list.get(i, null_on_oob=True).alias(name) for i, name in enumerate(header)],
        "source_line",
        "raw_line",
        fields.list.len().cast(pl.Int32).alias("n_fields"),
    )


def distinct_from_reserved(names: list[str]) -> list[str]:
    """Names made unique, and never one of the columns camg adds (a `raw_line` header -> `raw_line_2`)."""
    return unique_names([*RESERVED_COLUMNS, *names])[len(RESERVED_COLUMNS) :]


def clean_header(names: list[str]) -> list[str]:
    """Header names trimmed (BOM included) and made unique; an all-empty header is unreadable."""
    header = distinct_from_reserved([h.strip().strip("\ufeff") for h in names])
    if not any(header):
        raise UnreadableFileError("header row is empty")
    return header


def parse_delimited(data: bytes, fast: bool = True) -> DelimitedText:
    """Parse delimited bytes into text columns, keeping line numbers and raw lines.

    Blank lines are skipped (they are not records). A record with the wrong number of fields keeps its
    raw text and `n_fields`, so validation can quarantine it as a ragged line. `fast=False` forces the
    csv-module path (tests compare the two).
    """
    if BLANK_BYTES.match(data):
        raise EmptyFileError("file is empty")
    if looks_binary(data):
        raise UnreadableFileError("file is binary, not delimited text")
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text[: text.find("\n")] if "\n" in text else text)
    if fast and not needs_line_handling(text):
        header, lines = _fast_lines(text, delimiter)
        return DelimitedText(header, encoding, delimiter, lines=lines)
    header, rows = _slow_rows(text, delimiter)
    return DelimitedText(header, encoding, delimiter, split=rows)


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
