import csv
import io
import re
from pathlib import Path
from urllib.parse import unquote

import duckdb
import polars as pl
import pytest
from jinja2 import UndefinedError

from camg.reference import Reference
from camg.report import build_reports
from camg.report.keys import load_or_create_key, participant_token, study_dir_name
from camg.report.render import Renderer, content_security_policy
from tests.unit.test_report_marts import (
    HOSTILE_ID,
    HOSTILE_STUDY,
    SQL_ID,
    write_tiny_marts,
)
from tests.unit.test_report_stats import _mart_rows
from tests.unit.test_usual_ratio import mart as usual_ratio_mart

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference"


@pytest.fixture
def built(tmp_path: Path, reference: Reference) -> tuple[Path, Path, object]:
    marts = write_tiny_marts(tmp_path / "camg.duckdb", reference)
    reports, key = tmp_path / "reports", tmp_path / "private" / ".report_key"
    summary = build_reports(marts, reports, key, REFERENCE_DIR)
    return reports, key, summary


def _html(reports: Path) -> dict[str, str]:
    return {
        str(p.relative_to(reports)): p.read_text(encoding="utf-8") for p in reports.rglob("*.html")
    }


def test_build_writes_every_report_type(built: tuple) -> None:
    reports, _key, summary = built
    pages = _html(reports)
    study = study_dir_name(HOSTILE_STUDY)
    assert summary.n_studies == 2
    assert summary.n_participants == 4
    assert {"index.html", "study_a/population.html", f"{study}/population.html"} <= set(pages)
    participant_pages = [p for p in pages if "/p/" in p]
    assert len(participant_pages) == 4
    assert all(re.fullmatch(r"[^/]+/p/[0-9a-f]{32}\.html", p) for p in participant_pages)
    assert len([p for p in pages if re.fullmatch(r"[^/]+/team-[0-9a-f]{20}\.html", p)]) == 2
    assert not list(reports.parent.glob(".reports.building-*")), "no staging folder is left behind"


def test_hostile_text_is_escaped_everywhere(built: tuple) -> None:
    reports, _, _ = built
    text = "\n".join(_html(reports).values())
    assert HOSTILE_ID not in text
    assert "<b>mystery</b>" not in text
    assert "<svg onload" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&#34;; drop table x; --" in text
    # the only scripts are the dietitian table scripts
    assert text.count("<script>") == 2


def test_participant_report_holds_their_data_only(built: tuple) -> None:
    reports, key_path, _ = built
    key = load_or_create_key(key_path)
    page = (
        reports / "study_a" / "p" / f"{participant_token(key, 'study_a', HOSTILE_ID)}.html"
    ).read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; cake" in page  # their own hostile food, as text
    assert "drop table" not in page
    assert "Cashews" not in page
    p1 = (reports / "study_a" / "p" / f"{participant_token(key, 'study_a', 'p1')}.html").read_text()
    assert "Calcium 500 mg tablet (supplement)" in p1
    assert "not a diagnosis" in p1
    assert SQL_ID.replace('"', "&#34;") not in p1


def test_private_index_maps_ids_outside_reports(built: tuple) -> None:
    reports, key_path, summary = built
    assert summary.index_path.parent == key_path.parent
    assert not summary.index_path.is_relative_to(reports)
    with summary.index_path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_person = {
        (r["study_id"], r["person_id"]): r["path_in_reports_dir"]
        for r in rows
        if r["report"] == "participant"
    }
    assert len(by_person) == 4
    assert all((reports / path).is_file() for path in by_person.values())
    # a formula-looking id is defused for spreadsheets; the real id stays in the marts
    assert ("study_a", "'" + SQL_ID) not in by_person
    assert ("study_a", SQL_ID) in by_person


def test_rebuild_swaps_the_whole_set_and_keeps_file_names(tmp_path: Path, built: tuple) -> None:
    reports, key, _ = built
    before = sorted(_html(reports))
    (reports / "stale.html").write_text("old")
    (reports / ".gitkeep").touch()
    build_reports(tmp_path / "camg.duckdb", reports, key, REFERENCE_DIR)
    assert sorted(_html(reports)) == before
    assert (reports / ".gitkeep").exists()


