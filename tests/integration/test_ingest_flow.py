"""The real flow on every export format, bad files and hostile text; re-runs through the file cache.

One module-scoped fixture runs the Prefect flow three times on one raw folder: first run, an
unchanged re-run (every file from the cache), then a run after one file changed and one was removed.
"""

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from prefect.testing.utilities import prefect_test_harness

from flows.camg_flow import camg_flow
from tests.conftest import TEST_DATA, read_tables, settings_in
from tests.unit.test_ingest_asa24 import write_asa24_batch

pytestmark = pytest.mark.slow

# Columns that name the run, its clock or how it got a file's rows, not the data.
RUN_COLUMNS = {"run_id", "started_at", "finished_at", "code_version", "duration_seconds"}
RUN_COLUMNS |= {"read_from"}

SQL_ID = "p'); drop table intake_item; --"
HTML_ID = '<script>alert("id")</script>'
PATH_ID = "../../etc/passwd"
LONG_ID = "x" * 10_000
HOSTILE_FOOD = "<img src=x onerror=alert(1)> \"milk\" 'n' ; select 1; ../.. ÿ"
HOSTILE_STUDY = 'study "quoted" ; drop table x; <b>'
HOSTILE_FILE = "records 'week 1' <b>&amp; ; --.csv"
IDS = [SQL_ID, HTML_ID, PATH_ID, LONG_ID]


def csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def write_hostile_batch(raw_dir: Path) -> Path:
    """A food-record batch whose ids, food names, folder and file names are hostile text."""
    batch = raw_dir / HOSTILE_STUDY
    batch.mkdir()
    participants = ["participant_id,sex,age_years"] + [f"{csv_field(i)},F,30" for i in IDS]
    (batch / "participants.csv").write_text("\n".join(participants) + "\n", encoding="utf-8")
    rows = ["participant_id,recall_day,food_code,food_system,food_description,amount,unit"]
    rows += [f"{csv_field(i)},1,01077,sr,{csv_field(HOSTILE_FOOD)},1,cup" for i in IDS]
    rows.append(f"{csv_field(SQL_ID)},1,01077,sr,milk\x1b[2J,1,cup")  # control chars: quarantined
    # Latin-1 bytes (ÿ is 0xFF, invalid as UTF-8): the file is read as Latin-1, text kept verbatim.
    (batch / HOSTILE_FILE).write_bytes(("\r\n".join(rows) + "\r\n").encode("latin-1"))
    return batch


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("ingest_flow")
    settings = settings_in(root)
    asa24 = write_asa24_batch(settings.raw_dir)
    write_hostile_batch(settings.raw_dir)
    shutil.copytree(TEST_DATA / "bad", settings.raw_dir / "bad_batch")
    with prefect_test_harness(server_startup_timeout=None):
        first = read_tables(camg_flow(settings))
        second = read_tables(camg_flow(settings))
        # A team re-sends the totals with one recall corrected and withdraws the bad batch's rows file.
        totals = (asa24 / "Study_Totals.csv").read_text().replace(",290,", ",287,")
        (asa24 / "Study_Totals.csv").write_text(totals)
        (settings.raw_dir / "bad_batch" / "bad_rows.csv").unlink()
        third = read_tables(camg_flow(settings))
    return {"first": first, "second": second, "third": third}


def test_every_format_is_read_and_every_file_accounted_for(runs):
    manifest = runs["first"]["file_manifest"]
    formats = dict(manifest.select("source_file", "format").iter_rows())
    assert formats["asa24_study/Study_Items.csv"] == "asa24_items"
    assert formats["asa24_study/Study_Totals.csv"] == "asa24_totals"
    assert formats[f"{HOSTILE_STUDY}/{HOSTILE_FILE}"] == "food_record"
    statuses = dict(manifest.select("source_file", "status").iter_rows())
    assert statuses["bad_batch/spreadsheet.xlsx"] == "failed"
    assert statuses["bad_batch/empty.csv"] == "empty"
    assert (manifest["rows_in"] == manifest["rows_kept"] + manifest["rows_quarantined"]).all()
    log = runs["first"]["run_log"].row(0, named=True)
    assert log["status"] == "published_with_failed_files"
    assert log["rows_in"] == log["rows_kept"] + log["rows_quarantined"]


def test_export_crosscheck_is_published(runs):
    check = runs["first"]["export_crosscheck"].sort("person_id", "recall_day")
    assert check.select("person_id", "recall_day", "calcium_mg_export").rows() == [
        ("u1", 1, 290.0),
        ("u1", 2, 70.0),
        ("u2", 1, 276.0),
    ]
    # 244 g milk x 113.01/100 + 182 g apple x 5.97/100 = 286.6098 mg; export 290 -> -3.3902.
    assert check["calcium_mg_difference"][0] == pytest.approx(-3.3902)


def test_hostile_text_is_stored_verbatim(runs):
    items = runs["first"]["intake_item"].filter(pl.col("study_id") == HOSTILE_STUDY)
    assert sorted(items["person_id"].to_list()) == sorted(IDS)
    assert set(items["food_description"].to_list()) == {HOSTILE_FOOD}
    assert set(items["source_file"].to_list()) == {f"{HOSTILE_STUDY}/{HOSTILE_FILE}"}
    people = runs["first"]["participant"].filter(pl.col("study_id") == HOSTILE_STUDY)
    assert sorted(people["person_id"].to_list()) == sorted(IDS)
    # 1 cup of SR 01077 whole milk = 244 g -> 244 x 113 / 100 = 275.72 mg Ca each.
    assert items["calcium_mg"].to_list() == pytest.approx([275.72] * 4)
    bad = runs["first"]["quarantine"].filter(pl.col("study_id") == HOSTILE_STUDY).row(0, named=True)
    assert bad["rule_id"] == "row.control_characters"
    assert bad["raw"] == f'"{SQL_ID}",1,01077,sr,milk\x1b[2J,1,cup'


def test_unchanged_rerun_reuses_every_file_and_gives_identical_marts(runs):
    read_from = runs["second"]["file_manifest"].filter(pl.col("status") != "ignored")["read_from"]
    assert set(read_from.to_list()) == {"cache"}
    first_from = runs["first"]["file_manifest"].filter(pl.col("status") != "ignored")["read_from"]
    assert set(first_from.to_list()) == {"parsed"}
    assert runs["first"].keys() == runs["second"].keys()
    for name, first in runs["first"].items():
        keep = [c for c in first.columns if c not in RUN_COLUMNS]
        assert_frame_equal(first.select(keep), runs["second"][name].select(keep), check_exact=True)


def test_changed_file_replaces_its_rows_and_removed_file_leaves(runs):
    manifest = runs["third"]["file_manifest"]
    assert "bad_batch/bad_rows.csv" not in manifest["source_file"].to_list()
    for table in ("intake_item", "quarantine"):
        assert "bad_batch/bad_rows.csv" not in runs["third"][table]["source_file"].to_list()
    read_from = dict(manifest.select("source_file", "read_from").iter_rows())
    assert read_from["asa24_study/Study_Totals.csv"] == "parsed"
    assert read_from["asa24_study/Study_Items.csv"] == "cache"
    check = runs["third"]["export_crosscheck"].sort("person_id", "recall_day")
    assert check["calcium_mg_export"].to_list() == [287.0, 70.0, 276.0]
