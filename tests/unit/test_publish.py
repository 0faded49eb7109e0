"""Publish protocol on tiny frames: run folders, the atomic `current` switch, retention, clean-up."""

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.publish import kept_runs
from camg.publish.run_folder import publish

RUN_A = "20260101T000000-aaaaaaaa"
RUN_B = "20260102T000000-bbbbbbbb"
RUN_C = "20260103T000000-cccccccc"


def tiny_tables(n_items: int = 2) -> dict[str, pl.DataFrame]:
    """The smallest frames publish needs: intake_item (for unmatched_foods), quarantine, run_log."""
    return {
        "intake_item": pl.DataFrame(
            {
                "study_id": ["s"] * n_items,
                "person_id": [str(i) for i in range(n_items)],
                "food_system": ["fndds"] * n_items,
                "food_code": ["11111000"] * (n_items - 1) + ["99999999"],
                "food_description": ["milk"] * (n_items - 1) + ["unknown"],
                "grams": [100.0] * n_items,
                "is_matched": [True] * (n_items - 1) + [False],
                "is_imputed": [False] * n_items,
                "imputation_method": pl.Series([None] * n_items, dtype=pl.String),
                "imputed_from_codes": pl.Series([None] * n_items, dtype=pl.String),
            }
        ),
        "quarantine": pl.DataFrame(
            {"source_file": ["s/a.csv"], "source_line": [3], "study_id": ["s"], "rule_id": ["r"]}
        ),
        "run_log": pl.DataFrame(
            {
                "started_at": [datetime(2026, 1, 1, tzinfo=UTC)],
                "finished_at": [datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)],
                "status": ["published"],
                "n_files": [1],
                "n_files_failed": [0],
                "rows_in": [4],
                "rows_quarantined": [1],
                "rules_version": ["r1"],
                "composition_version": ["c1"],
                "code_version": ["0.1.0"],
            }
        ),
    }


def published_run_ids(marts_dir: Path) -> set[str]:
    """Every run_id found in any table of the published database (opened as analysts do)."""
    with duckdb.connect(str(marts_dir / "camg.duckdb"), read_only=True) as con:
        names = [n for (n,) in con.sql("select table_name from duckdb_tables()").fetchall()]
        return {
            run_id
            for name in names
            for (run_id,) in con.sql(f'select distinct run_id from "{name}"').fetchall()
        }


def quiet(step: str) -> None:
    pass


def test_publish_makes_a_read_only_run_folder_and_points_current_at_it(tmp_path):
    published = publish(tmp_path, tiny_tables(), RUN_A, on_step=quiet)
    assert published == tmp_path / "camg.duckdb"
    assert os.readlink(tmp_path / "current") == f"runs/{RUN_A}"
    assert published.resolve() == (tmp_path / "runs" / RUN_A / "camg.duckdb").resolve()
    assert published_run_ids(tmp_path) == {RUN_A}
    mode = stat.S_IMODE((tmp_path / "runs" / RUN_A / "camg.duckdb").stat().st_mode)
    assert mode == 0o444
    # unmatched_foods is derived inside the new database: 1 unknown food of 2 items.
    parquet = pl.read_parquet(tmp_path / "parquet" / "unmatched_foods.parquet")
    assert parquet.select("run_id", "food_code", "n_items").rows() == [(RUN_A, "99999999", 1)]


def test_parquet_copy_holds_the_same_rows_as_the_database(tmp_path):
    publish(tmp_path, tiny_tables(), RUN_A, on_step=quiet)
    with duckdb.connect(str(tmp_path / "camg.duckdb"), read_only=True) as con:
        from_db = con.sql("select * from intake_item").pl()
    # intake_item's copy is one file with run_id, like every table's (issue 17).
    parquet = pl.read_parquet(tmp_path / "parquet" / "intake_item.parquet")
    assert_frame_equal(parquet, from_db)
    assert from_db["run_id"].unique().to_list() == [RUN_A]


def test_next_publish_switches_and_keeps_the_earlier_run(tmp_path):
    publish(tmp_path, tiny_tables(), RUN_A, on_step=quiet)
    publish(tmp_path, tiny_tables(3), RUN_B, on_step=quiet)
    assert published_run_ids(tmp_path) == {RUN_B}
    runs = kept_runs.list_runs(tmp_path)
    assert runs.select("run_id", "is_current").rows() == [(RUN_B, True), (RUN_A, False)]


