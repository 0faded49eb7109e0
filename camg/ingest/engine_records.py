"""Ingest fast path, quoting: the engine's physical lines -> records and fields, as RFC 4180 says.

Why: real exports quote text fields ("Milk, whole, 3.25%"), Excel-saved CSVs quote every text
field, and a quoted field may hold a line end. camg's Python parse reads such text with the csv
module (camg.ingest.records); here the same records are cut with column expressions so the engine
keeps such files. A record ends at the first line end where the count of `"` since its start is
even; a record is *well formed* when every field is either quoted (`"..."`, a quote inside
doubled) or unquoted without any quote. For well-formed records the csv module's state machine
and this parity agree exactly (inside a quoted field the count is odd, outside it is even), so
the records, their first line numbers, raw text and fields are the Python parse's. Anything else
(a stray quote in an unquoted field, text after a closing quote, a quote left open at the end of
the file, a field past the csv module's size limit, a multi-line record of the wrong width, whose
first line the Python parse would quarantine alone) raises NotRegular: the Python parse reads the
whole file instead.
"""

import csv
import os

import polars as pl

from camg.ingest.errors import NeedsCopy, NotRegular
from camg.ingest.records import BLANK_LINE_PATTERN, split_lines
from camg.ingest.source import GZIP_MAGIC

QUOTE = '"'
# The delimiters camg sniffs, as they are written inside a regex character class.
CLASS_ESCAPED = {",": ",", "\t": r"\t", ";": ";", "|": r"\|"}
QUOTED_FIELD = r'"(?:[^"]|"")*"'
# Bytes of the file's start read to see gzip, a BOM and the first line end.
PROBE_BYTES = 1 << 16
UTF8_BOM = b"\xef\xbb\xbf"


def well_formed(delimiter: str) -> str:
    """The regex a whole record matches when each field is quoted or free of quotes."""
    d = CLASS_ESCAPED[delimiter]
    field = f'(?:{QUOTED_FIELD}|[^"{d}]*)'
    return f"^{field}(?:[{d}]{field})*$"


def field_count(raw: pl.Expr, delimiter: str) -> pl.Expr:
    """The fields of a well-formed record: each field with the delimiter after it is one match.

    A delimiter is put after the last field too, so every match starts at a field's start and a
    quoted field's delimiters stay inside its match.
    """
    d = CLASS_ESCAPED[delimiter]
    field = f'(?:{QUOTED_FIELD}|[^"{d}]*)[{d}]'
    return (raw + pl.lit(delimiter)).str.count_matches(field).cast(pl.Int32)


def quoted_fields(records: pl.DataFrame, header: list[str], delimiter: str) -> pl.DataFrame:
    """Well-formed records' fields as the header's columns, cut by the engine's own CSV reader.

    Records are joined one a line (a line end inside a record stays inside its quotes), after a
    first line of empty fields as wide as the header (the reader takes its width from the first
    line); it keeps a row's first len(header) fields, and `n_fields` says which of them exist.
    """
    width_line = delimiter * (len(header) - 1)
    text = (width_line + "\n" + records["raw_line"].str.join("\n").item()).encode()
    fields = pl.read_csv(
        text,
        has_header=False,
        separator=delimiter,
        quote_char=QUOTE,
        schema=dict.fromkeys(header, pl.String),
        truncate_ragged_lines=True,
        empty_string_is_null=False,
        raise_if_empty=False,
    )
    if fields.height != records.height + 1:
        raise NotRegular("the engine's CSV reader cut the records otherwise")
    return fields.slice(1)


def split_records(records: pl.DataFrame, header: list[str], delimiter: str) -> pl.DataFrame:
    """Records (source_line, raw_line, n_lines) split into the header's columns.

    NotRegular unless every record is well formed and every record of several lines has the
    header's width (else the Python parse may quarantine its first line alone: `swallowed`).
    """
    raw = pl.col("raw_line")
    if not records.select(raw.str.contains(QUOTE, literal=True).any()).item():
        return split_lines(records.drop("n_lines"), header, delimiter)
    if not records.select(raw.str.contains(well_formed(delimiter)).all()).item():
        raise NotRegular("a quote the RFC 4180 expressions cannot read as the csv module would")
    n_fields = records.select(field_count(raw, delimiter).alias("n_fields"))["n_fields"]
    if records.select(((pl.col("n_lines") > 1) & (n_fields != len(header))).any()).item():
        raise NotRegular("a ragged record over several lines: the Python parse cuts it")
    fields = quoted_fields(records, header, delimiter).with_columns(n_fields)
    present = [
        pl.when(pl.col("n_fields") > i).then(pl.col(name)).alias(name)
        for i, name in enumerate(header)
    ]
    return fields.select(*present, records["source_line"], records["raw_line"], "n_fields")


