"""pipeline.diary_files + pipeline.run_diary: per-file parts, reuse, cross-file repeats, bounded DuckDB."""

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.ingest import batch, combine
from camg.ops.engine import bounded_connection
from camg.pipeline import diary_files, run_diary, run_tables
from camg.publish.reconcile import check_reconciled
from camg.validate import diary_rows
from camg.validate import participants as participants_stage
from tests.conftest import TEST_DATA

DEMO = "SEQN,RIAGENDR,RIDAGEYR\n1,2,30\n2,1,40\n"
# 100 g of FNDDS 11111000 (whole milk) per item; file b repeats person 1's line 1 of day 1.
IFF_A = "SEQN,DR1ILINE,DR1IFDCD,DR1IGRMS\n1,1,11111000,100\n1,2,11111000,50\n2,1,11111000,10\n"
IFF_B = "SEQN,DR1ILINE,DR1IFDCD,DR1IGRMS\n1,1,11111000,100\n2,2,11111000,20\n"


def write_batch(raw: Path) -> Path:
    folder = raw / "nh"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "DEMO.csv").write_text(DEMO)
    (folder / "DR1IFF_a.csv").write_text(IFF_A)
    (folder / "DR1IFF_b.csv").write_text(IFF_B)
    return folder


def run(raw: Path, marts_dir: Path, reference) -> dict:
    """The flow's data path without Prefect: first pass, parts, assembly, counts."""
    reads = [batch.scan_found(found, raw, marts_dir) for found in batch.discover(raw)]
    people = participants_stage.validate_by_study(reads, marts_dir, reference)
    jobs = diary_files.diary_jobs(reads, people, marts_dir)
    made = [diary_files.process_diary_file(job, reference, marts_dir) for job in jobs]
    diary = run_diary.assemble_diary(made, marts_dir)
    run_diary.prune_unused_parts(marts_dir, diary)
    totals = diary_rows.Validated(people.frame().clear(), people.quarantine.clear())
    counts = run_tables.run_counts(diary, people, totals)
    manifest = run_tables.run_manifest(reads, counts)
    check_reconciled(manifest, counts)
    return {"reads": reads, "parts": made, "diary": diary, "manifest": manifest}


@pytest.fixture
def dirs(tmp_path) -> tuple[Path, Path]:
    raw, marts_dir = tmp_path / "raw", tmp_path / "marts"
    write_batch(raw)
    return raw, marts_dir


def test_first_pass_holds_no_diary_rows_only_their_count(dirs):
    raw, marts_dir = dirs
    reads = [batch.scan_found(found, raw, marts_dir) for found in batch.discover(raw)]
    by_file = {r.source_file: r for r in reads}
    assert by_file["nh/DR1IFF_a.csv"].diary.height == 0
    assert by_file["nh/DR1IFF_a.csv"].rows_in == 3
    assert by_file["nh/DEMO.csv"].participants.height == 0
    assert by_file["nh/DEMO.csv"].n_participants == 2
    assert combine.study_participants(reads, "nh", marts_dir).height == 2
    with pytest.raises(ValueError, match="ingest cache"):
        combine.combined_participants(reads)


def test_a_repeat_in_a_later_file_is_quarantined_as_duplicate(dirs, reference):
    result = run(*dirs, reference)
    quarantine = result["diary"].quarantine(pl.DataFrame()).collect()
    assert quarantine.select("source_file", "source_line", "rule_id", "raw").rows() == [
        ("nh/DR1IFF_b.csv", 2, "row.duplicate", "1,1,11111000,100")
    ]
    items = result["diary"].items().collect()
    assert items.select("source_file", "source_line").rows() == [
        ("nh/DR1IFF_a.csv", 2),
        ("nh/DR1IFF_a.csv", 3),
        ("nh/DR1IFF_a.csv", 4),
        ("nh/DR1IFF_b.csv", 3),
    ]
    counts = result["manifest"].filter(pl.col("source_file") == "nh/DR1IFF_b.csv")
    assert counts.select("rows_in", "rows_kept", "rows_quarantined").row(0) == (2, 1, 1)


