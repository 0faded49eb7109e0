"""camg.ingest.engine_lines: the engine reads a regular file, the Python parse every other, same rows.

Each case is written as a file and read twice through `batch.read_file`, once as a run reads it
(engine first) and once with the Python parse forced; the rows (line numbers and raw text
included), status, error, format and encoding must agree, and the reader must be the one expected.
"""

import csv
import gzip
import io
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.ingest import batch, delimited, engine_lines, parse, source
from camg.ops.cache import ReadCache
from tests.unit.test_ingest_asa24 import ITEMS_HEADER, item

HEADER = b"participant_id,recall_day,food_code,food_system,amount,unit\n"
ROWS = b"p1,1,01077,sr,1,cup\np2,1,01077,sr,2.5,g\n"


def read_both(tmp_path: Path, name: str, data: bytes, **kwargs) -> tuple:
    """The file read with the engine first and with the Python parse forced."""
    batch_dir = tmp_path / "raw" / "study"
    batch_dir.mkdir(parents=True, exist_ok=True)
    path = batch_dir / name
    path.write_bytes(data)
    raw = tmp_path / "raw"
    engine = batch.read_file(path, raw, "study", engine=True, **kwargs)
    python = batch.read_file(path, raw, "study", engine=False, **kwargs)
    return engine, python


def assert_same_reads(engine, python) -> None:
    """Every field a run uses agrees (the reader aside)."""
    for name in ("status", "error", "format", "encoding", "n_diary", "n_participants"):
        assert getattr(engine, name) == getattr(python, name), name
    for kind in ("diary", "participants", "totals", "weights", "dates"):
        assert_frame_equal(getattr(engine, kind), getattr(python, kind))


REGULAR = {
    "plain": HEADER + ROWS,
    "crlf": (HEADER + ROWS).replace(b"\n", b"\r\n"),
    "mixed_line_ends": HEADER + b"p1,1,01077,sr,1,cup\r\np2,1,01077,sr,2,g\n",
    "utf8_bom": b"\xef\xbb\xbf" + HEADER + ROWS,
    "utf8_text": HEADER.replace(b"unit", b"unit,food_description")
    + "p1,1,01077,sr,1,cup,crème brûlée\n".encode(),
    "blank_lines": HEADER + b"\n  \n" + ROWS + b"\t\n\n" + ROWS + b"\n\n",
    "no_final_line_end": HEADER + ROWS.rstrip(b"\n"),
    "ragged": HEADER + b"p1,1,01077\np2,1,01077,sr,2,g,extra\n" + ROWS,
    "control_characters": HEADER + b"p1,1,01077,sr,1\x07,cup\n" + ROWS,
    "semicolons": (HEADER + ROWS).replace(b",", b";"),
    "header_only": HEADER,
    "participants": b"participant_id,sex,age_years\np1,F,30\np2,M,41\n",
}


@pytest.mark.parametrize("case", sorted(REGULAR))
def test_a_regular_file_is_read_by_the_engine_with_the_python_rows(tmp_path, case):
    engine, python = read_both(tmp_path, f"{case}.csv", REGULAR[case])
    assert (engine.reader, python.reader) == ("engine", "python")
    assert_same_reads(engine, python)


def test_gzip_is_told_by_content_and_read_by_the_engine(tmp_path):
    engine, python = read_both(tmp_path, "items.csv", gzip.compress(HEADER + ROWS * 50))
    assert engine.reader == "engine"
    assert engine.n_diary == 100
    assert_same_reads(engine, python)
    assert engine.diary["source_line"].to_list() == list(range(2, 102))


def test_line_numbers_and_raw_text_are_the_physical_ones(tmp_path):
    engine, _ = read_both(tmp_path, "blank.csv", REGULAR["blank_lines"])
    assert engine.diary["source_line"].to_list() == [4, 5, 8, 9]
    assert engine.diary["raw_line"].to_list()[:2] == ["p1,1,01077,sr,1,cup", "p2,1,01077,sr,2.5,g"]


