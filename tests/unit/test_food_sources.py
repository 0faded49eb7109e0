"""Unit tests for camg.population.food_sources (population-ratio shares of Ca and Mg)."""

import polars as pl
import pytest

from camg.population.food_sources import food_sources, group_description

STUDY = "s"
MILK, BREAD, UNKNOWN = "11111000", "51101010", "99999999"


def items(rows: list[tuple]) -> pl.DataFrame:
    """(person_id, recall_day, food_code, calcium_mg, magnesium_mg) -> intake items."""
    return pl.DataFrame(
        [
            {
                "study_id": STUDY,
                "person_id": pid,
                "recall_day": day,
                "item_kind": "food",
                "food_code": code,
                "food_system": "fndds",
                "food_description": None,
                "calcium_mg": ca,
                "magnesium_mg": mg,
                "is_matched": ca is not None,
            }
            for pid, day, code, ca, mg in rows
        ],
        schema_overrides={
            "food_description": pl.String,
            "calcium_mg": pl.Float64,
            "magnesium_mg": pl.Float64,
        },
    )


def days_of(item_rows: pl.DataFrame) -> pl.DataFrame:
    """Person-day totals of the items (unknown nutrients count 0, as in camg.assess.intakes)."""
    return item_rows.group_by("study_id", "person_id", "recall_day").agg(
        pl.col("calcium_mg").fill_null(0).sum(),
        pl.col("magnesium_mg").fill_null(0).sum(),
        (~pl.col("is_matched")).sum().alias("n_unmatched_items"),
    )


PERSONS = pl.DataFrame(
    {
        "study_id": [STUDY, STUDY],
        "person_id": ["a", "b"],
        "weight": [None, None],
        "weight_two_day": [1.0, 3.0],
    },
    schema_overrides={"weight": pl.Float64},
)
NO_LOST = pl.DataFrame(
    schema={"study_id": pl.String, "person_id": pl.String, "recall_day": pl.Int64}
)
ONE = pl.DataFrame({"study_id": [STUDY], "weight_divisor": [1.0]})


@pytest.fixture
def sources(reference) -> pl.DataFrame:
    # a (w 1), one day: milk Ca 300 Mg 30, bread Ca 50 Mg 20
    # b (w 3), two days: milk Ca 100 Mg 10 (day 1), milk Ca 300 Mg 30 + unknown food (day 2)
    rows = items(
        [
            ("a", 1, MILK, 300.0, 30.0),
            ("a", 1, BREAD, 50.0, 20.0),
            ("b", 1, MILK, 100.0, 10.0),
            ("b", 2, MILK, 300.0, 30.0),
            ("b", 2, UNKNOWN, None, None),
        ]
    )
    return food_sources(rows, days_of(rows), PERSONS, NO_LOST, ONE, reference)


def test_population_ratio_shares_by_hand(sources):
    foods = sources.filter(pl.col("level") == "food").sort("code")
    # b's day 2 holds an unknown food: left out (its Ca is not known), so b has day 1 only
    # weighted daily Ca: milk 1*300 + 3*100 = 600 ; bread 1*50 = 50 ; total 650
    # Mg: milk 1*30 + 3*10 = 60 ; bread 20 ; total 80
    assert foods["code"].to_list() == [MILK, BREAD]
    ca, mg = foods["calcium_share_pct"].to_list(), foods["magnesium_share_pct"].to_list()
    assert ca == pytest.approx([100 * 600 / 650, 100 * 50 / 650])
    assert mg == pytest.approx([100 * 60 / 80, 100 * 20 / 80])
    # mean mg per person-day over the weighted population (1 + 3 = 4): milk 600 / 4 = 150
    assert foods["calcium_mg_per_person_day"][0] == pytest.approx(150.0)
    assert foods["calcium_rank"].to_list() == [1, 2]
    assert foods["description"][0] == "Milk, cow's, fluid, whole"
    assert foods["n_items"].to_list() == [2, 1]
    assert foods["n_persons"].to_list() == [2, 1]


