"""Person-day sums, person means, status, the Ca:Mg ratio, flags and risk level, on tiny literal frames.

A study of one person has no 50 persons with two complete days, so the within-person SD is the
published default of the rules table: Ca 325 mg, Mg 86 mg (assess.within_person_sd_default.*).
"""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.assess.intakes import assess_persons, days_with_supplement_status, person_days


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
            "n_supplement_items": [1, 0],
            "is_complete": [True, False],
        }
    )
    assert_frame_equal(result, expected)


def assess_one(reference, item_rows, sex="female", age_months=40 * 12, life_stage="general"):
    days = person_days(items(item_rows))
    people = participants([("a", sex, age_months, life_stage)])
    return assess_persons(days, people, reference).row(0, named=True)


def food(calcium_mg: float, magnesium_mg: float, day: int = 1) -> tuple:
    """One matched food item of person a."""
    return ("a", day, "food", calcium_mg, magnesium_mg, True)


def test_person_intake_is_the_mean_over_the_days_used(reference):
    # Days 1 and 2 complete: (900 + 500) / 2 = 700 mg Ca, (300 + 100) / 2 = 200 mg Mg, ratio 3.5.
    # Day 3 has an unmatched food: recorded (n_days 3) but not used.
    row = assess_one(
        reference,
        [
            food(900.0, 300.0, 1),
            food(500.0, 100.0, 2),
            food(50.0, 10.0, 3),
            ("a", 3, "food", None, None, False),
        ],
    )
    assert (row["n_days"], row["n_days_used"], row["n_complete_days"]) == (3, 2, 2)
    assert (row["calcium_mg"], row["magnesium_mg"]) == (700.0, 200.0)
    assert row["calcium_to_magnesium_mass_ratio"] == pytest.approx(3.5)
    # molar = 3.5 x 24.305 / 40.078 = 2.1225
    assert row["calcium_to_magnesium_molar_ratio"] == pytest.approx(3.5 * 24.305 / 40.078)


def test_a_day_that_lost_an_item_to_quarantine_is_not_used(reference):
    days = person_days(items([food(900.0, 300.0, 1), food(100.0, 20.0, 2)]))
    lost = pl.DataFrame({"study_id": ["s"], "person_id": ["a"], "recall_day": [2]})
    people = participants([("a", "female", 40 * 12, "general")])
    row = assess_persons(days, people, reference, lost).row(0, named=True)
    assert (row["n_days_used"], row["calcium_mg"]) == (1, 900.0)


ASSESSMENT_FIELDS = [
    "calcium_adequacy_z",
    "calcium_adequacy_confidence",
    "calcium_adequacy",
    "magnesium_adequacy",
    "calcium_ul_assessment",
    "supplemental_magnesium_ul_assessment",
    "is_calcium_observed_mean_below_ear",
    "is_calcium_likely_inadequate",
    "is_magnesium_likely_inadequate",
    "is_calcium_likely_above_ul",
    "is_ratio_above_high_band",
    "is_ratio_below_low_band",
    "is_calcium_supplement_without_magnesium",
    "n_flags",
    "risk_level",
]


def test_a_person_whose_only_food_is_unknown_gets_no_assessment(reference):
    # The case: one day, one unmatched food. Not "0 mg, below your EAR, risk high".
    row = assess_one(reference, [("a", 1, "food", None, None, False)])
    assert row["assessment_status"] == "insufficient data"
    assert (row["n_days"], row["n_days_used"]) == (1, 0)
    assert row["calcium_mg"] is None
    assert {f: row[f] for f in ASSESSMENT_FIELDS} == dict.fromkeys(ASSESSMENT_FIELDS)


def test_an_infant_without_a_month_gets_no_group_and_no_assessment(reference):
    row = assess_one(reference, [food(300.0, 60.0)], age_months=None)
    assert row["assessment_status"] == "age in months unknown"
    assert row["age_months"] is None
    assert row["dri_age_group"] is None
    assert {f: row[f] for f in ASSESSMENT_FIELDS} == dict.fromkeys(ASSESSMENT_FIELDS)


def test_without_supplement_data_supplement_intakes_are_unknown_not_zero(reference):
    row = assess_one(reference, [food(500.0, 200.0)])
    assert row["has_supplement_data"] is False
    assert (row["calcium_supplement_mg"], row["magnesium_supplement_mg"]) == (None, None)
    assert row["calcium_mg"] == 500.0  # the total is food only, and labelled so in reports
    assert row["is_calcium_supplement_without_magnesium"] is None
    assert row["supplemental_magnesium_ul_assessment"] is None


def test_days_keep_supplement_intakes_null_in_a_study_without_supplement_data():
    days = days_with_supplement_status(person_days(items([food(500.0, 200.0)])))
    assert days.row(0, named=True)["calcium_supplement_mg"] is None


def test_calcium_supplement_without_magnesium(reference):
    # 600 mg Ca from a supplement, total Mg 200 mg < EAR 265 (women 31-50) -> flagged, high risk.
    row = assess_one(reference, [food(500.0, 200.0), ("a", 1, "supplement", 600.0, 0.0, True)])
    assert row["has_supplement_data"] is True
    assert row["calcium_supplement_mg"] == 600.0
    assert row["is_calcium_supplement_without_magnesium"] is True
    assert row["calcium_supplement_without_magnesium_rule_id"] == "flag.calcium_supplement_min_mg"
    # ratio 1100 / 200 = 5.5 > 2.8 for an adult
    assert row["is_ratio_above_high_band"] is True
    assert row["ratio_band"] == "above 2.80"
    assert row["risk_level"] == "high"


