"""intake_item at scale: part files linked into the run folder, rows carried over from the last run.

intake_item holds most of a run's rows, and after a small change most of them are the previous run's.
So (DESIGN section 5, "intake_item"):
- the run keeps its parts in `item_parts/<part key>.parquet`, each file a hard link to a per-file
  part's items.parquet: no copy, and the link keeps the data when the parts cache or an old run
  deletes its own name for it (rows handed in memory go to `rows.parquet`); the next run diffs
  its part keys against these;
- its Parquet copy for analysts is one file, `parquet/intake_item.parquet` (with run_id, like every
  table), copied from the part files beside the store's build, in a full build's order:
  a reader's path names one file, which no publish makes vanish (a folder of files did: a glob
  listed before a switch met names gone after it, issue 17);
- its rows live in the table `store.intake_item`, without run_id; `intake_item` is a view that adds
  the run id, so the rows need not be rewritten when only the run changes;
- a run whose published run has this layout starts its database as a file copy of that run's and
  applies the difference of part keys (deletes the rows of files whose part went, inserts the rows
  of new parts); every other table is built anew. Rows of unchanged files keep their order, new
  files' rows come after them: the same rows as a full build, in another order when files changed.

DDL (create schema/view, drop, comment on) cannot take bound parameters in DuckDB, so those statements
name only this module's constants, identifiers quoted by `dictionary.quoted_identifier` and literals
made by `dictionary.string_literal` from checked values (the run id); data values are always bound.
"""

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from camg.ops.engine import bounded_connection
from camg.publish import dictionary, kept_runs
from camg.publish.kept_runs import MARTS_FILE
from camg.publish.parquet_table import ParquetTable

TABLE = "intake_item"
PARTS_DIR = (
    "item_parts"  # in the run folder, beside parquet/: the run's part files, for the next run
)
STORE = "store"
FRAME_FILE = "rows"  # rows handed in memory (tests, a run without diary parts)
# The Parquet copy's codec: zstd files are about 45 % smaller than snappy's (140 against 260 MB
# per 10M items, kept `keep_runs` deep) for about the same CPU (11.4 against 10.1 s, issue 16).
PARQUET_COMPRESSION = "zstd"
# Past this share of changed rows a full build is cheaper than deleting and inserting.
MAX_CHANGED_SHARE = 0.5


@dataclass(frozen=True)
class ItemSource:
    """intake_item's rows: part files by key (in run order) and rows held in memory."""

    files: dict[str, str]
    frame: pl.DataFrame | None
    height: int
    order_by: tuple[str, ...] = ()


def item_source(table: pl.DataFrame | ParquetTable) -> ItemSource:
    """The part files (named by their part folder, the content key) and frame of intake_item."""
    if not isinstance(table, ParquetTable):
        return ItemSource({}, table, table.height)
    files = {Path(p).parent.name: p for p in table.paths}
    if len(files) != len(table.paths):
        raise ValueError("two intake_item parts share a key")
    return ItemSource(files, table.frame, table.height, tuple(table.order_by))


def link_parts(folder: Path, source: ItemSource, con: duckdb.DuckDBPyConnection) -> None:
    """item_parts/: a hard link per part file (a copy across file systems), rows.parquet."""
    folder.mkdir(parents=True)
    for key, path in source.files.items():
        target = folder / f"{key}.parquet"
        try:
            os.link(path, target)
        except OSError:  # another file system, or links refused: copy
            shutil.copyfile(path, target)
    if source.frame is not None and source.files:
        source.frame.write_parquet(folder / f"{FRAME_FILE}.parquet")
    elif not source.files:  # the stored rows are the frame's: the same types as the database
        con.execute(
            f"copy {STORE}.{TABLE} to $path (format parquet)",
            {"path": str(folder / f"{FRAME_FILE}.parquet")},
        )


@contextmanager
def item_rows(con: duckdb.DuckDBPyConnection, source: ItemSource) -> Iterator[tuple[str, dict]]:
    """A query for intake_item's rows as a full build orders them (parts in run order), its parameters."""
    selects, params = [], {}
    if source.files:
        selects.append("select * from read_parquet($paths)")
        params["paths"] = list(source.files.values())
    if source.frame is not None:
        con.register("item_frame", source.frame.to_arrow())
        selects.append("select * from item_frame")
    order = ", ".join(dictionary.quoted_identifier(c) for c in source.order_by)
    union = " union all by name ".join(selects)
    try:
        yield f"select * from ({union})" + (f" order by {order}" if order else ""), params
    finally:
        if source.frame is not None:
            con.unregister("item_frame")


def write_parquet_copy(
    con: duckdb.DuckDBPyConnection, source: ItemSource, run_id: str, path: Path
) -> None:
    """parquet/intake_item.parquet, copied by DuckDB from the part files (out of core)."""
    with item_rows(con, source) as (rows, params):
        con.execute(
            f"copy (select $run_id as run_id, * from ({rows})) to $path "
            f"(format parquet, compression {PARQUET_COMPRESSION})",
            params | {"run_id": run_id, "path": str(path)},
        )


