"""The `camg` command line: it builds the settings, sets up logs and starts flows or plain checks."""

import logging
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape

from camg.ops.config import Settings
from flows.server import (
    STARTUP_TIMEOUT_DEFAULT,
    STARTUP_TIMEOUT_SETTING,
    ServerStartTimeout,
    stopped_on_signals,
    use_camg_prefect_home,
    use_served_prefect_api,
    with_startup_retry,
)
from flows.show import err, frame_table, out, show_prefect_runs, show_status, show_validation

app = typer.Typer(
    help="camg: calcium and magnesium balance from dietary surveys.", no_args_is_help=True
)
log = logging.getLogger("camg.cli")
RawOption = Annotated[Path | None, typer.Option("--raw", help="Folder of batches (CAMG_RAW_DIR).")]
MartsOption = Annotated[Path | None, typer.Option("--marts", help="Marts folder (CAMG_MARTS_DIR).")]
ReportsOption = Annotated[
    Path | None, typer.Option("--reports", help="Reports folder (CAMG_REPORTS_DIR).")
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file (CAMG_CONFIG; default ./camg.toml if any)."),
]


@app.callback()
def main() -> None:
    """camg: calcium and magnesium balance from dietary surveys."""
    # No network here: neither Prefect's server nor its client may send usage data, and the client
    # must not print its "collects anonymous usage data" notice (set before Prefect loads).
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    # A busy host starts Prefect's temporary server in more than its default 20 s.
    os.environ.setdefault(STARTUP_TIMEOUT_SETTING, STARTUP_TIMEOUT_DEFAULT)


def load_settings(config: Path | None, **overrides: object) -> Settings:
    """The settings for this command; a bad value is a usage error, not a traceback."""
    try:
        return Settings.load(config, **overrides)
    except (ValueError, FileNotFoundError) as exc:
        err.print(f"[red]camg: bad settings:[/] {exc}")
        raise typer.Exit(code=2) from exc


def require_raw_dir(settings: Settings) -> None:
    """Stop before a run when the raw folder is missing (an unmounted share must not empty the marts)."""
    if not settings.raw_dir.is_dir():
        err.print(f"[red]camg: no raw folder {settings.raw_dir}[/] (--raw or CAMG_RAW_DIR)")
        raise typer.Exit(code=2)


def require_batch_dir(settings: Settings) -> None:
    """Stop before a `--study` run whose batch folder is missing."""
    if settings.study and not (settings.raw_dir / settings.study).is_dir():
        err.print(f"[red]camg: no batch folder {settings.raw_dir / settings.study}[/]")
        raise typer.Exit(code=2)


@app.command()
def run(
    raw: RawOption = None,
    marts: MartsOption = None,
    reports: ReportsOption = None,
    config: ConfigOption = None,
    study: Annotated[
        str | None,
        typer.Option(help="Run one batch folder only; the marts then hold that study alone."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Prefect's log lines.")] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask", help="Read files on Dask: 'local' or tcp://host:8786 (CAMG_DASK_SCHEDULER)."
        ),
    ] = None,
    no_reports: Annotated[
        bool,
        typer.Option("--no-reports", help="Publish the marts only; `camg report` builds them."),
    ] = False,
) -> None:
    """Run the whole flow once: ingest, validate, enrich, assess and publish.

    Every run reads all files of the raw folder (a full run); exit code 0 when the marts were
    published (a study whose work raised is named on stderr: the others are published), 1 when
    nothing was (the published marts are then left as they were).
    """
    from camg.ops.logs import log_to_file, quiet_console_handlers
    from camg.ops.progress import StepProgress

    settings = load_settings(
        config,
        raw_dir=raw,
        marts_dir=marts,
        reports_dir=reports,
        study=study,
        dask_scheduler=dask,
    )
    require_raw_dir(settings)
    use_camg_prefect_home(settings)
    use_served_prefect_api(settings)
    from camg.pipeline.outcome import ReportsNotBuiltError
    from camg.report.status import not_published_line
    from flows.camg_flow import with_task_runner

    if not verbose:
        quiet_console_handlers()
    require_batch_dir(settings)
    with log_to_file(settings), stopped_on_signals():
        log.info("camg run started: raw %s, marts %s", settings.raw_dir, settings.marts_dir)
        try:
            with nullcontext() if verbose else StepProgress(err):
                # Absolute paths: `camg status` finds this folder's runs by their marts_dir.
                flow_settings = settings.resolved()
                published = with_startup_retry(
                    lambda: with_task_runner(flow_settings)(flow_settings, not no_reports)
                )
        except ReportsNotBuiltError as exc:  # published: exit 0, but say what was not
            log.warning("camg run: %s", exc.message())
            err.print(f"[yellow]camg run:[/] {escape(exc.message())}")
            published = exc.published
        except ServerStartTimeout as exc:
            log.info("camg run did not start: %s", exc)
            err.print(f"[red]camg run did not start, nothing was published:[/] {exc}")
            raise typer.Exit(code=1) from None
        except Exception as exc:
            log.exception("camg run failed, nothing was published")
            err.print(f"[red]camg run failed, nothing was published:[/] {escape(str(exc))}")
            raise typer.Exit(code=1) from exc
        log.info("camg run published %s", published)
        if (unpublished := not_published_line(settings.marts_dir)) is not None:
            log.warning("camg run: %s", unpublished)
            err.print(f"[yellow]camg run:[/] {escape(unpublished)}")
    out.print(f"published {published}")
    show_status(settings.marts_dir, limit=1)


