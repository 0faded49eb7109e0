"""camg.ingest.batch + camg.cache: bad files in the manifest, bad rows in quarantine, the file cache."""

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.ingest import batch, combine, delimited, nhanes
from camg.ingest.batch import read_raw
from camg.ingest.combine import combined_diary, combined_participants
from camg.ops.cache import ReadCache
from camg.pipeline.run_tables import all_quarantine, kept_sources
from camg.publish.reconcile import check_reconciled, file_manifest
from camg.validate.diary_rows import validate_diary
from camg.validate.participants import validate_participants
from tests.conftest import TEST_DATA

BAD = TEST_DATA / "bad"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, reference) -> dict:
    raw_dir = tmp_path_factory.mktemp("bad")
    shutil.copytree(BAD, raw_dir / "bad_batch")
    reads = read_raw(raw_dir)
    people = validate_participants(combined_participants(reads), reference)
    diary = validate_diary(combined_diary(reads), people.kept, reference)
    quarantine = all_quarantine(people, diary)
    manifest = file_manifest(reads, kept_sources(people, diary), quarantine)
    return {"manifest": manifest, "quarantine": quarantine, "diary": diary, "people": people}


def test_bad_files_are_in_the_manifest_with_status_and_error(corpus):
    manifest = corpus["manifest"].select("source_file", "format", "status", "rows_in")
    expected = pl.DataFrame(
        {
            "source_file": [
                f"bad_batch/{name}"
                for name in [
                    "README.md",
                    "bad_rows.csv",
                    "empty.csv",
                    "expected_rules.txt",
                    "header_only.csv",
                    "participants.csv",
                    "spreadsheet.xlsx",
                    "truncated.csv.gz",
                    "wrong_format.csv",
                ]
            ],
            "format": [
                None,
                "food_record",
                None,
                None,
                "food_record",
                "participants",
                None,
                None,
                None,
            ],
            "status": [
                "ignored",
                "read",
                "empty",
                "ignored",
                "empty",
                "read",
                "failed",
                "failed",
                "failed",
            ],
            "rows_in": [0, 25, 0, 0, 0, 9, 0, 0, 0],
        }
    )
    assert_frame_equal(manifest, expected)
    errors = dict(corpus["manifest"].select("source_file", "error").iter_rows())
    assert "binary" in errors["bad_batch/spreadsheet.xlsx"]
    assert "gzip" in errors["bad_batch/truncated.csv.gz"]
    assert "unrecognised format" in errors["bad_batch/wrong_format.csv"]
    assert "header only" in errors["bad_batch/header_only.csv"]


def test_every_bad_row_goes_to_quarantine_under_its_rule(corpus):
    expected = pl.read_csv(BAD / "expected_rules.txt", schema_overrides={"source_line": pl.Int64})
    got = (
        corpus["quarantine"]
        .filter(pl.col("source_file") == "bad_batch/bad_rows.csv")
        .select("source_line", "rule_id")
        .sort("source_line")
    )
    assert_frame_equal(got, expected)


def test_quarantine_keeps_the_raw_line_verbatim(corpus):
    raw = dict(
        corpus["quarantine"]
        .filter(pl.col("source_file") == "bad_batch/bad_rows.csv")
        .select("source_line", "raw")
        .iter_rows()
    )
    assert raw[5] == "p1,1,01077,sr,milk\x00,1,cup,,,"
    assert raw[6] == "p1,1,01077,sr,milk\x1b[31m,1,cup,,,"


def test_participant_rules_in_the_corpus(corpus):
    got = (
        corpus["quarantine"]
        .filter(pl.col("source_file") == "bad_batch/participants.csv")
        .select("source_line", "rule_id")
        .sort("source_line")
        .rows()
    )
    assert got == [
        (3, "participant.invalid_sex"),
        (4, "participant.impossible_age"),
        (5, "participant.impossible_age"),
        (6, "participant.invalid_life_stage"),
        (7, "participant.invalid_design"),
        (8, "participant.duplicate"),
        (9, "person_id.missing"),
        (10, "row.ragged"),
    ]