def test_person_days_add_up_across_files(dirs, reference):
    days = run(*dirs, reference)["diary"].days
    # Person 1: 100 g + 50 g (the repeat in file b is not counted); person 2: 10 g in a + 20 g in b.
    assert days.select("person_id", "recall_day", "n_items").rows() == [("1", 1, 2), ("2", 1, 2)]
    items = run(*dirs, reference)["diary"].items().collect()
    expected = items.group_by("person_id").agg(pl.col("calcium_mg").sum()).sort("person_id")
    assert_frame_equal(days.select("person_id", "calcium_mg"), expected)


def test_unchanged_files_reuse_their_parts(dirs, reference):
    first = run(*dirs, reference)
    second = run(*dirs, reference)
    assert [p.reused for p in first["parts"]] == [False, False]
    assert [p.reused for p in second["parts"]] == [True, True]
    assert_frame_equal(first["diary"].days, second["diary"].days)
    assert_frame_equal(first["diary"].items().collect(), second["diary"].items().collect())


def test_a_changed_file_is_processed_again_and_the_other_reused(dirs, reference):
    raw, marts_dir = dirs
    run(raw, marts_dir, reference)
    (raw / "nh" / "DR1IFF_b.csv").write_text(IFF_B.replace(",20\n", ",25\n"))
    again = {p.source_file: p.reused for p in run(raw, marts_dir, reference)["parts"]}
    assert again == {"nh/DR1IFF_a.csv": True, "nh/DR1IFF_b.csv": False}


def test_a_changed_participants_file_invalidates_its_batch_parts(dirs, reference):
    raw, marts_dir = dirs
    run(raw, marts_dir, reference)
    (raw / "nh" / "DEMO.csv").write_text("SEQN,RIAGENDR,RIDAGEYR\n1,2,30\n")  # person 2 withdrawn
    result = run(raw, marts_dir, reference)
    assert [p.reused for p in result["parts"]] == [False, False]
    quarantine = result["diary"].quarantine(pl.DataFrame()).collect()
    missing = quarantine.filter(pl.col("rule_id") == "participant.missing")
    assert missing.select("source_file", "source_line").rows() == [
        ("nh/DR1IFF_a.csv", 4),
        ("nh/DR1IFF_b.csv", 3),
    ]
    # Pruning kept only what this run used: 2 files' parts and b's part without its repeat.
    assert len(list(diary_files.parts_root(marts_dir).iterdir())) == 3


def test_intake_dates_are_numbered_over_every_file_of_the_study(tmp_path, reference):
    folder = tmp_path / "raw" / "cohort"
    folder.mkdir(parents=True)
    (folder / "participants.csv").write_text("participant_id,sex,age_years\np1,F,30\n")
    header = "participant_id,intake_date,food_code,food_system,amount\n"
    (folder / "week2.csv").write_text(header + "p1,2024-01-09,01077,sr,100\n")
    (folder / "week1.csv").write_text(header + "p1,2024-01-02,01077,sr,100\n")
    items = run(tmp_path / "raw", tmp_path / "marts", reference)["diary"].items().collect()
    # 2024-01-02 is p1's first date (day 1), 2024-01-09 the second, though each file has one.
    assert items.select("source_file", "recall_day").rows() == [
        ("cohort/week1.csv", 1),
        ("cohort/week2.csv", 2),
    ]


