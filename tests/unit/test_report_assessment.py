"""What the reports say about the assessment (issue 14), on the tiny marts built by the real code.

study_a has a supplement row (p1's calcium tablet), the hostile study has none; the hostile-id
person of study_a recorded an unknown food on their only day, so they have no complete day.
"""

from pathlib import Path

import pytest

from camg.reference import Reference
from camg.report import build_reports
from camg.report.keys import load_or_create_key, participant_token, study_dir_name
from tests.unit.test_report_marts import HOSTILE_ID, HOSTILE_STUDY, write_tiny_marts

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory, reference: Reference) -> dict[str, str]:
    root = tmp_path_factory.mktemp("assessment_reports")
    marts = write_tiny_marts(root / "camg.duckdb", reference)
    key_path = root / "private" / ".report_key"
    build_reports(marts, root / "reports", key_path, REFERENCE_DIR)
    key = load_or_create_key(key_path)
    out, hostile = root / "reports", study_dir_name(HOSTILE_STUDY)

    def page(path: Path) -> str:
        return path.read_text(encoding="utf-8")

    return {
        "population_a": page(out / "study_a" / "population.html"),
        "population_hostile": page(out / hostile / "population.html"),
        "dietitian_a": page(next((out / "study_a").glob("team-*.html"))),
        "insufficient": page(
            out / "study_a" / "p" / f"{participant_token(key, 'study_a', HOSTILE_ID)}.html"
        ),
        "no_supplements": page(
            out / hostile / "p" / f"{participant_token(key, HOSTILE_STUDY, 'p1')}.html"
        ),
        "with_supplements": page(
            out / "study_a" / "p" / f"{participant_token(key, 'study_a', 'p1')}.html"
        ),
    }


def test_population_report_says_once_that_a_study_has_no_supplement_data(reports) -> None:
    assert reports["population_hostile"].count("No supplement data supplied for this study") == 1
    assert "No supplement data supplied" not in reports["population_a"]


def test_population_and_dietitian_show_risk_by_dri_group(reports) -> None:
    for page in (reports["population_a"], reports["dietitian_a"]):
        assert "usual intake below EAR" in page
        assert "likely inadequate" in page


def test_participant_without_a_complete_day_is_told_why(reports) -> None:
    page = reports["insufficient"]
    assert "We could not assess your intake" in page
    assert 'id="risk-level">insufficient data<' in page
    assert "we do not suggest foods" in page
    assert 'id="suggestions"' not in page


def test_totals_say_from_food_without_supplement_data(reports) -> None:
    page = reports["no_supplements"]
    assert "no supplement data supplied for this study" in page
    assert "a day" in page
    assert "from food</h3>" not in page  # the amount is labelled, not the heading cut short
    assert " mg from food a day" in page
    assert "no supplement data supplied" not in reports["with_supplements"]
