"""Crashed runs: flow runs whose process died without telling Prefect are recorded as Crashed.

A run killed with SIGKILL (or on a machine that went down) stays "Running" in Prefect for ever. Its
camg marker (`camg.ops.liveness`) tells: no live process holds it. The next run records the crash in
Prefect, so the UI and `camg status` say what happened; `camg status` says it before that too.
"""

import logging
from pathlib import Path
from uuid import UUID

from camg.ops import liveness

log = logging.getLogger("camg.crashes")
CRASH_MESSAGE = "the run's process ended without reporting (killed, or the machine stopped)"


def record_crashed_runs(marts_dir: Path) -> list[str]:
    """Mark as Crashed the unfinished flow runs whose process is gone; the ids marked.

    Bookkeeping only: an API that does not answer must not stop the run that calls this.
    """
    from prefect import get_client
    from prefect.states import Crashed

    marked = []
    try:
        with get_client(sync_client=True) as client:
            for key in liveness.dead_runs(marts_dir):
                run = client.read_flow_run(UUID(key))
                if run.state is None or not run.state.is_final():
                    client.set_flow_run_state(run.id, Crashed(message=CRASH_MESSAGE), force=True)
                    marked.append(key)
                liveness.forget(marts_dir, key)
    except Exception:
        log.warning("could not record crashed flow runs", exc_info=True)
    if marked:
        log.warning("recorded %d flow run(s) as Crashed: %s", len(marked), ", ".join(marked))
    return marked


def shown_state(run_id: str, state_name: str | None, marts_dir: Path) -> str:
    """The state `camg status` shows: Prefect's, or Crashed for an unfinished run with no process."""
    unfinished = state_name in ("Running", "Pending", "Cancelling")
    if unfinished and liveness.is_dead(marts_dir, run_id):
        return "Crashed (process gone)"
    return state_name or ""
