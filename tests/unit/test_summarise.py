"""Unit tests for population.summarise and population.groups (population_summary on tiny literal frames)."""

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.assess.intakes import assess_persons
from camg.population.groups import (
    days_with_lost_items,
    design_weights,
    dri_label_months,
    weight_divisors,
)
from camg.population.summarise import population_summary

STUDY = "s"


def participants(rows: list[tuple]) -> pl.DataFrame:
    """(person_id, sex, age_years, weight, weight_two_day, strata, psu) -> Participant rows."""
    return pl.DataFrame(
        [
            {
                "study_id": STUDY,
                "person_id": pid,
                "sex": sex,
                "age_months": age * 12,
                "life_stage": "general",
                "weight": w1,
                "weight_two_day": w2,
                "strata": strata,
                "psu": psu,
                "survey_cycle": "2007-2008",
                "source_file": f"{STUDY}/DEMO_E.csv",
                "source_line": i + 2,
            }
            for i, (pid, sex, age, w1, w2, strata, psu) in enumerate(rows)
        ],
        schema_overrides={"weight": pl.Float64, "weight_two_day": pl.Float64},
    )


def person_days(rows: list[tuple]) -> pl.DataFrame:
    """(person_id, recall_day, calcium_mg, magnesium_mg) -> PersonDay rows (food only)."""
    return pl.DataFrame(
        [
            {
                "study_id": STUDY,
                "person_id": pid,
                "recall_day": day,
                "calcium_food_mg": ca,
                "calcium_supplement_mg": 0.0,
                "calcium_mg": ca,
                "magnesium_food_mg": mg,
                "magnesium_supplement_mg": 0.0,
                "magnesium_mg": mg,
                "n_items": 1,
                "n_unmatched_items": 0,
                "n_supplement_items": 0,
                "is_complete": True,
            }
            for pid, day, ca, mg in rows
        ]
    )


NO_LOST = pl.DataFrame(
    schema={"study_id": pl.String, "person_id": pl.String, "recall_day": pl.Int64}
)
ONE = pl.DataFrame({"study_id": [STUDY], "weight_divisor": [1.0]})


def summary(days, people, reference, lost=NO_LOST, divisors=ONE) -> pl.DataFrame:
    persons = assess_persons(days, people, reference)
    return population_summary(days, persons, lost, divisors, reference)


def pick(frame: pl.DataFrame, **where) -> pl.DataFrame:
    for column, value in where.items():
        frame = frame.filter(pl.col(column) == value)
    return frame


@pytest.fixture
def three_women(reference):
    # women 25 y (DRI 19-30 y, Ca EAR 800 mg), no design; weights 1, 1, 2
    people = participants(
        [
            ("a", "female", 25, 1.0, None, None, None),
            ("b", "female", 25, 1.0, None, None, None),
            ("c", "female", 25, 2.0, None, None, None),
        ]
    )
    days = person_days([("a", 1, 600.0, 300.0), ("b", 1, 900.0, 300.0), ("c", 1, 1200.0, 300.0)])
    return summary(days, people, reference)


def test_single_day_weighted_mean_and_srs_taylor_se_by_hand(three_women):
    row = pick(three_women, basis="single_day", grouping="dri_age_group", measure="calcium_mg")
    mean = pick(row, statistic="mean")
    # (1*600 + 1*900 + 2*1200) / 4 = 975
    # z = w (y - 975) / 4 = -93.75, -18.75, 112.5 ; sum z^2 = 21796.875 ; * 3/2 -> SE 180.819
    assert mean["value"][0] == pytest.approx(975.0)
    assert mean["se"][0] == pytest.approx(180.819, abs=1e-3)
    assert mean["se_method"][0] == "taylor_srs"
    assert mean["n_persons"][0] == 3
    assert (mean["sex"][0], mean["age_group"][0]) == ("female", "19-30 y")
    # weighted ECDF .25, .50, 1.0 -> median is 900 (exact tie at .5), p95 1200
    assert pick(row, statistic="p50")["value"][0] == 900.0
    assert pick(row, statistic="p95")["value"][0] == 1200.0


