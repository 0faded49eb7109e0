"""camg's engines: DuckDB connections bounded in memory, and polars' engine for rows in memory.

Out of core is the engine's job: every connection that joins or aggregates a run's rows is made
here, with a memory limit, a thread count and a spill folder (past the limit DuckDB spills to the
marts folder), so no stage slices by hand for memory.
"""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

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


# Threads inside `in_memory_engine`.
_IN_MEMORY = {"users": 0}
_IN_MEMORY_LOCK = threading.Lock()


@contextmanager
def in_memory_engine() -> Iterator[None]:
    """Polars' in-memory engine for every `collect()` that names none, while any thread is inside.

    For rows already in memory (a file's slice): pandera checks a model one check at a time, each a
    `collect()` of its own (~60 a model), and polars 2's default engine, the streaming one, costs
    ~0.3 ms more a collect: IntakeItem, DiaryRow and PersonDay on a 100k-row slice took 44, 33 and
    31 ms, and take 19, 17 and 13 ms. The setting is polars' own and process-wide: threads share
    it (counted), and it is put back when the last one leaves. A plan that must stream (one over
    files on disk) names its engine. An operator's POLARS_ENGINE_AFFINITY is left as it is: polars
    would clear and rewrite that variable, and writing the environment while another thread's
    polars reads it is not safe; without it, no variable is written.
    """
    if os.environ.get("POLARS_ENGINE_AFFINITY"):
        yield
        return
    with _IN_MEMORY_LOCK:
        if _IN_MEMORY["users"] == 0:
            pl.Config.set_engine_affinity(pl.InMemoryEngine())
        _IN_MEMORY["users"] += 1
    try:
        yield
    finally:
        with _IN_MEMORY_LOCK:
            _IN_MEMORY["users"] -= 1
            if _IN_MEMORY["users"] == 0:
                pl.Config.set_engine_affinity(None)
