"""Issue 17: the real flow on the hostile corpus: every class is that file's or study's failure.

One module fixture runs the Prefect flow twice on one raw folder holding every class of bad input
(tests/hostile/corpus.py) beside a good study, damaging one entry of every cache between the runs.
Each test checks one class through the published marts, as an analyst would see it.
"""

import math
import os
import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from prefect.testing.utilities import prefect_test_harness

from camg.ops.config import Settings
from flows.camg_flow import camg_flow
from tests.conftest import read_tables, settings_in
from tests.hostile import corpus

pytestmark = pytest.mark.slow

RUN_COLUMNS = {"run_id", "started_at", "finished_at", "code_version", "duration_seconds"}
RUN_COLUMNS |= {"read_from"}
# The gzip bomb expands to 24 MB; the corpus runs with a 4 MB limit.
LIMIT = 4 << 20
CACHE_FOLDERS = ["ingest", "parts", "study_marts", "participants"]


def damage_caches(marts_dir: Path) -> list[Path]:
    """Truncate one Parquet file in each cache folder (a disk full or a killed writer)."""
    damaged = []
    for name in CACHE_FOLDERS:
        files = sorted((marts_dir / ".cache" / name).rglob("*.parquet"))
        if files:
            data = files[0].read_bytes()
            files[0].write_bytes(data[: len(data) // 2])
            damaged.append(files[0])
    return damaged


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hostile_corpus")
    settings = settings_in(root)
    settings = Settings(**{**settings.__dict__, "max_expanded_bytes": LIMIT})
    (root / "outside").mkdir()
    corpus.good(settings.raw_dir)
    corpus.trust_boundary(settings.raw_dir, root / "outside")
    for build in corpus.BUILDERS.values():
        build(settings.raw_dir)
    with prefect_test_harness(server_startup_timeout=None):
        first = read_tables(camg_flow(settings))
        damaged = damage_caches(settings.marts_dir)
        second = read_tables(camg_flow(settings))
    return {
        "first": first,
        "second": second,
        "damaged": damaged,
        "marts": settings.marts_dir,
        "reports": settings.reports_dir,
    }


def manifest_row(tables: dict, source_file: str) -> dict:
    rows = tables["file_manifest"].filter(pl.col("source_file") == source_file)
    assert rows.height == 1, source_file
    return rows.row(0, named=True)


def quarantined(tables: dict, source_file: str) -> list[tuple[int, str]]:
    rows = tables["quarantine"].filter(pl.col("source_file") == source_file)
    return rows.select("source_line", "rule_id").sort("source_line").rows()


def test_both_runs_publish_every_good_study_and_reconcile(runs):
    for tables in (runs["first"], runs["second"]):
        assert tables["run_log"]["status"].to_list() == ["published_with_failed_files"]
        manifest = tables["file_manifest"]
        assert (manifest["rows_in"] == manifest["rows_kept"] + manifest["rows_quarantined"]).all()
        studies = set(tables["intake_person"]["study_id"].to_list())
        expected = {"good_study", "links", "resent", "description_only", "tiny_magnesium"}
        expected |= {"bad_weights", "nhanes_weights", "asa24_odd", "asa24_components"}
        expected |= {"open_quote", "mixed_encoding", "dated"}
        assert expected <= studies


def test_a_rerun_with_damaged_caches_gives_identical_marts(runs):
    assert len(runs["damaged"]) == len(CACHE_FOLDERS)  # every cache had an entry to damage
    for name, first in runs["first"].items():
        second = runs["second"][name]
        keep = [c for c in first.columns if c not in RUN_COLUMNS]
        assert_frame_equal(first.select(keep), second.select(keep), check_exact=True)


def test_every_number_published_is_finite_or_null(runs):
    for name, frame in runs["second"].items():
        for column, dtype in frame.schema.items():
            if dtype.is_float():
                values = frame[column].drop_nulls().to_list()
                assert all(math.isfinite(v) for v in values), (name, column)


def test_resent_line_is_a_duplicate_in_every_run(runs):
    for tables in (runs["first"], runs["second"]):
        assert quarantined(tables, "resent/DR1IFF_I_resent.csv") == [(2, "row.duplicate")]
        assert manifest_row(tables, "resent/DR1IFF_I_resent.csv")["rows_kept"] == 1


def test_description_only_food_is_kept(runs):
    items = runs["second"]["intake_item"].filter(pl.col("study_id") == "description_only")
    soup = items.filter(pl.col("food_description") == "homemade soup")
    assert soup.height == 1
    assert soup["food_code"].to_list() == [None]


def test_tiny_magnesium_gives_a_null_ratio_not_inf(runs):
    persons = runs["second"]["intake_person"].filter(pl.col("study_id") == "tiny_magnesium")
    p2 = persons.filter(pl.col("person_id") == "p2")
    assert p2.height == 1
    ratio = p2["calcium_to_magnesium_mass_ratio"][0]
    assert ratio is None or math.isfinite(ratio)


def test_bad_weights_quarantine_the_rows_that_carry_them(runs):
    tables = runs["second"]
    assert quarantined(tables, "bad_weights/participants.csv") == [
        (2, "participant.invalid_design"),
        (3, "participant.invalid_design"),
    ]
    assert quarantined(tables, "nhanes_weights/DR1IFF_I.csv") == [
        (2, "weight.invalid"),
        (3, "weight.invalid"),
    ]
    assert manifest_row(tables, "nhanes_weights/DR1IFF_I.csv")["rows_kept"] == 1


def test_odd_recall_numbers_in_totals_are_quarantined(runs):
    assert quarantined(runs["second"], "asa24_odd/Study_Totals.csv") == [
        (3, "recall_day.invalid"),
        (4, "recall_day.invalid"),
    ]


def test_asa24_components_are_items_and_disagreeing_recalls_are_flagged(runs):
    tables = runs["second"]
    assert quarantined(tables, "asa24_components/Study_Items.csv") == []
    check = tables["export_crosscheck"].filter(pl.col("study_id") == "asa24_components")
    flags = dict(check.select("person_id", "is_items_disagreeing").iter_rows())
    assert flags == {"u1": False, "u2": True}


def test_status_shows_recalls_that_disagree_with_the_export_totals(runs):
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["status", "--marts", str(runs["marts"]), "--no-prefect"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "disagree with the export's totals" in said
    assert "asa24_components" in said
    assert "u2 recall 1" in said


def test_the_data_quality_pages_list_the_disagreeing_recall(runs):
    quality = " ".join((runs["reports"] / "quality.html").read_text(encoding="utf-8").split())
    row = re.search(
        r"<td>asa24_components</td><td>([^<]+)</td><th scope=\"row\">u2</th>(.*?)</tr>", quality
    )
    assert row is not None, "u2's recall is listed"
    assert row.group(1) == "asa24_components/Study_Totals.csv"
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(2))
    assert cells == ["1", "1", "276 mg", "276 mg", "1,100 mg", "24 mg", "24 mg", "300 mg"]
    assert '<th scope="row">u1</th>' not in quality  # u1's items add up
    population = (runs["reports"] / "asa24_components" / "population.html").read_text("utf-8")
    assert "disagree with the export's own totals (1;" in " ".join(population.split())


def test_unterminated_quote_quarantines_one_record_and_reading_resumes(runs):
    row = manifest_row(runs["second"], "open_quote/records.csv")
    assert (row["rows_in"], row["rows_kept"], row["rows_quarantined"]) == (7, 6, 1)
    assert quarantined(runs["second"], "open_quote/records.csv") == [(3, "row.ragged")]


def test_mixed_encoding_is_decided_per_line_and_never_mojibake(runs):
    tables = runs["second"]
    assert manifest_row(tables, "mixed_encoding/records.csv")["encoding"] == "utf-8+latin-1"
    items = tables["intake_item"].filter(pl.col("study_id") == "mixed_encoding")
    assert set(items["person_id"].to_list()) == {"José"}
    assert items.height == 7
    assert "café au lait" in items["food_description"].to_list()


def test_empty_recall_day_with_a_date_is_dated(runs):
    row = manifest_row(runs["second"], "dated/records.csv")
    assert (row["rows_kept"], row["rows_quarantined"]) == (2, 0)


def test_trust_boundary_refuses_and_lists_every_entry_not_read(runs):
    tables = runs["second"]
    expected = {
        "links/outside.csv": ("failed", "outside the raw folder"),
        "links/passwd.csv": ("failed", "outside the raw folder"),
        "links/dangling.csv": ("failed", "symbolic link to nothing"),
        "links/pipe.csv": ("failed", "named pipe"),
        "links/.hidden.csv": ("ignored", "hidden"),
        "loose_records.csv": ("ignored", "not in a study folder"),
    }
    for source_file, (status, reason) in expected.items():
        row = manifest_row(tables, source_file)
        assert row["status"] == status, source_file
        assert reason in row["error"], source_file
        assert row["sha256"] is None
        assert row["rows_in"] == 0
    assert manifest_row(tables, "links/inside.csv")["status"] == "read"
    descriptions = tables["intake_item"]["food_description"].to_list()
    assert "stolen" not in descriptions


def test_names_that_are_not_utf8_are_failed_with_a_readable_name(runs):
    row = manifest_row(runs["second"], "caf\\xe9_study/rec\\xff.csv")
    assert row["status"] == "failed"
    assert "UTF-8" in row["error"]


def test_gzip_bomb_is_failed_past_the_expanded_size_limit(runs):
    row = manifest_row(runs["second"], "bomb/records.csv.gz")
    assert row["status"] == "failed"
    assert "max_expanded_bytes" in row["error"]
    assert row["size_bytes"] < LIMIT


def test_vanished_and_unreadable_files_are_failed_with_their_reason(tmp_path, monkeypatch):
    # Between discovery and reading: one file is deleted, another cannot be opened. Root (as the
    # tests run) reads any file whatever its mode, so the denial is the kernel's error injected.
    from camg.ingest import entries
    from camg.ingest.batch import discover, scan_found

    raw = tmp_path / "raw"
    raw.mkdir()
    corpus.good(raw)
    corpus.good(raw, "other_study")
    found = discover(raw)
    (raw / "good_study" / "records.csv").unlink()
    denied = raw / "other_study" / "records.csv"
    real_open = os.open

    def open_denied(path, *args, **kwargs):
        if Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(entries.os, "open", open_denied)
    reads = {r.source_file: r for r in (scan_found(f, raw, tmp_path / "marts") for f in found)}
    gone = reads["good_study/records.csv"]
    assert (gone.status, gone.error) == ("failed", "file vanished before it was read")
    refused = reads["other_study/records.csv"]
    assert (refused.status, refused.error) == ("failed", "permission denied: cannot read file")
    assert reads["good_study/participants.csv"].status == "read"
