"""pipeline.large_files: a diary file bigger than one slice gives exactly what validating it whole gives."""

import itertools
import uuid
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from camg.ingest import batch
from camg.pipeline import diary_files, large_files
from camg.validate import participants as participants_stage

DEMO = "SEQN,RIAGENDR,RIDAGEYR\n1,2,30\n2,1,40\n3,2,50\n"
# 12 rows, slices of about 4 rows of whole persons: persons 1 | 2, 3 | 9 (rows are not in person
# order, so a slice's rows come from all over the file); person 1's item line 1 (line 2) repeats
# on line 11 and person 3's line 5 on line 13; line 7 has no grams and line 9 an unknown participant.
IFF = (
    "SEQN,DR1ILINE,DR1IFDCD,DR1IGRMS\n"
    "1,1,11111000,100.1\n"
    "2,1,11111000,33.3\n"
    "3,1,11111000,0.7\n"
    "1,2,11111000,12.9\n"
    "2,2,11111000,1e-3\n"
    "3,2,11111000,\n"
    "1,3,11111000,250.25\n"
    "9,1,99999999,10\n"
    "2,3,11111000,66.6\n"
    "1,1,11111000,100.1\n"
    "3,5,11111000,7.77\n"
    "3,5,11111000,7.77\n"
)

# The same rows by person (an export sorted by participant), in slices of one person each.
IFF_SORTED = (
    "SEQN,DR1ILINE,DR1IFDCD,DR1IGRMS\n"
    "1,1,11111000,100.1\n"
    "1,2,11111000,12.9\n"
    "1,1,11111000,100.1\n"
    "1,3,11111000,250.25\n"
    "2,1,11111000,33.3\n"
    "2,2,11111000,1e-3\n"
    "2,3,11111000,66.6\n"
)


def parts_of(raw: Path, marts_dir: Path, reference, slice_rows: int) -> pl.DataFrame:
    """The one diary file's part, validated with `slice_rows` rows at a time."""
    reads = [batch.scan_found(found, raw, marts_dir) for found in batch.discover(raw)]
    people = participants_stage.validate_by_study(reads, marts_dir, reference)
    (job,) = diary_files.diary_jobs(reads, people, marts_dir)
    return diary_files.process_diary_file(job, reference, marts_dir, slice_rows=slice_rows)


def frames(part: diary_files.Part) -> dict[str, pl.DataFrame]:
    """A part's frames, quarantine by line (its order within a file is not part of the contract)."""
    out = {kind: pl.read_parquet(part.path(kind)) for kind in diary_files.KINDS}
    out["quarantine"] = out["quarantine"].sort("source_line")
    return out


def write_raw(tmp_path: Path, iff: str) -> None:
    raw = tmp_path / "raw" / "nh"
    raw.mkdir(parents=True)
    (raw / "DEMO.csv").write_text(DEMO)
    (raw / "DR1IFF.csv").write_text(iff)


def test_a_file_validated_in_slices_gives_what_it_gives_whole(tmp_path, reference):
    write_raw(tmp_path, IFF)
    whole = parts_of(tmp_path / "raw", tmp_path / "whole", reference, slice_rows=100)
    sliced = parts_of(tmp_path / "raw", tmp_path / "sliced", reference, slice_rows=4)
    assert (whole.rows_in, whole.rows_kept, whole.rows_quarantined) == (12, 8, 4)
    assert (sliced.rows_in, sliced.rows_kept, sliced.rows_quarantined) == (12, 8, 4)
    assert sliced.keyed_days == whole.keyed_days == (1,)
    expected, got = frames(whole), frames(sliced)
    for kind in diary_files.KINDS:
        assert_frame_equal(got[kind], expected[kind], check_exact=True)
    # Line 11 repeats line 2, line 13 line 12: both duplicates.
    dup = got["quarantine"].filter(pl.col("rule_id") == "row.duplicate")
    assert dup.select("source_line", "raw").rows() == [
        (11, "1,1,11111000,100.1"),
        (13, "3,5,11111000,7.77"),
    ]
    # Person 1's day: 100.1 + 12.9 + 250.25 g, summed once over the whole day.
    day = got["days"].filter(pl.col("person_id") == "1")
    assert day.select("n_items", "is_complete").row(0) == (3, True)


def test_a_sorted_file_in_slices_gives_what_it_gives_whole(tmp_path, reference):
    write_raw(tmp_path, IFF_SORTED)
    whole = parts_of(tmp_path / "raw", tmp_path / "whole", reference, slice_rows=100)
    sliced = parts_of(tmp_path / "raw", tmp_path / "sliced", reference, slice_rows=2)
    assert (sliced.rows_kept, sliced.rows_quarantined) == (whole.rows_kept, whole.rows_quarantined)
    assert (sliced.rows_kept, sliced.rows_quarantined) == (6, 1)
    expected, got = frames(whole), frames(sliced)
    for kind in diary_files.KINDS:
        assert_frame_equal(got[kind], expected[kind], check_exact=True)
    assert got["quarantine"]["source_line"].to_list() == [4]