def test_supplemental_magnesium_likely_above_the_upper_level(reference):
    # 600 mg Mg from a supplement vs UL 350; SD of supplemental Mg: no 2-day persons and no default,
    # so the UL test cannot be done: cannot be determined, no flag.
    row = assess_one(reference, [food(1000.0, 300.0), ("a", 1, "supplement", 0.0, 600.0, True)])
    assert row["supplemental_magnesium_ul_assessment"] == "cannot be determined"
    assert row["is_supplemental_magnesium_likely_above_ul"] is None


@pytest.mark.parametrize(
    ("age_months", "flagged"),
    [(10 * 12, None), (18 * 12 + 11, None), (19 * 12, True), (80 * 12, True)],
)
def test_ratio_flags_only_at_the_ages_the_band_sources_studied(reference, age_months, flagged):
    # 1500 / 300 = 5.0 > 2.8; the ratio rows name adults 19+ (age_min_months 228).
    row = assess_one(reference, [food(1500.0, 300.0)], age_months=age_months)
    assert row["is_ratio_above_high_band"] is flagged
    assert (row["ratio_flag_note"] is None) == (flagged is not None)
    if flagged is None:
        assert "19+ years" in row["ratio_flag_note"]
        assert row["ratio_band"] is None


def test_observed_mean_below_ear_is_kept_apart_from_the_assessment(reference):
    # 700 < EAR 800 observed, but z = (700 - 800) / sqrt(100^2 + 325^2) = -0.294: uncertain.
    row = assess_one(reference, [food(700.0, 300.0)])
    assert row["is_calcium_observed_mean_below_ear"] is True
    assert row["calcium_adequacy"] == "uncertain"
    assert row["is_calcium_likely_inadequate"] is False


# Woman 40 y, one day. Ca: EAR 800, SD_req = 0.125 x 800 = 100, SD_within 325 (default):
# sqrt(100^2 + 325^2 / 1) = 340.04. Mg: EAR 265, SD_req 26.5, SD_within 86: sqrt(26.5^2 + 86^2) = 89.99.
# UL test: z = (mean - UL) / 325. Confidence = Phi(z).
@pytest.mark.parametrize(
    ("calcium_mg", "magnesium_mg", "categories", "risk"),
    [
        # Ca z = -500 / 340.04 = -1.47, Phi = 0.071 <= 0.15: likely inadequate -> high.
        (300.0, 400.0, ("likely inadequate", "likely adequate"), "high"),
        # Ca z = 100 / 340.04 = 0.29 (0.62): uncertain; Mg z = 135 / 89.99 = 1.50 (0.93) -> low.
        (900.0, 400.0, ("uncertain", "likely adequate"), "low"),
        # Ca z = -0.29: inadequate with 0.62 >= 0.5 -> moderate.
        (700.0, 400.0, ("uncertain", "likely adequate"), "moderate"),
        # Mg z = (200 - 265) / 89.99 = -0.72 (0.24): uncertain, inadequacy 0.76 -> moderate.
        (900.0, 200.0, ("uncertain", "uncertain"), "moderate"),
        # Ca 2600 vs UL 2500: z = 100 / 325 = 0.31 (0.62 above): uncertain above UL -> moderate.
        (2600.0, 1000.0, ("likely adequate", "likely adequate"), "moderate"),
        # Ca 3200: z = 700 / 325 = 2.15 (0.98 above): likely above UL -> high.
        (3200.0, 1000.0, ("likely adequate", "likely adequate"), "high"),
    ],
)
def test_categories_and_risk_level(reference, calcium_mg, magnesium_mg, categories, risk):
    row = assess_one(reference, [food(calcium_mg, magnesium_mg)])
    assert (row["calcium_adequacy"], row["magnesium_adequacy"]) == categories
    assert row["risk_level"] == risk
    assert row["assessment_status"] == "assessed"
    assert row["rules_version"] == reference.rules_version


def test_above_ul_flag_and_its_rule(reference):
    # 3200 / 1200 = 2.67: no ratio flag, so the UL flag is the only one.
    row = assess_one(reference, [food(3200.0, 1200.0)])
    assert row["calcium_ul_assessment"] == "likely above UL"
    assert row["is_calcium_likely_above_ul"] is True
    assert row["calcium_likely_above_ul_rule_id"] == "calcium.ul.both.general.372-612m"
    assert row["n_flags"] == 1


@pytest.mark.parametrize(
    ("calcium_mg", "magnesium_mg", "categories", "risk"),
    [
        # 8 months: AI Ca 260, Mg 75; one day, SD 325 / 86. Ca z = (1000 - 260) / 325 = 2.28 (0.99),
        # Mg z = (300 - 75) / 86 = 2.62 (0.996): both likely adequate -> low.
        (1000.0, 300.0, ("likely adequate", "likely adequate"), "low"),
        # Ca z = (300 - 260) / 325 = 0.12: below the AI test, nothing can be concluded.
        (300.0, 300.0, ("cannot be determined", "likely adequate"), "undetermined"),
    ],
)
def test_infants_are_judged_on_the_ai_only_upwards(
    reference, calcium_mg, magnesium_mg, categories, risk
):
    row = assess_one(reference, [food(calcium_mg, magnesium_mg)], age_months=8)
    assert (row["calcium_adequacy_reference"], row["magnesium_adequacy_reference"]) == ("AI", "AI")
    assert (row["calcium_adequacy"], row["magnesium_adequacy"]) == categories
    assert row["is_calcium_likely_inadequate"] is None  # never concluded from an AI
    assert row["risk_level"] == risk