def test_pct_below_ear_uses_the_person_ear_and_names_the_group_rule(three_women):
    row = pick(
        three_women,
        basis="single_day",
        grouping="dri_age_group",
        measure="calcium_mg",
        statistic="pct_below_ear",
    )
    # only 600 < 800: weight 1 of 4 -> 25 %
    assert row["value"][0] == pytest.approx(25.0)
    assert row["threshold_rule_id"][0] == "calcium.ear.both.general.228-372m"
    assert row["threshold_value"][0] == 800.0


def test_groupings_cover_dri_wweia_and_overall(three_women):
    means = pick(three_women, basis="single_day", measure="calcium_mg", statistic="mean")
    groups = means.filter(pl.col("value").is_not_null()).select("grouping", "sex", "age_group")
    got = set(groups.iter_rows())
    assert ("wweia_age_group", "female", "20-29 y") in got
    assert ("wweia_age_group", "all", "20-29 y") in got
    assert ("overall", "all", "all") in got
    # no men: their groups are there with n 0 and no estimate
    men = pick(means, grouping="overall", sex="male")
    assert (men["n_persons"][0], men["value"][0]) == (0, None)


def test_ratio_bands_come_from_the_rules_table(three_women, reference):
    ratio = pick(
        three_women,
        basis="single_day",
        grouping="overall",
        sex="all",
        measure="calcium_to_magnesium_mass_ratio",
    )
    # ratios 2, 3, 4 (weights 1, 1, 2): above 2.6 -> 3/4 ; above 2.8 -> 3/4 ; below 1.7 -> 0
    above = pick(ratio, statistic="pct_above").sort("threshold_value")
    assert above["threshold_rule_id"].to_list() == ["ratio.optimal_high", "ratio.detrimental_high"]
    assert above["threshold_value"].to_list() == [
        reference.threshold("ratio.optimal_high"),
        reference.threshold("ratio.detrimental_high"),
    ]
    assert above["value"].to_list() == pytest.approx([75.0, 75.0])
    assert pick(ratio, statistic="pct_below")["value"][0] == pytest.approx(0.0)


def test_usual_intake_without_enough_repeats_says_why(three_women):
    usual = pick(three_women, basis="usual_intake", measure="calcium_mg", statistic="mean")
    assert usual["value"][0] is None
    assert "persons with 2+ recalls" in usual["note"][0]


def test_design_strata_psu_and_weight_divisor(reference):
    # two strata x two PSUs, one man 40 y each; only two-day weights (as in NHANES 2007-2012 files)
    people = participants(
        [
            ("a", "male", 40, None, 3.0, "1", "1"),
            ("b", "male", 40, None, 3.0, "1", "2"),
            ("c", "male", 40, None, 6.0, "2", "1"),
            ("d", "male", 40, None, 6.0, "2", "2"),
        ]
    )
    days = person_days(
        [(p, 1, ca, 300.0) for p, ca in zip("abcd", [400.0, 800.0, 1000.0, 1400.0], strict=True)]
    )
    thirds = pl.DataFrame({"study_id": [STUDY], "weight_divisor": [3.0]})
    result = summary(days, people, reference, divisors=thirds)
    mean = pick(result, basis="single_day", grouping="overall", sex="all", measure="calcium_mg")
    mean = pick(mean, statistic="mean")
    # weights 1, 1, 2, 2 after /3: mean = (400 + 800 + 2000 + 2800) / 6 = 1000
    # z = w (y - 1000) / 6 = -100, -33.33, 0, 133.33 ; stratum 1: (-100, -33.33) -> 2 * 2 * 33.33^2
    # = 4444.4 ; stratum 2: (0, 133.33) -> 2 * 2 * 66.67^2 = 17777.8 ; SE sqrt(22222.2) = 149.07
    assert mean["value"][0] == pytest.approx(1000.0)
    assert mean["se"][0] == pytest.approx(149.071, abs=1e-3)
    assert mean["se_method"][0] == "taylor_strata_psu"
    assert mean["population_weighted"][0] == pytest.approx(6.0)
    assert mean["weight_variable"][0] == "weight_two_day/3.0"


