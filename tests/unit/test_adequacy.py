"""The DRI method for one person (IOM 2000 ch.3 and appendix B) against the report's own examples.

The numbers below come from the published formula and the DRI tables, not from camg's output.
"""

import math

import numpy as np
import polars as pl
import pytest

from camg.assess import adequacy

LEVEL = 0.85  # assess.confidence_level (IOM 2000 Table B-1: D/SDD = 1 gives about 85 percent)


def one_person(**columns) -> pl.DataFrame:
    """A one-row frame of the columns the expressions read (missing DRI values are null)."""
    base = {
        "calcium_mg": None,
        "calcium_ear_mg": None,
        "calcium_ai_mg": None,
        "calcium_requirement_cv": None,
        "calcium_within_person_sd_mg": None,
        "n_days_used": 1,
    }
    frame = pl.DataFrame([base | columns])
    return frame.with_columns(pl.exclude("n_days_used").cast(pl.Float64))


def assessed(frame: pl.DataFrame) -> dict:
    """z, confidence and category of the calcium columns of a one-row frame."""
    out = frame.with_columns(adequacy.adequacy_z("calcium").alias("calcium_adequacy_z"))
    out = out.with_columns(
        adequacy.phi(pl.col("calcium_adequacy_z")).alias("calcium_adequacy_confidence")
    )
    out = out.with_columns(adequacy.adequacy_category("calcium", LEVEL).alias("calcium_adequacy"))
    return out.row(0, named=True)


def test_z_matches_the_magnesium_example_of_iom_2000_chapter_3():
    # IOM 2000 p.53-54: a woman of 40, three days of records, mean Mg 320 mg/d; EAR 265 (IOM 1997,
    # women 31-50), SD_req = 10 % x 265 = 26.5; SD of daily intake from CSFII with
    # SD^2 / 3 = 3,162 - 702 = 2,460, so SD = sqrt(7,380) = 85.91.
    # D = 320 - 265 = 55; SDD = sqrt(26.5^2 + 85.91^2 / 3) = sqrt(702.25 + 2,460) = 56.23;
    # z = 55 / 56.23 = 0.978, Phi(0.978) = 0.836 ("about 85 percent" in the report).
    row = assessed(
        one_person(
            calcium_mg=320.0,
            calcium_ear_mg=265.0,
            calcium_requirement_cv=0.10,
            calcium_within_person_sd_mg=math.sqrt(7380.0),
            n_days_used=3,
        )
    )
    assert row["calcium_adequacy_z"] == pytest.approx(55 / math.sqrt(702.25 + 2460.0), abs=1e-9)
    assert row["calcium_adequacy_z"] == pytest.approx(0.978, abs=0.001)
    assert row["calcium_adequacy_confidence"] == pytest.approx(0.836, abs=0.001)
    assert row["calcium_adequacy"] == "uncertain"  # just short of the 85 percent level


def test_a_mean_of_377_mg_gives_97_5_percent_confidence_as_table_3_1_says():
    # IOM 2000 p.54: with three days she would need 377 mg/d for 97.5 % confidence of adequacy:
    # z = (377 - 265) / 56.23 = 1.99, Phi = 0.977.
    row = assessed(
        one_person(
            calcium_mg=377.0,
            calcium_ear_mg=265.0,
            calcium_requirement_cv=0.10,
            calcium_within_person_sd_mg=math.sqrt(7380.0),
            n_days_used=3,
        )
    )
    assert row["calcium_adequacy_confidence"] == pytest.approx(0.977, abs=0.001)
    assert row["calcium_adequacy"] == "likely adequate"


