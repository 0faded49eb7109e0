"""Unit tests for camg.enrich.imputation (FNDDS codes the composition table lacks, by shared prefix)."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.enrich.composition import enrich
from camg.enrich.imputation import imputed_composition

COMPOSITION = pl.DataFrame(
    {
        "food_system": ["fndds"] * 4 + ["sr"],
        "food_code": ["11210000", "11211000", "11212000", "11300000", "01077"],
        "calcium_mg_per_100g": [120.0, 125.0, 130.0, 300.0, 113.0],
        "magnesium_mg_per_100g": [10.0, 11.0, 12.0, 30.0, 10.0],
    }
)


def codes(*values: str, system: str = "fndds") -> pl.DataFrame:
    return pl.DataFrame({"food_system": [system] * len(values), "food_code": list(values)})


def test_longest_shared_prefix_gives_the_mean_and_names_its_codes():
    result = imputed_composition(codes("11213000", "11210000", "11309999"), COMPOSITION, 4)
    expected = pl.DataFrame(
        {
            "food_system": ["fndds", "fndds"],
            "food_code": ["11213000", "11309999"],
            # 1121xxxx: (120 + 125 + 130) / 3 = 125 Ca, (10 + 11 + 12) / 3 = 11 Mg
            # 11309999 shares 6 digits with nothing, 4 ("1130") with 11300000 alone
            "calcium_mg_per_100g": [125.0, 300.0],
            "magnesium_mg_per_100g": [11.0, 30.0],
            "imputation_method": ["fndds_prefix_4", "fndds_prefix_4"],
            "imputed_from_codes": ["11210000 11211000 11212000", "11300000"],
        }
    )
    assert_frame_equal(result, expected)


def test_the_longest_prefix_wins():
    result = imputed_composition(codes("11211999"), COMPOSITION, 4)
    # 11211xxx (5 digits) holds 11211000 only: its values, not the 4-digit mean
    assert result["imputation_method"].to_list() == ["fndds_prefix_5"]
    assert result["calcium_mg_per_100g"].to_list() == [125.0]


def test_no_neighbour_of_enough_digits_stays_unknown():
    assert imputed_composition(codes("11990000"), COMPOSITION, 4).height == 0  # "1199" is empty
    assert imputed_composition(codes("11990000"), COMPOSITION, 2).height == 1  # "11" is not
    assert imputed_composition(codes("01078", system="sr"), COMPOSITION, 4).height == 0


def test_enrich_marks_imputed_items(reference):
    diary = pl.DataFrame(
        {
            "source_file": ["s/f.csv"] * 2,
            "source_line": [2, 3],
            "study_id": ["s", "s"],
            "person_id": ["p", "p"],
            "recall_day": [1, 1],
            "item_kind": ["food", "food"],
            "item_key": [None, None],
            # 11111000 is in the FNDDS table; 11111999 is not (it shares 11111xxx with it)
            "food_code": ["11111000", "11111999"],
            "food_system": ["fndds", "fndds"],
            "food_description": [None, None],
            "amount": [100.0, 200.0],
            "unit": ["g", "g"],
            "reported_calcium_mg": [None, None],
            "reported_magnesium_mg": [None, None],
            "supplement_calcium_mg_per_unit": [None, None],
            "supplement_magnesium_mg_per_unit": [None, None],
        },
        schema_overrides={
            c: pl.Float64
            for c in [
                "reported_calcium_mg",
                "reported_magnesium_mg",
                "supplement_calcium_mg_per_unit",
                "supplement_magnesium_mg_per_unit",
            ]
        }
        | {"item_key": pl.String, "food_description": pl.String},
    )
    items = enrich(diary, reference)
    known, imputed = items.row(0, named=True), items.row(1, named=True)
    assert (known["is_matched"], known["is_imputed"], known["imputation_method"]) == (
        True,
        False,
        None,
    )
    assert (imputed["is_matched"], imputed["is_imputed"]) == (True, True)
    assert imputed["imputation_method"].startswith("fndds_prefix_")
    assert "11111000" in imputed["imputed_from_codes"].split()
    # the imputed per-100 g is the mean of its source codes: 200 g -> 2 x that mean
    table = reference.composition.filter(
        pl.col("food_code").is_in(imputed["imputed_from_codes"].split())
    )
    assert imputed["calcium_mg"] == pytest.approx(2 * table["calcium_mg_per_100g"].mean())
