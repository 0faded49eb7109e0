"""camg.ingest.asa24 + camg.enrich.export_totals: an ASA24 researcher export (Items, Totals, participants)."""

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.enrich.composition import enrich
from camg.enrich.export_totals import export_crosscheck, validate_recall_totals
from camg.ingest.batch import read_raw
from camg.ingest.combine import combined_diary, combined_participants, combined_totals
from camg.validate.diary_rows import validate_diary
from camg.validate.participants import validate_participants

# ASA24-2016+ Items columns (a documented subset, in export order; the rest are carried as raw text).
ITEMS_HEADER = [
    "UserName", "UserID", "RecallNo", "RecallAttempt", "RecallStatus", "IntakeStartDateTime",
    "IntakeEndDateTime", "ReportingDate", "Lang", "Occ_No", "Occ_Time", "Occ_Name", "FoodNum",
    "FoodType", "FoodSrce", "CodeNum", "FoodCode", "ModCode", "HowMany", "SubCode", "PortionCode",
    "FoodAmt", "KCAL", "PROT", "TFAT", "CARB", "CALC", "PHOS", "MAGN", "IRON", "Food_Description",
]  # fmt: skip
TOTALS_HEADER = [
    "UserName", "UserID", "RecallNo", "RecallAttempt", "RecallStatus", "IntakeStartDateTime",
    "IntakeEndDateTime", "ReportingDate", "Lang", "TotalFoods", "MissingFoods", "KCAL", "PROT",
    "TFAT", "CARB", "CALC", "PHOS", "MAGN", "IRON",
]  # fmt: skip


def item(user, recall, status, occ, num, code, grams, calc, magn, desc) -> list[str]:
    start = f"2024-03-0{recall} 00:00:00"
    return [
        user, f"{user}-guid", str(recall), "0", str(status), start, start, start, "1", str(occ),
        "08:00", "1", str(num), "1", "1", str(num), code, "0", "1", "0", "10", grams, "100", "1",
        "1", "1", calc, "1", magn, "0.1", desc,
    ]  # fmt: skip


def total(user, recall, status, calc, magn) -> list[str]:
    start = f"2024-03-0{recall} 00:00:00"
    return [
        user, f"{user}-guid", str(recall), "0", str(status), start, start, start, "1", "2", "0",
        "900", "30", "30", "100", calc, "800", magn, "10",
    ]  # fmt: skip


ITEMS = [
    # Real FNDDS codes (reference/fndds): 11111000 milk 113.01 mg Ca, 9.97 mg Mg per 100 g;
    # 63101000 apple 5.97 / 4.95; 51000100 bread 143.75 / 22.32.
    item("u1", 1, 2, 1, 1, "11111000", "244", "276", "24", "Milk, cow's, fluid, whole"),
    item("u1", 1, 2, 2, 2, "63101000", "182", "11", "9", "Apple, raw"),
    item("u1", 2, 2, 1, 1, "51000100", "50", "72", "11", "Bread, NS as to major flour"),
    item("u1", 2, 2, 1, 2, "99999999", "30", "5", "5", "A food the table does not hold"),
    item("u2", 1, 5, 1, 1, "11111000", "244", "276", "24", "Milk (recall not finished)"),
]
TOTALS = [
    total("u1", 1, 2, "290", "33"),
    total("u1", 2, 2, "70", "11"),
    total("u2", 1, 5, "276", "24"),
]
PARTICIPANTS = "participant_id,sex,age_years\nu1,F,34\nu2,M,51\n"


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue()


def write_asa24_batch(raw_dir: Path, study_id: str = "asa24_study") -> Path:
    """An ASA24 researcher export as a team would drop it (file names as ASA24 names them)."""
    batch = raw_dir / study_id
    batch.mkdir(parents=True)
    (batch / "Study_Items.csv").write_text(csv_text(ITEMS_HEADER, ITEMS), encoding="utf-8")
    (batch / "Study_Totals.csv").write_text(csv_text(TOTALS_HEADER, TOTALS), encoding="utf-8")
    (batch / "participants.csv").write_text(PARTICIPANTS, encoding="utf-8")
    return batch


@pytest.fixture(scope="module")
def asa24(tmp_path_factory, reference) -> dict:
    raw_dir = tmp_path_factory.mktemp("asa24")
    write_asa24_batch(raw_dir)
    reads = read_raw(raw_dir)
    people = validate_participants(combined_participants(reads), reference)
    diary = validate_diary(combined_diary(reads), people.kept, reference)
    totals = validate_recall_totals(combined_totals(reads))
    items = enrich(diary.kept, reference)
    return {"reads": reads, "diary": diary, "items": items, "totals": totals}


def test_files_are_recognised_from_their_columns(asa24):
    formats = {r.source_file: (r.format, r.rows_in) for r in asa24["reads"]}
    assert formats == {
        "asa24_study/Study_Items.csv": ("asa24_items", 5),
        "asa24_study/Study_Totals.csv": ("asa24_totals", 3),
        "asa24_study/participants.csv": ("participants", 2),
    }


