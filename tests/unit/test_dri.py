"""DRI lookup at every age boundary, for life stages, and the rule ids it reports."""

import polars as pl
import pytest

from camg.nutrition.dri import dri_for_profiles


def lookup(reference, sex: str, age_months: int, life_stage: str = "general") -> dict:
    profile = pl.DataFrame({"sex": [sex], "age_months": [age_months], "life_stage": [life_stage]})
    return dri_for_profiles(profile, reference.rules).row(0, named=True)


# (sex, age in months, life stage) -> (group, Ca EAR, Ca RDA, Ca UL, Mg EAR, Mg RDA, Mg UL), IOM 1997/2011.
BOUNDARIES = [
    (("female", 47, "general"), ("1-3 y", 500, 700, 2500, 65, 80, 65)),
    (("female", 48, "general"), ("4-8 y", 800, 1000, 2500, 110, 130, 110)),
    (("male", 8 * 12 + 11, "general"), ("4-8 y", 800, 1000, 2500, 110, 130, 110)),
    (("male", 9 * 12, "general"), ("9-13 y", 1100, 1300, 3000, 200, 240, 350)),
    (("male", 13 * 12 + 11, "general"), ("9-13 y", 1100, 1300, 3000, 200, 240, 350)),
    (("male", 14 * 12, "general"), ("14-18 y", 1100, 1300, 3000, 340, 410, 350)),
    (("female", 18 * 12 + 11, "general"), ("14-18 y", 1100, 1300, 3000, 300, 360, 350)),
    (("female", 19 * 12, "general"), ("19-30 y", 800, 1000, 2500, 255, 310, 350)),
    (("male", 30 * 12 + 11, "general"), ("19-30 y", 800, 1000, 2500, 330, 400, 350)),
    (("male", 31 * 12, "general"), ("31-50 y", 800, 1000, 2500, 350, 420, 350)),
    (("female", 50 * 12 + 11, "general"), ("31-50 y", 800, 1000, 2500, 265, 320, 350)),
    (("female", 51 * 12, "general"), ("51-70 y", 1000, 1200, 2000, 265, 320, 350)),
    (("male", 51 * 12, "general"), ("51-70 y", 800, 1000, 2000, 350, 420, 350)),
    (("male", 70 * 12 + 11, "general"), ("51-70 y", 800, 1000, 2000, 350, 420, 350)),
    (("male", 71 * 12, "general"), ("71+ y", 1000, 1200, 2000, 350, 420, 350)),
    (("female", 80 * 12, "general"), ("71+ y", 1000, 1200, 2000, 265, 320, 350)),
    # Pregnancy and lactation rows replace the general ones for ages 14-50 ...
    (("female", 16 * 12, "pregnant"), ("14-18 y", 1100, 1300, 3000, 335, 400, 350)),
    (("female", 25 * 12, "pregnant"), ("19-30 y", 800, 1000, 2500, 290, 350, 350)),
    (("female", 35 * 12, "pregnant"), ("31-50 y", 800, 1000, 2500, 300, 360, 350)),
    (("female", 16 * 12, "lactating"), ("14-18 y", 1100, 1300, 3000, 300, 360, 350)),
    (("female", 25 * 12, "lactating"), ("19-30 y", 800, 1000, 2500, 255, 310, 350)),
    (("female", 40 * 12, "lactating"), ("31-50 y", 800, 1000, 2500, 265, 320, 350)),
    # ... and outside those ages the general row of that sex applies.
    (("female", 55 * 12, "pregnant"), ("51-70 y", 1000, 1200, 2000, 265, 320, 350)),
]


@pytest.mark.parametrize(("profile", "expected"), BOUNDARIES)
def test_dri_values_at_age_boundaries(reference, profile, expected):
    row = lookup(reference, *profile)
    got = (
        row["dri_age_group"],
        row["calcium_ear_mg"],
        row["calcium_rda_mg"],
        row["calcium_ul_mg"],
        row["magnesium_ear_mg"],
        row["magnesium_rda_mg"],
        row["magnesium_ul_mg"],
    )
    assert got == expected


def test_infants_have_adequate_intakes_not_ears(reference):
    # 0-6 months: Ca AI 200, Mg AI 30, no EAR or RDA; Mg has no UL for infants.
    row = lookup(reference, "male", 3)
    assert row["dri_age_group"] == "0-6 mo"
    assert (row["calcium_ai_mg"], row["magnesium_ai_mg"]) == (200, 30)
    assert row["calcium_ear_mg"] is None
    assert row["magnesium_ul_mg"] is None
    assert lookup(reference, "female", 6)["calcium_ai_mg"] == 260


def test_lookup_reports_the_rule_ids_it_used(reference):
    row = lookup(reference, "female", 25 * 12, "pregnant")
    assert row["calcium_ear_rule_id"] == "calcium.ear.female.pregnant.228-372m"
    assert row["magnesium_ul_rule_id"] == "magnesium.ul.female.pregnant.228-372m"


def test_every_profile_gets_exactly_one_row(reference):
    profiles = pl.DataFrame(
        {
            "sex": ["male", "female"] * 800,
            "age_months": list(range(1600)),
            "life_stage": ["general", "pregnant", "lactating", "general"] * 400,
        }
    ).filter(pl.col("age_months") <= 1560)
    result = dri_for_profiles(profiles, reference.rules)
    assert result.height == profiles.height
    assert result["dri_age_group"].null_count() == 0
