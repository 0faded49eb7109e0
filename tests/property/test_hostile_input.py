"""Property tests: hostile rows and files never crash ingest, always reconcile, get the right rule.

They call the plain functions (parse_delimited, the food-record reader, read_file, validate_diary),
not the Prefect flow, so a few hundred generated files run in seconds.
"""

import string
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from camg.enrich.export_totals import total_rules
from camg.ingest import delimited
from camg.ingest.batch import read_file
from camg.ingest.delimited import UnreadableFileError, parse_delimited
from camg.ingest.food_record import read_food_record
from camg.ingest.records import needs_line_handling
from camg.ingest.study import Source
from camg.validate.diary_rows import diary_rules, validate_diary
from camg.validate.participants import participant_rules, validate_participants

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HEADER = ["participant_id", "recall_day", "food_code", "food_system", "food_description"]
HEADER += ["amount", "unit", "item_kind", "calcium_mg", "magnesium_mg"]
GOOD = ["p1", "1", "01077", "sr", "milk", "1", "cup", "food", "", ""]

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "'; drop table intake_item; --",
            '"quoted, with comma"',
            "<script>alert(1)</script>",
            "../../etc/passwd",
            "C:\\Windows\\system32",
            "\x00\x01\x1b[31m",
            "ü" * 5000,
            "NaN",
            "-inf",
            "1e309",
            "",
            " ",
        ]
    ),
)


