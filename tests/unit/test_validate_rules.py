"""camg.validate.diary_rows: every named rule, one table row each, and rows in = kept + quarantined."""

import os
import threading

import polars as pl
import pytest
from polars.lazyframe import engine_config
from polars.testing import assert_frame_equal

from camg.enrich.export_totals import total_rules
from camg.ops.engine import in_memory_engine
from camg.validate.diary_cells import PER_VALUE, per_value_columns
from camg.validate.diary_rows import diary_rules, validate_diary
from camg.validate.participants import participant_rules, validate_participants
from schemas.diary import RawDiaryRow
from schemas.participants import RawParticipant

GOOD_DIARY = {
    "source_file": "s/records.csv",
    "source_line": 2,
    "raw_line": "the raw line",
    "reader_rule": None,
    "study_id": "s",
    "person_id": "p1",
    "recall_day": "1",
    "intake_date": None,
    "item_kind": "food",
    "item_key": None,
    "food_code": "01077",  # SR24 whole milk: cup 244 g
    "food_system": "sr",
    "food_description": "milk",
    "amount": "1",
    "unit": "cup",
    "reported_calcium_mg": None,
    "reported_magnesium_mg": None,
    "supplement_calcium_mg_per_unit": None,
    "supplement_magnesium_mg_per_unit": None,
    "is_reliable_recall": None,
    "weight_one_day": None,
    "weight_two_day": None,
}
SUPPLEMENT = {"item_kind": "supplement", "food_code": None, "unit": "tablet"}
GOOD_PARTICIPANT = {
    "source_file": "s/participants.csv",
    "source_line": 2,
    "raw_line": "the raw line",
    "reader_rule": None,
    "study_id": "s",
    "person_id": "p1",
    "sex": "F",
    "age_years": "40",
    "age_months": None,
    "life_stage": None,
    "weight": None,
    "weight_two_day": None,
    "strata": None,
    "psu": None,
    "survey_cycle": None,
}

DIARY_CASES = [
    ("row.ragged", {"reader_rule": "row.ragged"}),
    ("row.control_characters", {"reader_rule": "row.control_characters"}),
    ("person_id.missing", {"person_id": "  "}),
    ("person_id.missing", {"person_id": None}),
    ("intake_date.invalid", {"recall_day": None, "intake_date": "2024-13-01"}),
    ("recall_day.invalid", {"recall_day": "1.5"}),
    ("recall_day.invalid", {"recall_day": None}),
    ("recall_day.invalid", {"recall_day": "\u0661"}),  # issue 17: ARABIC-INDIC DIGIT ONE
    ("weight.invalid", {"weight_one_day": "-1"}),  # issue 17: NHANES WTDRD1 on the item row
    ("weight.invalid", {"weight_two_day": "1e999"}),
    ("weight.invalid", {"weight_one_day": "nan"}),
    ("weight.invalid", {"weight_one_day": "1e308"}),  # survey_weight_max = 1e10: overflows sums
    ("recall_day.out_of_range", {"recall_day": "0"}),
    ("recall_day.out_of_range", {"recall_day": "367"}),  # plausibility.recall_day_max = 366
    ("recall.not_reliable", {"is_reliable_recall": "false"}),
    ("item_kind.unknown", {"item_kind": "drink"}),
    ("amount.missing", {"amount": " "}),
    ("amount.not_finite", {"amount": "NaN"}),
    ("amount.not_finite", {"amount": "inf"}),
    ("amount.not_finite", {"amount": "-Infinity"}),
    ("amount.unparseable", {"amount": "12,5"}),
    ("amount.unparseable", {"amount": "one"}),
    ("amount.not_positive", {"amount": "0"}),
    ("amount.not_positive", {"amount": "-3"}),
    ("amount.implausible", {"amount": "101"}),  # plausibility.household_units_max = 100 cups
    ("amount.implausible", {"amount": "20001", "unit": "g"}),  # item_grams_max = 20000
    ("amount.implausible", {"amount": "20001", "unit": "ml"}),  # item_ml_max = 20000
    ("food_code.missing", {"food_code": None, "food_description": None}),
    ("food_system.unknown", {"food_system": "usda_legacy"}),
    ("food_system.unknown", {"food_system": None}),
    ("unit.unknown", {"unit": "handful"}),
    ("unit.unknown", {"unit": "cup", "food_system": "fndds", "food_code": "11111000"}),
    ("supplement.missing_nutrients", SUPPLEMENT),
    (
        "supplement.implausible",
        {**SUPPLEMENT, "supplement_calcium_mg_per_unit": "-5"},
    ),
    (
        "supplement.implausible",  # plausibility.supplement_mg_per_unit_max = 5000
        {**SUPPLEMENT, "supplement_magnesium_mg_per_unit": "5001"},
    ),
    ("participant.missing", {"person_id": "ghost"}),
]
PARTICIPANT_CASES = [
    ("row.ragged", {"reader_rule": "row.ragged"}),
    ("row.control_characters", {"reader_rule": "row.control_characters"}),
    ("person_id.missing", {"person_id": ""}),
    ("participant.invalid_sex", {"sex": "X"}),
    ("participant.invalid_sex", {"sex": None}),
    ("participant.impossible_age", {"age_years": "-1"}),
    ("participant.impossible_age", {"age_years": "131"}),  # age_months_max = 1560 (130 y)
    ("participant.impossible_age", {"age_years": None}),
    ("participant.impossible_age", {"age_years": "forty"}),
    ("participant.invalid_life_stage", {"life_stage": "breastfeeding"}),
    ("participant.invalid_design", {"weight": "-1"}),
    ("participant.invalid_design", {"weight": "heavy"}),
    ("participant.invalid_design", {"weight": "1e999"}),  # issue 17: overflows to inf
    ("participant.invalid_design", {"weight_two_day": "-0.5"}),
    ("participant.invalid_design", {"weight": "1e308"}),  # plausibility.survey_weight_max = 1e10
]


