"""Step timings of the running flow, read from Prefect's own task-run records.

Why Prefect's records and not a timer around each task: every task of the flow is covered, also
tasks added later and tasks fanned out per file, and neither the flow body nor the camg functions
carry timing code. Prefect records task states from events, a moment after the task returns, so the
reader waits until every other task run of the flow is final and two reads agree.
"""

import logging
import time
from uuid import UUID

import polars as pl
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import TaskRun
from prefect.runtime import flow_run, task_run

from camg.publish import runlog

PAGE = 200
SETTLE_SECONDS = 0.2
MAX_WAIT_SECONDS = 10.0
logger = logging.getLogger(__name__)


def flow_task_runs(flow_run_id: UUID) -> list[TaskRun]:
    """Every task run of a flow run that Prefect has recorded so far."""
    runs: list[TaskRun] = []
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                limit=PAGE,
                offset=len(runs),
            )
            runs += page
            if len(page) < PAGE:
                return runs


def settled_task_runs(flow_run_id: UUID, own_id: str | None) -> list[TaskRun]:
    """The flow's other task runs once all are final and two reads in a row agree (or time is up)."""
    deadline, previous = time.monotonic() + MAX_WAIT_SECONDS, None
    while True:
        runs = [r for r in flow_task_runs(flow_run_id) if str(r.id) != own_id]
        seen = {(r.id, r.state_type) for r in runs}
        final = all(r.state is not None and r.state.is_final() for r in runs)
        if (final and seen == previous) or time.monotonic() > deadline:
            return runs
        previous = seen
        time.sleep(SETTLE_SECONDS)


def step_name(run: TaskRun) -> str:
    """The task's name: Prefect names a task run `<task name>-<3 hex>`."""
    return run.name.rsplit("-", 1)[0]


def task_run_records() -> list[dict]:
    """One record per task run of the current flow run so far (the records runlog.run_steps takes)."""
    if flow_run.id is None:
        return []
    runs = settled_task_runs(UUID(flow_run.id), task_run.id)
    return [
        {
            "step": step_name(r),
            "state": r.state.name if r.state else "Unknown",
            "started_at": r.start_time,
            "finished_at": r.end_time,
            "duration_seconds": r.total_run_time.total_seconds(),
        }
        for r in runs
    ]


def run_step_table(inner: list[dict] | None = None) -> pl.DataFrame:
    """The run_step table of the current flow run's steps so far (empty if Prefect cannot say).

    `inner`: records of parts a task timed inside itself (Prefect sees the task only), added as
    steps of their own.

    Timings are lineage, not data: an API that does not answer must not stop the run publishing.
    """
    try:
        records = task_run_records()
    except Exception:
        logger.warning(
            "step timings unavailable; run_step holds the publish phases only", exc_info=True
        )
        records = []
    return runlog.run_steps(records + (inner or []))
