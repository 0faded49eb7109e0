"""Issue 17: analysts querying the Parquet copy as the README says never meet a vanishing file.

A reader process loops over `read_parquet('<marts>/parquet/intake_item.parquet')` while runs publish
intake_item from part files whose keys change every run (the files of the run before are gone from
the new run): no error, no answer mixing runs, and the reader sees every run.
"""

import json
from pathlib import Path

from camg.publish import kept_runs
from camg.publish.run_folder import publish
from tests.integration.test_publish_concurrency import Child, quiet, run_id
from tests.unit.test_publish_items import part, tables_of

READER = Path(__file__).parent / "parquet_reader.py"


def test_readme_parquet_query_meets_no_vanishing_file_during_publishes(tmp_path):
    marts, stop, parts = tmp_path / "marts", tmp_path / "stop", tmp_path / "parts"

    def tables(n: int) -> dict:
        # Every run's parts have new keys (changed files): the old names leave the new run.
        paths = [part(parts, f"run{n}-k{i}", f"f{i}.csv", 50 + n) for i in range(20)]
        return tables_of(paths)

    publish(marts, tables(0), run_id(0), keep_runs=2, on_step=quiet)
    reader = Child([str(READER), str(marts), str(stop)])
    reader.wait_for(f"saw {run_id(0)}")
    for n in range(1, 6):
        publish(marts, tables(n), run_id(n), keep_runs=2, on_step=quiet)
        reader.wait_for(f"saw {run_id(n)}")
    stop.touch()
    reader.finish()
    summary = json.loads(reader.lines[-1])
    print(f"README Parquet reader: {summary['queries']} queries, {summary['errors']} errors")
    assert (summary["errors"], summary["error"], summary["mixed"]) == (0, "", 0)
    assert summary["runs_seen"] == [run_id(n) for n in range(6)]
    assert kept_runs.kept_runs(marts) == [run_id(4), run_id(5)]