def test_corpus_reconciles(corpus):
    check_reconciled(corpus["manifest"], corpus["quarantine"])
    manifest = corpus["manifest"]
    assert (manifest["rows_in"] == manifest["rows_kept"] + manifest["rows_quarantined"]).all()
    bad = manifest.filter(pl.col("source_file") == "bad_batch/bad_rows.csv").row(0, named=True)
    assert (bad["rows_kept"], bad["rows_quarantined"]) == (2, 23)


# -- the file cache ---------------------------------------------------------------------------

RECORD = "participant_id,recall_day,food_code,food_system,amount\np1,1,01077,sr,100\n"


def make_batch(raw_dir: Path) -> Path:
    batch = raw_dir / "s"
    batch.mkdir(parents=True)
    (batch / "a.csv").write_text(RECORD)
    (batch / "b.csv").write_text(RECORD.replace("100", "200"))
    (batch / "participants.csv").write_text("participant_id,sex,age_years\np1,F,30\n")
    return batch


def by_file(reads) -> dict:
    return {r.source_file: r for r in reads}


def test_unchanged_file_is_reused_not_parsed(tmp_path):
    make_batch(tmp_path / "raw")
    first = by_file(read_raw(tmp_path / "raw", tmp_path / "marts"))
    second = by_file(read_raw(tmp_path / "raw", tmp_path / "marts"))
    assert {r.read_from for r in first.values()} == {"parsed"}
    assert {r.read_from for r in second.values()} == {"cache"}
    for name, read in first.items():
        assert (second[name].format, second[name].status) == (read.format, read.status)
        assert_frame_equal(second[name].diary, read.diary)
        assert_frame_equal(second[name].participants, read.participants)


def test_changed_file_is_parsed_again_and_replaces_its_rows(tmp_path):
    batch = make_batch(tmp_path / "raw")
    read_raw(tmp_path / "raw", tmp_path / "marts")
    (batch / "a.csv").write_text(RECORD.replace("100", "150"))
    reads = by_file(read_raw(tmp_path / "raw", tmp_path / "marts"))
    assert reads["s/a.csv"].read_from == "parsed"
    assert reads["s/a.csv"].diary["amount"].to_list() == ["150"]
    assert reads["s/b.csv"].read_from == "cache"


def test_removed_file_leaves_the_reads_and_the_cache(tmp_path):
    batch = make_batch(tmp_path / "raw")
    read_raw(tmp_path / "raw", tmp_path / "marts")
    cache_dir = tmp_path / "marts" / ".cache" / "ingest"
    before = len(list(cache_dir.glob("*.json")))
    (batch / "b.csv").unlink()
    reads = by_file(read_raw(tmp_path / "raw", tmp_path / "marts"))
    assert "s/b.csv" not in reads
    assert len(list(cache_dir.glob("*.json"))) == before - 1


def test_changed_study_toml_invalidates_the_cache(tmp_path):
    batch = make_batch(tmp_path / "raw")
    read_raw(tmp_path / "raw", tmp_path / "marts")
    (batch / "study.toml").write_text('food_system = "fndds"\n')
    reads = by_file(read_raw(tmp_path / "raw", tmp_path / "marts"))
    assert reads["s/a.csv"].read_from == "parsed"


def test_damaged_cache_entry_means_parse_again(tmp_path):
    make_batch(tmp_path / "raw")
    read_raw(tmp_path / "raw", tmp_path / "marts")
    for path in (tmp_path / "marts" / ".cache" / "ingest").glob("*.parquet"):
        path.write_bytes(b"not parquet")
    reads = by_file(read_raw(tmp_path / "raw", tmp_path / "marts"))
    assert reads["s/a.csv"].read_from == "parsed"
    assert reads["s/a.csv"].diary["amount"].to_list() == ["100"]