IRREGULAR = {
    "latin1": HEADER + b"p1,1,01077,sr,1,cup\np2,1,01077,sr,2,caf\xe9\n",
    "open_quote": HEADER + b'p1,1,"01077,sr,1,cup\n' + ROWS,
    "stray_quote": HEADER + b'p1,1,01077,sr,1,12" cup\n' + ROWS,
    "text_after_quote": HEADER + b'p1,1,01077,sr,1,"cup"s\n' + ROWS,
    "ragged_over_lines": HEADER + b'p1,1,01077,sr,"1\n",cup,x\n' + ROWS,
    "line_ends_differ_over_lines": HEADER + b'p1,1,01077,sr,1,"cup\r\nchopped"\r\n' + ROWS,
    "quoted_header_over_lines": b'"participant_id\n",recall_day,food_code,amount\np1,1,01077,1\n',
    "nul": HEADER + b"p1,1,01077,sr,1\x00,cup\n" + ROWS,
    "lone_carriage_return": HEADER + b"p1,1,01077,sr,1\r,cup\n" + ROWS,
    "separator_byte": HEADER + b"p1,1,01077,sr,1\x1f,cup\n" + ROWS,
    "utf16": (HEADER + ROWS).decode().encode("utf-16"),
    "binary": bytes(range(256)) * 20,
    "empty": b"",
    "truncated_gzip": gzip.compress(HEADER + ROWS * 500)[:-40],
}


QUOTED = {
    "quoted_field": HEADER + b'p1,1,01077,sr,1,"cup, chopped"\n' + ROWS,
    "doubled_quotes": HEADER + b'p1,1,01077,sr,1,"12"" cup"\n' + ROWS,
    "empty_quoted": HEADER + b'p1,1,01077,sr,"",""\n' + ROWS,
    "every_field_quoted": HEADER + b'"p1","1","01077","sr","1","cup"\n' + ROWS,
    "quote_across_lines": HEADER + b'p1,1,01077,sr,1,"cup\nchopped"\n' + ROWS,
    "crlf_across_lines": (HEADER + b'p1,1,01077,sr,1,"cup\n\nchopped"\n' + ROWS).replace(
        b"\n", b"\r\n"
    ),
    "quoted_ragged": HEADER + b'p1,1,"01077,sr",1,cup\n' + ROWS,
    "quoted_header": b'"participant_id",recall_day,food_code,amount\np1,1,01077,1\n',
}


@pytest.mark.parametrize("case", sorted(QUOTED))
def test_a_quoted_file_is_read_by_the_engine_with_the_python_rows(tmp_path, case):
    engine, python = read_both(tmp_path, f"{case}.csv", QUOTED[case])
    assert (engine.reader, python.reader) == ("engine", "python")
    assert_same_reads(engine, python)


def test_a_quoted_record_keeps_its_first_line_and_raw_text(tmp_path):
    engine, _ = read_both(tmp_path, "q.csv", QUOTED["crlf_across_lines"])
    first = engine.diary.row(0, named=True)
    assert (first["source_line"], first["unit"]) == (2, "cup\r\n\r\nchopped")
    assert first["raw_line"] == 'p1,1,01077,sr,1,"cup\r\n\r\nchopped"'
    assert engine.diary["source_line"].to_list() == [2, 5, 6]


@pytest.mark.parametrize("case", sorted(IRREGULAR))
def test_an_irregular_file_falls_back_to_the_python_parse(tmp_path, case):
    engine, python = read_both(tmp_path, f"{case}.csv", IRREGULAR[case])
    assert engine.reader == "python"
    assert_same_reads(engine, python)


def test_a_gzip_past_the_expansion_limit_is_failed_by_the_python_parse(tmp_path):
    data = gzip.compress(HEADER + ROWS * 5000)
    engine, python = read_both(tmp_path, "bomb.csv.gz", data, max_expanded_bytes=50_000)
    assert engine.reader == "python"
    assert engine.status == "failed"
    assert "max_expanded_bytes" in engine.error
    assert_same_reads(engine, python)


