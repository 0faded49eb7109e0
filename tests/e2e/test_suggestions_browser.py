"""Food suggestions by age, in real headless Chromium (issue 14): an infant's, a toddler's, an adult's report.

Six infants (8 months), six toddlers (2 years) and six adults (40 years) record the same foods with
the real FNDDS values of the rules' candidate groups; the toddlers eat half the adults' portions.
The infant gets no suggestion; the toddler none of nuts, seeds, honey or popcorn; every food both
are offered comes in a smaller portion for the toddler (the median of their own age group).
"""

from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from camg.assess.intakes import assess_persons, person_days
from camg.reference import Reference
from camg.report import build_reports
from camg.report.keys import load_or_create_key, participant_token
from tests.e2e.test_reports_browser import ARGS, CHROMIUM, REPO, Visit, sync_api
from tests.unit.test_report_marts import side_tables

STUDY = "ages"
# FNDDS codes: milk, black beans, brown rice, honey-roasted cashews, sesame seeds, popcorn.
FOODS = {
    "11111000": 400.0,
    "41102020": 100.0,
    "56205011": 120.0,
    "42104500": 20.0,
    "43103000": 20.0,
    "54403010": 30.0,
}
GROUPS = {"infant": (8, 0.5), "toddler": (24, 1.0), "adult": (480, 2.0)}  # months, portion factor
UNSAFE_UNDER_4 = ("nut", "seed", "honey", "popcorn", "cashew", "sesame")


def _items(reference: Reference) -> pl.DataFrame:
    """One day per person: every food at the group's portion, nutrients from the real FNDDS table."""
    per100 = {
        r["food_code"]: (r["calcium_mg_per_100g"], r["magnesium_mg_per_100g"])
        for r in reference.composition.filter(
            (pl.col("food_system") == "fndds") & pl.col("food_code").is_in(list(FOODS))
        ).iter_rows(named=True)
    }
    rows = []
    for group, (_, factor) in GROUPS.items():
        for i in range(6):
            for code, grams in FOODS.items():
                ca, mg = per100[code]
                g = grams * factor
                rows.append(
                    {
                        "study_id": STUDY, "person_id": f"{group}{i}", "recall_day": 1,
                        "item_kind": "food", "food_system": "fndds", "food_code": code,
                        "food_description": None, "grams": g, "calcium_mg": g * ca / 100,
                        "magnesium_mg": g * mg / 100, "is_matched": True,
                    }
                )  # fmt: skip
    items = pl.DataFrame(rows, schema_overrides={"food_description": pl.String})
    return items.with_columns(
        pl.lit("f.csv").alias("source_file"), pl.int_range(1, pl.len() + 1).alias("source_line")
    )


def _participants() -> pl.DataFrame:
    rows = [
        {
            "study_id": STUDY, "person_id": f"{group}{i}", "sex": "female", "age_months": months,
            "life_stage": "general", "weight": None, "weight_two_day": None, "strata": None,
            "psu": None, "source_file": "participants.csv", "source_line": 2 + i,
        }
        for group, (months, _) in GROUPS.items()
        for i in range(6)
    ]  # fmt: skip
    return pl.DataFrame(
        rows,
        schema_overrides={
            "weight": pl.Float64, "weight_two_day": pl.Float64, "strata": pl.String,
            "psu": pl.String,
        },
    )  # fmt: skip


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory, reference: Reference) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ages")
    items = _items(reference)
    days = person_days(items)
    persons = assess_persons(days, _participants(), reference)
    tables = {
        "intake_item": items,
        "intake_person_day": days,
        "intake_person": persons,
        "participant": _participants(),
        "reference_rules": reference.rules,
        **side_tables("ages-run", reference.rules_version),
    }
    with duckdb.connect(str(root / "camg.duckdb")) as con:
        for name, frame in tables.items():
            con.register("frame", frame.to_arrow())
            con.execute(f"create table \"{name}\" as select 'ages-run' as run_id, * from frame")
            con.unregister("frame")
    key_path = root / "private" / ".report_key"
    build_reports(root / "camg.duckdb", root / "reports", key_path, REPO / "reference")
    key = load_or_create_key(key_path)
    folder = next(p for p in (root / "reports").iterdir() if p.is_dir() and (p / "p").is_dir())
    return {
        group: folder / "p" / f"{participant_token(key, STUDY, f'{group}0')}.html"
        for group in GROUPS
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield chromium
        chromium.close()


def _suggestions(browser: object, path: Path) -> dict[str, float]:
    """Suggested food -> portion grams, as the browser shows the table."""
    visit = Visit(browser, path)
    rows = visit.page.locator("#suggestions tbody tr")
    found = {}
    for i in range(rows.count()):
        name = rows.nth(i).locator("th").inner_text()
        portion = rows.nth(i).locator("td").nth(1).inner_text()
        found[name] = float(portion.removesuffix(" g").replace(",", ""))
    visit.clean()
    return found


def test_no_suggestions_under_12_months(browser: object, pages: dict[str, Path]) -> None:
    visit = Visit(browser, pages["infant"])
    assert visit.page.locator("#suggestions").count() == 0
    assert "under 12 months" in visit.page.locator("#no-suggestions").inner_text()
    visit.clean()


def test_no_nut_seed_honey_or_popcorn_under_4_years(
    browser: object, pages: dict[str, Path]
) -> None:
    toddler, adult = _suggestions(browser, pages["toddler"]), _suggestions(browser, pages["adult"])
    assert toddler, "the toddler gets safe suggestions"
    assert not [n for n in toddler if any(w in n.lower() for w in UNSAFE_UNDER_4)]
    # The same foods are offered to the adult: the toddler's list is short because of the rules.
    assert [n for n in adult if "cashew" in n.lower()]
    assert [n for n in adult if "seed" in n.lower()]


def test_child_portions_are_smaller_than_adult_portions(
    browser: object, pages: dict[str, Path]
) -> None:
    toddler, adult = _suggestions(browser, pages["toddler"]), _suggestions(browser, pages["adult"])
    shared = set(toddler) & set(adult)
    assert shared
    for name in shared:
        assert toddler[name] < adult[name], name
    # Black beans: the toddlers' median is 100 g, the adults' 200 g (their own age groups).
    beans = next(n for n in shared if n.lower().startswith("black"))
    assert (toddler[beans], adult[beans]) == (100.0, 200.0)
