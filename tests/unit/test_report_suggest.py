import polars as pl
import pytest

from camg.reference import Reference
from camg.report.rules import Rules
from camg.report.suggest import Candidate, Policy, candidate_foods, candidates_by_group, for_person


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
            # white rice: the same kind ("Rice") as brown rice, with less Mg -> dropped
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


@pytest.fixture(scope="module")
def policy(rules: Rules) -> Policy:
    result = Policy.from_rules(rules)
    assert result is not None
    return result


ADULT = 40 * 12
WOMAN_RDA = 320.0  # Mg RDA, women 31-50 (IOM 1997)


def test_a_portion_must_give_a_tenth_of_the_persons_own_rda(policy: Policy) -> None:
    # suggest.magnesium_min_share_of_need = 0.10: 32 mg for a woman (RDA 320), 8 mg for a child
    # of 1-3 y (RDA 80). Oatmeal with 20 mg per portion is worth it for the child only.
    oatmeal = [Candidate("Oatmeal, cooked", "cooked grains", 120, 10, 20, 0.5, "56203000")]
    assert for_person(oatmeal, None, ADULT, WOMAN_RDA, policy) == []
    assert for_person(oatmeal, None, 24, 80.0, policy) == oatmeal
    assert for_person(oatmeal, None, 24, None, policy) == []  # no RDA: nothing sized for them


def test_for_person_keeps_foods_below_their_ratio(policy: Policy) -> None:
    foods = [
        Candidate("a", "legumes", 30, 10, 80, 0.125, "41101000"),
        Candidate("b", "grains", 150, 60, 60, 1.0, "56205018"),
    ]
    assert [f.name for f in for_person(foods, 3.0, ADULT, WOMAN_RDA, policy)] == ["a", "b"]
    assert [f.name for f in for_person(foods, 0.5, ADULT, WOMAN_RDA, policy)] == ["a"]
    assert [f.name for f in for_person(foods, None, ADULT, WOMAN_RDA, policy)] == ["a", "b"]


SAFETY = [
    Candidate("Cashew nuts, honey-roasted", "nuts", 30, 11, 70, 0.16, "42104500"),
    Candidate("Pumpkin seeds, hulled", "seeds", 20, 9, 100, 0.09, "43103000"),
    Candidate("Popcorn, air-popped", "grains", 20, 1, 29, 0.05, "54403010"),
    Candidate("Spinach, raw", "dark-green vegetables", 30, 30, 24, 1.0, "72125100"),
    Candidate("Oatmeal, cooked", "cooked grains", 120, 10, 40, 0.25, "56203000"),
    Candidate("Honey loaf bread", "whole-wheat breads", 30, 5, 40, 0.1, "51300000"),
]


@pytest.mark.parametrize(
    ("age_months", "expected"),
    [
        # suggest.min_age_months: nothing under 12 months (and an unknown month gives nothing).
        (None, []),
        (0, []),
        (11, []),
        # 12-47 months: no nuts, seeds, popcorn or raw vegetables (suggest.exclude.*, AAP).
        (12, ["Oatmeal, cooked", "Honey loaf bread"]),
        (47, ["Oatmeal, cooked", "Honey loaf bread"]),
        # From 48 months every food may be suggested (two per group at most).
        (48, [c.name for c in SAFETY]),
    ],
)
def test_safety_rules_by_age(policy: Policy, age_months, expected) -> None:
    assert [f.name for f in for_person(SAFETY, None, age_months, 80.0, policy)] == expected


@pytest.mark.parametrize(
    ("rule_id", "food", "age_months"),
    [
        ("suggest.exclude.nuts", SAFETY[0], 47),
        ("suggest.exclude.word_nut", SAFETY[0], 47),
        ("suggest.exclude.seeds", SAFETY[1], 47),
        ("suggest.exclude.word_seed", SAFETY[1], 47),
        ("suggest.exclude.popcorn", SAFETY[2], 47),
        ("suggest.exclude.word_popcorn", SAFETY[2], 47),
        ("suggest.exclude.word_raw", SAFETY[3], 47),
        ("suggest.exclude.honey", SAFETY[5], 11),
    ],
)
def test_each_exclusion_rule_keeps_its_food_from_the_young(
    policy: Policy, rule_id, food, age_months
) -> None:
    rule = next(r for r in policy.exclusions if r.rule_id == rule_id)
    assert rule.excludes(food, age_months)
    assert not rule.excludes(food, int(rule.age_max_months))  # from that age on it is allowed


def test_honey_is_excluded_under_12_months_only(policy: Policy) -> None:
    honey = next(r for r in policy.exclusions if r.rule_id == "suggest.exclude.honey")
    assert (honey.age_max_months, honey.pattern) == (12, "honey")
    reason = policy.why_none(11)
    assert reason is not None
    assert "Honey" in reason
    assert policy.why_none(12) is None


def test_portions_come_from_the_persons_own_age_group(rules: Rules) -> None:
    # Each group's own median grams: brown rice 60 g for toddlers, 150 g for adults; oatmeal 120 g
    # and 240 g.
    portions = _portions(
        [
            ("fndds", "56205018", "Rice, brown, cooked", 9, 60.0, 3.0, 39.0),
            ("fndds", "56203000", "Oatmeal, cooked", 9, 120.0, 8.0, 35.0),
            ("fndds", "56205018", "Rice, brown, cooked", 9, 150.0, 3.0, 39.0),
            ("fndds", "56203000", "Oatmeal, cooked", 9, 240.0, 8.0, 35.0),
        ]
    ).with_columns(
        pl.lit("s").alias("study_id"),
        pl.Series("dri_age_group", ["1-3 y", "1-3 y", "31-50 y", "31-50 y"]),
    )
    pools = candidates_by_group(portions, rules, {})
    toddler = {c.name: c.portion_grams for c in pools[("s", "1-3 y")]}
    adult = {c.name: c.portion_grams for c in pools[("s", "31-50 y")]}
    assert toddler == {"Oatmeal, cooked": 120.0, "Rice, brown, cooked": 60.0}
    assert adult == {"Oatmeal, cooked": 240.0, "Rice, brown, cooked": 150.0}