def test_a_late_irregular_line_restarts_the_cached_rows_in_python(tmp_path, monkeypatch):
    """Rows the engine already streamed into the cache are dropped and the Python parse's kept."""
    monkeypatch.setattr(engine_lines, "BATCH_LINES", 10)
    monkeypatch.setattr(delimited, "CHUNK_RECORDS", 10)
    restarts = []
    restart = parse.DiarySink.restart

    def counted(sink):
        restarts.append(sink.rows)
        restart(sink)

    monkeypatch.setattr(parse.DiarySink, "restart", counted)
    data = HEADER + ROWS * 20 + b'p3,1,01077,sr,1,12" cup\n' + ROWS
    slim = {"slim": True}
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    engine, _ = read_both(tmp_path / "a", "late.csv", data, cache=ReadCache(tmp_path / "a"), **slim)
    _, python = read_both(tmp_path / "b", "late.csv", data, cache=ReadCache(tmp_path / "b"), **slim)
    assert engine.reader == "python"
    # Each engine attempt (one per cache folder) had streamed rows into its entry before the
    # stray quote (one in an unquoted field: the csv module keeps it, the engine refuses it).
    assert len(restarts) == 2
    assert min(restarts) >= 20
    assert engine.n_diary == python.n_diary == 43
    cached = [
        pl.read_parquet(ReadCache(root).path(r.cache_key, "diary"))
        for root, r in ((tmp_path / "a", engine), (tmp_path / "b", python))
    ]
    assert_frame_equal(*cached)
    assert cached[0].filter(pl.col("source_line") == 42)["raw_line"].item().endswith('12" cup')


def test_the_engine_reads_the_open_file_not_its_name(tmp_path):
    """A file renamed over the name after it was opened does not change what is read."""
    path = tmp_path / "a.csv"
    path.write_bytes(HEADER + ROWS)
    with path.open("rb") as stream:
        (tmp_path / "b.csv").write_bytes(HEADER + ROWS * 3)
        (tmp_path / "b.csv").replace(path)
        lines = engine_lines.line_scan(engine_lines.descriptor_path(stream, 0)).collect()
    assert lines["raw_line"].to_list() == (HEADER + ROWS).decode().splitlines()


def test_a_file_larger_than_the_engine_holds_is_streamed_by_the_python_parse(tmp_path, monkeypatch):
    """The engine holds a file's bytes on disk whole: past MAX_FILE_BYTES, 1 MiB blocks instead."""
    monkeypatch.setattr(engine_lines, "MAX_FILE_BYTES", len(HEADER + ROWS) - 1)
    engine, python = read_both(tmp_path, "big.csv", HEADER + ROWS)
    assert engine.reader == "python"
    assert_same_reads(engine, python)
    monkeypatch.setattr(engine_lines, "MAX_FILE_BYTES", len(HEADER + ROWS))
    assert read_both(tmp_path, "big.csv", HEADER + ROWS)[0].reader == "engine"


def test_an_asa24_export_with_quoted_descriptions_is_read_by_the_engine(tmp_path):
    """ASA24 Items as a spreadsheet saves them: text quoted, a description over two lines."""
    rows = [
        item("u1", 1, 2, 1, 1, "11111000", "244", "276", "24", "Milk, cow's, fluid, whole"),
        item("u1", 1, 2, 2, 2, "58106210", "120", "180", "20", 'Pizza, 12" round, cheese'),
        item("u1", 2, 2, 1, 1, "51000100", "50", "72", "11", "Bread\r\n(white, toasted)"),
    ]
    text = io.StringIO(newline="")
    csv.writer(text, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n").writerows(
        [ITEMS_HEADER, *rows]
    )
    engine, python = read_both(tmp_path, "Items.csv", text.getvalue().encode())
    assert (engine.format, engine.reader, python.reader) == ("asa24_items", "engine", "python")
    assert_same_reads(engine, python)
    assert engine.diary["source_line"].to_list() == [2, 3, 4]
    assert engine.diary["raw_line"][2].endswith('"Bread\r\n(white, toasted)"')