@pytest.mark.parametrize(
    ("days", "z", "confidence", "category"),
    [
        # IOM 2000 Table 3-2: Ca mean 1,200, AI 1,000, CSFII SD 325. z = 200 / (325 / sqrt(n)).
        (1, 0.615, 0.73, "cannot be determined"),  # table: 0.61, 73 %
        (3, 1.066, 0.86, "likely adequate"),  # table: 1.07, 86 %
        (7, 1.628, 0.95, "likely adequate"),  # table: 95 %
    ],
)
def test_the_ai_test_matches_table_3_2(days, z, confidence, category):
    row = assessed(
        one_person(
            calcium_mg=1200.0, calcium_ai_mg=1000.0, calcium_within_person_sd_mg=325.0,
            n_days_used=days,
        )
    )  # fmt: skip
    assert row["calcium_adequacy_z"] == pytest.approx(z, abs=0.001)
    assert row["calcium_adequacy_confidence"] == pytest.approx(confidence, abs=0.005)
    assert row["calcium_adequacy"] == category


@pytest.mark.parametrize(
    ("confidence", "category"),
    [
        (0.85, "likely adequate"),  # at the level: concluded
        (0.8499, "uncertain"),
        (0.5, "uncertain"),
        (0.1501, "uncertain"),
        (0.15, "likely inadequate"),  # 1 - 0.85: concluded inadequate
        (0.0, "likely inadequate"),
    ],
)
def test_category_boundaries_on_the_ear(confidence, category):
    frame = one_person(calcium_ear_mg=800.0).with_columns(
        pl.lit(confidence).alias("calcium_adequacy_confidence")
    )
    result = frame.select(adequacy.adequacy_category("calcium", LEVEL)).item()
    assert result == category


@pytest.mark.parametrize(
    ("confidence", "category"),
    [(0.85, "likely adequate"), (0.8499, "cannot be determined"), (0.01, "cannot be determined")],
)
def test_category_boundaries_on_the_ai(confidence, category):
    frame = one_person(calcium_ai_mg=260.0).with_columns(
        pl.lit(confidence).alias("calcium_adequacy_confidence")
    )
    assert frame.select(adequacy.adequacy_category("calcium", LEVEL)).item() == category


@pytest.mark.parametrize(
    ("confidence", "category"),
    [
        (0.85, "likely above UL"),
        (0.5, "uncertain"),
        (0.15, "likely below UL"),
        (None, "cannot be determined"),
    ],
)
def test_ul_category_boundaries(confidence, category):
    frame = pl.DataFrame(
        {"calcium_ul_mg": [2500.0], "calcium_above_ul_confidence": [confidence]},
        schema={"calcium_ul_mg": pl.Float64, "calcium_above_ul_confidence": pl.Float64},
    )
    result = frame.select(adequacy.ul_category("calcium", "calcium_ul_mg", LEVEL)).item()
    assert result == category


def test_ul_z_is_mean_minus_ul_over_the_se_of_the_mean():
    # IOM 2000 appendix B (p.199-200): z = (mean - UL) / (SD / sqrt(n)); 2,900 vs 2,500, SD 400,
    # 4 days: z = 400 / 200 = 2.0, Phi = 0.977.
    frame = pl.DataFrame(
        {
            "calcium_mg": [2900.0],
            "calcium_ul_mg": [2500.0],
            "calcium_within_person_sd_mg": [400.0],
            "n_days_used": [4],
        }
    )
    z = frame.select(adequacy.ul_z("calcium", "calcium_mg", "calcium_ul_mg")).item()
    assert z == pytest.approx(2.0)
    assert frame.select(adequacy.phi(pl.lit(z))).item() == pytest.approx(0.97725, abs=1e-5)


def test_pooled_sd_is_the_within_person_variance_of_repeat_persons():
    # a: 100, 300 (mean 200, squares 100^2 + 100^2); b: 200, 260 (30^2 + 30^2); c: one day only.
    # Pooled within variance = (20,000 + 1,800) / (1 + 1) = 10,900, SD = 104.40; 2 repeat persons.
    days = pl.DataFrame(
        {
            "person_id": ["a", "a", "b", "b", "c"],
            "recall_day": [1, 2, 1, 2, 1],
            "calcium_mg": [100.0, 300.0, 200.0, 260.0, 999.0],
        }
    )
    sd, n = adequacy.pooled_sd(days, "calcium_mg")
    assert sd == pytest.approx(np.sqrt(10_900.0))
    assert n == 2