def test_items_become_canonical_rows_in_grams_with_fndds_codes(asa24):
    kept = asa24["diary"].kept.select(
        "person_id", "recall_day", "item_key", "food_code", "food_system", "amount", "unit"
    )
    expected = pl.DataFrame(
        {
            "person_id": ["u1", "u1", "u1", "u1"],
            "recall_day": [1, 1, 2, 2],
            "item_key": ["u1-guid|0|1|1", "u1-guid|0|2|2", "u1-guid|0|1|1", "u1-guid|0|2|2"],
            "food_code": ["11111000", "63101000", "51000100", "99999999"],
            "food_system": ["fndds"] * 4,
            "amount": [244.0, 182.0, 50.0, 30.0],
            "unit": ["g"] * 4,
        }
    )
    assert_frame_equal(kept, expected)
    assert asa24["diary"].kept["reported_calcium_mg"].to_list() == [276.0, 11.0, 72.0, 5.0]


def test_breakoff_recall_is_quarantined(asa24):
    quarantine = asa24["diary"].quarantine
    assert quarantine.select("source_line", "rule_id").rows() == [(6, "recall.not_reliable")]


def test_crosscheck_puts_camg_beside_the_export_per_recall(asa24, reference):
    result = export_crosscheck(asa24["items"], asa24["totals"].kept, reference)
    # u1 recall 1: milk 244 g x 113.01/100 = 275.7444 + apple 182 g x 5.97/100 = 10.8654 -> 286.6098 Ca;
    #   Mg 244 x 9.97/100 = 24.3268 + 182 x 4.95/100 = 9.009 -> 33.3358.
    # u1 recall 2: bread 50 g x 143.75/100 = 71.875 Ca, 50 x 22.32/100 = 11.16 Mg; 99999999 unmatched.
    # u2 recall 1: every item quarantined (breakoff) -> camg null.
    expected = pl.DataFrame(
        {
            "study_id": ["asa24_study"] * 3,
            "person_id": ["u1", "u1", "u2"],
            "recall_day": [1, 2, 1],
            "source_file": ["asa24_study/Study_Totals.csv"] * 3,
            "n_items": [2, 2, 0],
            "n_unmatched_items": [0, 1, 0],
            "calcium_mg_camg": [286.6098, 71.875, None],
            "calcium_mg_export": [290.0, 70.0, 276.0],
            "calcium_mg_difference": [-3.3902, 1.875, None],
            "magnesium_mg_camg": [33.3358, 11.16, None],
            "magnesium_mg_export": [33.0, 11.0, 24.0],
            "magnesium_mg_difference": [0.3358, 0.16, None],
            # The items' own CALC/MAGN: 276 + 11 = 287 against 290 (3 mg > 1 mg: disagree);
            # 72 + 5 = 77 against 70; u2 kept nothing against 276.
            "calcium_mg_items_reported": [287.0, 77.0, None],
            "magnesium_mg_items_reported": [33.0, 16.0, None],
            "is_items_disagreeing": [True, True, True],
        }
    )
    assert_frame_equal(result, expected, check_exact=False, abs_tol=1e-9)


def test_bad_total_rows_are_quarantined_under_named_rules():
    raw = pl.DataFrame(
        {
            "source_file": ["t.csv"] * 6,
            "source_line": [2, 3, 4, 5, 6, 7],
            "raw_line": ["a", "b", "c", "d", "e", "f"],
            "reader_rule": [None, None, None, None, "row.ragged", None],
            "study_id": ["s"] * 6,
            "person_id": ["u1", "", "u1", "u1", "u3", "u1"],
            "recall_day": ["1", "1", "x", "1", "1", "1.0"],
            "reported_calcium_mg": ["100", "100", "100", "100", "100", "90"],
            "reported_magnesium_mg": ["10", "10", "10", "-3", "10", "9"],
        }
    )
    result = validate_recall_totals(raw)
    assert result.kept.select("person_id", "recall_day").rows() == [("u1", 1)]
    assert result.quarantine.select("source_line", "rule_id").sort("source_line").rows() == [
        (3, "person_id.missing"),
        (4, "recall_day.invalid"),
        (5, "recall_total.unparseable"),
        (6, "row.ragged"),
        (7, "recall_total.duplicate"),
    ]


def test_components_of_one_food_are_distinct_items_and_totals_agree(tmp_path, reference):
    # Issue 17: ASA24 reports a food with components as one FoodNum with CodeNum 1, 2: both are
    # items (the export's real key), not a duplicate, so the recall agrees with its Totals row.
    first = item("u1", 1, 2, 1, 1, "11111000", "244", "276", "24", "Coffee with milk: milk")
    second = item("u1", 1, 2, 1, 1, "51000100", "50", "72", "11", "Coffee with milk: bread")
    second[ITEMS_HEADER.index("CodeNum")] = "2"
    batch = tmp_path / "raw" / "components"
    batch.mkdir(parents=True)
    (batch / "Items.csv").write_text(csv_text(ITEMS_HEADER, [first, second]))
    (batch / "Totals.csv").write_text(csv_text(TOTALS_HEADER, [total("u1", 1, 2, "348", "35")]))
    (batch / "participants.csv").write_text("participant_id,sex,age_years\nu1,F,34\n")
    reads = read_raw(tmp_path / "raw")
    people = validate_participants(combined_participants(reads), reference).kept
    diary = validate_diary(combined_diary(reads), people, reference)
    assert diary.quarantine.height == 0
    totals = validate_recall_totals(combined_totals(reads))
    checked = export_crosscheck(enrich(diary.kept, reference), totals.kept, reference)
    assert checked.select("calcium_mg_items_reported", "is_items_disagreeing").rows() == [
        (348.0, False)
    ]
