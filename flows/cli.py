"""The `camg` command line: it builds the settings and starts flows (nothing else)."""

from pathlib import Path
from typing import Annotated

import typer

from camg.config import Settings

app = typer.Typer(
    help="camg: calcium and magnesium balance from dietary surveys.", no_args_is_help=True
)

RawOption = Annotated[Path | None, typer.Option("--raw", help="Folder of batches (CAMG_RAW_DIR).")]
MartsOption = Annotated[Path | None, typer.Option("--marts", help="Marts folder (CAMG_MARTS_DIR).")]
ReportsOption = Annotated[
    Path | None, typer.Option("--reports", help="Reports folder (CAMG_REPORTS_DIR).")
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML settings file.")]


@app.command()
def run(
    raw: RawOption = None,
    marts: MartsOption = None,
    reports: ReportsOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the whole flow once: ingest, validate, enrich, assess and publish."""
    from flows.camg_flow import camg_flow

    settings = Settings.load(config, raw_dir=raw, marts_dir=marts, reports_dir=reports)
    try:
        published = camg_flow(settings)
    except Exception as exc:
        typer.echo(f"camg run failed, nothing was published: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"published {published}")


@app.command()
def version() -> None:
    """Print camg's version."""
    import camg

    typer.echo(camg.__version__)
