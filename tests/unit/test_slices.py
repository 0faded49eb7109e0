"""pipeline.large_files: a diary file bigger than one slice gives exactly what validating it whole gives."""

import itertools
import uuid
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from camg.enrich.composition import ITEM_ORDER
from camg.ingest import batch
from camg.pipeline import diary_files, large_files
from camg.validate import participants as participants_stage

DEMO = "SEQN,RIAGENDR,RIDAGEYR\n1,2,30\n2,1,40\n3,2,50\n"
# 12 rows, so 3 slices of 4: every person's day spans slices (rows are not in person order);
# person 1's item line 1 (line 2) repeats on line 11 (another slice) and person 3's line 5 within
# the last slice; line 7 has no grams and line 9 an unknown participant.
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

# The same rows by person (an export sorted by participant): the slices follow each other in item
# order, so they are read in turn, not sorted; person 1's repeat (line 4) is in the next slice.
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
    # Line 11 repeats line 2 from another slice, line 13 line 12 within one: both duplicates.
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


def test_slices_are_in_item_order_only_when_each_starts_after_the_last(tmp_path):
    key = {"study_id": ["s"], "recall_day": [1], "source_file": ["f"]}
    paths = []
    for i, (person, line) in enumerate([("1", 2), ("1", 9), ("10", 3), ("2", 1), ("1", 5)]):
        paths.append(tmp_path / f"items-{i}.parquet")
        pl.DataFrame(key | {"person_id": [person], "source_line": [line]}).write_parquet(paths[-1])
    # Person ids are text: "10" sorts before "2", and person 1 after person 2 breaks the order.
    assert large_files.in_item_order(paths[:4])
    assert not large_files.in_item_order(paths)
    assert not large_files.in_item_order([paths[1], paths[0]])


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


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    people=st.lists(st.sampled_from(["1", "10", "2", "3", "30", "4", "é", " "]), min_size=1),
    n_slices=st.integers(1, 4),
    n_ranges=st.integers(1, 5),
)
def test_person_ranges_give_the_slices_items_in_item_order(tmp_path, people, n_slices, n_ranges):
    rows = pl.DataFrame(
        {
            "study_id": "s",
            "person_id": people,
            "recall_day": [1 + i % 2 for i in range(len(people))],
            "source_file": "f",
            "source_line": range(2, len(people) + 2),
        }
    )
    folder = tmp_path / f"case-{uuid.uuid4().hex}"
    folder.mkdir()
    paths = []
    for i in range(n_slices):  # each slice in item order, as validation writes them
        paths.append(folder / f"items-{i}.parquet")
        rows.gather_every(n_slices, offset=i).sort(ITEM_ORDER).write_parquet(
            paths[-1], row_group_size=2
        )
    ranges = list(large_files.by_person_range(paths, n_ranges))
    assert_frame_equal(pl.concat([rows.clear(), *ranges]), rows.sort(ITEM_ORDER))
    assert len(ranges) <= n_ranges
    assert all(a["person_id"].max() < b["person_id"].min() for a, b in itertools.pairwise(ranges))
