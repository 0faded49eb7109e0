"""Which Prefect server a command talks to, and Prefect's temporary server: retry, no orphans.

camg keeps Prefect's state in its own home under the marts folder (`use_camg_prefect_home`) and a
one-off run uses the server of a running `camg serve` when there is one (`use_served_prefect_api`);
both set environment variables, so they run before Prefect is imported.

A one-off `camg run` talks to Prefect's temporary server, a `uvicorn` child process that Prefect
starts on first use and stops from an `atexit` hook. Two things go wrong on a busy host:
- the server needs longer than its start-up timeout; Prefect then raises "Timed out while
  attempting to connect..." and leaves the slow child running. camg stops that child and tries once
  more (nothing of the run has happened yet: the server starts before the flow's first step);
- a SIGTERM kills Python without running `atexit` hooks, so the child outlives the run. camg turns
  SIGTERM (like Ctrl-C's SIGINT) into an exception: the run ends as Crashed, the hooks run and the
  server stops.
"""

import logging
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from camg.ops.config import Settings

# Prefect's home inside the marts folder (`use_camg_prefect_home`).
PREFECT_HOME_DIR = ".prefect"
# In Prefect's home: the API address of this marts folder's running `camg serve` server.
SERVE_API_FILE = "camg-serve-api"
STARTUP_TIMEOUT_SETTING = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
# Prefect's own default is 20 s: a loaded 2-core host needs more.
STARTUP_TIMEOUT_DEFAULT = "120"
TIMED_OUT = "Timed out while attempting to connect to ephemeral Prefect API server"
log = logging.getLogger("camg.server")
T = TypeVar("T")


class ServerStartTimeout(RuntimeError):
    """Prefect's temporary server did not answer within its start-up timeout, twice."""


def startup_timeout_seconds() -> str:
    """The start-up timeout in force (the user's value, else camg's default)."""
    return os.environ.get(STARTUP_TIMEOUT_SETTING, STARTUP_TIMEOUT_DEFAULT)


def stop_temporary_servers() -> None:
    """Stop every temporary server this process started (also one still starting)."""
    from prefect.server.api.server import SubprocessASGIServer

    for server in list(SubprocessASGIServer._instances.values()):
        server.stop()


def with_startup_retry(call: Callable[[], T]) -> T:
    """`call()`, once more if Prefect's temporary server timed out starting; then a short error."""
    for attempt in (1, 2):
        try:
            return call()
        except RuntimeError as exc:
            if TIMED_OUT not in str(exc):
                raise
            stop_temporary_servers()
            if attempt == 2:
                raise ServerStartTimeout(
                    f"Prefect's temporary server did not start within {startup_timeout_seconds()} s, "
                    f"twice; raise {STARTUP_TIMEOUT_SETTING} on a busy host"
                ) from None
            log.info("Prefect's temporary server was slow to start; trying once more")
    raise AssertionError("unreachable")


def raise_interrupt(signum: int, frame: Any) -> None:
    """A signal handler that unwinds the program the way Ctrl-C does."""
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@contextmanager
def stopped_on_signals() -> Iterator[None]:
    """While inside, SIGTERM unwinds the program like SIGINT (Ctrl-C) does.

    Unwinding runs Prefect's `atexit` hooks in order: its log and event workers send what they
    hold, then the temporary server stops. During a flow run Prefect installs its own SIGTERM
    handler (it marks the run Crashed and raises); this one covers the moments before and after,
    e.g. while the server is still starting.
    """
    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def use_camg_prefect_home(settings: Settings) -> None:
    """Keep Prefect's state (database, profiles) in `<marts>/.prefect`, unless PREFECT_HOME is set.

    So `camg status` lists this installation's flow runs, not every flow named camg that ever ran
    under the user's shared `~/.prefect`. Must run before Prefect is imported.
    """
    home = (settings.marts_dir / PREFECT_HOME_DIR).resolve()
    if "PREFECT_HOME" not in os.environ:
        home.mkdir(parents=True, exist_ok=True)  # Prefect's server makes no folder for its SQLite
        os.environ["PREFECT_HOME"] = str(home)


def serve_api_path(settings: Settings) -> Path:
    """Where a running `camg serve` of this marts folder writes the API address of its server."""
    return settings.marts_dir / PREFECT_HOME_DIR / SERVE_API_FILE


def served_api_url(settings: Settings) -> str:
    """The API of this marts folder's running `camg serve`, if one answers ("" otherwise)."""
    from flows.deploy import is_healthy

    try:
        api_url = serve_api_path(settings).read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return api_url if api_url and is_healthy(api_url) else ""


def use_served_prefect_api(settings: Settings) -> None:
    """Run on the Prefect server of this marts folder's running `camg serve`, when there is one.

    Its runs then show in the Prefect UI, and no temporary server opens the same SQLite database
    (`<marts>/.prefect`) beside it ("database is locked"). Another installation's server is never
    used. Must run before Prefect is imported.
    """
    api_url = served_api_url(settings)
    if api_url and "PREFECT_API_URL" not in os.environ:
        os.environ["PREFECT_API_URL"] = api_url
