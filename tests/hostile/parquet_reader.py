"""An analyst's loop over the README's Parquet query, until a stop file appears (issue 17).

Usage: python parquet_reader.py MARTS_DIR STOP_FILE
Reads `<marts>/parquet/intake_item.parquet` exactly as the README documents it (through the fixed
`parquet` link, never resolved first) and prints a JSON summary: queries, errors, the first error
and the run ids seen. Only duckdb is imported, as in an analyst's process.
"""

import json
import sys
from pathlib import Path

import duckdb

QUERY = "select list(distinct run_id), count(*) from read_parquet($path)"


def main(marts_dir: Path, stop_file: Path) -> None:
    """Query until told to stop; every error counts."""
    path = str(marts_dir / "parquet" / "intake_item.parquet")
    summary = {"queries": 0, "errors": 0, "mixed": 0, "error": "", "runs_seen": []}
    with duckdb.connect() as con:
        while not stop_file.exists():
            try:
                run_ids, _rows = con.sql(QUERY, params={"path": path}).fetchall()[0]
            except Exception as exc:  # whatever its kind
                summary["errors"] += 1
                summary["error"] = summary["error"] or f"{type(exc).__name__}: {exc}"
                continue
            summary["queries"] += 1
            summary["mixed"] += len(run_ids) != 1
            for run_id in run_ids:
                if run_id not in summary["runs_seen"]:
                    summary["runs_seen"].append(run_id)
                    print(f"saw {run_id}", flush=True)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
