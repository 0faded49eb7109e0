import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.report.stats import fallback_summary, study_summary


def _persons() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "study_id": ["s"] * 4,
            "sex": ["female"] * 4,
            "dri_age_group": ["19-30 y"] * 4,
            "life_stage": ["general"] * 4,
            "age_months": [240, 250, 260, 270],
            "calcium_mg": [400.0, 800.0, 1200.0, 1600.0],
            "magnesium_mg": [200.0, 250.0, 300.0, 400.0],
            "calcium_to_magnesium_mass_ratio": [2.0, 3.2, 4.0, 4.0],
            "is_calcium_observed_mean_below_ear": [True, False, False, False],
            "calcium_ul_mg": [2500.0] * 4,
            "is_magnesium_observed_mean_below_ear": [True, True, False, False],
            "magnesium_supplement_mg": [0.0, 0.0, 0.0, None],
            "magnesium_ul_mg": [350.0] * 4,
        }
    )


def _pick(frame: pl.DataFrame, sex: str, measure: str, statistic: str) -> tuple:
    row = frame.filter(
        (pl.col("sex") == sex) & (pl.col("measure") == measure) & (pl.col("statistic") == statistic)
    )
    assert row.height == 1
    return row["value"][0], row["se"][0], row["n_persons"][0]


def test_fallback_summary_is_unweighted_observed_intake() -> None:
    long = fallback_summary(_persons())
    # mean Ca = (400 + 800 + 1200 + 1600) / 4 = 1000; median = 1000 (linear between 800 and 1200)
    assert _pick(long, "female", "calcium_mg", "mean") == (1000.0, None, 4)
    assert _pick(long, "female", "calcium_mg", "p50")[0] == 1000.0
    # Mg below EAR: 2 of 4 = 50 %; SE = sqrt(0.5 x 0.5 / 4) = 0.25 -> 25 points
    assert _pick(long, "female", "magnesium_mg", "pct_below_ear")[:2] == (50.0, 25.0)
    # Ca below EAR: 1 of 4 = 25 %; SE = sqrt(0.25 x 0.75 / 4) = 0.2165
    value, se, _ = _pick(long, "all", "calcium_mg", "pct_below_ear")
    assert (value, se) == (25.0, pytest.approx(21.65, abs=0.01))
    # a null flag is left out of the denominator: 0 of 3
    assert _pick(long, "female", "magnesium_mg", "pct_above_ul")[:2] == (0.0, 0.0)
    assert set(long["basis"]) == {"single_day"}


def _mart_rows() -> pl.DataFrame:
    base = {
        "study_id": "s",
        "survey_cycle": "all",
        "grouping": "dri_age_group",
        "sex": "female",
        "age_group": "19-30 y",
        "age_months_min": 228,
        "life_stage": "general",
        "measure": "magnesium_mg",
        "statistic": "pct_below_ear",
        "threshold_rule_id": "magnesium.ear.x",
        "threshold_value": 255.0,
        "se": 2.0,
        "se_method": "taylor",
        "n_persons": 4,
        "population_weighted": 1e6,
        "weight_variable": "weight",
        "note": None,
        "rules_version": "v",
    }
    return pl.DataFrame(
        [
            {**base, "basis": "single_day", "value": 50.0},
            {**base, "basis": "usual_intake", "value": 41.0},
            {
                **base,
                "basis": "single_day",
                "grouping": "overall",
                "sex": "all",
                "age_group": "all",
                "life_stage": "all",
                "value": 48.0,
            },
            {**base, "study_id": "other", "basis": "usual_intake", "value": 1.0},
        ]
    )


def test_the_mart_is_preferred_with_usual_intake_first() -> None:
    long, from_mart = study_summary(_mart_rows(), _persons(), "s")
    assert from_mart
    expected = pl.DataFrame(
        {
            "sex": ["all", "female"],
            "age_group": ["all ages", "19-30 y"],
            "life_stage": ["all", "general"],
            "age_months_min": [228, 228],
            "measure": ["magnesium_mg"] * 2,
            "statistic": ["pct_below_ear"] * 2,
            "value": [48.0, 41.0],
            "se": [2.0, 2.0],
            "n_persons": [4, 4],
            "basis": ["single_day", "usual_intake"],
            "reliability": [None, None],
        }
    )
    assert_frame_equal(long.sort("sex"), expected, check_dtypes=False)


def test_a_study_missing_from_the_mart_falls_back() -> None:
    _, from_mart = study_summary(
        _mart_rows(), _persons().with_columns(pl.lit("t").alias("study_id")), "t"
    )
    assert not from_mart
    _, from_mart = study_summary(None, _persons(), "s")
    assert not from_mart
