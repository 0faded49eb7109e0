"""The streamed parse (issue 17, bounded memory): the same records however the bytes are cut.

A file is read block by block (camg.ingest.source), decoded line by line (camg.ingest.lines) and
cut into records (camg.ingest.records). The cuts must never show: line numbers, raw text, the
per-line encoding, the recovery from a quote left open, the expansion limit and the hash check are
the same for one block as for blocks of a single byte.
"""

import gzip
import io

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from camg.ingest import delimited, source
from camg.ingest.delimited import parse_delimited, stream_delimited
from camg.ingest.errors import UnreadableFileError
from camg.ingest.fileread import FileRead
from camg.ingest.lines import LineDecoder
from camg.ingest.parse import CHANGED_WHILE_READ, parse_file
from camg.ingest.study import Source
from tests.hostile import corpus

PIECES = st.sampled_from(
    [b"a", b"1", b",", b";", b'"', b'""', b"\n", b"\r\n", b"\r", b"\x00", b"\xe9", "é".encode()]
)


def parsed_in(data: bytes, segment: int, fast: bool = True) -> tuple:
    """Header, encoding, delimiter and rows of `data` read in blocks of `segment` bytes."""
    default, delimited.SEGMENT_BYTES = delimited.SEGMENT_BYTES, segment
    try:
        text = parse_delimited(data, fast=fast)
        return text.header, text.encoding, text.delimiter, text.rows
    except UnreadableFileError as exc:  # binary, no header: the same reason either way
        return str(exc), None, None, None
    finally:
        delimited.SEGMENT_BYTES = default


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    head=st.sampled_from([b"a,b,c\n", b"x;y\r\n", b'"q,1",z\n', b"\xef\xbb\xbfa,b\n"]),
    body=st.lists(PIECES, max_size=60),
    segment=st.integers(1, 17),
    fast=st.booleans(),
)
def test_blocks_of_any_size_give_the_records_of_one_block(head, body, segment, fast):
    data = head + b"".join(body)
    whole = parsed_in(data, 1 << 30, fast)
    cut = parsed_in(data, segment, fast)
    assert cut[:3] == whole[:3]
    if whole[3] is not None:
        assert_frame_equal(cut[3], whole[3])


def test_an_open_quote_across_block_ends_quarantines_its_line_only():
    rows = [f"p{i},{i},x" for i in range(30)]
    rows[3] = 'p3,"3,x'  # the quote never closes
    data = ("id,n,f\n" + "\n".join(rows) + "\n").encode()
    for segment in (1, 7, 64, 1 << 20):
        _, _, _, records = parsed_in(data, segment)
        assert records.height == 30, segment
        assert records["source_line"].to_list() == list(range(2, 32))
        assert records.filter(pl.col("source_line") == 5)["raw_line"].item() == 'p3,"3,x'
        assert records.filter(pl.col("source_line") == 5)["n_fields"].item() == 0


def test_one_latin1_line_stays_latin1_and_the_others_utf8_in_any_block():
    data = "id,name\n1,José\n".encode() + b"2,Jos\xe9\n" + "3,Zoë\n".encode()
    for segment in (1, 5, 1 << 20):
        _, encoding, _, records = parsed_in(data, segment)
        assert encoding == "utf-8+latin-1"
        assert records["name"].to_list() == ["José", "José", "Zoë"]


def test_a_big_stream_is_read_without_being_held():
    """A generator of blocks is parsed chunk by chunk: the chunks' sizes, not the file's, count."""
    rows = 50_000
    blocks = (
        "".join(f"p{i + j},1,x\n" for j in range(1_000)).encode() for i in range(0, rows, 1_000)
    )
    text = stream_delimited(_with_header(blocks))
    sizes = [chunk.height for chunk in text.chunks(7_000)]
    assert sum(sizes) == rows
    assert max(sizes) == 7_000


def _with_header(blocks):
    yield b"id,day,code\n"
    yield from blocks


def test_the_expansion_limit_stops_the_stream():
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 100_000)
    with pytest.raises(UnreadableFileError, match="max_expanded_bytes"):
        list(source.blocks(io.BytesIO(data), max_expanded_bytes=100_000))
    assert b"".join(source.blocks(io.BytesIO(data))) == b"a,b\n" + b"1,2\n" * 100_000


def test_bytes_that_differ_from_the_hashed_ones_fail_the_file():
    data = corpus.food_record(corpus.GOOD_ROWS).encode()
    digest, size = source.file_digest(io.BytesIO(data))
    good = FileRead("s/r.csv", "s", digest, size)
    parse_file(io.BytesIO(data), good, Source("s/r.csv", "s"))
    assert (good.status, good.n_diary) == ("read", len(corpus.GOOD_ROWS))
    changed = FileRead("s/r.csv", "s", digest, size)
    parse_file(io.BytesIO(data.replace(b"milk", b"mild")), changed, Source("s/r.csv", "s"))
    assert (changed.status, changed.error, changed.n_diary) == ("failed", CHANGED_WHILE_READ, 0)


def decoded_line_by_line(data: bytes) -> tuple[str, bool, bool]:
    """The per-line definition: text, some line Latin-1, some line non-ASCII UTF-8."""
    lines, latin1, utf8 = [], False, False
    for line in data.split(b"\n"):
        try:
            text = line.decode("utf-8")
            utf8 = utf8 or not text.isascii()
        except UnicodeDecodeError:
            text, latin1 = line.decode("latin-1"), True
        lines.append(text)
    return "\n".join(lines), latin1, utf8


PIECES = [b"ab", "é".encode(), "é".encode("latin-1"), b"\xc3", b"\xa9", b"\n", b"\r\n"]
PIECES += ["€".encode(), "😀".encode(), b"\xed\xb2\x80", b"\x80", b"\xff", b"\xf0\x9f\x98"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14))
def test_a_block_is_decoded_as_line_by_line_whether_at_once_or_not(pieces):
    """LineDecoder decodes a plain Latin-1 block at once: the text must be the per-line text."""
    data = b"".join(pieces)
    decoder = LineDecoder()
    text = decoder.decoded(data)
    assert (text, decoder.latin1_lines, decoder.utf8_lines) == decoded_line_by_line(data)
