"""Publish stage: a run's mart frames -> a new run folder (DuckDB + Parquet), switched in atomically.

The protocol (DESIGN section 5; the folder layout is in camg.publish.kept_runs):
1. Take the publish lock and delete what killed runs left behind (their building folders).
2. Build `runs/.building-<run_id>/`: camg.duckdb (tables, derived marts, run_step, views, comments)
   and parquet/<table>.parquet; check them; checkpoint, close, fsync, make the files read-only.
   intake_item (camg.publish.item_table) is a view over store.intake_item, carried over from the published
   run's database when little changed; its Parquet copy is copied from the per-file parts beside it.
3. Rename it to `runs/<run_id>/`, then switch `current` to it: one rename(2) publishes it all.
4. Delete the runs beyond `keep_runs` (never the published one).
Nothing is ever written into a published file, so a reader never waits for a lock and a kill at any
point leaves the old run or the whole new one published. `on_step` hears each point as it is reached.
"""

import logging
import os
import re
import shutil
from collections.abc import Mapping
from contextlib import ExitStack, nullcontext
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from camg.ops.engine import bounded_connection
from camg.ops.queries import query
from camg.publish import dictionary, item_table, kept_runs, runlog
from camg.publish.kept_runs import MARTS_FILE, PARQUET_DIR, Progress
from camg.publish.parquet_table import ParquetTable

# Marts computed inside the new database from the tables written before them.
DERIVED_MARTS = ["unmatched_foods"]
VIEW_INPUTS = re.compile(r"^-- Inputs \(mart tables\): (.+)\.$", re.MULTILINE)
READ_ONLY = 0o444
# The run database is written at one thread. Every write keeps insertion order, where a second
# thread costs more than it gives: intake_item's store at 4M rows took 11.5 s CPU, 15.7 s wall at
# two and 8.8 s CPU, 12.8 s wall at one (farm-bench medians, issue 16); an ordered COPY at two holds
# the row groups finished out of turn and past the memory limit spills them (8.7-10 -> 5.3 s CPU).
# One thread also sums in row order: unmatched_foods' grams no longer differ from run to run.
PUBLISH_THREADS = 1
logger = logging.getLogger(__name__)


class PublishCheckError(RuntimeError):
    """The built run does not hold what was written: it is not published."""


def log_step(step: str) -> None:
    """The default progress callback: one log line per point reached."""
    logger.info("publish: %s", step)


def write_tables(
    con: duckdb.DuckDBPyConnection,
    tables: Mapping[str, pl.DataFrame | ParquetTable],
    run_id: str,
    on_step: Progress = kept_runs.no_progress,
) -> None:
    """Create one table per frame, each row stamped with the run id (intake_item: see item_table)."""
    for name, frame in tables.items():
        if name == item_table.TABLE:
            continue  # written beside the others (item_table.items_meanwhile)
        if isinstance(frame, ParquetTable):
            write_streamed(con, name, frame, run_id)
        else:
            con.register("frame", frame.to_arrow())
            con.execute(
                f"create table {dictionary.quoted_identifier(name)} as "
                "select $run_id as run_id, * from frame",
                {"run_id": run_id},
            )
            con.unregister("frame")
        on_step(f"wrote {name}")


def write_streamed(
    con: duckdb.DuckDBPyConnection, name: str, table: ParquetTable, run_id: str
) -> None:
    """Create a table from Parquet parts (and its small frame) without loading them in Python."""
    sources = ["select * from read_parquet($paths)"] if table.paths else []
    params: dict[str, object] = {"run_id": run_id, "paths": table.paths} if table.paths else {}
    params.setdefault("run_id", run_id)
    if table.frame is not None:
        con.register("frame", table.frame.to_arrow())
        sources.append("select * from frame")
    union = " union all by name ".join(sources)
    order = ", ".join(dictionary.quoted_identifier(c) for c in table.order_by)
    con.execute(
        f"create table {dictionary.quoted_identifier(name)} as "
        f"select $run_id as run_id, * from ({union})" + (f" order by {order}" if order else ""),
        params,
    )
    if table.frame is not None:
        con.unregister("frame")