def test_a_failed_build_leaves_the_old_reports(tmp_path: Path, built: tuple) -> None:
    reports, key, _ = built
    before = _html(reports)
    broken = tmp_path / "broken.duckdb"
    with duckdb.connect(str(tmp_path / "camg.duckdb")) as con:
        con.execute("delete from reference_rules where rule_id like 'ratio.%'")
        con.execute("checkpoint")
    (tmp_path / "camg.duckdb").rename(broken)
    with pytest.raises(KeyError, match="ratio band"):
        build_reports(broken, reports, key, REFERENCE_DIR)
    assert _html(reports) == before
    assert not list(reports.parent.glob(".reports.building-*"))


def test_the_key_may_not_live_in_reports(tmp_path: Path, reference: Reference) -> None:
    marts = write_tiny_marts(tmp_path / "camg.duckdb", reference)
    with pytest.raises(ValueError, match="outside"):
        build_reports(marts, tmp_path / "reports", tmp_path / "reports" / ".key")


def test_population_report_labels_its_source(
    tmp_path: Path, built: tuple, reference: Reference
) -> None:
    reports, _key, _ = built
    page = (reports / "study_a" / "population.html").read_text()
    assert "unweighted" in page
    assert "population_summary" in page
    assert "amount.implausible" in page
    assert "&lt;b&gt;mystery&lt;/b&gt;" in page
    assert "Rosanoff" in page
    assert "Costello" in page


def test_population_report_uses_the_summary_mart(tmp_path: Path, reference: Reference) -> None:
    summary = _mart_rows().with_columns(pl.lit("study_a").alias("study_id"))
    marts = write_tiny_marts(tmp_path / "camg.duckdb", reference, {"population_summary": summary})
    build_reports(marts, tmp_path / "reports", tmp_path / "k" / ".report_key", REFERENCE_DIR)
    page = (tmp_path / "reports" / "study_a" / "population.html").read_text()
    assert "Figures come from the population_summary mart" in page
    assert "41.0 % (SE 2.0)" in page
    assert "usual intake" in page