def test_duckdb_over_parts_is_memory_bounded_and_spills_under_the_marts(tmp_path):
    with bounded_connection(tmp_path) as con:
        limit, spill = con.sql(
            "select current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()[0]
    assert limit.endswith(("MiB", "MB"))
    assert float(limit.split()[0]) <= 500
    assert Path(spill) == tmp_path / ".spill"


def test_participants_validated_and_weighted_study_by_study_are_those_done_at_once(
    tmp_path, reference
):
    raw, marts_dir = tmp_path / "raw", tmp_path / "marts"
    write_batch(raw)
    shutil.copytree(TEST_DATA / "bad", raw / "bad_batch")  # bad and repeated participant rows
    (raw / "nh" / "DEMO_more.csv").write_text("SEQN,RIAGENDR,RIDAGEYR\n2,1,41\n3,9,20\n")
    weighted = "SEQN,WTDRD1,DR2ILINE,DR2IFDCD,DR2IGRMS\n2,1234.5,1,11111000,30\n"
    (raw / "nh" / "DR2IFF_w.csv").write_text(weighted)
    scanned = [batch.scan_found(found, raw, marts_dir) for found in batch.discover(raw)]
    by_study = participants_stage.validate_by_study(scanned, marts_dir, reference)
    whole = batch.read_raw(raw)
    at_once = participants_stage.validate_participants(
        combine.combined_participants(whole), reference
    )
    people = participants_stage.attach_weights(at_once.kept, combine.combined_weights(whole))
    kept = by_study.frame()
    assert kept.height > 0
    assert by_study.quarantine["rule_id"].n_unique() >= 3
    assert kept.filter(pl.col("person_id") == "2")["weight"].to_list() == [1234.5]
    assert_frame_equal(kept, people.sort("study_id", "person_id", maintain_order=True))
    order = ["source_file", "source_line"]
    assert_frame_equal(by_study.quarantine.sort(order), at_once.quarantine.sort(order))


def test_participants_stay_on_disk_and_are_reused_while_their_files_are_unchanged(
    tmp_path, reference, monkeypatch
):
    raw, marts_dir = tmp_path / "raw", tmp_path / "marts"
    write_batch(raw)
    weighted = "SEQN,WTDRD1,DR2ILINE,DR2IFDCD,DR2IGRMS\n2,1234.5,1,11111000,30\n"
    (raw / "nh" / "DR2IFF_w.csv").write_text(weighted)
    made = []
    real = participants_stage.validate_study
    monkeypatch.setattr(
        participants_stage, "validate_study", lambda *a: made.append(a[1]) or real(*a)
    )

    def scan() -> tuple[list[batch.FileRead], participants_stage.People]:
        reads = [batch.scan_found(found, raw, marts_dir) for found in batch.discover(raw)]
        return reads, participants_stage.validate_by_study(reads, marts_dir, reference)

    reads, first = scan()
    assert made == ["nh"]
    # A first pass leaves the weights in the cache; the study's are read back when validating.
    assert all(r.weights.height == 0 for r in reads)
    weights = combine.study_weights(reads, "nh", marts_dir).filter(pl.col("person_id") == "2")
    assert weights["weight_one_day"].to_list() == [1234.5]
    assert first.frame()["person_id"].to_list() == ["1", "2"]
    assert first.frame()["weight"].to_list() == [None, 1234.5]
    assert first.files.to_dicts() == [
        {"study_id": "nh", "source_file": "nh/DEMO.csv", "survey_cycle": None, "rows_kept": 2}
    ]
    _, again = scan()
    assert made == ["nh"]
    assert_frame_equal(again.frame(), first.frame())
    (raw / "nh" / "DEMO.csv").write_text(DEMO + "10,2,50\n")
    _, changed = scan()
    assert made == ["nh", "nh"]
    assert changed.frame()["person_id"].to_list() == ["1", "10", "2"]  # by id, as text
    assert len(list((marts_dir / participants_stage.PEOPLE_DIR).iterdir())) == 1


def test_items_carry_their_person_survey_cycle(tmp_path, reference):
    raw, marts_dir = tmp_path / "raw", tmp_path / "marts"
    folder = raw / "cy"
    folder.mkdir(parents=True)
    (folder / "DEMO_E.csv").write_text(DEMO)  # NHANES letter E: 2007-2008
    (folder / "DR1IFF_E.csv").write_text(IFF_A)
    write_batch(raw)  # study nh: DEMO.csv names no cycle
    items = run(raw, marts_dir, reference)["diary"].items().collect()
    cycles = items.group_by("study_id").agg(pl.col("survey_cycle").unique()).sort("study_id")
    assert cycles.rows() == [("cy", ["2007-2008"]), ("nh", [None])]


def test_the_manifest_counts_imputed_items_and_grams_per_file(tmp_path, reference):
    raw, marts_dir = tmp_path / "raw", tmp_path / "marts"
    folder = write_batch(raw)
    # 11111009 is not in FNDDS: its values are imputed from the codes sharing its first 7 digits
    (folder / "DR1IFF_a.csv").write_text(IFF_A + "2,2,11111009,30\n")
    manifest = run(raw, marts_dir, reference)["manifest"]
    by_file = {r["source_file"]: r for r in manifest.iter_rows(named=True)}
    assert (
        by_file["nh/DR1IFF_a.csv"]["n_imputed_items"],
        by_file["nh/DR1IFF_a.csv"]["imputed_grams"],
    ) == (1, 30.0)
    assert (
        by_file["nh/DR1IFF_b.csv"]["n_imputed_items"],
        by_file["nh/DEMO.csv"]["imputed_grams"],
    ) == (0, 0.0)
