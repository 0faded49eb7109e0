"""intake_item from per-file parts: hard-linked Parquet copy, rows carried over from the last run."""

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.publish import item_table, kept_runs, run_folder
from camg.publish.parquet_table import ParquetTable
from camg.publish.run_folder import publish
from tests.unit.test_publish import RUN_A, RUN_B, RUN_C, tiny_tables


def part(root: Path, key: str, source_file: str, n: int, food_code: str = "11111000") -> str:
    """A part folder <key>/items.parquet holding n items of one file; its path."""
    folder = root / key
    folder.mkdir(parents=True)
    pl.DataFrame(
        {
            "source_file": [source_file] * n,
            "source_line": list(range(2, n + 2)),
            "study_id": ["s"] * n,
            "person_id": [f"{source_file}-{i}" for i in range(n)],
            "food_system": ["fndds"] * n,
            "food_code": [food_code] * n,
            "food_description": ["milk"] * n,
            "grams": [100.0] * n,
            "is_matched": [food_code == "11111000"] * n,
            "is_imputed": [False] * n,
            "imputation_method": pl.Series([None] * n, dtype=pl.String),
            "imputed_from_codes": pl.Series([None] * n, dtype=pl.String),
        }
    ).write_parquet(folder / "items.parquet")
    return str(folder / "items.parquet")


def tables_of(paths: list[str]) -> dict:
    """tiny_tables with intake_item as the given parts, as a run hands them to publish."""
    height = sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in paths)
    return tiny_tables() | {"intake_item": ParquetTable(paths, height)}


def items(db: Path) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql("select * from intake_item").pl()


def test_the_run_keeps_hard_links_to_its_parts_that_outlive_the_cache(tmp_path):
    parts = tmp_path / "parts"
    paths = [part(parts, "k1", "a.csv", 3), part(parts, "k2", "b.csv", 2)]
    publish(tmp_path / "marts", tables_of(paths), RUN_A, on_step=print)
    linked = tmp_path / "marts" / "current" / "item_parts" / "k1.parquet"
    assert linked.stat().st_ino == Path(paths[0]).stat().st_ino
    shutil.rmtree(parts)  # the parts cache pruned: the run still holds its rows
    assert pl.read_parquet(linked.parent / "*.parquet").height == 5
    assert items(tmp_path / "marts" / "camg.duckdb").height == 5
    analysts = pl.read_parquet(tmp_path / "marts" / "parquet" / "intake_item.parquet")
    assert analysts["run_id"].unique().to_list() == [RUN_A]
    assert analysts.height == 5


def test_a_small_change_carries_rows_over_and_equals_a_full_build(tmp_path):
    parts, marts, heard = tmp_path / "parts", tmp_path / "marts", []
    a = [part(parts, f"k{i:02}", f"f{i:02}.csv", 4) for i in range(1, 11)]
    publish(marts, tables_of(a), RUN_A, on_step=print)
    # f02 changed (new key, one row fewer, an unknown food), f10 removed, f00 new (sorts first).
    b = [part(parts, "k00", "f00.csv", 2), a[0], part(parts, "k02b", "f02.csv", 3, "99999999")]
    b += a[2:9]
    publish(marts, tables_of(b), RUN_B, on_step=heard.append)
    assert f"copied {RUN_A}: -2 +2 parts" in heard
    publish(tmp_path / "full", tables_of(b), RUN_C, on_step=print)  # no earlier run: built whole
    carried, full = items(marts / "camg.duckdb"), items(tmp_path / "full" / "camg.duckdb")
    assert carried["run_id"].unique().to_list() == [RUN_B]
    # Same rows as the full build; new files' rows come last instead of in file order.
    order = ["source_file", "source_line"]
    assert_frame_equal(carried.drop("run_id").sort(order), full.drop("run_id").sort(order))
    files = carried["source_file"].unique(maintain_order=True).to_list()
    assert files[-2:] == ["f00.csv", "f02.csv"]
    with duckdb.connect(str(marts / "camg.duckdb"), read_only=True) as con:
        unmatched = con.sql("select food_code, n_items from unmatched_foods").fetchall()
    assert unmatched == [("99999999", 3)]
    assert items(kept_runs.run_dir(marts, RUN_A) / "camg.duckdb").height == 40  # A untouched


def test_unchanged_parts_publish_the_same_rows_in_the_same_order(tmp_path):
    parts, marts = tmp_path / "parts", tmp_path / "marts"
    paths = [part(parts, f"k{i}", f"f{i}.csv", 3) for i in range(4)]
    publish(marts, tables_of(paths), RUN_A, on_step=print)
    first = items(marts / "camg.duckdb")
    publish(marts, tables_of(paths), RUN_B, on_step=print)
    assert_frame_equal(items(marts / "camg.duckdb").drop("run_id"), first.drop("run_id"))