def diary_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={**dict.fromkeys(GOOD_DIARY, pl.String), "source_line": pl.Int64}
    )


def participant_frame(rows: list[dict]) -> pl.DataFrame:
    schema = {**dict.fromkeys(GOOD_PARTICIPANT, pl.String), "source_line": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


def known_people(reference) -> pl.DataFrame:
    return validate_participants(participant_frame([GOOD_PARTICIPANT]), reference).kept


@pytest.mark.parametrize(("rule_id", "change"), DIARY_CASES)
def test_diary_rule(rule_id, change, reference):
    raw = diary_frame([GOOD_DIARY, {**GOOD_DIARY, **change, "source_line": 3}])
    RawDiaryRow.validate(raw)
    result = validate_diary(raw, known_people(reference), reference)
    assert result.kept["source_line"].to_list() == [2]
    bad = result.quarantine.row(0, named=True)
    assert (bad["source_line"], bad["rule_id"], bad["raw"]) == (3, rule_id, "the raw line")
    assert bad["source_file"] == "s/records.csv"
    assert bad["message"]


@pytest.mark.parametrize(("rule_id", "change"), PARTICIPANT_CASES)
def test_participant_rule(rule_id, change, reference):
    raw = participant_frame([GOOD_PARTICIPANT, {**GOOD_PARTICIPANT, **change, "person_id": "p2"}])
    raw = raw.with_columns(pl.Series("source_line", [2, 3]))
    if "person_id" in change:
        raw = raw.with_columns(pl.Series("person_id", ["p1", change["person_id"]]))
    RawParticipant.validate(raw)
    result = validate_participants(raw, reference)
    assert result.kept["person_id"].to_list() == ["p1"]
    assert result.quarantine.select("source_line", "rule_id").rows() == [(3, rule_id)]


def test_every_rule_id_has_a_case(reference):
    ids = {r.rule_id for r in diary_rules(reference) + participant_rules(reference) + total_rules()}
    covered = {rule for rule, _ in DIARY_CASES + PARTICIPANT_CASES}
    # Rules over per-recall totals: tests/unit/test_ingest_asa24.py.
    covered |= {"recall_total.unparseable"}
    assert ids - covered == set()


def test_repeated_export_item_is_a_duplicate(reference):
    row = {**GOOD_DIARY, "item_key": "7", "unit": "g"}
    raw = diary_frame([row, {**row, "source_line": 3}, {**row, "source_line": 4, "item_key": "8"}])
    result = validate_diary(raw, known_people(reference), reference)
    assert result.kept["source_line"].to_list() == [2, 4]
    assert result.quarantine.select("source_line", "rule_id").rows() == [(3, "row.duplicate")]


def test_repeated_participant_keeps_the_first(reference):
    raw = participant_frame([GOOD_PARTICIPANT, {**GOOD_PARTICIPANT, "source_line": 3}])
    result = validate_participants(raw, reference)
    assert result.kept["source_line"].to_list() == [2]
    assert result.quarantine.select("source_line", "rule_id").rows() == [
        (3, "participant.duplicate")
    ]


def test_a_row_breaking_several_rules_gets_the_first(reference):
    change = {"person_id": "", "amount": "-1", "unit": "handful", "source_line": 3}
    raw = diary_frame([GOOD_DIARY, {**GOOD_DIARY, **change}])
    result = validate_diary(raw, known_people(reference), reference)
    assert result.quarantine["rule_id"].to_list() == ["person_id.missing"]


def test_a_non_finite_number_is_quarantined_by_the_schema_guard(reference):
    # Issue 17: a reported nutrient of 1e999 parses to inf; the stage's finiteness guard
    # (schemas.FiniteNumbers) quarantines the row instead of publishing inf.
    rows = [GOOD_DIARY, {**GOOD_DIARY, "source_line": 3, "reported_calcium_mg": "1e999"}]
    result = validate_diary(diary_frame(rows), known_people(reference), reference)
    assert result.quarantine.select("source_line", "rule_id").rows() == [
        (3, "schema.DiaryRow.finite")
    ]
    assert result.kept["source_line"].to_list() == [2]


def test_the_in_memory_engine_holds_while_any_thread_is_inside_and_is_put_back():
    before = (
        os.environ.get("POLARS_ENGINE_AFFINITY"),
        engine_config.get_engine_affinity_override(),
    )
    inside, leave = threading.Barrier(2), threading.Event()
    seen = []

    def engine() -> str | None:
        override = engine_config.get_engine_affinity_override()
        return None if override is None else override._name

    def other() -> None:
        with in_memory_engine():
            inside.wait()
            leave.wait()
            seen.append(engine())

    thread = threading.Thread(target=other)
    thread.start()
    with in_memory_engine():
        inside.wait()
        assert engine() == "in-memory"
    # This thread left first: the other one is still inside, so the setting holds for it.
    leave.set()
    thread.join()
    assert seen == ["in-memory"]
    after = (os.environ.get("POLARS_ENGINE_AFFINITY"), engine_config.get_engine_affinity_override())
    assert after == before


@pytest.mark.parametrize(
    "values", [[" Cup ", "g", None, "", "TBSP.", "g", " cup", "fl. oz."], [None, None], []]
)
def test_columns_parsed_once_a_value_give_what_parsing_each_row_gives(values):
    frame = pl.DataFrame(
        {c: values for c in ("unit", "food_system", "item_kind")},
        schema={c: pl.String for c in ("unit", "food_system", "item_kind")},
    )
    got = frame.select(per_value_columns(frame.lazy()))
    expected = frame.select(parse(pl.col(c)).alias(name) for name, (c, parse) in PER_VALUE.items())
    assert_frame_equal(got, expected)


def test_the_in_memory_engine_leaves_an_operators_engine_setting_alone(monkeypatch):
    monkeypatch.setenv("POLARS_ENGINE_AFFINITY", "streaming")
    with in_memory_engine():
        assert engine_config.get_engine_affinity_override() is None
        assert os.environ["POLARS_ENGINE_AFFINITY"] == "streaming"
    assert os.environ["POLARS_ENGINE_AFFINITY"] == "streaming"