def csv_field(value: str) -> str:
    """A field quoted as a CSV writer would (so the file is well-formed text, values hostile)."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def food_record_bytes(rows: list[list[str]], newline: str, encoding: str) -> bytes:
    lines = [",".join(HEADER)] + [",".join(csv_field(v) for v in row) for row in rows]
    return (newline.join(lines) + newline).encode(encoding, errors="replace")


def participants_frame(reference) -> pl.DataFrame:
    raw = pl.DataFrame(
        {
            "source_file": ["s/p.csv"],
            "source_line": [2],
            "raw_line": ["p1,F,40"],
            "reader_rule": [None],
            "study_id": ["s"],
            "person_id": ["p1"],
            "sex": ["F"],
            "age_years": ["40"],
        }
    )
    for name in ["age_months", "life_stage", "weight", "weight_two_day", "strata", "psu"]:
        raw = raw.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    return validate_participants(raw, reference).kept


def validated(data: bytes, reference):
    text = parse_delimited(data)
    raw = read_food_record(text.rows, text.header, Source("s/r.csv", "s"))
    return raw, validate_diary(raw, participants_frame(reference), reference)


def all_rule_ids(reference) -> set[str]:
    rules = diary_rules(reference) + participant_rules(reference) + total_rules()
    return {r.rule_id for r in rules} | {"row.duplicate", "participant.duplicate"}


@FAST
@given(
    rows=st.lists(st.lists(HOSTILE_TEXT, min_size=len(HEADER), max_size=len(HEADER)), max_size=8),
    newline=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]),
)
def test_hostile_rows_never_crash_and_always_reconcile(rows, newline, encoding, reference):
    data = food_record_bytes([GOOD, *rows], newline, encoding)
    try:
        raw, result = validated(data, reference)
    except UnreadableFileError:
        return  # the whole file is refused (binary-looking): the manifest records it
    assert result.kept.height + result.quarantine.height == raw.height
    assert set(result.quarantine["rule_id"].to_list()) <= all_rule_ids(reference)
    kept_amounts = result.kept["amount"]
    assert (kept_amounts > 0).all()
    assert kept_amounts.is_finite().all()


# (column, hostile value strategy, the rule that value must break), each on an otherwise good row.
ONE_BAD_FIELD = [
    ("participant_id", st.sampled_from(["", " ", "\t"]), "person_id.missing"),
    (
        "amount",
        st.floats(max_value=0, allow_nan=False, allow_infinity=False),
        "amount.not_positive",
    ),
    ("amount", st.sampled_from(["nan", "NaN", "inf", "-Infinity", "+inf"]), "amount.not_finite"),
    (
        "amount",  # letters, but not the words a float parser reads as NaN or infinity
        st.text(alphabet=string.ascii_letters, min_size=1).filter(
            lambda t: t.lower() not in {"nan", "inf", "infinity"}
        ),
        "amount.unparseable",
    ),
    ("amount", st.integers(min_value=101, max_value=10**9), "amount.implausible"),
    ("recall_day", st.integers(min_value=367, max_value=10**6), "recall_day.out_of_range"),
    ("recall_day", st.integers(max_value=0, min_value=-(10**6)), "recall_day.out_of_range"),
    ("unit", st.sampled_from(["handful", "bucket", "pinch", "slab"]), "unit.unknown"),
    ("food_system", st.text(alphabet=string.ascii_lowercase, min_size=3), "food_system.unknown"),
    ("participant_id", st.text(alphabet=string.ascii_letters, min_size=2), "participant.missing"),
    (
        "amount",
        st.text(alphabet="\x01\x02\x1b\x7f", min_size=1, max_size=3),
        "row.control_characters",
    ),
]


@FAST
@given(case=st.sampled_from(range(len(ONE_BAD_FIELD))), data=st.data())
def test_one_bad_field_breaks_its_rule(case, data, reference):
    column, strategy, rule_id = ONE_BAD_FIELD[case]
    value = str(data.draw(strategy))
    if rule_id == "food_system.unknown" and value in {"sr", "fndds"}:
        return
    if rule_id == "participant.missing" and value == "p1":
        return
    bad = list(GOOD)
    bad[HEADER.index(column)] = value
    _raw, result = validated(food_record_bytes([GOOD, bad], "\n", "utf-8"), reference)
    assert result.kept["source_line"].to_list() == [2]
    assert result.quarantine.select("source_line", "rule_id").rows() == [(3, rule_id)]


@FAST
@given(extra=st.lists(st.text(max_size=5), min_size=1, max_size=4), drop=st.booleans())
def test_ragged_lines_are_quarantined(extra, drop, reference):
    ragged = GOOD[:-2] if drop else GOOD + extra
    data = food_record_bytes([GOOD, ragged], "\n", "utf-8")
    _raw, result = validated(data, reference)
    assert result.quarantine.select("source_line", "rule_id").rows() == [(3, "row.ragged")]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile_files")


@FAST
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=500).map(lambda t: t.encode("utf-8")),
        st.builds(
            lambda head, body: (",".join(head) + "\n" + body).encode("utf-8"),
            st.lists(st.sampled_from([*HEADER, "x", "SEQN", "DR1IFDCD"]), max_size=6),
            st.text(max_size=300),
        ),
    )
)
def test_any_bytes_give_a_manifest_entry_never_an_exception(data, scratch):
    (scratch / "s").mkdir(exist_ok=True)
    path = scratch / "s" / "file.csv"
    path.write_bytes(data)
    read = read_file(path, scratch, "s")
    assert read.status in {"read", "empty", "failed"}
    assert (read.status == "failed") == (read.error is not None and read.status != "empty")
    if read.status != "read":
        assert read.rows_in == 0


# Text the fast (polars) path may read: no quotes, NUL or bare CR.
PLAIN = st.text(
    alphabet=st.characters(blacklist_characters='"\x00\r\n', blacklist_categories=("Cs",)),
    max_size=12,
)


@FAST
@given(
    rows=st.lists(st.lists(PLAIN, min_size=0, max_size=5), min_size=1, max_size=10),
    delimiter=st.sampled_from([",", ";", "\t"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    trailing=st.booleans(),
    segment=st.integers(1, 30),
    chunk=st.integers(1, 4),
)
def test_fast_path_equals_csv_module_path(rows, delimiter, newline, trailing, segment, chunk):
    """Also when the fast path cuts the text into segments and splits records in chunks."""
    text = newline.join(delimiter.join(r) for r in rows) + (newline if trailing else "")
    data = text.encode("utf-8")
    assert not needs_line_handling(text)
    outcomes = []
    default_segment, delimited.SEGMENT_BYTES = delimited.SEGMENT_BYTES, segment
    try:
        for fast in (True, False):
            try:
                outcomes.append(parse_delimited(data, fast=fast))
            except UnreadableFileError as exc:
                outcomes.append(type(exc))
    finally:
        delimited.SEGMENT_BYTES = default_segment
    fast, slow = outcomes
    if isinstance(slow, type):
        assert fast is slow
        return
    assert (fast.header, fast.delimiter, fast.encoding) == (
        slow.header,
        slow.delimiter,
        slow.encoding,
    )
    assert_frame_equal(fast.rows, slow.rows)
    assert_frame_equal(pl.concat(list(fast.chunks(chunk))), slow.rows)


def regular_food_record(rows: list[list[str]], newline: str, bom: bool, blank: bool) -> bytes:
    """A food record the engine reader may take: plain fields, either line end, a BOM, blanks."""
    lines = [",".join(HEADER)] + [",".join(row) for row in rows]
    if blank:
        lines.insert(len(lines) // 2 + 1, " \t")
    return (b"\xef\xbb\xbf" if bom else b"") + (newline.join(lines) + newline).encode("utf-8")


@FAST
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=500).map(lambda t: t.encode("utf-8")),
        st.builds(
            lambda head, body: (",".join(head) + "\n" + body).encode("utf-8"),
            st.lists(st.sampled_from([*HEADER, "x", "SEQN", "DR1IFDCD"]), max_size=6),
            st.text(max_size=300),
        ),
        st.builds(
            food_record_bytes,
            st.lists(st.lists(HOSTILE_TEXT, min_size=10, max_size=10), min_size=1, max_size=8),
            st.sampled_from(["\n", "\r\n"]),
            st.sampled_from(["utf-8", "latin-1"]),
        ),
        st.builds(
            regular_food_record,
            st.lists(st.lists(PLAIN, min_size=8, max_size=11), min_size=1, max_size=8),
            st.sampled_from(["\n", "\r\n"]),
            st.booleans(),
            st.booleans(),
        ),
    )
)
def test_engine_reader_gives_what_the_python_parse_gives(data, scratch):
    """Whatever the bytes, the engine (or its fallback) reads what camg's own parse reads."""
    (scratch / "e").mkdir(exist_ok=True)
    path = scratch / "e" / "file.csv"
    path.write_bytes(data)
    engine = read_file(path, scratch, "e", engine=True)
    python = read_file(path, scratch, "e", engine=False)
    assert python.reader in {"python", None}
    for name in ("status", "error", "format", "encoding", "rows_in"):
        assert getattr(engine, name) == getattr(python, name), name
    for kind in ("diary", "participants", "totals"):
        assert_frame_equal(getattr(engine, kind), getattr(python, kind))