@app.command()
def serve(
    raw: RawOption = None,
    marts: MartsOption = None,
    reports: ReportsOption = None,
    config: ConfigOption = None,
    cron: Annotated[str | None, typer.Option(help="Schedule (CAMG_SCHEDULE_CRON).")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA zone (CAMG_TIMEZONE).")] = None,
    port: Annotated[int | None, typer.Option(help="Local server port (CAMG_PREFECT_PORT).")] = None,
) -> None:
    """Serve the nightly deployment (default 02:00 local time) until stopped with Ctrl-C.

    Uses the Prefect server that PREFECT_API_URL names; without one, starts a local
    `prefect server start` (SQLite in PREFECT_HOME, UI at http://127.0.0.1:PORT) and stops it on exit.
    """
    from camg.ops.logs import log_to_file
    from flows import deploy

    settings = load_settings(
        config,
        raw_dir=raw,
        marts_dir=marts,
        reports_dir=reports,
        schedule_cron=cron,
        timezone=timezone,
        prefect_port=port,
    ).resolved()
    require_raw_dir(settings)
    use_camg_prefect_home(settings)
    with log_to_file(settings):
        log.info(
            "camg serve: deployment camg/%s, cron %r in %s, raw %s, marts %s",
            settings.deployment_name,
            settings.schedule_cron,
            settings.local_timezone(),
            settings.raw_dir,
            settings.marts_dir,
        )
        err.print(
            f"camg/{settings.deployment_name}: cron '{settings.schedule_cron}' "
            f"({settings.local_timezone()}); logs in {settings.log_dir}"
        )
        try:
            deploy.serve_with_server(
                settings,
                lambda api_url: err.print(deploy.run_now_hint(settings, api_url), soft_wrap=True),
            )
        except RuntimeError as exc:
            log.exception("camg serve failed")
            err.print(f"[red]camg serve failed:[/] {exc}")
            raise typer.Exit(code=1) from exc


@app.command()
def report(
    marts: MartsOption = None, reports: ReportsOption = None, config: ConfigOption = None
) -> None:
    """Rebuild the HTML reports from the published marts (no new run)."""
    from camg.ops.logs import log_to_file
    from camg.ops.progress import StepProgress
    from camg.publish.kept_runs import MARTS_FILE

    settings = load_settings(config, marts_dir=marts, reports_dir=reports)
    from camg.report import build_reports

    marts_db = settings.marts_dir / MARTS_FILE
    if not marts_db.is_file():
        err.print(f"[red]no published marts at {marts_db}:[/] run `camg run` first")
        raise typer.Exit(code=1)
    with log_to_file(settings):
        log.info("camg report: from %s to %s", marts_db, settings.reports_dir)
        with StepProgress(err, first="reading the marts"):
            summary = build_reports(
                marts_db, settings.reports_dir, settings.report_key_path(), settings.reference_dir
            )
        log.info("camg report: %s", summary)
    out.print(str(summary), soft_wrap=True)


@app.command()
def status(
    marts: MartsOption = None,
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(help="How many recent runs to show.")] = 10,
    prefect: Annotated[
        bool, typer.Option(help="Also list flow runs from PREFECT_API_URL or a local camg serve.")
    ] = True,
) -> None:
    """Show recent runs: counts, failed files and quarantine totals (reads the marts read-only)."""
    settings = load_settings(config, marts_dir=marts)
    found = show_status(settings.marts_dir, limit)
    if prefect and not settings.marts_dir.is_dir():
        out.print(f"Prefect flow runs: none (no marts folder {settings.marts_dir} yet)")
    elif prefect:
        use_camg_prefect_home(settings)
        show_prefect_runs(settings, limit)
    if not found:
        raise typer.Exit(code=1)


