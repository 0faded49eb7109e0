"""camg.ingest.food_record + unit conversion: a cohort's own food records, household measures, supplements."""

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.enrich.composition import enrich
from camg.ingest.batch import read_raw
from camg.ingest.combine import combined_diary, combined_participants
from camg.validate.diary_rows import validate_diary
from camg.validate.participants import validate_participants

# SR24 (reference/usda_sr24): 01077 whole milk 113 mg Ca, 10 mg Mg per 100 g, cup 244 g, tbsp 15 g,
# fl oz 30.5 g; 01009 cheddar, oz 28.35 g; 20044 white rice (no oz portion); 09003 apple,
# first cup measure "cup, quartered or chopped" 125 g.
HEADER = "Participant_ID,Recall_Day,Food_Code,Food_Description,Amount,Unit,Item_Kind,Calcium_mg"
RECORDS = f"""{HEADER},Magnesium_mg,Notes
p1,1,01077,whole milk,1,cup,,,,breakfast
p1,1,01077,milk in tea,2,Tablespoons,food,,,
p1,1,01077,milk,8,fl. oz.,,,,
p1,1,01077,milk,250,ml,,,,
p1,1,01009,cheddar,1,oz,,,,
p1,1,20044,rice,2,OZ,,,,
p1,1,09003,apple,1,Cups,,,,
p1,1,09003,apple,100,,,,,no unit: grams
p1,1,,calcium carbonate,2,tablet,supplement,500,0,
p1,1,09003,apple,1,handful,,,,
p1,1,,vitamin pill,1,tablet,supplement,,,
"""
DATED = """participant_id;intake_date;food_code;amount
p2;2024-05-03;01077;100
p2;2024-05-01;01077;200
p2;2024-05-03;09003;50
p2;2024-02-30;09003;50
"""
PARTICIPANTS = "participant_id,sex,age_years\np1,female,40\np2,2,70\n"


@pytest.fixture(scope="module")
def records(tmp_path_factory, reference) -> dict:
    raw_dir = tmp_path_factory.mktemp("records")
    batch = raw_dir / "cohort"
    batch.mkdir()
    (batch / "study.toml").write_text('format = "food_record"\nfood_system = "SR"\n')
    (batch / "diary_week1.csv").write_text(RECORDS)
    (batch / "dated.csv").write_bytes(DATED.replace("\n", "\r\n").encode("latin-1"))
    (batch / "participants.csv").write_text(PARTICIPANTS)
    reads = read_raw(raw_dir)
    people = validate_participants(combined_participants(reads), reference)
    diary = validate_diary(combined_diary(reads), people.kept, reference)
    return {"reads": reads, "diary": diary, "items": enrich(diary.kept, reference)}


def items_of(records, source_file: str) -> pl.DataFrame:
    return (
        records["items"]
        .filter(pl.col("source_file") == source_file)
        .sort("source_line")
        .select("source_line", "unit", "grams", "calcium_mg", "magnesium_mg")
    )


def test_household_measures_and_mass_units_become_grams(records):
    result = items_of(records, "cohort/diary_week1.csv")
    fl_oz_ml = 29.5735295625  # reference/camg_rules.csv unit.fl_oz_ml
    expected = pl.DataFrame(
        {
            "source_line": [2, 3, 4, 5, 6, 7, 8, 9, 10],
            "unit": ["cup", "tbsp", "fl oz", "ml", "oz", "oz", "cup", "g", "tablet"],
            "grams": [
                244.0,  # 1 cup milk
                30.0,  # 2 tbsp x 15 g
                244.0,  # 8 fl oz x 30.5 g
                250 * 30.5 / fl_oz_ml,  # ml from the milk's own fl oz weight: 257.83 g
                28.35,  # cheddar's own oz portion
                2 * 28.349523125,  # rice has no oz portion: the avoirdupois ounce
                125.0,  # apple's first cup measure
                100.0,
                None,  # supplements have no grams
            ],
            "calcium_mg": [
                244 * 113 / 100,
                30 * 113 / 100,
                244 * 113 / 100,
                250 * 30.5 / fl_oz_ml * 113 / 100,
                28.35 * 721 / 100,
                2 * 28.349523125 * 28 / 100,
                125 * 6 / 100,
                100 * 6 / 100,
                2 * 500.0,  # 2 tablets x 500 mg
            ],
        }
    )
    assert_frame_equal(result.drop("magnesium_mg"), expected, check_exact=False, abs_tol=1e-6)
    assert result["magnesium_mg"][-1] == 0.0


