import polars as pl
import pytest

from camg.reference import Reference
from camg.report.rules import Rules
from camg.report.suggest import Candidate, candidate_foods, for_person


def _portions(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema=[
            "food_system",
            "food_code",
            "food_description",
            "n_items",
            "typical_grams",
            "calcium_mg_per_100g",
            "magnesium_mg_per_100g",
        ],
        orient="row",
    )


@pytest.fixture(scope="module")
def rules(reference: Reference) -> Rules:
    return Rules(reference.rules)


def test_candidates_follow_the_rules(rules: Rules) -> None:
    portions = _portions(
        [
            # cashews: 30 g x 260 mg/100 g = 78 mg Mg, ratio 37/260 = 0.14 -> kept
            ("fndds", "42104110", "Cashews, roasted", 9, 30.0, 37.0, 260.0),
            # salted cashews: same kind ("Cashews") and less Mg -> dropped as a duplicate kind
            ("fndds", "42104105", "Cashews, salted", 9, 25.0, 37.0, 260.0),
            # almonds: ratio 269/268 = 1.004 > 1.0 -> dropped
            ("fndds", "42101000", "Almonds", 9, 35.0, 269.0, 268.0),
            # brown rice: 150 g x 39 = 58.5 mg, ratio 0.08 -> kept
            ("fndds", "56205018", "Rice, brown, cooked", 9, 150.0, 3.0, 39.0),
            # white rice: 150 g x 12 = 18 mg < 40 mg per portion -> dropped
            ("fndds", "56205000", "Rice, white, cooked", 9, 150.0, 1.0, 12.0),
            # black beans: only 3 recorded items < 5 -> no typical portion -> dropped
            ("fndds", "41102020", "Black beans", 3, 130.0, 27.0, 70.0),
            # milk is in no suggested group
            ("fndds", "11111000", "Milk", 99, 250.0, 113.0, 10.0),
            # an SR food: the groups are FNDDS code prefixes
            ("sr", "12014", "Pumpkin seeds", 9, 30.0, 46.0, 592.0),
        ]
    )
    result = candidate_foods(portions, rules, {})
    assert [(c.name, c.group) for c in result] == [
        ("Cashews, roasted", "nuts"),
        ("Rice, brown, cooked", "cooked grains (rice, pasta, oatmeal)"),
    ]
    assert result[0].magnesium_mg == pytest.approx(78.0)
    assert result[1].ratio == pytest.approx(3 / 39)


def test_no_candidates_without_the_rules(reference: Reference) -> None:
    rules = Rules(reference.rules.filter(~pl.col("rule_id").str.starts_with("suggest.")))
    portions = _portions([("fndds", "42104110", "Cashews", 9, 30.0, 37.0, 260.0)])
    assert candidate_foods(portions, rules, {}) == []


def test_for_person_keeps_foods_below_their_ratio() -> None:
    foods = [Candidate("a", "nuts", 30, 10, 80, 0.125), Candidate("b", "grains", 150, 60, 60, 1.0)]
    assert [f.name for f in for_person(foods, 3.0)] == ["a", "b"]
    assert [f.name for f in for_person(foods, 0.5)] == ["a"]
    assert [f.name for f in for_person(foods, None)] == ["a", "b"]