def test_templates_refuse_missing_values_and_pin_the_assets() -> None:
    renderer = Renderer({"code_version": "c", "rules_version": "v", "composition_version": "f"})
    with pytest.raises(UndefinedError):
        renderer.render("participant", view={"study_id": "s"})
    html = renderer.render("index", studies=[{"study_id": "<s>", "href": "x", "n": "1"}])
    assert "&lt;s&gt;" in html
    csp = re.search(r'Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert csp == content_security_policy(renderer.css, None).replace("'", "&#39;")
    assert "default-src 'none'" in content_security_policy(renderer.css, None)


def test_names_fall_back_to_codes_without_reference(tmp_path: Path, reference: Reference) -> None:
    marts = write_tiny_marts(tmp_path / "camg.duckdb", reference)
    build_reports(marts, tmp_path / "reports", tmp_path / "k" / ".report_key")
    page = (tmp_path / "reports" / "study_a" / "population.html").read_text()
    assert "fndds food 11111000" in page


def _downloads(page: str) -> dict[str, str]:
    """The page's CSV downloads: file name -> CSV text."""
    links = re.findall(r'<a download="([^"]+)" href="data:text/csv;charset=utf-8,([^"]*)"', page)
    return {name: unquote(data) for name, data in links}


def test_every_population_table_downloads_as_csv(built: tuple) -> None:
    reports, _key, _ = built
    page = (reports / "study_a" / "population.html").read_text()
    downloads = _downloads(page)
    assert page.count("<table") == len(downloads) == 10
    unmatched = list(csv.reader(io.StringIO(downloads["study_a-unmatched-foods.csv"])))
    assert unmatched == [
        ["food_code", "name_as_reported", "items", "persons", "grams"],
        ["fndds 99999999", "<b>mystery</b>", "1", "1", "50"],
    ]
    files = list(csv.DictReader(io.StringIO(downloads["study_a-files.csv"])))
    assert [(f["file"], f["status"], f["rows_in"]) for f in files] == [
        ("study_a/bad.csv", "failed", "0"),
        ("study_a/diary.csv", "read", "12"),
    ]
    assert files[0]["error"] == "<svg onload=alert(1)>"  # as text in the CSV, escaped in the page


def test_quality_page_lists_files_rules_with_examples_and_unmatched_foods(built: tuple) -> None:
    reports, _key, _summary = built
    page = (reports / "quality.html").read_text()
    assert "study_a/bad.csv" in page
    assert "&lt;svg onload=alert(1)&gt;" in page  # the file's error, as text
    assert "amount.implausible" in page
    assert "study_a/diary.csv:9" in page  # the example row's place
    assert "&lt;script&gt;x&lt;/script&gt;" in page  # and its raw text, escaped
    assert "<script>x" not in page
    assert "&lt;b&gt;mystery&lt;/b&gt;" in page
    assert "This run imputes no nutrients" in page
    downloads = _downloads(page)
    examples = list(csv.DictReader(io.StringIO(downloads["data-quality-examples.csv"])))
    assert [(e["rule_id"], e["line"], e["raw"]) for e in examples] == [
        ("amount.implausible", "9", "<script>x</script>")
    ]
    assert 'href="quality.html"' in (reports / "index.html").read_text()


def test_quality_page_lists_imputed_foods_when_the_run_marks_them(
    tmp_path: Path, reference: Reference
) -> None:
    marts = write_tiny_marts(tmp_path / "camg.duckdb", reference)
    with duckdb.connect(str(marts)) as con:
        con.execute("alter table intake_item add column is_imputed boolean default false")
        con.execute("update intake_item set is_imputed = true where food_code = '11111000'")
    build_reports(marts, tmp_path / "reports", tmp_path / "k" / ".report_key", REFERENCE_DIR)
    page = (tmp_path / "reports" / "quality.html").read_text()
    assert "This run imputes no nutrients" not in page
    imputed = list(csv.DictReader(io.StringIO(_downloads(page)["data-quality-imputed-foods.csv"])))
    assert ("study_a", "fndds 11111000") in [(f["study_id"], f["food_code"]) for f in imputed]
    assert {f["food_code"] for f in imputed} == {"fndds 11111000"}


def test_population_report_shows_the_usual_ratio_of_adults(
    tmp_path: Path, reference: Reference
) -> None:
    ratio = usual_ratio_mart(reference).with_columns(pl.lit("study_a").alias("study_id"))
    marts = write_tiny_marts(tmp_path / "camg.duckdb", reference, {"usual_ratio": ratio})
    build_reports(marts, tmp_path / "reports", tmp_path / "k" / ".report_key", REFERENCE_DIR)
    page = (tmp_path / "reports" / "study_a" / "population.html").read_text()
    assert 'id="usual-ratio-table"' in page
    shown = list(csv.DictReader(io.StringIO(_downloads(page)["study_a-usual-ratio.csv"])))
    # the men 40 y (DRI 31-50 y) and the 20+ y rows; the boys' group has no band shares
    assert [r["group"] for r in shown] == ["male 31-50 y", "male 20+ y", "20+ y"]
    men = ratio.filter(pl.col("age_group") == "31-50 y")
    median = men.filter(pl.col("statistic") == "p50").row(0, named=True)
    assert shown[0]["median_ci95"] == (
        f"{median['value']:.2f} ({median['ci_low']:.2f}-{median['ci_high']:.2f})"
    )
    # 300 men: the share above 2.80 has a Korn-Graubard interval over 30 points wide (NCHS: suppress)
    above = men.filter(pl.col("statistic") == "pct_above").row(0, named=True)
    assert above["reliability"] == "suppress"
    assert shown[0]["pct_above_high_band_se"] == "* (unreliable)"


def _crosscheck(person: str, disagreeing: bool) -> dict:
    return {
        "study_id": "study_a",
        "person_id": person,
        "recall_day": 1,
        "source_file": "study_a/Study_Totals.csv",
        "n_items": 1,
        "n_unmatched_items": 0,
        "calcium_mg_camg": 276.0,
        "calcium_mg_export": 1100.0 if disagreeing else 276.0,
        "calcium_mg_difference": -824.0 if disagreeing else 0.0,
        "magnesium_mg_camg": 24.0,
        "magnesium_mg_export": 300.0 if disagreeing else 24.0,
        "magnesium_mg_difference": -276.0 if disagreeing else 0.0,
        "calcium_mg_items_reported": 276.0,
        "magnesium_mg_items_reported": 24.0,
        "is_items_disagreeing": disagreeing,
    }


def test_quality_pages_list_recalls_that_disagree_with_the_export_totals(
    tmp_path: Path, reference: Reference
) -> None:
    crosscheck = pl.DataFrame([_crosscheck(HOSTILE_ID, True), _crosscheck("p-agrees", False)])
    status = pl.DataFrame(
        {
            "study_id": ["study_a", "<b>broken</b>"],
            "status": ["published", "failed"],
            "stage": [None, "assessment"],
            "error": [None, "ValueError: <i>bad</i>"],
        }
    )
    marts = write_tiny_marts(
        tmp_path / "camg.duckdb",
        reference,
        {"export_crosscheck": crosscheck, "study_status": status},
    )
    reports = tmp_path / "reports"
    build_reports(marts, reports, tmp_path / "k" / ".report_key", REFERENCE_DIR)
    page = (reports / "quality.html").read_text()
    assert "Recalls whose items disagree with the export's totals" in page
    assert "1 recalls: the export" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the person id, escaped
    assert HOSTILE_ID not in page
    assert "1,100 mg" in page
    assert "300 mg" in page
    assert "p-agrees" not in page  # only disagreeing recalls are listed
    per_file = re.search(
        r"Study_Totals\.csv</th><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)", page
    )
    assert per_file is not None
    assert per_file.groups() == ("2", "1")
    recalls = list(
        csv.DictReader(io.StringIO(_downloads(page)["data-quality-disagreeing-recalls.csv"]))
    )
    assert [(r["person_id"], r["calcium_mg_export"]) for r in recalls] == [(HOSTILE_ID, "1,100 mg")]
    assert "Studies not published" in page
    assert "&lt;b&gt;broken&lt;/b&gt;" in page
    assert "ValueError: &lt;i&gt;bad&lt;/i&gt;" in page
    population = (reports / "study_a" / "population.html").read_text()
    assert "Recalls whose kept items disagree with the export's own totals (1;" in population
    assert '&lt;script&gt;alert(1)&lt;/script&gt;</th><td class="num">1</td>' in population


def test_quality_page_says_when_no_export_ships_totals(built: tuple) -> None:
    reports, _key, _summary = built
    page = (reports / "quality.html").read_text()
    assert "nothing to cross-check" in page
    assert "Studies not published" not in page


def test_a_study_whose_pages_raise_is_left_out_and_named(
    tmp_path: Path, reference: Reference, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: no real marts make a page raise any more; one study's view raises here."""
    from camg.report import build

    real = build.population_view

    def failing(marts, study_id, *args, **kwargs):
        if study_id == HOSTILE_STUDY:
            raise RuntimeError("injected <b>fault</b>")
        return real(marts, study_id, *args, **kwargs)

    monkeypatch.setattr(build, "population_view", failing)
    marts = write_tiny_marts(tmp_path / "camg.duckdb", reference)
    reports, key = tmp_path / "reports", tmp_path / "k" / ".report_key"
    summary = build_reports(marts, reports, key, REFERENCE_DIR)
    assert summary.failed_studies == ((HOSTILE_STUDY, "RuntimeError: injected <b>fault</b>"),)
    assert summary.n_studies == 1
    assert f"reports NOT built for: {HOSTILE_STUDY} (RuntimeError" in str(summary)
    pages = _html(reports)
    assert "study_a/population.html" in pages
    assert not [p for p in pages if p.startswith(study_dir_name(HOSTILE_STUDY))]
    index = pages["index.html"]
    assert "Reports NOT built for ../&lt;i&gt;evil&lt;/i&gt; study" in index
    assert "injected &lt;b&gt;fault&lt;/b&gt;" in index
    assert "Studies without reports" in pages["quality.html"]
    private = (key.parent / "report_index.csv").read_text()
    assert "study_a" in private
    assert "evil" not in private
