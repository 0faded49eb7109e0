"""Logs for operators: a rotating log file of every command and run (the progress line: camg.progress).

It is set up by an entry point (the CLI, or a flow run that a served deployment started in its
own process), never at import time. They listen to the standard `logging` tree: Prefect's run
loggers propagate to the root logger, so one handler there sees the flow's and the tasks' records.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import RotatingFileHandler
from pathlib import Path

from camg.ops.config import Settings

LOG_FILE = "camg.log"
FORMAT = "%(asctime)s %(levelname)-7s %(process)d %(name)s [%(run_name)s] - %(message)s"


class RunFormatter(logging.Formatter):
    """Log lines that name the Prefect flow or task run they come from ("-" outside runs)."""

    def format(self, record: logging.LogRecord) -> str:
        """The line, with the run's name from the record's extras."""
        names = (getattr(record, key, None) for key in ("task_run_name", "flow_run_name"))
        record.run_name = next((n for n in names if n), "-")
        return super().format(record)


def existing_handler(path: Path) -> RotatingFileHandler | None:
    """The root logger's handler already writing to `path`, if any."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            return handler
    return None


@contextmanager
def log_to_file(settings: Settings) -> Iterator[Path]:
    """Log to `<log_dir>/camg.log` (rotated) while inside; nested uses share one handler."""
    path = (settings.log_dir / LOG_FILE).resolve()
    if existing_handler(path) is not None:
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(
        path,
        maxBytes=settings.log_max_bytes,
        backupCount=settings.log_backup_count,
        encoding="utf-8",
    )
    handler.setLevel(settings.log_level.upper())
    handler.setFormatter(RunFormatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    logging.getLogger("camg").setLevel(settings.log_level.upper())
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()


def quiet_console_handlers(level: int = logging.WARNING) -> None:
    """Raise the root logger's console handlers to `level` (the progress line replaces them)."""
    for handler in logging.getLogger().handlers:
        is_console = type(handler).__name__ == "PrefectConsoleHandler"
        if is_console or type(handler) is logging.StreamHandler:
            handler.setLevel(level)