@app.command()
def runs(marts: MartsOption = None, config: ConfigOption = None) -> None:
    """List the kept runs, newest first; `is_current` marks the published one (reads no database)."""
    from camg.publish.kept_runs import RUNS_DIR, list_runs

    settings = load_settings(config, marts_dir=marts)
    kept = list_runs(settings.marts_dir)
    if not kept.height:
        out.print(f"no kept runs in {settings.marts_dir / RUNS_DIR}: run `camg run` first")
        raise typer.Exit(code=1)
    title = f"Kept runs in {settings.marts_dir / RUNS_DIR} (keep_runs = {settings.keep_runs})"
    shown = [
        "run_id",
        "is_current",
        "started_at",
        "status",
        "n_files",
        "n_persons",
        "rules_version",
    ]
    out.print(frame_table(title, kept.select([c for c in shown if c in kept.columns])))


@app.command()
def rollback(
    run_id: Annotated[str, typer.Argument(help="A kept run's id, from `camg runs`.")],
    marts: MartsOption = None,
    reports: ReportsOption = None,
    config: ConfigOption = None,
) -> None:
    """Publish a kept earlier run again, atomically, with its reports; the next run publishes anew."""
    from camg.publish import kept_runs
    from camg.report import switch_reports

    settings = load_settings(config, marts_dir=marts, reports_dir=reports)
    try:
        kept_runs.rollback(settings.marts_dir, run_id)
    except kept_runs.UnknownRunError as exc:
        err.print(f"[red]camg rollback:[/] {exc} (see `camg runs`)")
        raise typer.Exit(code=2) from exc
    out.print(f"published run {run_id} again: {settings.marts_dir / kept_runs.MARTS_FILE}")
    marts_db = settings.marts_dir / kept_runs.MARTS_FILE
    key, reference = settings.report_key_path(), settings.reference_dir
    out.print(str(switch_reports(marts_db, settings.reports_dir, key, reference)))


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="A batch folder, or one export file in it.")],
    config: ConfigOption = None,
    limit: Annotated[
        int, typer.Option(min=1, help="Bad lines listed per file and rule (all are counted).")
    ] = 20,
) -> None:
    """Check a new export and print what a run would quarantine; publishes nothing.

    Lists the files, the quarantined rows per rule, every bad line (up to --limit per file and
    rule) with its bad value, and the food codes the composition tables lack. Exit code 1 when a
    file could not be read at all; quarantined rows alone are not an error.
    """
    from camg.ingest.batch import NoInputError
    from camg.ops.progress import StepProgress
    from camg.pipeline.preview import expected_headers, preview

    settings = load_settings(config)
    try:
        with StepProgress(err, first="reading the reference tables"):
            result = preview(path, settings.reference_dir)
    except (FileNotFoundError, NoInputError) as exc:
        err.print(f"[red]camg validate:[/] {exc}")
        raise typer.Exit(code=2) from exc
    columns = ["source_file", "format", "status", "error", "rows_in", "rows_kept"]
    out.print(frame_table(f"Files in {path}", result.manifest.select(*columns, "rows_quarantined")))
    show_validation(result.quarantine, result.unmatched, limit)
    failed = result.manifest.filter(pl.col("status") == "failed")
    if failed.filter(pl.col("error").str.contains("unrecognised format")).height:
        out.print(
            frame_table("Recognised exports (a header needs these columns)", expected_headers())
        )
    if failed.height:
        raise typer.Exit(code=1)


@app.command()
def version() -> None:
    """Print camg's version."""
    import camg

    typer.echo(camg.__version__)
