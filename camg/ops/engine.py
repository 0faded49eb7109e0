"""DuckDB connections bounded in memory: past the limit DuckDB spills to the marts folder.

Out of core is the engine's job: every connection that joins or aggregates a run's rows is made
here, with a memory limit, a thread count and a spill folder, so no stage slices by hand for memory.
"""

from pathlib import Path

import duckdb

DUCKDB_MEMORY_LIMIT = "250MB"
DUCKDB_THREADS = 2
SPILL_DIR = ".spill"


def bounded_connection(
    marts_dir: Path,
    database: str = ":memory:",
    memory_limit: str = DUCKDB_MEMORY_LIMIT,
    threads: int = DUCKDB_THREADS,
    spill_dir: str = SPILL_DIR,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that spills to `<marts>/<spill_dir>` past `memory_limit`.

    DuckDB makes the folder only when it spills and removes its files on close. Connections open
    at once get a folder each: their databases would name their spill files alike.
    """
    spill = marts_dir / spill_dir
    config = {
        "memory_limit": memory_limit,
        "threads": threads,
        "temp_directory": str(spill),
        "preserve_insertion_order": True,
    }
    return duckdb.connect(database, config=config)