def test_only_the_slices_results_stay_in_the_part_folder(tmp_path, reference):
    write_raw(tmp_path, IFF)
    part = parts_of(tmp_path / "raw", tmp_path / "marts", reference, slice_rows=5)
    names = sorted(p.name for p in Path(part.folder).iterdir())
    assert names == [
        "days.parquet",
        "items.parquet",
        "lost.parquet",
        "part.json",
        "quarantine.parquet",
    ]


def write_people(folder: Path, people: list[str]) -> Path:
    """A cached-raw-like Parquet file with these person cells, one row each."""
    path = folder / "raw.parquet"
    pl.DataFrame({"person_id": people, "source_line": range(2, len(people) + 2)}).write_parquet(
        path
    )
    return path


@pytest.mark.parametrize("max_runs", [64, 1])
def test_person_ranges_cut_whole_persons_in_person_order(tmp_path, monkeypatch, max_runs):
    monkeypatch.setattr(large_files, "MAX_RUNS", max_runs)  # 1: scattered slices read by filter
    people = ["2", " 1", "10", "1", "", "3", "1 ", "2", None, "3", "3"]
    path = write_people(tmp_path, people)
    ranges = large_files.person_ranges(path, slice_rows=3)
    assert [p.runs is None for p in ranges] == [max_runs == 1] * 3
    slices = [piece.read(pl.scan_parquet(path)) for piece in ranges]
    # Persons trimmed and sorted as text ("10" before "2"): 1 has 3 rows, 10 one, 2 two, 3 three;
    # the blank and missing cells (no person) go with the first slice.
    assert [s["source_line"].to_list() for s in slices] == [
        [3, 5, 6, 8, 10],
        [2, 4, 9],
        [7, 11, 12],
    ]


def test_a_file_of_one_slice_is_one_range(tmp_path):
    path = write_people(tmp_path, ["1", "2", "2"])
    assert [p.runs for p in large_files.person_ranges(path, slice_rows=3)] == [((0, 3),)]


def test_a_file_in_person_order_is_read_in_one_run_a_slice(tmp_path):
    path = write_people(tmp_path, ["1", "1", "2", "3", "3", "3", "4"])
    ranges = large_files.person_ranges(path, slice_rows=3)
    assert [p.runs for p in ranges] == [((0, 3),), ((3, 3),), ((6, 1),)]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    people=st.lists(st.sampled_from(["1", "10", "2", "3", "30", "4", "é", " ", " 2"]), min_size=1),
    slice_rows=st.integers(1, 6),
)
def test_person_ranges_hold_every_row_once_whole_persons_in_order(tmp_path, people, slice_rows):
    folder = tmp_path / f"case-{uuid.uuid4().hex}"
    folder.mkdir()
    path = write_people(folder, people)
    raw = pl.read_parquet(path)
    ranges = large_files.person_ranges(path, slice_rows)
    slices = [piece.read(pl.scan_parquet(path)) for piece in ranges]
    for piece, rows in zip(ranges, slices, strict=True):  # its runs hold what its filter picks
        assert_frame_equal(rows, raw.filter(piece.wanted))
    lines = pl.concat([s.select("source_line") for s in slices])["source_line"]
    assert sorted(lines.to_list()) == raw["source_line"].to_list()  # each row exactly once
    keys = [s["person_id"].str.strip_chars().replace("", None).drop_nulls() for s in slices]
    for before, after in itertools.pairwise(keys):  # whole persons, in person order
        assert before.len() == 0 or after.len() == 0 or before.max() < after.min()
    largest = pl.concat(keys).value_counts()["count"].max() if sum(k.len() for k in keys) else 0
    assert all(k.len() < slice_rows + largest for k in keys)  # about slice_rows rows a slice


def test_item_text_columns_but_item_key_are_written_with_a_dictionary(tmp_path, reference):
    write_raw(tmp_path, IFF)
    part = parts_of(tmp_path / "raw", tmp_path / "marts", reference, slice_rows=4)
    meta = pq.ParquetFile(part.path("items")).metadata
    encoded = {
        meta.schema.column(i).name: meta.row_group(0).column(i).encodings
        for i in range(meta.num_columns)
    }
    dictionary = {name for name, codes in encoded.items() if "RLE_DICTIONARY" in codes}
    assert dictionary == set(large_files.ITEM_DICTIONARY)
    assert "person_id" in dictionary
    assert "item_key" not in dictionary
