"""Ingest helper: a delimited text file (any encoding, delimiter, line end, gzip) -> rows of text.

Every export format is a delimited file at heart; this module is the one place that decodes bytes,
finds the delimiter and keeps each record's physical line number and raw text, so that a bad row can go
to quarantine exactly as it arrived.
"""

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

GZIP_MAGIC = b"\x1f\x8b"
DELIMITERS = [",", "\t", ";", "|"]
# Characters that never belong in a diary value: C0 controls other than tab/CR/LF, and DEL.
CONTROL_CHARS_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


class UnreadableFileError(Exception):
    """The file cannot be read as delimited text at all (binary, truncated, empty)."""


@dataclass(frozen=True)
class DelimitedText:
    """A decoded delimited file: its header, records and how it was read."""

    header: list[str]
    rows: pl.DataFrame  # one column per header name (text) + source_line, raw_line, n_fields
    encoding: str
    delimiter: str


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when the content (not the name) says gzip."""
    data = path.read_bytes()
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFileError(f"gzip stream is damaged or truncated: {exc}") from exc
    return data


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (with or without BOM), else Latin-1 (which decodes any byte)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def looks_binary(data: bytes) -> bool:
    """True when the head of the file is mostly not text (an image, a zip, a spreadsheet)."""
    head = data[:4096]
    if not head:
        return False
    if head.count(b"\x00") > len(head) // 10:
        return True
    printable = sum(1 for b in head if b >= 32 or b in (9, 10, 13))
    return printable / len(head) < 0.85


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most fields (comma on a tie)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 0 else ","


def _physical_records(text: str, delimiter: str) -> Iterator[tuple[int, str, list[str]]]:
    """Yield (first line number, raw text, fields) per CSV record, quoted newlines included."""
    lines = io.StringIO(text, newline="")
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            yield line

    reader = csv.reader(feed(), delimiter=delimiter, strict=False)
    line_no = 1
    while True:
        consumed.clear()
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            fields = None  # an unparseable record; its raw text still goes to quarantine
        raw = "".join(consumed)
        yield line_no, raw.rstrip("\r\n"), fields if fields is not None else []
        line_no += max(1, len(consumed))


def unique_names(names: list[str]) -> list[str]:
    """Header names made unique (`a`, `a` -> `a`, `a_2`) so no column is silently overwritten."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def parse_delimited(data: bytes) -> DelimitedText:
    """Parse delimited bytes into text columns, keeping line numbers and raw lines.

    Blank lines are skipped (they are not records). A record with the wrong number of fields keeps its
    raw text and `n_fields`, so validation can quarantine it as a ragged line.
    """
    if not data.strip():
        raise UnreadableFileError("file is empty")
    if looks_binary(data):
        raise UnreadableFileError("file is binary, not delimited text")
    text, encoding = decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    records = _physical_records(text, delimiter)
    try:
        _, _, header = next(records)
    except StopIteration as exc:
        raise UnreadableFileError("file has no header") from exc
    header = unique_names([h.strip().strip("\ufeff") for h in header])
    if not any(header):
        raise UnreadableFileError("header row is empty")
    columns: dict[str, list] = {
        name: [] for name in [*header, "source_line", "raw_line", "n_fields"]
    }
    for line_no, raw, fields in records:
        if not raw.strip():
            continue
        for i, name in enumerate(header):
            columns[name].append(fields[i] if i < len(fields) else None)
        columns["source_line"].append(line_no)
        columns["raw_line"].append(raw)
        columns["n_fields"].append(len(fields))
    rows = pl.DataFrame(
        columns,
        schema={
            **{name: pl.String for name in header},
            "source_line": pl.Int64,
            "raw_line": pl.String,
            "n_fields": pl.Int32,
        },
    )
    return DelimitedText(header=header, rows=rows, encoding=encoding, delimiter=delimiter)


def reader_rule(n_header: int) -> pl.Expr:
    """The reader-level rule a record breaks, or null: a ragged line or control characters."""
    return (
        pl.when(pl.col("n_fields") != n_header)
        .then(pl.lit("row.ragged"))
        .when(pl.col("raw_line").str.contains(CONTROL_CHARS_PATTERN))
        .then(pl.lit("row.control_characters"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
