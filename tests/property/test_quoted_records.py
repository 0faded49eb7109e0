"""Property tests: quoted files (RFC 4180) are cut by the engine into the Python parse's records.

Generated delimited files with quoted fields (delimiters, doubled quotes, line ends inside
quotes, empty quoted fields), ragged rows, blank lines, CRLF or LF, and damage (a stray quote, a
quote left open, mixed line ends), in UTF-8 or Latin-1 (read by the engine from a UTF-8 copy),
are read twice at the record level: by camg's Python parse
(camg.ingest.records, the csv module) and by the engine (camg.ingest.engine_lines +
engine_records). The engine must give exactly the same records (every column, source_line,
raw_line, n_fields) or refuse the file (NotRegular), never different ones; a well-formed file
must be read by the engine.
"""

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from camg.ingest import engine_lines, parse, source, transcode
from camg.ingest.delimited import parse_delimited
from camg.ingest.errors import NeedsCopy, NotRegular

LIMIT = 1 << 30
CASES = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TEXT = st.text(alphabet='ab é,;\t|"\n\r', max_size=8)
UNQUOTED = st.text(alphabet="ab é1.", max_size=6)


def quoted(value: str, line_end: str) -> str:
    """A value quoted as a CSV writer does (quotes doubled), its line ends as the file's."""
    return '"' + value.replace("\r", "").replace("\n", line_end).replace('"', '""') + '"'


@st.composite
def quoted_files(draw) -> tuple[bytes, bool]:
    """A delimited file with quoted fields, and whether the engine must read it.

    It must when no damage is drawn and no ragged record runs over several lines (the Python
    parse may quarantine such a record's first line alone: the engine leaves it to that parse).
    """
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    width = draw(st.integers(2, 5))
    lines, ragged_multiline = [delimiter.join(f"c{i}" for i in range(width))], False
    for _ in range(draw(st.integers(0, 12))):
        n = draw(st.sampled_from([width, width, width, width - 1, width + 1, 1]))
        values = [
            draw(st.one_of(UNQUOTED, TEXT.map(lambda v: quoted(v, line_end)), st.just('""')))
            for _ in range(n)
        ]
        lines.append(delimiter.join(values))
        ragged_multiline |= n != width and line_end in lines[-1]
        if draw(st.integers(0, 6)) == 0:
            lines.append(draw(st.sampled_from(["", " ", "\t "])))
    text = line_end.join(lines) + draw(st.sampled_from([line_end, ""]))
    damage = draw(st.sampled_from(["none"] * 4 + ["stray", "open", "mixed", "gzip"]))
    if damage == "stray":
        at = draw(st.integers(len(lines[0]) + 1, max(len(lines[0]) + 1, len(text))))
        text = text[:at] + '"' + text[at:]
    elif damage == "open":
        text += '"x' + line_end + "a" * width
    elif damage == "mixed":
        text = text.replace(line_end, "\n", 1) if line_end == "\r\n" else text + "x\r\n"
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8", "latin-1"])))
    return (
        gzip.compress(data) if damage == "gzip" else data
    ), damage == "none" and not ragged_multiline


def engine_rows(path: Path) -> tuple:
    """The records as the engine cuts them, and the encoding (NotRegular when it refuses).

    As a run reads: from the file itself, or from a UTF-8 copy when the engine asks for one.
    """
    with path.open("rb") as stream:
        head = parse.open_text(stream, LIMIT)
        where = engine_lines.descriptor_path(stream, path.stat().st_size)
        limits = (LIMIT, engine_lines.MAX_FILE_BYTES)
        for copied in (False, True):
            try:
                with transcode.utf8_file(where, head.encoding, path.parent, limits, copied) as utf8:
                    text = engine_lines.engine_text(utf8[0], head, utf8[1], LIMIT)
                    return text.rows, text.encoding
            except NeedsCopy:
                if copied:
                    raise
        raise AssertionError("unreachable")


def assert_same_records(path: Path, must_engine: bool) -> bool:
    """Engine and Python records agree (or the engine refused); True when the engine read it."""
    python = parse_delimited(source.expanded(path.read_bytes()))
    try:
        engine, encoding = engine_rows(path)
    except NotRegular:
        assert not must_engine, "a well-formed quoted file was left to the Python parse"
        return False
    assert_frame_equal(engine, python.rows)
    assert encoding == python.encoding
    assert [p.name for p in path.parent.iterdir()] == [path.name], "the UTF-8 copy is removed"
    return True


@CASES
@given(file=quoted_files(), batch_lines=st.sampled_from([1, 2, 3, 50_000]))
def test_engine_records_are_the_python_records(file, batch_lines, tmp_path_factory):
    data, must_engine = file
    path = tmp_path_factory.mktemp("quoted") / "file.csv"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine_lines, "BATCH_LINES", batch_lines)
        assert_same_records(path, must_engine=must_engine)