class RecordCutter:
    """Cuts a file's lines, batch by batch, into records (a record may run into the next batch)."""

    def __init__(self, path: str) -> None:
        """The lines of the file at `path` (read again only to learn its line ends)."""
        self.path = path
        self.carry: pl.DataFrame | None = None  # the lines of a record not ended yet
        self.terminator: str | None = None  # line end inside records (once one spans lines)
        self.lines, self.line_bytes = 0, 0  # every line read, and their bytes without line ends
        self.longest, self.quoted = 0, False  # longest record (characters); a quote was seen

    def records(self, batch: pl.DataFrame) -> pl.DataFrame:
        """The records ended in `batch` (plus the lines carried): source_line, raw_line, n_lines."""
        line = pl.col("raw_line")
        size, longest, quoted = batch.select(
            line.str.len_bytes().sum().alias("bytes"),
            line.str.len_chars().max().alias("longest"),
            line.str.contains(QUOTE, literal=True).any().alias("quoted"),
        ).row(0)
        self.lines, self.line_bytes = self.lines + batch.height, self.line_bytes + (size or 0)
        self.quoted = self.quoted or bool(quoted)
        if self.carry is None and not quoted:  # one line, one record
            records = batch.with_columns(pl.lit(1, pl.UInt32).alias("n_lines"))
        else:
            records = self.cut(batch)
            longest = records.select(line.str.len_chars().max()).item()
        self.longest = max(self.longest, longest or 0)
        if self.quoted and self.longest > csv.field_size_limit():
            raise NotRegular("a record longer than the csv module's field limit")
        return records.filter(line.is_not_null() & ~line.str.contains(BLANK_LINE_PATTERN))

    def cut(self, batch: pl.DataFrame) -> pl.DataFrame:
        """The records of the carried lines and `batch`; the lines of an unended record carried."""
        lines = batch if self.carry is None else pl.concat([self.carry, batch])
        quotes = pl.col("raw_line").str.count_matches(QUOTE, literal=True).fill_null(0)
        marked = lines.with_columns((quotes.cum_sum() % 2 == 0).alias("_ends"))
        ends = marked["_ends"]
        if ends.all():
            self.carry = None
            return lines.with_columns(pl.lit(1, pl.UInt32).alias("n_lines"))
        last = ends.arg_true()
        cut = int(last[-1]) + 1 if last.len() else 0
        self.carry = lines.slice(cut) if cut < lines.height else None
        return self.grouped(marked.slice(0, cut))

    def grouped(self, marked: pl.DataFrame) -> pl.DataFrame:
        """Lines with `_ends` grouped into records, a record's lines joined by the file's line end."""
        starts = pl.col("_ends").shift(1, fill_value=True)
        if marked.select((~starts).sum()).item() and self.terminator is None:
            self.terminator = self.first_line_end()
        return (
            marked.with_columns(starts.cum_sum().alias("_record"))
            .group_by("_record", maintain_order=True)
            .agg(
                pl.col("source_line").first(),
                pl.col("raw_line").fill_null("").str.join(self.terminator or "\n"),
                pl.len().alias("n_lines"),
            )
            .drop("_record")
        )

    def first_line_end(self) -> str:
        """The line end of the file's first line; NeedsCopy for gzip (its line ends are not seen)."""
        with open(self.path, "rb") as file:
            head = file.read(PROBE_BYTES)
        if head.startswith(GZIP_MAGIC):
            raise NeedsCopy("a record over several lines in a gzip file")
        end = head.find(b"\n")
        return "\r\n" if end > 0 and head[end - 1 : end] == b"\r" else "\n"

    def finish(self) -> None:
        """NotRegular when a quote is left open, or a record's line ends were not all the guess."""
        if self.carry is not None:
            raise NotRegular("a quote left open at the end of the file")
        if self.terminator is None:
            return
        with open(self.path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            bom = len(UTF8_BOM) if file.read(len(UTF8_BOM)) == UTF8_BOM else 0
            file.seek(max(size - 1, 0))
            last = file.read(1)
        line_feeds = self.lines - (last != b"\n")
        crs = size - bom - self.line_bytes - line_feeds  # the CRs the engine dropped
        expected = 0 if self.terminator == "\n" else line_feeds + (last == b"\r")
        if crs != expected:
            raise NotRegular("line ends differ within the file: the Python parse keeps each")
