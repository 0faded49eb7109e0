"""pipeline.diary_files: a diary file's part is the same whatever the engine's batch size.

A file's cached rows are validated as one lazy plan in polars' streaming engine (no row slices by
hand); the engine cuts them into morsels. A file cut into morsels of 2 rows must give exactly what it
gives in one morsel, and exactly what validating its rows in memory gives.
"""

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from camg.assess import intakes
from camg.enrich import composition
from camg.ingest import batch
from camg.ops.cache import ReadCache
from camg.pipeline import diary_files
from camg.validate import diary_rows
from camg.validate import participants as participants_stage

DEMO = "SEQN,RIAGENDR,RIDAGEYR\n1,2,30\n2,1,40\n3,2,50\n"
# 12 rows, not in person order: every person's day spans morsels of 2 or 4 rows; person 1's item
# line 1 (line 2) repeats on line 11 and person 3's line 5 on line 13; line 7 has no grams and
# line 9 an unknown participant.
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


def parts_of(raw: Path, marts_dir: Path, reference, morsel_rows: int | None = None):
    """The one diary file's part, the streaming engine cutting it into `morsel_rows` rows."""
    reads = [batch.scan_found(found, raw, marts_dir) for found in batch.discover(raw)]
    people = participants_stage.validate_by_study(reads, marts_dir, reference)
    (job,) = diary_files.diary_jobs(reads, people, marts_dir)
    with pl.Config(streaming_chunk_size=morsel_rows):
        return diary_files.process_diary_file(job, reference, marts_dir)


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


def test_a_file_in_small_morsels_gives_what_it_gives_whole(tmp_path, reference):
    write_raw(tmp_path, IFF)
    whole = parts_of(tmp_path / "raw", tmp_path / "whole", reference)
    sliced = parts_of(tmp_path / "raw", tmp_path / "sliced", reference, morsel_rows=2)
    assert (whole.rows_in, whole.rows_kept, whole.rows_quarantined) == (12, 8, 4)
    assert (sliced.rows_in, sliced.rows_kept, sliced.rows_quarantined) == (12, 8, 4)
    assert sliced.keyed_days == whole.keyed_days == (1,)
    expected, got = frames(whole), frames(sliced)
    for kind in diary_files.KINDS:
        assert_frame_equal(got[kind], expected[kind], check_exact=True)
    # Line 11 repeats line 2, line 13 line 12: both duplicates, with their raw text.
    dup = got["quarantine"].filter(pl.col("rule_id") == "row.duplicate")
    assert dup.select("source_line", "raw").rows() == [
        (11, "1,1,11111000,100.1"),
        (13, "3,5,11111000,7.77"),
    ]
    # Person 1's day: 100.1 + 12.9 + 250.25 g, summed once over the whole day.
    day = got["days"].filter(pl.col("person_id") == "1")
    assert day.select("n_items", "is_complete").row(0) == (3, True)


def test_a_sorted_file_in_small_morsels_gives_what_it_gives_whole(tmp_path, reference):
    write_raw(tmp_path, IFF_SORTED)
    whole = parts_of(tmp_path / "raw", tmp_path / "whole", reference)
    sliced = parts_of(tmp_path / "raw", tmp_path / "sliced", reference, morsel_rows=1)
    assert (sliced.rows_kept, sliced.rows_quarantined) == (whole.rows_kept, whole.rows_quarantined)
    assert (sliced.rows_kept, sliced.rows_quarantined) == (6, 1)
    expected, got = frames(whole), frames(sliced)
    for kind in diary_files.KINDS:
        assert_frame_equal(got[kind], expected[kind], check_exact=True)
    assert got["quarantine"]["source_line"].to_list() == [4]


def test_a_scanned_file_gives_what_its_rows_in_memory_give(tmp_path, reference):
    write_raw(tmp_path, IFF)
    marts = tmp_path / "marts"
    part = parts_of(tmp_path / "raw", marts, reference, morsel_rows=3)
    raw = pl.read_parquet(ReadCache(marts).path(part.read_key, "diary"))
    people = participants_stage.validate_by_study(
        [batch.scan_found(f, tmp_path / "raw", marts) for f in batch.discover(tmp_path / "raw")],
        marts,
        reference,
    ).frame()
    in_memory = diary_rows.validate_diary(raw, people, reference)
    items = composition.enrich(in_memory.kept, reference, people)
    got = frames(part)
    assert_frame_equal(got["items"], items, check_exact=True)
    assert_frame_equal(got["days"], intakes.person_days(items), check_exact=True)
    assert_frame_equal(got["quarantine"], in_memory.quarantine.sort("source_line"))


def test_only_the_parts_files_stay_in_its_folder(tmp_path, reference):
    write_raw(tmp_path, IFF)
    part = parts_of(tmp_path / "raw", tmp_path / "marts", reference, morsel_rows=5)
    names = sorted(p.name for p in Path(part.folder).iterdir())
    assert names == [
        "days.parquet",
        "items.parquet",
        "lost.parquet",
        "part.json",
        "quarantine.parquet",
    ]
