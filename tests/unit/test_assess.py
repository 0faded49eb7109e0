"""Person-day sums, person means, the Ca:Mg ratio, flags and risk level, on tiny literal frames."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.assess import assess_persons, person_days


def items(rows: list[tuple]) -> pl.DataFrame:
    """Intake items: (person, day, kind, calcium_mg, magnesium_mg, is_matched)."""
    return pl.DataFrame(
        rows,
        schema={
            "person_id": pl.String,
            "recall_day": pl.Int64,
            "item_kind": pl.String,
            "calcium_mg": pl.Float64,
            "magnesium_mg": pl.Float64,
            "is_matched": pl.Boolean,
        },
        orient="row",
    ).with_columns(pl.lit("s").alias("study_id"))


def participants(rows: list[tuple]) -> pl.DataFrame:
    """Participants: (person, sex, age in months, life stage)."""
    frame = pl.DataFrame(
        rows,
        schema={
            "person_id": pl.String,
            "sex": pl.String,
            "age_months": pl.Int64,
            "life_stage": pl.String,
        },
        orient="row",
    )
    return frame.with_columns(
        pl.lit("s").alias("study_id"),
        pl.lit(None, dtype=pl.Float64).alias("weight"),
        pl.lit(None, dtype=pl.Float64).alias("weight_two_day"),
        pl.lit(None, dtype=pl.String).alias("strata"),
        pl.lit(None, dtype=pl.String).alias("psu"),
        pl.lit("participants.csv").alias("source_file"),
        pl.lit(2, dtype=pl.Int64).alias("source_line"),
    )


def test_person_day_sums_food_and_supplements_apart():
    # Day 1: food 300 + 100 mg Ca (250 g x 120 mg/100 g and 100 g x 100 mg/100 g), a 500 mg Ca
    # supplement; Mg 40 + 30 from food, 0 from the supplement. An unknown food counts 0, marks incomplete.
    result = person_days(
        items(
            [
                ("a", 1, "food", 300.0, 40.0, True),
                ("a", 1, "food", 100.0, 30.0, True),
                ("a", 1, "supplement", 500.0, 0.0, True),
                ("a", 2, "food", 200.0, 50.0, True),
                ("a", 2, "food", None, None, False),
            ]
        )
    )
    expected = pl.DataFrame(
        {
            "study_id": ["s", "s"],
            "person_id": ["a", "a"],
            "recall_day": [1, 2],
            "calcium_food_mg": [400.0, 200.0],
            "calcium_supplement_mg": [500.0, 0.0],
            "calcium_mg": [900.0, 200.0],
            "magnesium_food_mg": [70.0, 50.0],
            "magnesium_supplement_mg": [0.0, 0.0],
            "magnesium_mg": [70.0, 50.0],
            "n_items": [3, 2],
            "n_unmatched_items": [0, 1],
            "is_complete": [True, False],
        }
    )
    assert_frame_equal(result, expected)


def assess_one(reference, item_rows, sex="female", age_months=40 * 12, life_stage="general"):
    days = person_days(items(item_rows))
    people = participants([("a", sex, age_months, life_stage)])
    return assess_persons(days, people, reference).row(0, named=True)


def test_person_intake_is_the_mean_over_days(reference):
    # (900 + 500) / 2 = 700 mg Ca; (300 + 100) / 2 = 200 mg Mg; ratio 700 / 200 = 3.5.
    row = assess_one(
        reference, [("a", 1, "food", 900.0, 300.0, True), ("a", 2, "food", 500.0, 100.0, True)]
    )
    assert (row["n_days"], row["calcium_mg"], row["magnesium_mg"]) == (2, 700.0, 200.0)
    assert row["calcium_to_magnesium_mass_ratio"] == pytest.approx(3.5)
    # molar = 3.5 x 24.305 / 40.078 = 2.1225
    assert row["calcium_to_magnesium_molar_ratio"] == pytest.approx(3.5 * 24.305 / 40.078)


def test_ratio_is_null_not_infinite_when_magnesium_is_zero(reference):
    row = assess_one(reference, [("a", 1, "food", 500.0, 0.0, True)])
    assert row["calcium_to_magnesium_mass_ratio"] is None
    assert row["calcium_to_magnesium_molar_ratio"] is None
    assert row["is_ratio_above_high_band"] is None


def test_magnesium_from_food_never_sets_the_upper_level_flag(reference):
    # 800 mg Mg from food is far above the 350 mg UL, but the Mg UL covers supplements only.
    row = assess_one(reference, [("a", 1, "food", 1600.0, 800.0, True)])
    assert row["is_supplemental_magnesium_above_ul"] is False
    assert row["supplemental_magnesium_above_ul_rule_id"] is None


def test_supplemental_magnesium_above_the_upper_level_is_flagged(reference):
    # 400 mg Mg from a supplement > UL 350 (women 31-50).
    row = assess_one(
        reference, [("a", 1, "food", 1000.0, 300.0, True), ("a", 1, "supplement", 0.0, 400.0, True)]
    )
    assert row["is_supplemental_magnesium_above_ul"] is True
    assert row["supplemental_magnesium_above_ul_rule_id"] == "magnesium.ul.female.general.372-612m"
    assert row["risk_level"] == "high"


def test_calcium_supplement_without_magnesium(reference):
    # 600 mg Ca from a supplement, total Mg 200 mg < EAR 265 (women 31-50) -> flagged, high risk.
    row = assess_one(
        reference, [("a", 1, "food", 500.0, 200.0, True), ("a", 1, "supplement", 600.0, 0.0, True)]
    )
    assert row["is_calcium_supplement_without_magnesium"] is True
    assert row["calcium_supplement_without_magnesium_rule_id"] == "flag.calcium_supplement_min_mg"
    # ratio 1100 / 200 = 5.5 > 2.8
    assert row["is_ratio_above_high_band"] is True
    assert row["ratio_band"] == "above 2.80"
    assert row["risk_level"] == "high"


@pytest.mark.parametrize(
    ("calcium_mg", "magnesium_mg", "flags", "risk"),
    [
        # Woman 31-50: Ca EAR 800, Mg EAR 265. 900/300 = 3.0 > 2.8 -> one flag, moderate.
        (900.0, 300.0, {"is_ratio_above_high_band"}, "moderate"),
        # 600/300 = 2.0 in band, Ca 600 < 800 -> one flag.
        (600.0, 300.0, {"is_calcium_below_ear"}, "moderate"),
        # 900/400 = 2.25 in band, both above EAR -> no flag.
        (900.0, 400.0, set(), "low"),
        # 700/200 = 3.5: Ca < EAR, Mg < EAR, ratio high -> three flags, high.
        (
            700.0,
            200.0,
            {"is_calcium_below_ear", "is_magnesium_below_ear", "is_ratio_above_high_band"},
            "high",
        ),
        # 400/300 = 1.33 < 1.7 and Ca < EAR -> two flags, high.
        (400.0, 300.0, {"is_calcium_below_ear", "is_ratio_below_low_band"}, "high"),
        # Ca above the 2500 UL: high on its own.  2600 / 1000 = 2.6 in band.
        (2600.0, 1000.0, {"is_calcium_above_ul"}, "high"),
    ],
)
def test_flags_and_risk_level(reference, calcium_mg, magnesium_mg, flags, risk):
    row = assess_one(reference, [("a", 1, "food", calcium_mg, magnesium_mg, True)])
    raised = {name for name, value in row.items() if name.startswith("is_") and value is True}
    raised.discard("is_complete")
    assert raised == flags
    assert row["n_flags"] == len(flags)
    assert row["risk_level"] == risk
    assert row["rules_version"] == reference.rules_version