@contextmanager
def beside(
    con: duckdb.DuckDBPyConnection, work: Callable[..., None], *args: object
) -> Iterator[None]:
    """`work(con, *args)` on another thread while the body runs; leaving waits for it.

    Its error is raised once the body is done; an error in the body interrupts it first.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        done = pool.submit(work, con, *args)
        try:
            yield
        except BaseException:
            con.interrupt()
            raise
        done.result()


@contextmanager
def copy_meanwhile(marts_dir: Path, source: ItemSource, run_id: str, path: Path) -> Iterator[None]:
    """The Parquet copy written from the parts on another thread while the body builds the database.

    It needs nothing from the run's database, so it starts first, on a connection of its own at
    one thread (its own memory limit), and runs on the second core beside the store's build.
    From the parts it takes about 11 s CPU per 10M rows and +150 MB, where DuckDB's COPY from the
    view took 12-16 s and polars' sink 12 s CPU and +600 MB (issue 16). An error in the body stops it.
    """
    with (
        bounded_connection(marts_dir, threads=1, spill_dir=".spill-parquet-copy") as con,
        beside(con, write_parquet_copy, source, run_id, path),
    ):
        yield


def create_store(con: duckdb.DuckDBPyConnection, source: ItemSource) -> None:
    """store.intake_item from every part file and the frame (a full build)."""
    con.execute(f"create schema {STORE}")
    with item_rows(con, source) as (rows, params):
        con.execute(f"create table {STORE}.{TABLE} as {rows}", params)


def create_view(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """The intake_item view: the stored rows with the run id (a checked id, so a safe literal)."""
    literal = dictionary.string_literal(kept_runs.checked_run_id(run_id))
    con.execute(f"create view {TABLE} as select {literal} as run_id, * from {STORE}.{TABLE}")


@dataclass(frozen=True)
class Change:
    """What differs from the previous run: its database and the part files gone and new."""

    database: Path
    removed: list[str]
    added: list[str]
    removed_rows: int


def parquet_rows(paths: list[str]) -> int:
    """Rows of Parquet files, from their footers."""
    return pl.scan_parquet(paths).select(pl.len()).collect().item() if paths else 0


def previous_change(marts_dir: Path, source: ItemSource) -> Change | None:
    """How the published run's intake_item differs from this one's, or None for a full build."""
    try:
        run = kept_runs.run_dir(marts_dir, kept_runs.current_run_id(marts_dir) or "")
    except kept_runs.UnknownRunError:
        return None
    folder = run / PARTS_DIR
    if source.frame is not None or source.order_by or not folder.is_dir():
        return None
    old = {p.stem: str(p) for p in folder.glob("*.parquet")}
    if FRAME_FILE in old or not (run / MARTS_FILE).is_file():
        return None
    removed = [path for key, path in sorted(old.items()) if key not in source.files]
    added = [path for key, path in source.files.items() if key not in old]
    removed_rows = parquet_rows(removed)
    if removed_rows + parquet_rows(added) > MAX_CHANGED_SHARE * source.height:
        return None
    return Change(run / MARTS_FILE, removed, added, removed_rows)


def same_columns(con: duckdb.DuckDBPyConnection, paths: list[str]) -> bool:
    """Whether the stored table has the columns and types of the new part files."""
    stored = con.sql(
        "select column_name, data_type from duckdb_columns() "
        "where schema_name = $s and table_name = $t order by column_index",
        params={"s": STORE, "t": TABLE},
    ).fetchall()
    if not paths:
        return bool(stored)
    new = con.sql("describe select * from read_parquet($p)", params={"p": paths}).fetchall()
    return stored == [(name, kind) for name, kind, *_ in new]


def drop_published(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the copied run's own relations (views, then tables of main); store.intake_item stays."""
    for kind, function in (("view", "duckdb_views"), ("table", "duckdb_tables")):
        rows = con.sql(
            f"select {kind}_name from {function}() where not internal and schema_name = 'main'"
        ).fetchall()
        for (name,) in rows:
            con.execute(f"drop {kind} {dictionary.quoted_identifier(name)}")


def apply_change(con: duckdb.DuckDBPyConnection, change: Change) -> None:
    """Delete the rows of files whose part went, insert the new parts' rows (checked by count)."""
    if change.removed:
        deleted = con.execute(
            f"delete from {STORE}.{TABLE} where source_file in "
            "(select distinct source_file from read_parquet($paths))",
            {"paths": change.removed},
        ).fetchall()[0][0]
        if deleted != change.removed_rows:
            raise RuntimeError(
                f"deleted {deleted} item rows, the gone parts held {change.removed_rows}"
            )
    if change.added:
        con.execute(
            f"insert into {STORE}.{TABLE} by name select * from read_parquet($paths)",
            {"paths": change.added},
        )


def comment_store(con: duckdb.DuckDBPyConnection, rules_version: str) -> None:
    """Say what store.intake_item is, for whoever lists every table."""
    text = (
        "The rows of the intake_item view without its run_id, kept from run to run: "
        f"query intake_item. Rules version: {rules_version}."
    )
    con.execute(f"comment on table {STORE}.{TABLE} is {dictionary.string_literal(text)}")


def write_items(
    con: duckdb.DuckDBPyConnection,
    source: ItemSource,
    change: Change | None,
    run_id: str,
) -> None:
    """store.intake_item (carried over and changed, or built whole) and the intake_item view.

    A carried database's own relations must be gone first (`drop_published`).
    """
    if change is not None and not same_columns(con, change.added):
        con.execute(f"drop schema if exists {STORE} cascade")  # the parts' columns changed
        change = None
    if change is None:
        create_store(con, source)
    else:
        apply_change(con, change)
    create_view(con, run_id)


@contextmanager
def items_meanwhile(
    con: duckdb.DuckDBPyConnection, source: ItemSource, change: Change | None, run_id: str
) -> Iterator[None]:
    """intake_item written on a second cursor while the body writes the run's other tables.

    The store is a run's largest table (about 2 us a row at one DuckDB thread, issue 16) and no
    other table is made from it, so they are written beside it on the second core; leaving waits
    for it, so what reads intake_item (unmatched_foods, the views) comes after. A carried
    database's own tables are dropped first, so the body can create the new ones. An error in
    the body stops it.
    """
    if change is not None:
        drop_published(con)
    with con.cursor() as cursor, beside(cursor, write_items, source, change, run_id):
        yield
