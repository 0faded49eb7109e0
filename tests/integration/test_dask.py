"""Per-file work on a Dask cluster publishes exactly the marts of a run on Prefect's default runner.

One module-scoped fixture runs the real flow twice on a tmp copy of the bundled NHANES 2015-2016
batch: once with `dask_scheduler = ""` and once against a two-worker Dask LocalCluster (separate
processes, so the files' rows really cross a process boundary), then compares every published table.
"""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
from distributed import LocalCluster
from polars.testing import assert_frame_equal
from prefect.testing.utilities import prefect_test_harness

from camg.ops.config import Settings
from flows.camg_flow import runner_environment, runner_settings, with_task_runner
from tests.conftest import REFERENCE_DIR, copy_batch

pytestmark = pytest.mark.slow

# Columns that name the run or its clock, not the data.
RUN_COLUMNS = {"run_id", "started_at", "finished_at", "code_version", "duration_seconds"}


def settings_for(root: Path, raw: Path, name: str, scheduler: str) -> Settings:
    return Settings(
        raw_dir=raw,
        marts_dir=root / name / "marts",
        reports_dir=root / name / "reports",
        reference_dir=REFERENCE_DIR,
        log_dir=root / name / "logs",
        dask_scheduler=scheduler,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("dask")
    raw = root / "raw"
    raw.mkdir()
    copy_batch("nhanes_2015_2016", raw)
    local = settings_for(root, raw, "local", "")
    with (
        prefect_test_harness(server_startup_timeout=None),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
    ):
        dask = settings_for(root, raw, "dask", cluster.scheduler_address)
        published = {"local": with_task_runner(local)(local), "dask": with_task_runner(dask)(dask)}
        prefixes = cluster.scheduler.task_prefixes
        dask_tasks = sum(prefix.state_counts["memory"] for prefix in prefixes.values())
    n_files = len(list((raw / "nhanes_2015_2016").iterdir()))
    return {"published": published, "dask_tasks": dask_tasks, "n_files": n_files}


def read_tables(db: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [
            row[0] for row in con.sql("select table_name from information_schema.tables").fetchall()
        ]
        return {name: con.sql(f'select * from "{name}"').pl() for name in names}


def without_run_columns(frame: pl.DataFrame) -> pl.DataFrame:
    kept = frame.drop([c for c in frame.columns if c in RUN_COLUMNS])
    return kept.sort(kept.columns, nulls_last=True)


def test_runner_choice_follows_the_setting() -> None:
    threads = with_task_runner(Settings(file_workers=3)).task_runner
    assert type(threads).__name__ == "ThreadPoolTaskRunner"
    assert threads._max_workers == 3
    runner = with_task_runner(Settings(dask_scheduler="tcp://127.0.0.1:8786")).task_runner
    assert type(runner).__name__ == "DaskTaskRunner"
    assert runner.address == "tcp://127.0.0.1:8786"
    assert type(with_task_runner(Settings(dask_scheduler="local")).task_runner).__name__ == (
        "DaskTaskRunner"
    )


def test_each_file_was_read_by_a_dask_task(runs: dict[str, object]) -> None:
    # One mapped read task per file of the batch (DEMO, DR1IFF, DR2IFF, PROVENANCE.md), then one
    # mapped validate task per diary file (DR1IFF, DR2IFF).
    assert runs["dask_tasks"] == runs["n_files"] + 2


def test_dask_run_publishes_the_same_tables(runs: dict[str, object]) -> None:
    published = runs["published"]
    local, dask = read_tables(published["local"]), read_tables(published["dask"])
    assert set(dask) == set(local)
    assert local["intake_item"].height > 30_000
    for name in local:
        assert_frame_equal(without_run_columns(dask[name]), without_run_columns(local[name]))


def test_a_served_run_process_takes_its_runner_from_the_settings_serve_exports() -> None:
    settings = Settings(dask_scheduler="tcp://127.0.0.1:8786", file_workers=3)
    environ = {**os.environ, **runner_environment(settings)}
    probe = (
        "from flows.camg_flow import camg_flow as f; r = f.task_runner; "
        "print(type(r).__name__, getattr(r, 'address', None))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=environ, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["DaskTaskRunner", "tcp://127.0.0.1:8786"]
    assert runner_settings(runner_environment(settings)) == Settings(
        dask_scheduler="tcp://127.0.0.1:8786", file_workers=3
    )
    assert runner_settings({}) == Settings()