def test_a_large_change_builds_the_table_whole(tmp_path):
    parts, marts, heard = tmp_path / "parts", tmp_path / "marts", []
    publish(marts, tables_of([part(parts, "k1", "a.csv", 2)]), RUN_A, on_step=print)
    publish(marts, tables_of([part(parts, "k2", "b.csv", 2)]), RUN_B, on_step=heard.append)
    assert not [h for h in heard if h.startswith("copied")]
    assert items(marts / "camg.duckdb")["source_file"].to_list() == ["b.csv", "b.csv"]


def test_the_run_database_is_written_at_one_thread(tmp_path, monkeypatch):
    seen = []
    real = run_folder.bounded_connection

    def watched(*args, **kwargs):
        con = real(*args, **kwargs)
        seen.append(con.sql("select current_setting('threads')").fetchall()[0][0])
        return con

    monkeypatch.setattr(run_folder, "bounded_connection", watched)
    publish(tmp_path / "marts", tiny_tables(), RUN_A, on_step=print)
    assert seen == [1]


def store_of(db: Path, paths: list[str]) -> duckdb.DuckDBPyConnection:
    """A database holding store.intake_item and its view from the given parts."""
    con = duckdb.connect(str(db))
    source = item_table.item_source(tables_of(paths)["intake_item"])
    item_table.create_store(con, source)
    item_table.create_view(con, RUN_A)
    return con


def test_the_parquet_copy_is_written_while_the_database_is(tmp_path):
    paths = [part(tmp_path / "parts", f"k{i}", f"f{i}.csv", 3) for i in range(3)]
    source = item_table.item_source(tables_of(paths)["intake_item"])
    copy = tmp_path / "intake_item.parquet"
    with duckdb.connect(str(tmp_path / "db.duckdb")) as con:
        with item_table.copy_meanwhile(tmp_path, source, RUN_A, copy):
            item_table.create_store(con, source)
            item_table.create_view(con, RUN_A)
        assert_frame_equal(pl.read_parquet(copy), con.sql("select * from intake_item").pl())


def test_an_error_beside_the_copy_is_raised_and_so_is_the_copy_s_own(tmp_path):
    source = item_table.item_source(
        tables_of([part(tmp_path / "parts", "k1", "a.csv", 3)])["intake_item"]
    )
    with (
        pytest.raises(RuntimeError, match="a table failed"),
        item_table.copy_meanwhile(tmp_path, source, RUN_A, tmp_path / "a.parquet"),
    ):
        raise RuntimeError("a table failed")
    with (
        pytest.raises(duckdb.IOException, match=r"b\.parquet"),
        item_table.copy_meanwhile(tmp_path, source, RUN_A, tmp_path / "no" / "such" / "b.parquet"),
    ):
        pass


def test_a_carried_run_parquet_copy_is_a_full_build_s(tmp_path):
    parts, marts, heard = tmp_path / "parts", tmp_path / "marts", []
    a = [part(parts, f"k{i:02}", f"f{i:02}.csv", 4) for i in range(1, 6)]
    publish(marts, tables_of(a), RUN_A, on_step=print)
    b = [part(parts, "k00", "f00.csv", 2), *a]  # a new file that sorts first: carried, comes last
    publish(marts, tables_of(b), RUN_B, on_step=heard.append)
    assert f"copied {RUN_A}: -0 +1 parts" in heard
    stored = items(marts / "camg.duckdb")
    assert stored["source_file"][-2:].to_list() == ["f00.csv", "f00.csv"]
    copy = pl.read_parquet(marts / "parquet" / "intake_item.parquet")
    assert copy["source_file"][:2].to_list() == ["f00.csv", "f00.csv"]  # the run's order
    assert_frame_equal(copy, stored, check_row_order=False)
    publish(tmp_path / "whole", tables_of(b), RUN_B, on_step=print)
    assert_frame_equal(
        copy, pl.read_parquet(tmp_path / "whole" / "parquet" / "intake_item.parquet")
    )


def test_the_store_is_built_beside_the_other_tables_and_an_error_stops_it(tmp_path):
    paths = [part(tmp_path / "parts", f"k{i}", f"f{i}.csv", 3) for i in range(2)]
    source = item_table.item_source(tables_of(paths)["intake_item"])
    with duckdb.connect(str(tmp_path / "db.duckdb")) as con:
        with item_table.items_meanwhile(con, source, None, RUN_A):
            con.execute("create table other as select 1 as x")
        assert con.sql("select count(*) from intake_item").fetchall() == [(6,)]
    with (
        duckdb.connect(str(tmp_path / "db2.duckdb")) as con,
        pytest.raises(RuntimeError, match="a table failed"),
        item_table.items_meanwhile(con, source, None, RUN_A),
    ):
        raise RuntimeError("a table failed")