def test_figures_per_cycle_with_undivided_weights_and_for_all_cycles(reference):
    people = participants(
        [
            ("a", "male", 40, 2.0, None, None, None),
            ("b", "male", 40, 2.0, None, None, None),
            ("c", "male", 40, 4.0, None, None, None),
        ]
    ).with_columns(pl.Series("survey_cycle", ["2007-2008", "2007-2008", "2009-2010"]))
    days = person_days([("a", 1, 400.0, 300.0), ("b", 1, 800.0, 300.0), ("c", 1, 1100.0, 300.0)])
    halves = pl.DataFrame({"study_id": [STUDY], "weight_divisor": [2.0]})
    result = summary(days, people, reference, divisors=halves)
    means = pick(
        result, basis="single_day", grouping="overall", sex="all", measure="calcium_mg"
    ).filter(pl.col("statistic") == "mean")
    got = {r["survey_cycle"]: r for r in means.iter_rows(named=True)}
    assert set(got) == {"all", "2007-2008", "2009-2010"}
    # 2007-2008: (400 + 800) / 2 = 600, weights 2 + 2 (undivided) ; 2009-2010: 1100, weight 4
    assert (got["2007-2008"]["value"], got["2007-2008"]["population_weighted"]) == (600.0, 4.0)
    assert got["2009-2010"]["value"] == pytest.approx(1100.0)
    # all: weights / 2 = 1, 1, 2: (400 + 800 + 2200) / 4 = 850, population 4
    assert (got["all"]["value"], got["all"]["population_weighted"]) == (850.0, 4.0)
    assert got["all"]["weight_variable"] == "weight/2.0"
    assert got["2009-2010"]["weight_variable"] == "weight"


def test_lost_days_are_left_out(reference):
    people = participants(
        [("a", "female", 25, 1.0, None, None, None), ("b", "female", 25, 1.0, None, None, None)]
    )
    days = person_days([("a", 1, 600.0, 300.0), ("b", 1, 900.0, 300.0)])
    lost = pl.DataFrame({"study_id": [STUDY], "person_id": ["a"], "recall_day": [1]})
    result = summary(days, people, reference, lost=lost)
    mean = pick(result, basis="single_day", grouping="overall", sex="all", measure="calcium_mg")
    assert pick(mean, statistic="mean")["value"][0] == pytest.approx(900.0)
    assert pick(mean, statistic="mean")["n_persons"][0] == 1


def test_days_with_lost_items_maps_quarantine_to_person_days():
    raw = pl.DataFrame(
        {
            "source_file": ["s/DR1IFF_E.csv"] * 3,
            "source_line": [2, 3, 4],
            "study_id": [STUDY] * 3,
            "person_id": ["a", "a", " b "],
            "recall_day": ["1", "1", "1"],
        }
    )
    quarantine = pl.DataFrame(
        {
            "source_file": ["s/DR1IFF_E.csv", "s/DR1IFF_E.csv"],
            "source_line": [3, 4],
            "record_kind": ["diary", "diary"],
            "rule_id": ["amount.missing", "row.duplicate"],
        }
    )
    expected = pl.DataFrame({"study_id": [STUDY], "person_id": ["a"], "recall_day": [1]})
    assert_frame_equal(days_with_lost_items(quarantine, raw), expected)


def test_weight_divisors_count_survey_cycles():
    people = pl.DataFrame(
        {
            "study_id": ["n", "n", "n", "n", "c"],
            "survey_cycle": ["2007-2008", "2009-2010", "2011-2012", "2011-2012", None],
        }
    )
    # NCHS: three 2-year cycles combined -> each weight / 3; no cycle known -> 1.
    expected = pl.DataFrame({"study_id": ["c", "n"], "weight_divisor": [1.0, 3.0]})
    assert_frame_equal(weight_divisors(people), expected)


def test_design_weights_prefer_one_day_for_single_day_and_two_day_for_usual():
    persons = pl.DataFrame(
        {
            "study_id": ["x", "x", "y"],
            "person_id": ["1", "2", "3"],
            "weight": [10.0, 20.0, None],
            "weight_two_day": [12.0, None, None],
        }
    )
    result = design_weights(persons, pl.DataFrame({"study_id": ["x"], "weight_divisor": [2.0]}))
    assert result["single_day_weight"].to_list() == [5.0, 10.0, 1.0]
    assert result["usual_weight"].to_list() == [6.0, 0.0, 1.0]
    assert result["usual_weight_variable"].to_list()[::2] == [
        "weight_two_day/2.0",
        "none (unweighted)",
    ]


