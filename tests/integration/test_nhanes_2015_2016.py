"""The real flow on the real NHANES 2015-2016 batch, checked against NHANES's own numbers.

One module-scoped fixture runs the Prefect flow twice on a tmp copy of the bundled batch plus a small
batch with bad rows, so every test here reads real published marts.
"""

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from prefect.testing.utilities import prefect_test_harness

from camg.assess.nhanes_check import person_day_comparison, with_official_day1_totals
from flows.camg_flow import camg_flow
from tests.conftest import TEST_DATA, copy_batch, read_tables, settings_in

pytestmark = pytest.mark.slow

MART_TABLES = {
    "intake_item",
    "intake_person_day",
    "intake_person",
    "unmatched_foods",
    "quarantine",
    "file_manifest",
    "run_log",
    "reference_rules",
    "participant",
}
# Columns that name the run or its clock, not the data (read_from: a re-run reads files from the cache).
RUN_COLUMNS = {"run_id", "started_at", "finished_at", "code_version", "duration_seconds"}
RUN_COLUMNS |= {"read_from"}

BAD_DR1IFF = """SEQN,DR1ILINE,DR1IFDCD,DR1IGRMS,DR1ICALC,DR1IMAGN,DR1DRSTZ
90001,1,11111000,244,276,24,1
90001,2,11111000,-5,0,0,1
,3,11111000,100,113,10,1
90001,4,11111000,abc,0,0,1
90001,5,63101000,138,8,7,1
90001,6,99999999,100,,,1
90002,1,11111000,244,276,24,1
"""
BAD_DEMO = """SEQN,RIAGENDR,RIDAGEYR,RIDAGEMN,RIDEXPRG,SDMVPSU,SDMVSTRA
90001,2,40,,,1,1
90002,1,35,,,2,1
"""


def write_bad_batch(raw_dir: Path) -> None:
    batch = raw_dir / "bad_rows"
    batch.mkdir()
    (batch / "DR1IFF_X.csv").write_text(BAD_DR1IFF)
    (batch / "DEMO_X.csv").write_text(BAD_DEMO)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("nhanes")
    settings = settings_in(root)
    copy_batch("nhanes_2015_2016", settings.raw_dir)
    write_bad_batch(settings.raw_dir)
    with prefect_test_harness(server_startup_timeout=None):
        first = camg_flow(settings)
        first_tables = read_tables(first)
        shutil.copy(first, root / "first.duckdb")
        second = camg_flow(settings)
        second_tables = read_tables(second)
    return {"db": second, "first": first_tables, "second": second_tables}


def test_run_publishes_every_mart_table(runs):
    assert set(runs["second"]) >= MART_TABLES
    assert runs["second"]["intake_person"].height == 1041 + 2


def test_every_table_is_stamped_with_the_run_id(runs):
    run_ids = {t["run_id"].unique().to_list()[0] for t in runs["second"].values() if t.height}
    assert len(run_ids) == 1


def test_second_run_on_same_inputs_gives_same_contents(runs):
    assert runs["first"].keys() == runs["second"].keys()
    for name, first in runs["first"].items():
        keep = [c for c in first.columns if c not in RUN_COLUMNS]
        assert_frame_equal(first.select(keep), runs["second"][name].select(keep), check_exact=True)
    assert not runs["first"]["run_log"]["run_id"].equals(runs["second"]["run_log"]["run_id"])


def test_person_days_match_nhanes_item_sums(runs):
    days = person_day_comparison(str(runs["db"])).filter(pl.col("study_id") == "nhanes_2015_2016")
    assert days.height == 2082
    within = days.select(
        (pl.col("calcium_relative_difference").abs() <= 0.02).mean(),
        (pl.col("magnesium_relative_difference").abs() <= 0.02).mean(),
    ).row(0)
    assert within[0] >= 0.99, within
    assert within[1] >= 0.99, within


def test_day1_matches_official_dr1tot_totals(runs):
    dr1tot = pl.read_csv(TEST_DATA / "nhanes_2015_2016_dr1tot_day1.csv.gz")
    days = person_day_comparison(str(runs["db"])).filter(pl.col("study_id") == "nhanes_2015_2016")
    day1 = with_official_day1_totals(days, dr1tot)
    assert day1.height == 1041
    calcium = (
        (day1["calcium_mg"] - day1["official_calcium_mg"]).abs()
        <= 0.02 * day1["official_calcium_mg"]
    ).mean()
    magnesium = (
        (day1["magnesium_mg"] - day1["official_magnesium_mg"]).abs()
        <= 0.02 * day1["official_magnesium_mg"]
    ).mean()
    assert calcium >= 0.99
    assert magnesium >= 0.99


def test_bad_rows_are_quarantined_with_line_and_rule(runs):
    quarantine = runs["second"]["quarantine"].filter(pl.col("study_id") == "bad_rows")
    got = quarantine.select("source_file", "source_line", "rule_id").sort("source_line")
    expected = pl.DataFrame(
        {
            "source_file": ["bad_rows/DR1IFF_X.csv"] * 3,
            "source_line": [3, 4, 5],
            "rule_id": ["amount.not_positive", "person_id.missing", "amount.unparseable"],
        }
    )
    assert_frame_equal(got, expected, check_dtypes=False)
    assert quarantine.filter(pl.col("source_line") == 4)["raw"][0] == ",3,11111000,100,113,10,1"


def test_good_rows_of_a_bad_file_are_published(runs):
    items = runs["second"]["intake_item"].filter(pl.col("study_id") == "bad_rows")
    assert sorted(items["source_line"].to_list()) == [2, 6, 7, 8]
    unknown = items.filter(pl.col("food_code") == "99999999")
    assert unknown["is_matched"].to_list() == [False]
    assert unknown["calcium_mg"].to_list() == [None]
    unmatched = runs["second"]["unmatched_foods"].filter(pl.col("study_id") == "bad_rows")
    assert unmatched.select("food_code", "n_items").rows() == [("99999999", 1)]
    days = runs["second"]["intake_person_day"].filter(pl.col("person_id") == "90001")
    assert days["is_complete"].to_list() == [False]


def test_counts_reconcile_per_file_and_run(runs):
    manifest = runs["second"]["file_manifest"]
    assert (manifest["rows_in"] == manifest["rows_kept"] + manifest["rows_quarantined"]).all()
    bad = manifest.filter(pl.col("source_file") == "bad_rows/DR1IFF_X.csv").row(0, named=True)
    assert (bad["rows_in"], bad["rows_kept"], bad["rows_quarantined"]) == (7, 4, 3)
    log = runs["second"]["run_log"].row(0, named=True)
    assert log["rows_in"] == log["rows_kept"] + log["rows_quarantined"]
    assert log["rows_quarantined"] == runs["second"]["quarantine"].height