def read_through_caches(tmp_path: Path, name: str, data: bytes) -> tuple:
    """The file read as a run's first pass reads it (into a cache), by each reader."""
    reads = []
    for engine in (True, False):
        root = tmp_path / ("engine" if engine else "python")
        path = root / "raw" / "study" / name
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        cache = ReadCache(root)
        read = batch.read_file(path, root / "raw", "study", cache=cache, slim=True, engine=engine)
        diary = pl.read_parquet(cache.path(read.cache_key, "diary")) if read.streamed else None
        reads.append((read, diary))
    return reads[0], reads[1]


def test_a_gzip_file_with_a_record_over_lines_is_read_by_the_engine_from_a_copy(tmp_path):
    data = gzip.compress((HEADER + b'p1,1,01077,sr,1,"cup\nchopped"\n' + ROWS) * 3)
    (engine, rows), (python, python_rows) = read_through_caches(tmp_path, "g.csv.gz", data)
    assert (engine.reader, engine.encoding) == ("engine", python.encoding)
    assert_frame_equal(rows, python_rows)
    assert rows["source_line"].to_list()[:4] == [2, 4, 5, 6]
    assert not list(tmp_path.rglob("*.tmp")), "the UTF-8 copy is removed"


LATIN1 = {
    "latin1": HEADER + b'p1,1,01077,sr,1,"caf\xe9, au lait"\np2,1,01077,sr,2,cr\xe8me\n',
    "utf8_and_latin1": HEADER + "p1,1,01077,sr,1,crème\n".encode() + b"p2,1,01077,sr,2,caf\xe9\n",
    "latin1_gzip_over_lines": gzip.compress(HEADER + b'p1,1,01077,sr,1,"caf\xe9\nnoir"\n' + ROWS),
}


@pytest.mark.parametrize("case", sorted(LATIN1))
def test_a_latin1_file_is_read_by_the_engine_from_a_utf8_copy(tmp_path, case):
    (engine, engine_rows), (python, python_rows) = read_through_caches(
        tmp_path, "l.csv", LATIN1[case]
    )
    assert (engine.reader, python.reader) == ("engine", "python")
    assert engine.encoding == python.encoding != "utf-8"
    assert_frame_equal(engine_rows, python_rows)
    assert not list(tmp_path.rglob("*.tmp")), "the UTF-8 copy is removed"


def test_the_utf8_copy_keeps_each_line_as_the_python_parse_decodes_it(tmp_path):
    (engine, rows), _ = read_through_caches(tmp_path, "l.csv", LATIN1["utf8_and_latin1"])
    assert rows["unit"].to_list() == ["crème", "café"]
    assert engine.encoding == "utf-8+latin-1"


def test_without_a_cache_folder_a_latin1_file_is_left_to_the_python_parse(tmp_path):
    engine, python = read_both(tmp_path, "l.csv", LATIN1["latin1"])
    assert engine.reader == "python"
    assert_same_reads(engine, python)


def test_a_latin1_line_past_the_head_is_read_by_the_engine_from_a_copy(tmp_path, monkeypatch):
    """The head (first block) is ASCII, so the engine starts on the file itself and meets the
    Latin-1 line later: what it streamed is dropped and it reads a UTF-8 copy from the start."""
    monkeypatch.setattr(source, "BLOCK_BYTES", 64)
    data = HEADER + ROWS * 200 + b"p3,1,01077,sr,1,caf\xe9\n" + ROWS
    (engine, rows), (python, python_rows) = read_through_caches(tmp_path, "late.csv", data)
    assert (engine.reader, engine.encoding, python.encoding) == ("engine", "latin-1", "latin-1")
    assert_frame_equal(rows, python_rows)
    assert rows.filter(pl.col("source_line") == 402)["unit"].item() == "café"
