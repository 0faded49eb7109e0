"""The real flow, run twice on the bundled NHANES 2015-2016 batch: what it publishes beside the marts.

Lineage (run_step, file_manifest), the data dictionary in the database, the views, the Parquet copy,
identical contents for identical inputs, and `camg runs` / `camg rollback` on the kept runs.
"""

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from prefect.testing.utilities import prefect_test_harness

from camg.publish import dictionary, kept_runs
from camg.publish.run_folder import view_files
from flows.camg_flow import camg_flow
from tests.conftest import copy_batch, settings_in

pytestmark = pytest.mark.slow

CAMG = str(Path(sys.executable).with_name("camg"))
# Columns that name the run, its clock or how it got a file (parsed, or from the file cache): not data.
RUN_COLUMNS = {
    "run_id",
    "started_at",
    "finished_at",
    "code_version",
    "duration_seconds",
    "read_from",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Two flow runs on the same inputs into one marts folder."""
    root = tmp_path_factory.mktemp("flow")
    settings = settings_in(root)
    copy_batch("nhanes_2015_2016", settings.raw_dir)
    # The temporary server starts slowly on a busy machine (30 s by default).
    with prefect_test_harness(server_startup_timeout=None):
        camg_flow(settings)
        first = kept_runs.current_run_id(settings.marts_dir)
        camg_flow(settings)
        second = kept_runs.current_run_id(settings.marts_dir)
    return {"settings": settings, "marts": settings.marts_dir, "first": first, "second": second}


def run_db(runs: dict, which: str) -> Path:
    return kept_runs.run_dir(runs["marts"], runs[which]) / "camg.duckdb"


def relations(db: Path) -> dict[str, pl.DataFrame]:
    """Every table and view of a database, as frames."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = [n for (n,) in con.sql("show tables").fetchall()]
        return {n: con.sql(f'select * from "{n}"').pl() for n in names}


def test_every_published_column_is_documented_and_every_entry_is_published(runs):
    with duckdb.connect(str(runs["marts"] / "camg.duckdb"), read_only=True) as con:
        missing = dictionary.undocumented(con)
        published = {(rel, col) for rel, _, col, _ in dictionary.published_columns(con)}
        comments = con.sql(
            "select table_name, comment from duckdb_tables() "
            "union all select view_name, comment from duckdb_views() where not internal"
        ).fetchall()
        rules_version = con.sql("select rules_version from run_log").fetchall()[0][0]
    assert missing == [], f"add these to camg/publish/dictionary.toml: {missing}"
    entries = dictionary.load_dictionary().relations
    stale = [
        f"{name}.{col}"
        for name, entry in entries.items()
        if name in {rel for rel, _ in published}
        for col in entry.columns
        if (name, col) not in published
    ]
    assert stale == [], f"documented but not published: {stale}"
    for name, comment in comments:
        assert comment.endswith(f"Rules version: {rules_version}."), name


def test_views_are_published_and_answer(runs):
    tables = relations(runs["marts"] / "camg.duckdb")
    assert set(view_files()) <= set(tables)
    at_risk = tables["persons_at_risk"]
    # Every assessed person is in exactly one group of the view.
    assert at_risk["n_persons"].sum() == tables["intake_person"].height
    flags = tables["flag_prevalence"].filter(pl.col("flag") == "is_calcium_likely_above_ul")
    expected = tables["intake_person"]["is_calcium_likely_above_ul"].sum()
    assert flags["n_flagged"].to_list() == [expected]


def test_example_queries_of_the_docs_run(runs):
    with duckdb.connect(str(runs["marts"] / "camg.duckdb"), read_only=True) as con:
        for _title, sql in dictionary.load_dictionary().examples:
            con.sql(sql).fetchall()  # some name a study this test does not load: no rows, no error


def test_run_step_times_every_task_of_the_flow(runs):
    steps = relations(run_db(runs, "second"))["run_step"]
    by_step = {row["step"]: row for row in steps.iter_rows(named=True)}
    for step in ("load reference data", "validate diary rows", "assemble marts"):
        assert step in by_step, sorted(by_step)
    assert "publish: write tables" in by_step
    assert set(steps["state"]) == {"Completed"}
    assert steps["duration_seconds"].min() >= 0
    assert (steps["finished_at"] >= steps["started_at"]).all()


def test_file_manifest_holds_each_input_file_hash(runs):
    manifest = relations(run_db(runs, "second"))["file_manifest"]
    raw_dir = runs["settings"].raw_dir
    expected = {
        str(p.relative_to(raw_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in raw_dir.rglob("*.csv")
    }
    got = dict(manifest.select("source_file", "sha256").iter_rows())
    assert {k: got.get(k) for k in expected} == expected


def test_parquet_copy_equals_the_database(runs):
    tables = relations(run_db(runs, "second"))
    folder = kept_runs.run_dir(runs["marts"], runs["second"]) / "parquet"
    exported = {p.stem for p in folder.glob("*.parquet")}
    assert exported == {n for n in tables if n not in view_files()}
    with duckdb.connect() as con:  # read back as DuckDB reads it, times in the same session zone
        for name in exported:
            path = str(folder / f"{name}.parquet")
            parquet = con.sql("select * from read_parquet($p)", params={"p": path}).pl()
            assert_frame_equal(parquet, tables[name], check_exact=True)
    # intake_item is one file too (issue 17), its run's parts kept beside parquet/ as hard links.
    parts = kept_runs.run_dir(runs["marts"], runs["second"]) / "item_parts"
    order = ["source_file", "source_line"]
    linked = pl.read_parquet(parts / "*.parquet").sort(order)
    expected = tables["intake_item"].drop("run_id").sort(order)
    assert_frame_equal(linked, expected, check_exact=True)


def test_two_runs_on_the_same_inputs_publish_the_same_contents(runs):
    first, second = relations(run_db(runs, "first")), relations(run_db(runs, "second"))
    assert first.keys() == second.keys()
    for name, frame in first.items():
        keep = [c for c in frame.columns if c not in RUN_COLUMNS]
        # Same rows, same text, same integers; floats to 12 significant digits, because food_sources
        # sums in parallel and differs between runs in the last bits (~1e-14; measured, not ours).
        assert_frame_equal(
            frame.select(keep), second[name].select(keep), rel_tol=1e-12, abs_tol=0.0
        )
    assert runs["first"] != runs["second"]


def camg(*args: str, marts: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CAMG, *args, "--marts", str(marts)],
        capture_output=True,
        text=True,
        cwd=marts.parent,
        timeout=120,
    )


def test_runs_lists_the_kept_runs_and_rollback_switches_to_one(runs):
    marts = runs["marts"]
    listed = camg("runs", marts=marts)
    assert listed.returncode == 0, listed.stderr
    assert runs["first"] in listed.stdout
    assert runs["second"] in listed.stdout
    rolled = camg("rollback", runs["first"], marts=marts)
    assert rolled.returncode == 0, rolled.stderr
    assert relations(marts / "camg.duckdb")["run_log"]["run_id"].to_list() == [runs["first"]]
    refused = camg("rollback", "20990101T000000-00000000", marts=marts)
    assert refused.returncode == 2
    assert kept_runs.current_run_id(marts) == runs["first"]
    kept_runs.rollback(marts, runs["second"])