def write_derived(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Create the marts that are SQL over the written tables (e.g. unmatched_foods)."""
    for name in DERIVED_MARTS:
        con.execute(
            f'create table "{name}" as select $run_id as run_id, * from ({query(name)})',
            {"run_id": run_id},
        )


def view_files() -> dict[str, str]:
    """camg/sql/views/<view>.sql by view name: each a `create or replace view` statement."""
    folder = resources.files("camg").joinpath("sql", "views")
    return {
        f.name.removesuffix(".sql"): f.read_text(encoding="utf-8")
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".sql")
    }


def create_views(con: duckdb.DuckDBPyConnection, tables: set[str]) -> list[str]:
    """Create every view whose input tables (its `-- Inputs (mart tables):` line) were published."""
    created = []
    for name, sql in view_files().items():
        inputs = VIEW_INPUTS.search(sql)
        needs = {t.strip() for t in inputs.group(1).split(",")} if inputs else set()
        if needs <= tables:
            con.execute(sql)
            created.append(name)
    return created


def rules_version(tables: Mapping[str, pl.DataFrame | ParquetTable]) -> str:
    """The rules version of the run (from its run_log), for the table comments."""
    log = tables.get("run_log")
    if log is None or "rules_version" not in log.columns or log.height == 0:
        return "unknown"
    return str(log["rules_version"][0])


def export_parquet(con: duckdb.DuckDBPyConnection, folder: Path, names: list[str]) -> None:
    """Every mart table as folder/<table>.parquet (views are SQL over them, not exported)."""
    for name in names:
        con.execute(
            f"copy {dictionary.quoted_identifier(name)} to $path (format parquet)",
            {"path": str(folder / f"{name}.parquet")},
        )


def row_count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Rows of a table or view."""
    return con.sql(f"select count(*) from {dictionary.quoted_identifier(name)}").fetchall()[0][0]


def table_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The base tables of a database (not views)."""
    rows = con.sql(
        "select table_name from duckdb_tables() where not internal and schema_name = 'main' "
        "order by table_name"
    ).fetchall()
    return [name for (name,) in rows]


def start_database(
    building: Path, tables: Mapping[str, pl.DataFrame | ParquetTable], on_step: Progress
) -> tuple[item_table.ItemSource | None, item_table.Change | None]:
    """intake_item's rows, and what changed since the published run when its database is reused.

    Reused means copied: the new run's database starts as a copy of the published one (which
    nobody ever writes), and item_store.write_items applies the difference.
    """
    items = tables.get(item_table.TABLE)
    if items is None:
        return None, None
    source = item_table.item_source(items)
    change = item_table.previous_change(building.parent.parent, source)
    if change is not None:
        shutil.copyfile(change.database, building / MARTS_FILE)
        run = change.database.parent.name
        on_step(f"copied {run}: -{len(change.removed)} +{len(change.added)} parts")
    return source, change


def build_database(
    building: Path,
    tables: Mapping[str, pl.DataFrame | ParquetTable],
    run_id: str,
    steps: pl.DataFrame | None,
    on_step: Progress,
) -> dict[str, int]:
    """Write the run's database and its Parquet copy; the row count of every table."""
    records: list[dict] = []
    source, change = start_database(building, tables, on_step)
    database, parquet = str(building / MARTS_FILE), building / PARQUET_DIR
    parquet.mkdir()
    with (
        bounded_connection(building.parent.parent, database, threads=PUBLISH_THREADS) as con,
        ExitStack() as meanwhile,  # intake_item's Parquet copy, from its parts
    ):
        with runlog.timed_step(records, "publish: write tables"):
            items = nullcontext()
            if source is not None:
                path = parquet / parquet_name(item_table.TABLE)
                copy = item_table.copy_meanwhile(building.parent.parent, source, run_id, path)
                meanwhile.enter_context(copy)
                items = item_table.items_meanwhile(con, source, change, run_id)
            with items:
                write_tables(con, tables, run_id, on_step)
            if source is not None:
                on_step(f"wrote {item_table.TABLE}")
            write_derived(con, run_id)
        run_step = runlog.run_steps(records)
        if steps is not None:
            run_step = pl.concat([steps, run_step], how="vertical_relaxed")
        write_tables(con, {"run_step": run_step}, run_id)
        items = {item_table.TABLE} if source is not None else set()
        create_views(con, set(table_names(con)) | items)
        version = rules_version(tables)
        dictionary.apply_comments(con, dictionary.load_dictionary(), version)
        if source is not None:
            item_table.comment_store(con, version)
        on_step("database written")
        names = table_names(con)
        export_parquet(con, parquet, names)
        if source is not None:
            item_table.link_parts(building / item_table.PARTS_DIR, source, con)
        meanwhile.close()
        on_step("parquet written")
        counts = {n: row_count(con, n) for n in names}
        con.execute("checkpoint")
    return counts


