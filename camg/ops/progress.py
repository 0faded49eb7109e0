"""Progress of long steps: what a step has done so far -> whoever shows it (the CLI's progress line).

Plain `logging` records on the `camg.progress` logger at DEBUG level: a step says that it started
(with the total of its items and rows when known) and how many items and rows it has done. Why
logging: it crosses Prefect's task threads with no shared object, and the log file stays quiet
(camg logs at INFO); the CLI's progress line listens while it is shown (`StepProgress` below).
Without a listener an event costs one level check.
"""

import logging
import time
from dataclasses import dataclass

from rich.console import Console
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task
from rich.text import Text

LOGGER = logging.getLogger("camg.progress")
# The names of the extras a progress record carries.
STEP, EVENT, DONE, TOTAL, UNIT, ROWS, ROWS_TOTAL = (
    "camg_step",
    "camg_event",
    "camg_done",
    "camg_total",
    "camg_unit",
    "camg_rows",
    "camg_rows_total",
)


def emit(step: str, event: str, **values: object) -> None:
    """One progress record (nothing when no one listens)."""
    if LOGGER.isEnabledFor(logging.DEBUG):
        extra = {STEP: step, EVENT: event, **{f"camg_{k}": v for k, v in values.items()}}
        LOGGER.debug("%s: %s", step, event, extra=extra)


def step_started(
    step: str, total: int | None = None, unit: str = "files", rows_total: int | None = None
) -> None:
    """`step` runs now; it has `total` items (`unit`) and `rows_total` rows when known."""
    emit(step, "start", total=total, unit=unit, rows_total=rows_total)


def step_expects(step: str, total: int, unit: str = "files", rows_total: int | None = None) -> None:
    """A later `step` will have `total` items and `rows_total` rows (known before it starts)."""
    emit(step, "expect", total=total, unit=unit, rows_total=rows_total)


def step_advanced(step: str, done: int = 1, rows: int = 0) -> None:
    """`step` finished `done` more items holding `rows` rows."""
    emit(step, "advance", done=done, rows=rows)


@dataclass
class StepState:
    """What one step has done so far."""

    started: float
    done: int = 0
    total: int | None = None
    unit: str = "files"
    rows: int = 0
    rows_total: int | None = None

    def counts(self) -> str:
        """`3/14 files, 412,003/859,386 rows` (the parts that are known)."""
        parts = []
        if self.total is not None or self.done:
            of = f"/{self.total:,}" if self.total is not None else ""
            parts.append(f"{self.done:,}{of} {self.unit}")
        if self.rows or self.rows_total:
            of = f"/{self.rows_total:,}" if self.rows_total is not None else ""
            parts.append(f"{self.rows:,}{of} rows")
        return ", ".join(parts)


def clock(seconds: float) -> str:
    """Elapsed time as h:mm:ss."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class StepColumn(ProgressColumn):
    """The step running now, its counts, its own time and the command's time."""

    def __init__(self, line: "StepProgress") -> None:
        super().__init__()
        self.line = line

    def render(self, task: Task) -> Text:
        """The progress line's text."""
        return Text(self.line.describe())


class StepProgress(logging.Handler):
    """A progress line that names the step running now with its counts and elapsed times.

    It listens to `camg.progress` records while inside (see `emit`). Each step with counts that
    ends (another step starts) leaves one line above it, also when the output is a file or a pipe,
    where the live line does not redraw: `read raw file: 14/14 files, 859,386 rows (0:00:12)`.
    """

    def __init__(self, console: Console, first: str = "starting Prefect") -> None:
        super().__init__(logging.DEBUG)
        self.console = console
        self.first = first
        self.begun = time.monotonic()
        self.steps: dict[str, StepState] = {}
        self.current = ""
        self.progress = Progress(SpinnerColumn(), StepColumn(self), console=console, transient=True)
        self.saved: tuple[int, bool] = (logging.NOTSET, True)

    def describe(self) -> str:
        """`<step> <counts> (step 0:00:12, total 0:01:40)`."""
        now = time.monotonic()
        state = self.steps.get(self.current)
        if state is None:
            return f"{self.first} (total {clock(now - self.begun)})"
        counts = state.counts()
        counts = f" {counts}" if counts else ""
        return (
            f"{self.current}{counts} "
            f"(step {clock(now - state.started)}, total {clock(now - self.begun)})"
        )

    def emit(self, record: logging.LogRecord) -> None:
        """Take one progress record: a step starts, will have a total, or advances."""
        step, event = getattr(record, STEP, None), getattr(record, EVENT, None)
        if step is None:
            return
        state = self.steps.setdefault(step, StepState(time.monotonic()))
        if event in ("start", "expect"):
            total, rows_total = getattr(record, TOTAL, None), getattr(record, ROWS_TOTAL, None)
            state.total = total if total is not None else state.total
            state.rows_total = rows_total if rows_total is not None else state.rows_total
            state.unit = getattr(record, UNIT, None) or state.unit
        if event == "start" and step != self.current:
            self.finish_current()
            state.started, self.current = time.monotonic(), step
        elif event == "advance":
            state.done += getattr(record, DONE, 1) or 0
            state.rows += getattr(record, ROWS, 0) or 0

    def finish_current(self) -> None:
        """Leave a line for the step that ends, when it counted anything."""
        state = self.steps.get(self.current)
        if state is not None and state.counts():
            took = clock(time.monotonic() - state.started)
            self.progress.console.print(f"{self.current}: {state.counts()} ({took})")

    def __enter__(self) -> "StepProgress":
        """Show the progress line and listen to `camg.progress`."""
        self.saved = (LOGGER.level, LOGGER.propagate)
        LOGGER.setLevel(logging.DEBUG)
        LOGGER.propagate = False  # progress records are for the line, not the log file
        LOGGER.addHandler(self)
        self.progress.add_task("steps", total=None)
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop listening; leave the last step's line and the total time."""
        LOGGER.removeHandler(self)
        LOGGER.setLevel(self.saved[0])
        LOGGER.propagate = self.saved[1]
        self.finish_current()
        self.progress.stop()
        self.console.print(
            f"{'stopped' if exc[0] else 'done'} after {clock(time.monotonic() - self.begun)}"
        )