def test_cache_entry_without_its_row_counts_means_parse_again(tmp_path):
    make_batch(tmp_path / "raw")
    first = [
        batch.scan_found(f, tmp_path / "raw", tmp_path / "marts")
        for f in batch.discover(tmp_path / "raw")
    ]
    for path in (tmp_path / "marts" / ".cache" / "ingest").glob("*.json"):
        meta = json.loads(path.read_text())
        path.write_text(json.dumps({k: v for k, v in meta.items() if k != "participant_rows"}))
    again = [
        batch.scan_found(f, tmp_path / "raw", tmp_path / "marts")
        for f in batch.discover(tmp_path / "raw")
    ]
    assert {r.read_from for r in again} == {"parsed"}
    assert [r.rows_in for r in again] == [r.rows_in for r in first]


def test_a_file_that_does_not_reconcile_stops_the_run(corpus):
    from camg.publish.reconcile import ReconciliationError

    lost = corpus["quarantine"].filter(pl.col("source_line") != 3)  # one quarantined row vanishes
    manifest = corpus["manifest"].with_columns(
        pl.when(pl.col("source_file") == "bad_batch/bad_rows.csv")
        .then(pl.col("rows_quarantined") - 1)
        .otherwise(pl.col("rows_quarantined"))
        .alias("rows_quarantined")
    )
    with pytest.raises(ReconciliationError, match=r"bad_batch/bad_rows\.csv: in 25, kept 2"):
        check_reconciled(manifest, lost)


def test_missing_or_empty_raw_folder_is_an_error_not_empty_marts(tmp_path):
    # A nightly run on an unmounted share must not publish empty marts over good ones.
    with pytest.raises(batch.NoInputError, match="does not exist"):
        batch.discover(tmp_path / "not-there")
    (tmp_path / "raw" / "study_a").mkdir(parents=True)
    with pytest.raises(batch.NoInputError, match="holds no batch file"):
        batch.discover(tmp_path / "raw")


# A food record dated by intake_date (dates summary) and NHANES rows carrying weights.
DATED = "participant_id,intake_date,food_code,food_system,amount,unit\n" + "".join(
    f"p{i % 7},2024-01-{1 + i % 5:02d},11111000,fndds,{10 + i},g\n" for i in range(40)
)
NHANES = "SEQN,WTDRD1,WTDR2D,DR1IFDCD,DR1IGRMS\n" + "".join(
    f"{i % 9},{'' if i < 12 else 100 + i % 9},{200 + i % 9},11111000,{5 + i}\n" for i in range(40)
)


@pytest.mark.parametrize("text", [DATED, NHANES, "a,b\n"], ids=["dated", "weights", "unrecognised"])
def test_rows_streamed_in_chunks_are_the_rows_read_whole(tmp_path, monkeypatch, text):
    folder = tmp_path / "raw" / "s"
    folder.mkdir(parents=True)
    (folder / "export.csv").write_text(text)
    found = batch.discover(tmp_path / "raw")[0]
    whole = batch.read_found(found, tmp_path / "raw")
    monkeypatch.setattr(delimited, "CHUNK_RECORDS", 6)
    streamed = batch.scan_found(found, tmp_path / "raw", tmp_path / "marts")
    assert (streamed.status, streamed.n_diary) == (whole.status, whole.n_diary)
    assert streamed.diary.height == 0  # left in the cache, written chunk by chunk
    if whole.n_diary:
        cached = ReadCache(tmp_path / "marts").path(streamed.cache_key, "diary")
        assert_frame_equal(pl.read_parquet(cached), whole.diary)
    weights = combine.study_weights(
        [streamed], "s", tmp_path / "marts"
    )  # weights stay in the cache
    assert_frame_equal(weights, whole.weights)
    assert_frame_equal(streamed.dates, whole.dates)
    if text != "a,b\n":
        assert weights.height + streamed.dates.height > 0


@pytest.mark.parametrize(
    ("source_file", "cycle"),
    [
        ("nhanes_2007_2012/DEMO_E.csv.gz", "2007-2008"),
        ("n/DEMO_G.XPT", "2011-2012"),
        ("n/demo_i.csv", "2015-2016"),
        ("n/DEMO.csv", None),
    ],
)
def test_nhanes_cycle_from_the_file_suffix(source_file, cycle):
    assert nhanes.nhanes_cycle(source_file) == cycle