@pytest.mark.parametrize(
    ("label", "months"), [("0-6 mo", 0), ("6-12 mo", 6), ("1-3 y", 12), ("71+ y", 852)]
)
def test_dri_label_months(label, months):
    assert dri_label_months(label) == months


def test_usual_intake_rows_for_a_simulated_dri_group(reference):
    # 300 men 40 y (Ca EAR 800), two days each; usual Ca lognormal (median 900), day noise sd .5
    rng = np.random.default_rng(5)
    usual = 900 * np.exp(rng.normal(0, 0.3, 300))
    people = participants([(f"p{i}", "male", 40, 1.0, 1.0, None, None) for i in range(300)])
    rows = [
        (f"p{i}", day, float(usual[i] * np.exp(rng.normal(0, 0.5) - 0.125)), 300.0 + i)
        for i in range(300)
        for day in (1, 2)
    ]
    result = summary(person_days(rows), people, reference)
    ear = pick(result, basis="usual_intake", measure="calcium_mg", statistic="pct_below_ear")
    single = pick(result, basis="single_day", grouping="dri_age_group", measure="calcium_mg")
    truth = 100 * np.mean(usual < 800)
    assert ear["threshold_rule_id"][0] == "calcium.ear.both.general.372-612m"
    assert ear["value"][0] == pytest.approx(truth, abs=6)
    assert abs(pick(single, statistic="pct_below_ear")["value"][0] - truth) > abs(
        ear["value"][0] - truth
    )
    assert "NCI amount-only model: 300 persons, 300 with 2+ days" in ear["note"][0]
    # no design: 30 seeded random groups of persons, 29 df; a share of ~40 % from 300 persons has
    # a binomial SE near sqrt(.4 * .6 / 300) = 2.8 points (usual intake: a little above)
    assert ear["se_method"][0] == "jackknife_random_groups_r30"
    assert ear["df"][0] == 29
    assert 1.5 < ear["se"][0] < 6
    assert ear["ci_low"][0] < ear["value"][0] < ear["ci_high"][0]
    assert ear["reliability"][0] == "reliable"


def test_usual_intake_of_mixed_groups_pools_pseudo_persons_with_their_own_ear(reference):
    # 200 men 40 y (Ca EAR 800) and 200 women 60 y (EAR 1000), two days each, same intakes
    rng = np.random.default_rng(7)
    usual = 900 * np.exp(rng.normal(0, 0.3, 400))
    men = [(f"p{i:03d}", "male", 40, 1.0, 1.0, None, None) for i in range(200)]
    women = [(f"p{i:03d}", "female", 60, 1.0, 2.0, None, None) for i in range(200, 400)]
    people = participants(men + women)
    rows = [
        (f"p{i:03d}", day, float(usual[i] * np.exp(rng.normal(0, 0.4) - 0.08)), 300.0)
        for i in range(400)
        for day in (1, 2)
    ]
    result = pick(summary(person_days(rows), people, reference), basis="usual_intake")
    below = pick(result, measure="calcium_mg", statistic="pct_below_ear")
    men = pick(below, grouping="dri_age_group", sex="male")["value"][0]
    women = pick(below, grouping="dri_age_group", sex="female")["value"][0]
    overall = pick(below, grouping="overall", sex="all")
    # women weigh 2, men 1: the mixture of the two groups, each against its own EAR
    assert overall["value"][0] == pytest.approx((men + 2 * women) / 3)
    assert women > men  # same intakes, higher EAR
    assert overall["threshold_rule_id"][0] is None
    assert "400 of 400 persons represented" in overall["note"][0]
    assert overall["se"][0] > 0
    adults = pick(below, grouping="headline_age_group", sex="all", age_group="20+ y")
    assert adults["value"][0] == pytest.approx(overall["value"][0])
    children = pick(result, grouping="headline_age_group", age_group="2-19 y", statistic="mean")
    assert children["value"].to_list() == [None] * children.height