def parquet_name(table: str) -> str:
    """A table's Parquet copy in the run's parquet folder: one file per table."""
    return f"{table}.parquet"


def check_built(
    building: Path, tables: Mapping[str, pl.DataFrame | ParquetTable], counts: dict[str, int]
) -> None:
    """Reopen what was built, read-only, and compare it with what was written; raise if it differs."""
    with duckdb.connect(str(building / MARTS_FILE), read_only=True) as con:
        for name, frame in tables.items():
            if (got := row_count(con, name)) != frame.height:
                raise PublishCheckError(f"{name}: wrote {frame.height} rows, read {got}")
        if item_table.TABLE in tables:
            counts = counts | {item_table.TABLE: row_count(con, item_table.TABLE)}
        for name, expected in counts.items():
            path = str(building / PARQUET_DIR / parquet_name(name))
            got = con.sql("select count(*) from read_parquet($p)", params={"p": path}).fetchall()
            if got[0][0] != expected:
                raise PublishCheckError(f"{name} Parquet: {got[0][0]} rows, database {expected}")
        parts = building / item_table.PARTS_DIR  # the next run's diff relies on them
        if parts.is_dir() and item_table.parquet_rows(
            [str(p) for p in parts.glob("*.parquet")]
        ) != counts.get(item_table.TABLE):
            raise PublishCheckError(f"{item_table.PARTS_DIR}: rows differ from intake_item")
        views = con.sql("select view_name from duckdb_views() where not internal").fetchall()
        for (view,) in views:
            row_count(con, view)  # a view that cannot run fails the publish, not the analyst


def seal(building: Path) -> None:
    """Make every file of the built run read-only and flush it, then the folders that name them."""
    for path in [*building.rglob("*"), building]:
        if path.is_file():
            path.chmod(READ_ONLY)
        kept_runs.fsync_path(path)
    kept_runs.fsync_path(building.parent)


def build_run(
    marts_dir: Path,
    tables: Mapping[str, pl.DataFrame | ParquetTable],
    run_id: str,
    steps: pl.DataFrame | None,
    on_step: Progress,
) -> Path:
    """Build, check and seal the run's folder; return it under its final name (not yet published)."""
    building = kept_runs.building_dir(marts_dir, run_id)
    building.mkdir()
    counts = build_database(building, tables, run_id, steps, on_step)
    check_built(building, tables, counts)
    seal(building)
    on_step("built")
    final = kept_runs.run_dir(marts_dir, run_id)
    os.replace(building, final)
    kept_runs.fsync_path(final.parent)
    on_step("renamed")
    return final


def publish(
    marts_dir: Path,
    tables: Mapping[str, pl.DataFrame | ParquetTable],
    run_id: str,
    steps: pl.DataFrame | None = None,
    keep_runs: int = 7,
    on_step: Progress = log_step,
) -> Path:
    """Build the run's marts and atomically make them the published ones; the path analysts open.

    `steps` (the flow's step timings) goes into run_step with the publish phases before the switch.
    """
    marts_dir.mkdir(parents=True, exist_ok=True)
    with kept_runs.publish_lock(marts_dir):
        on_step("locked")
        removed = kept_runs.remove_leftovers(marts_dir)
        on_step(f"cleaned {len(removed)} leftovers")
        build_run(marts_dir, tables, run_id, steps, on_step)
        kept_runs.switch(marts_dir, run_id, on_step)
        # Published now: deleting old runs is housekeeping that must not fail the run.
        try:
            pruned = kept_runs.prune(marts_dir, keep_runs)
        except OSError as exc:
            logger.warning("published %s, but old runs were not all deleted: %s", run_id, exc)
            pruned = []
        on_step(f"pruned {len(pruned)} runs")
    return marts_dir / MARTS_FILE