def test_study_toml_default_food_system_applies(records):
    kept = records["diary"].kept.filter(pl.col("item_kind") == "food")
    assert kept["food_system"].unique().to_list() == ["sr"]


def test_unknown_unit_and_supplement_without_nutrients_are_quarantined(records):
    quarantine = records["diary"].quarantine.filter(
        pl.col("source_file") == "cohort/diary_week1.csv"
    )
    assert quarantine.select("source_line", "rule_id").sort("source_line").rows() == [
        (11, "unit.unknown"),
        (12, "supplement.missing_nutrients"),
    ]
    assert quarantine.sort("source_line")["raw"][0] == "p1,1,09003,apple,1,handful,,,,"


def test_intake_dates_become_recall_days_per_person(records):
    kept = records["diary"].kept.filter(pl.col("source_file") == "cohort/dated.csv")
    # p2's dates: 2024-05-01 is day 1, 2024-05-03 day 2, whatever the row order.
    assert kept.sort("source_line").select("source_line", "recall_day").rows() == [
        (2, 2),
        (3, 1),
        (4, 2),
    ]
    bad = records["diary"].quarantine.filter(pl.col("source_file") == "cohort/dated.csv")
    assert bad.select("source_line", "rule_id").rows() == [(5, "intake_date.invalid")]


def test_every_record_is_accounted_for(records):
    for read in records["reads"]:
        if read.diary.height:
            kept = records["diary"].kept.filter(pl.col("source_file") == read.source_file).height
            bad = (
                records["diary"].quarantine.filter(pl.col("source_file") == read.source_file).height
            )
            assert kept + bad == read.rows_in


def test_format_override_rejects_a_file_of_another_family(tmp_path):
    batch = tmp_path / "cohort"
    batch.mkdir()
    (batch / "study.toml").write_text('format = "food_record"\n')
    (batch / "DR1IFF_X.csv").write_text("SEQN,DR1ILINE,DR1IFDCD,DR1IGRMS\n1,1,11111000,100\n")
    reads = {r.source_file: r for r in read_raw(tmp_path)}
    nhanes = reads["cohort/DR1IFF_X.csv"]
    assert (nhanes.status, nhanes.rows_in) == ("failed", 0)
    assert "food_record per study.toml" in nhanes.error
    assert reads["cohort/study.toml"].status == "config"


def test_a_broken_study_toml_is_a_failed_file_and_defaults_apply(tmp_path):
    batch = tmp_path / "cohort"
    batch.mkdir()
    (batch / "study.toml").write_text('format = "spreadsheet"\n')
    (batch / "records.csv").write_text("participant_id,recall_day,food_code,amount\np1,1,1,5\n")
    reads = {r.source_file: r for r in read_raw(tmp_path)}
    assert reads["cohort/study.toml"].status == "failed"
    assert "spreadsheet" in reads["cohort/study.toml"].error
    assert (reads["cohort/records.csv"].format, reads["cohort/records.csv"].rows_in) == (
        "food_record",
        1,
    )


def test_design_columns_named_in_study_toml_are_read(tmp_path, reference):
    batch = tmp_path / "cohort"
    batch.mkdir()
    (batch / "study.toml").write_text('[design]\nweight = "wt_final"\nstrata = "stratum"\n')
    (batch / "participants.csv").write_text(
        "participant_id,sex,age_months,wt_final,stratum,psu\nk1,M,30,1234.5,7,2\n"
    )
    people = validate_participants(combined_participants(read_raw(tmp_path)), reference).kept
    assert people.select("age_months", "weight", "strata", "psu").rows() == [(30, 1234.5, "7", "2")]


def test_readers_do_not_depend_on_header_case(tmp_path: Path):
    batch = tmp_path / "s"
    batch.mkdir()
    (batch / "r.csv").write_text("PARTICIPANT_ID,Amount,FOOD_CODE,food_system\np,1,01077,sr\n")
    (read,) = read_raw(tmp_path)
    assert read.format == "food_record"
    assert read.diary.select("person_id", "amount", "food_code", "food_system").row(0) == (
        "p",
        "1",
        "01077",
        "sr",
    )