def test_retention_keeps_the_newest_runs(tmp_path):
    for run_id in (RUN_A, RUN_B, RUN_C):
        publish(tmp_path, tiny_tables(), run_id, keep_runs=2, on_step=quiet)
    assert kept_runs.kept_runs(tmp_path) == [RUN_B, RUN_C]


def test_retention_never_deletes_the_published_run(tmp_path):
    for run_id in (RUN_A, RUN_B, RUN_C):
        publish(tmp_path, tiny_tables(), run_id, on_step=quiet)
    kept_runs.rollback(tmp_path, RUN_A)
    with kept_runs.publish_lock(tmp_path):
        removed = kept_runs.prune(tmp_path, keep=1)
    assert removed == [RUN_B]
    assert kept_runs.kept_runs(tmp_path) == [RUN_A, RUN_C]
    assert published_run_ids(tmp_path) == {RUN_A}


def test_rollback_publishes_an_earlier_run_again(tmp_path):
    publish(tmp_path, tiny_tables(), RUN_A, on_step=quiet)
    publish(tmp_path, tiny_tables(), RUN_B, on_step=quiet)
    kept_runs.rollback(tmp_path, RUN_A)
    assert published_run_ids(tmp_path) == {RUN_A}
    assert pl.read_parquet(tmp_path / "parquet" / "run_log.parquet")["run_id"].to_list() == [RUN_A]


@pytest.mark.parametrize("run_id", ["20260109T000000-deadbeef", "../../etc", "current", ""])
def test_rollback_refuses_a_run_that_is_not_kept(tmp_path, run_id):
    publish(tmp_path, tiny_tables(), RUN_A, on_step=quiet)
    with pytest.raises(kept_runs.UnknownRunError):
        kept_runs.rollback(tmp_path, run_id)
    assert published_run_ids(tmp_path) == {RUN_A}


def test_leftovers_of_killed_runs_are_removed_by_the_next_publish(tmp_path):
    publish(tmp_path, tiny_tables(), RUN_A, on_step=quiet)
    building = kept_runs.building_dir(tmp_path, RUN_B)
    building.mkdir()
    (building / "camg.duckdb").write_bytes(b"half a database")
    (building / "camg.duckdb.wal").write_bytes(b"wal")
    (tmp_path / ".switch-current").symlink_to("runs/nowhere")
    (tmp_path / ".building-old.duckdb.wal").write_bytes(b"single-file layout leftover")
    publish(tmp_path, tiny_tables(), RUN_C, on_step=quiet)
    leftovers = [p.name for p in tmp_path.iterdir()] + [
        p.name for p in (tmp_path / "runs").iterdir()
    ]
    assert sorted(leftovers) == sorted(
        [".publish.lock", "camg.duckdb", "current", "parquet", "runs", RUN_A, RUN_C]
    )


def test_a_single_file_marts_folder_is_taken_over(tmp_path):
    # The layout before run folders: camg.duckdb was a regular file, replaced in place.
    with duckdb.connect(str(tmp_path / "camg.duckdb")) as con:
        con.execute("create table run_log as select 'old' as run_id")
    publish(tmp_path, tiny_tables(), RUN_A, on_step=quiet)
    assert (tmp_path / "camg.duckdb").is_symlink()
    assert published_run_ids(tmp_path) == {RUN_A}


def test_progress_callback_hears_every_point_in_order(tmp_path):
    heard: list[str] = []
    publish(tmp_path, tiny_tables(), RUN_A, on_step=heard.append)
    assert heard[:5] == [
        "locked",
        "cleaned 0 leftovers",
        "wrote quarantine",
        "wrote run_log",
        "wrote intake_item",  # built beside the others, heard once they are written and it is
    ]
    assert heard[-7:] == [
        "built",
        "renamed",
        "switching current",
        "switched",
        "switching camg.duckdb",
        "switching parquet",
        "pruned 0 runs",
    ]


def test_views_are_created_only_when_their_input_tables_are_published(tmp_path):
    publish(tmp_path, tiny_tables(), RUN_A, on_step=quiet)
    with duckdb.connect(str(tmp_path / "camg.duckdb"), read_only=True) as con:
        rows = con.sql("select view_name from duckdb_views() where not internal").fetchall()
        views = {name for (name,) in rows}
        by_rule = con.sql("select study_id, rule_id, n_rows, first_line from quarantine_by_rule")
        assert by_rule.fetchall() == [("s", "r", 1, 3)]
    # intake_person is not among the tiny tables, so its views are left out; intake_item is a view
    # over store.intake_item (camg.publish.item_table).
    assert views == {"intake_item", "quarantine_by_rule", "run_summary"}
