"""Ingest helper: text segments of whole lines (camg.ingest.lines) -> frames of records, streamed.

Two ways to cut records, with the same result where both apply: a segment without quotes, NUL or
a carriage return outside a CRLF holds one record per physical line and is split by polars at
once (fast); any other segment goes through the csv module (quoted delimiters and newlines), line
by line, a record that runs past the segment pulling lines from the next ones. Every record keeps
its first physical line number and raw text. A quote left open: see `swallowed`.
"""

import csv
import io
import re
from collections.abc import Iterator

import polars as pl

# A line of only spaces and tabs (or nothing) is not a record.
BLANK_LINE_PATTERN = r"^[ \t]*$"
TERMINATORS = "\r\n"
# A record whose raw text is only blanks and line ends is not a record either.
BLANK_RECORD = re.compile(r"[ \t\r\n]*")


def needs_line_handling(text: str) -> bool:
    """True when a record may span lines or hold quoting (the csv-module path must read it)."""
    return '"' in text or "\x00" in text or text.count("\r") != text.count("\r\n")


def rows_frame(columns: dict[str, list], header: list[str]) -> pl.DataFrame:
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


def line_frame(text: str, first_line: int) -> pl.DataFrame:
    """The physical lines of `text` (whole lines) numbered from `first_line`, line ends dropped."""
    lines = pl.Series("raw_line", [text]).str.split("\n").explode()
    if text.endswith("\n"):
        lines = lines.slice(0, lines.len() - 1)  # the empty text after the last line end
    return (
        lines.str.strip_suffix("\r")
        .to_frame()
        .with_row_index("source_line", offset=first_line)
        .with_columns(pl.col("source_line").cast(pl.Int64))
    )


def split_lines(lines: pl.DataFrame, header: list[str], delimiter: str) -> pl.DataFrame:
    """Record lines split into the header's columns, fields on the delimiter."""
    fields = pl.col("_fields")  # split once: polars would split again for every column taken
    return lines.with_columns(pl.col("raw_line").str.split(delimiter).alias("_fields")).select(
        *[fields.list.get(i, null_on_oob=True).alias(name) for i, name in enumerate(header)],
        "source_line",
        "raw_line",
        fields.list.len().cast(pl.Int32).alias("n_fields"),
    )


def swallowed(lines: list[str], start: int, end: int, fields: list[str] | None, delimiter: str,
              width: int) -> bool:  # fmt: skip
    """True when lines[start:end] is one ragged record whose second line is a record by itself.

    A quote left open swallows the lines after it into one record; then only its first line is
    a (ragged) record and reading resumes at the next line.
    """
    if end - start < 2 or len(fields or []) == width:
        return False
    try:
        alone = next(csv.reader([lines[start + 1]], delimiter=delimiter, strict=False), [])
    except csv.Error:
        return False
    return len(alone) == width


class RecordReader:
    """The records of a stream of text segments: the header, then frames of records."""

    def __init__(self, segments: Iterator[str], delimiter: str, fast: bool = True) -> None:
        """Records of `segments` split on `delimiter`; `fast=False`: the csv module only."""
        self.segments, self.delimiter, self.fast = segments, delimiter, fast
        self.lines: list[str] = []  # lines not yet read as records, with their line ends
        self.first_line = 1  # the physical number of self.lines[0]
        self.width: int | None = None  # the header's field count, once read

    def pull(self) -> bool:
        """Append the next segment's lines (universal line ends, as the csv module reads them)."""
        segment = next(self.segments, None)
        if segment is None:
            return False
        self.lines.extend(io.StringIO(segment, newline=""))
        return True

    def slow_records(self, limit: int | None = None) -> Iterator[tuple[int, str, list[str]]]:
        """Records through the csv module until the pending lines are used up at a record's end.

        At most `limit` records; run the generator to its end so the used lines are dropped.
        """
        pos, count = 0, 0

        def feed() -> Iterator[str]:
            nonlocal pos
            while pos < len(self.lines) or self.pull():
                pos += 1
                yield self.lines[pos - 1]

        reader = csv.reader(feed(), delimiter=self.delimiter, strict=False)
        while (pos < len(self.lines) or (not self.lines and self.pull())) and count != limit:
            start = pos
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error:
                fields = None  # an unparseable record; its raw text still goes to quarantine
            lines, count = self.lines, count + 1
            if self.width is not None and swallowed(
                lines, start, pos, fields, self.delimiter, self.width
            ):
                yield self.first_line + start, lines[start].rstrip(TERMINATORS), []
                pos = start + 1
                reader = csv.reader(feed(), delimiter=self.delimiter, strict=False)
                continue
            self.width = len(fields or []) if self.width is None else self.width
            yield (
                self.first_line + start,
                "".join(lines[start:pos]).rstrip(TERMINATORS),
                fields or [],
            )
        self.first_line += pos
        del self.lines[:pos]

    def header(self) -> list[str] | None:
        """The first record's fields, read through the csv module; None for a stream of no lines."""
        records = self.slow_records(limit=1)
        first = next(records, None)
        for _ in records:  # drops the header's lines
            pass
        return None if first is None else first[2]

    def frames(self, header: list[str]) -> Iterator[pl.DataFrame]:
        """The records after the header, a segment (or a run of csv-module lines) per frame."""
        while True:
            if self.lines:
                pending = "".join(self.lines)
                self.lines.clear()
            elif (pending := next(self.segments, None)) is None:
                return
            if self.fast and not needs_line_handling(pending):
                lines = line_frame(pending, self.first_line)
                self.first_line += lines.height
                records = lines.filter(~pl.col("raw_line").str.contains(BLANK_LINE_PATTERN))
                yield split_lines(records, header, self.delimiter)
            else:
                self.lines.extend(io.StringIO(pending, newline=""))
                yield self.slow_frame(header)

    def slow_frame(self, header: list[str]) -> pl.DataFrame:
        """The pending lines' records through the csv module, as a frame."""
        columns: dict[str, list] = {n: [] for n in [*header, "source_line", "raw_line", "n_fields"]}
        for line_no, raw, fields in self.slow_records():
            if BLANK_RECORD.fullmatch(raw):
                continue
            for i, name in enumerate(header):
                columns[name].append(fields[i] if i < len(fields) else None)
            columns["source_line"].append(line_no)
            columns["raw_line"].append(raw)
            columns["n_fields"].append(len(fields))
        return rows_frame(columns, header)