def test_a_day_with_an_unknown_food_is_left_out_not_counted_as_zero(sources):
    assert sources.filter(pl.col("code") == UNKNOWN).height == 0
    milk = sources.filter(pl.col("code") == MILK)
    assert milk["n_items"][0] == 2  # b's day-2 milk went with the day


def test_food_groups_are_fndds_prefixes_each_with_its_own_name(sources):
    groups = sources.filter(pl.col("level") == "food_group").sort("code")
    assert groups["code"].to_list() == ["11", "51"]
    assert groups["description"].to_list() == ["Milks and milk drinks", "Yeast breads and rolls"]
    assert groups["calcium_share_pct"].to_list() == pytest.approx([100 * 600 / 650, 100 * 50 / 650])
    assert groups["weight_variable"][0] == "weight_two_day"


def test_lost_days_and_weight_divisor(reference):
    rows = items(
        [("a", 1, MILK, 300.0, 30.0), ("b", 1, MILK, 100.0, 10.0), ("b", 2, BREAD, 50.0, 5.0)]
    )
    lost = pl.DataFrame({"study_id": [STUDY], "person_id": ["b"], "recall_day": [2]})
    thirds = pl.DataFrame({"study_id": [STUDY], "weight_divisor": [3.0]})
    result = food_sources(rows, days_of(rows), PERSONS, lost, thirds, reference)
    foods = result.filter(pl.col("level") == "food")
    # b's day 2 is gone: only milk remains (100 %); weights after /3 are 1/3 and 1:
    # milk per person-day = (1/3 * 300 + 1 * 100) / (1/3 + 1) = 200 / (4/3) = 150
    assert foods["code"].to_list() == [MILK]
    assert foods["calcium_share_pct"][0] == pytest.approx(100.0)
    assert foods["calcium_mg_per_person_day"][0] == pytest.approx(150.0)
    assert foods["weight_variable"][0] == "weight_two_day/3.0"


def test_every_food_group_label_is_distinct(reference):
    """Issue 18: "Grain products" named three groups; now each FNDDS and SR group has its own name."""
    codes = pl.DataFrame(
        {
            "group_kind": ["fndds"] * 3 + ["sr", "sr", "fndds", "supplement"],
            "group_code": ["51", "52", "53", "0100", "4200", "50", "supplement"],
        }
    )
    labels = codes.select(group_description(reference.food_groups).alias("l"))["l"].to_list()
    assert labels[:4] == [
        "Yeast breads and rolls",
        "Quick breads",
        "Cakes, cookies, pies, pastries, and bars",
        "Dairy and Egg Products",
    ]
    assert labels[4] == "SR foods, NDB numbers 42xxx"  # a prefix SR24 names no group for
    assert len(set(labels)) == len(labels)
    assert reference.food_groups["description"].is_unique().all()


def test_shares_per_cycle_and_for_all_cycles(reference):
    # a (cycle 2007-2008, w 1): milk Ca 300 ; b (2009-2010, w 3): milk Ca 100 + bread Ca 100
    rows = items(
        [
            ("a", 1, MILK, 300.0, 30.0),
            ("b", 1, MILK, 100.0, 10.0),
            ("b", 1, BREAD, 100.0, 10.0),
        ]
    )
    persons = PERSONS.with_columns(pl.Series("survey_cycle", ["2007-2008", "2009-2010"]))
    halves = pl.DataFrame({"study_id": [STUDY], "weight_divisor": [2.0]})
    result = food_sources(rows, days_of(rows), persons, NO_LOST, halves, reference)
    milk = result.filter(pl.col("level") == "food", pl.col("code") == MILK).sort("survey_cycle")
    assert milk["survey_cycle"].to_list() == ["2007-2008", "2009-2010", "all"]
    # 2007-2008: milk is all Ca; 2009-2010: 100 of 200; all: (0.5*300 + 1.5*100) / (0.5*300 + 1.5*200)
    # = 300 / 450 = 66.67 % (the divisor 2 cancels in every share)
    assert milk["calcium_share_pct"].to_list() == pytest.approx([100.0, 50.0, 66.6667], abs=1e-3)
    assert milk["weight_variable"].to_list() == [
        "weight_two_day",
        "weight_two_day",
        "weight_two_day/2.0",
    ]
