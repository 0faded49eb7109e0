"""Publish stage: assessed frames -> a new DuckDB marts file, swapped in atomically.

The run writes a fresh database beside the published one and renames it over `camg.duckdb` only
after every table is written and checked. A reader holding the old file keeps reading the old inode;
a new reader opens the whole new run. Nothing is ever written into the published file in place.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import duckdb
import polars as pl

from camg.queries import query

MARTS_FILE = "camg.duckdb"
# Marts computed inside the new database from the tables written before them.
DERIVED_MARTS = ["unmatched_foods"]


def building_path(marts_dir: Path, run_id: str) -> Path:
    """Where a run builds its database before the swap (hidden, named for the run)."""
    return marts_dir / f".building-{run_id}.duckdb"


def write_tables(
    con: duckdb.DuckDBPyConnection, tables: Mapping[str, pl.DataFrame], run_id: str
) -> None:
    """Create one table per frame, each row stamped with the run id."""
    for name, frame in tables.items():
        con.register("frame", frame.to_arrow())
        con.execute(
            f'create table "{name}" as select $run_id as run_id, * from frame',  # name: our constant
            {"run_id": run_id},
        )
        con.unregister("frame")


def write_derived(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Create the marts that are SQL over the written tables (e.g. unmatched_foods)."""
    for name in DERIVED_MARTS:
        con.execute(
            f'create table "{name}" as select $run_id as run_id, * from ({query(name)})',
            {"run_id": run_id},
        )


def fsync_path(path: Path) -> None:
    """Flush a file or directory to disk, so a crash after the rename cannot lose the new file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(marts_dir: Path, tables: Mapping[str, pl.DataFrame], run_id: str) -> Path:
    """Build the marts database for a run and atomically make it the published one."""
    marts_dir.mkdir(parents=True, exist_ok=True)
    building = building_path(marts_dir, run_id)
    building.unlink(missing_ok=True)
    with duckdb.connect(str(building)) as con:
        write_tables(con, tables, run_id)
        write_derived(con, run_id)
        con.execute("checkpoint")
    fsync_path(building)
    published = marts_dir / MARTS_FILE
    os.replace(building, published)
    fsync_path(marts_dir)
    return published
