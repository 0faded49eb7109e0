"""camg.ingest.delimited: bytes in any encoding, delimiter, line end or gzip -> text rows."""

import gzip

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.ingest.delimited import (
    EmptyFileError,
    UnreadableFileError,
    parse_delimited,
    reader_rule,
)
from camg.ingest.records import needs_line_handling
from camg.ingest.source import read_bytes

HEADER = ["participant_id", "food_description", "amount"]
# The same two records in every encoding / delimiter / line-end variant below.
EXPECTED = pl.DataFrame(
    {
        "participant_id": ["p1", "p2"],
        "food_description": ["crème brûlée", "Käse"],
        "amount": ["120", "30.5"],
        "source_line": [2, 3],
    }
)


def sample(delimiter: str = ",", newline: str = "\n") -> str:
    rows = [HEADER, ["p1", "crème brûlée", "120"], ["p2", "Käse", "30.5"]]
    return newline.join(delimiter.join(r) for r in rows) + newline


@pytest.mark.parametrize(
    ("data", "encoding", "delimiter"),
    [
        (sample().encode("utf-8"), "utf-8", ","),
        (b"\xef\xbb\xbf" + sample().encode("utf-8"), "utf-8-sig", ","),
        (sample().encode("latin-1"), "latin-1", ","),
        (sample("\t").encode("utf-8"), "utf-8", "\t"),
        (sample(";").encode("utf-8"), "utf-8", ";"),
        (sample(",", "\r\n").encode("utf-8"), "utf-8", ","),
        (sample(";", "\r\n").encode("latin-1"), "latin-1", ";"),
        (gzip.compress(sample("\t", "\r\n").encode("utf-8")), "utf-8", "\t"),
        (gzip.compress(b"\xef\xbb\xbf" + sample(";").encode("utf-8")), "utf-8-sig", ";"),
    ],
    ids=[
        "utf8",
        "utf8-bom",
        "latin1",
        "tab",
        "semicolon",
        "crlf",
        "latin1-semicolon-crlf",
        "gzip-tab-crlf",
        "gzip-bom-semicolon",
    ],
)
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "csv-module"])
def test_every_encoding_delimiter_and_line_end_reads_the_same_rows(
    tmp_path, data, encoding, delimiter, fast
):
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    text = parse_delimited(read_bytes(path), fast=fast)
    assert (text.encoding, text.delimiter, text.header) == (encoding, delimiter, HEADER)
    assert_frame_equal(text.rows.select(EXPECTED.columns), EXPECTED)


def test_gzip_is_recognised_from_content_not_name(tmp_path):
    path = tmp_path / "export.csv"  # no .gz suffix
    path.write_bytes(gzip.compress(sample().encode()))
    assert read_bytes(path) == sample().encode()


def test_truncated_gzip_is_unreadable(tmp_path):
    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress(sample().encode() * 50)[:-20])
    with pytest.raises(UnreadableFileError, match="gzip"):
        read_bytes(path)


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (b"", EmptyFileError, "empty"),
        (b"  \r\n\n", EmptyFileError, "empty"),
        (bytes(range(256)) * 20, UnreadableFileError, "binary"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, UnreadableFileError, "binary"),
        (b"\n,,\n1,2\n", UnreadableFileError, "header row is empty"),
    ],
    ids=["empty", "whitespace", "binary", "png", "blank-header"],
)
def test_unreadable_files_raise_with_a_reason(data, error, match):
    with pytest.raises(error, match=match):
        parse_delimited(data)


def test_header_only_gives_zero_rows():
    text = parse_delimited(b"participant_id,amount\r\n")
    assert text.header == ["participant_id", "amount"]
    assert text.rows.height == 0


def test_quoted_field_with_newline_keeps_its_first_line_number_and_raw_text():
    data = b'a,b\n1,"two\nlines"\n3,4\n'
    assert needs_line_handling(data.decode())
    rows = parse_delimited(data).rows
    assert rows["source_line"].to_list() == [2, 4]  # the quoted record spans lines 2-3
    assert rows["b"].to_list() == ["two\nlines", "4"]
    assert rows["raw_line"].to_list() == ['1,"two\nlines"', "3,4"]


def test_blank_lines_are_skipped_but_counted():
    rows = parse_delimited(b"a,b\n\n1,2\n \t\n3,4\n").rows
    assert rows["source_line"].to_list() == [3, 5]


def test_ragged_and_control_character_lines_are_marked_by_the_reader():
    rows = parse_delimited(b"a,b\n1,2,3\n4\n5,\x016\n7,8\n").rows
    result = rows.select(reader_rule(2).alias("rule"))["rule"].to_list()
    assert result == ["row.ragged", "row.ragged", "row.control_characters", None]


def test_nul_byte_line_is_read_by_the_csv_module_and_marked():
    rows = parse_delimited(b"a,b\n" + b"10,20\n" * 20 + b"3,\x004\n").rows
    assert rows["raw_line"][-1] == "3,\x004"
    result = rows.select(reader_rule(2).alias("rule"))["rule"].to_list()
    assert result == [None] * 20 + ["row.control_characters"]


def test_duplicate_and_reserved_header_names_never_overwrite_a_column():
    text = parse_delimited(b"a,a,a_2,raw_line,source_line\n1,2,3,4,5\n")
    assert text.header == ["a", "a_2", "a_2_2", "raw_line_2", "source_line_2"]
    assert text.rows.row(0, named=True)["raw_line"] == "1,2,3,4,5"
    assert text.rows.row(0, named=True)["source_line"] == 2


@pytest.mark.parametrize(
    "data",
    [
        b"a;b\r\n1;2\r\n\r\n3;\r\n;;\r\n",
        b"x\ty\n\xe9\t\xff\n",
        b"a,b\n1,2",
        b"a,b,c\n1\n1,2,3,4\n \n",
    ],
)
def test_fast_path_equals_the_csv_module_path(data):
    assert not needs_line_handling(data.decode("latin-1"))
    fast, slow = parse_delimited(data, fast=True), parse_delimited(data, fast=False)
    assert (fast.header, fast.encoding, fast.delimiter) == (
        slow.header,
        slow.encoding,
        slow.delimiter,
    )
    assert_frame_equal(fast.rows, slow.rows)
