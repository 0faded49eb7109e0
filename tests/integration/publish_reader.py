"""An analyst's session for the publish tests: query the published marts in a loop until told to stop.

Usage: python publish_reader.py MARTS_DIR MODE STOP_FILE
  reconnect  a new read-only connection to camg.duckdb for every query (a script run by cron)
  held       one read-only connection for the whole session (a notebook left open all day)
  parquet    resolve `current` once per query, then read two Parquet files of that run
Prints `saw <run_id>` the first time an answer comes from a run, and a JSON summary line at the end.
Only duckdb is imported: this is what an analyst's process looks like, not camg's.
"""

import json
import sys
from pathlib import Path

import duckdb

# Four tables and a view in one statement: one answer, which must come from one run.
QUERY = """
select list_distinct(flatten([
    (select list(distinct run_id) from run_log),
    (select list(distinct run_id) from intake_person),
    (select list(distinct run_id) from intake_item),
    (select list(distinct run_id) from file_manifest),
    (select list(distinct run_id) from persons_at_risk)
]))
"""
PARQUET_QUERY = """
select list_distinct(flatten([
    (select list(distinct run_id) from read_parquet($run_log)),
    (select list(distinct run_id) from read_parquet($intake_person))
]))
"""


def parquet_answer(marts_dir: Path) -> list[str]:
    """Run ids in two Parquet tables of the run `current` names (resolved once, as documented)."""
    run = (marts_dir / "current").resolve() / "parquet"
    params = {
        "run_log": str(run / "run_log.parquet"),
        "intake_person": str(run / "intake_person.parquet"),
    }
    with duckdb.connect() as con:
        return con.sql(PARQUET_QUERY, params=params).fetchall()[0][0]


def answer(marts_dir: Path, mode: str, held: duckdb.DuckDBPyConnection | None) -> list[str]:
    """The run ids one query's answer came from."""
    if mode == "parquet":
        return parquet_answer(marts_dir)
    if held is not None:
        return held.sql(QUERY).fetchall()[0][0]
    with duckdb.connect(str(marts_dir / "camg.duckdb"), read_only=True) as con:
        return con.sql(QUERY).fetchall()[0][0]


def main(marts_dir: Path, mode: str, stop_file: Path) -> None:
    """Query until the stop file appears; count queries, errors and mixed answers."""
    summary = {"mode": mode, "queries": 0, "errors": 0, "mixed": 0, "runs_seen": [], "error": ""}
    held = None
    if mode == "held":
        held = duckdb.connect(str(marts_dir / "camg.duckdb"), read_only=True)
    while not stop_file.exists():
        try:
            run_ids = answer(marts_dir, mode, held)
        except Exception as exc:  # every error counts, whatever its kind
            summary["errors"] += 1
            summary["error"] = summary["error"] or f"{type(exc).__name__}: {exc}"
            continue
        summary["queries"] += 1
        if len(run_ids) != 1:
            summary["mixed"] += 1
        for run_id in run_ids:
            if run_id not in summary["runs_seen"]:
                summary["runs_seen"].append(run_id)
                print(f"saw {run_id}", flush=True)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
