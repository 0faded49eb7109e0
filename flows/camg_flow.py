"""The camg flow: raw exports -> validated -> enriched -> assessed -> published marts."""

import os
from collections.abc import Mapping
from pathlib import Path

from prefect import Flow, flow, get_run_logger
from prefect.runtime import flow_run
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from camg.ops.config import ENV_PREFIX, Settings
from camg.ops.liveness import alive_marker
from camg.ops.lock import run_lock
from camg.ops.logs import log_to_file
from camg.pipeline.run import run
from camg.publish.runlog import new_run_id
from flows import tasks
from flows.crashes import record_crashed_runs


def task_runner(settings: Settings) -> TaskRunner:
    """The task runner the settings name: Prefect's thread pool, or Dask.

    `dask_scheduler` empty: Prefect's thread pool, `file_workers` files at once; "local": a Dask
    LocalCluster started for the run; "tcp://host:8786": an existing Dask cluster whose workers can
    read the raw and marts folders.
    """
    if not settings.dask_scheduler:
        return ThreadPoolTaskRunner(max_workers=settings.file_workers)
    from prefect_dask import DaskTaskRunner

    if settings.dask_scheduler == "local":
        # ":0": any free port (None still takes 8787 and fails when another cluster holds it).
        return DaskTaskRunner(cluster_kwargs={"dashboard_address": ":0"})
    return DaskTaskRunner(address=settings.dask_scheduler)


def runner_environment(settings: Settings) -> dict[str, str]:
    """The variables that choose a run's task runner (`runner_settings` reads them back)."""
    return {
        f"{ENV_PREFIX}DASK_SCHEDULER": settings.dask_scheduler,
        f"{ENV_PREFIX}FILE_WORKERS": str(settings.file_workers),
    }


def runner_settings(environ: Mapping[str, str]) -> Settings:
    """The runner's settings from CAMG_DASK_SCHEDULER and CAMG_FILE_WORKERS (defaults when unset).

    A served run's process imports this module to find the flow, so its runner is chosen at import;
    `camg serve` exports these variables from its settings (`runner_environment`) for its runs.
    """
    workers = environ.get(f"{ENV_PREFIX}FILE_WORKERS", "")
    return Settings(
        dask_scheduler=environ.get(f"{ENV_PREFIX}DASK_SCHEDULER", ""),
        file_workers=int(workers) if workers else Settings.file_workers,
    )


@flow(
    name="camg",
    log_prints=True,
    task_runner=task_runner(runner_settings(os.environ)),
)
def camg_flow(settings: Settings | None = None, reports: bool = True) -> Path:
    """Run the pipeline once, holding the marts folder's run lock (two runs never publish at once).

    `reports=False` publishes the marts only (`camg run --no-reports`; `camg report` builds them).
    """
    settings = settings or Settings.load()
    marts_dir = settings.marts_dir
    # A served run is a process of its own, so the flow is an entry point too. Its marker says
    # "this run is alive" for as long as its process is (camg.ops.liveness).
    with log_to_file(settings), alive_marker(marts_dir, flow_run.id or new_run_id()):
        record_crashed_runs(marts_dir)
        with run_lock(marts_dir, settings.lock_timeout_seconds):
            get_run_logger().info("run lock held: %s -> %s", settings.raw_dir, marts_dir)
            return pipeline(settings, reports)


def pipeline(settings: Settings, reports: bool = True) -> Path:
    """Run the whole pipeline once (camg.pipeline.run), each step a Prefect task."""
    return run(settings, reports, tasks.PrefectRunner())


def with_task_runner(settings: Settings) -> Flow:
    """The camg flow on the task runner the settings name (`task_runner`)."""
    return camg_flow.with_options(task_runner=task_runner(settings))
