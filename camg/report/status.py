"""Status: the published marts -> what the recent runs did (counts, failed files, quarantine).

Reads the published database read-only: an open reader never blocks a run (the run swaps a new
file in beside it), and this module never writes. Runs come from the kept runs of the marts folder's
publish history (`runs/<run_id>/`, read from their Parquet copies) and from the published `run_log`.
"""

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import polars.selectors as cs

from camg.publish import kept_runs
from camg.publish.kept_runs import MARTS_FILE

RUN_COLUMNS = [
    "run_id",
    "started_at",
    "finished_at",
    "status",
    "n_files",
    "n_files_failed",
    "rows_in",
    "rows_kept",
    "rows_quarantined",
    "n_persons",
]


@dataclass(frozen=True)
class MartsStatus:
    """What the published marts say about the recent runs and the latest one's inputs."""

    marts_db: Path
    runs: pl.DataFrame
    failed_files: pl.DataFrame
    quarantine_by_rule: pl.DataFrame
    # Recalls whose kept items disagree with the export's own totals (issue 17); none without one.
    disagreeing_recalls: pl.DataFrame | None = None
    # Studies whose person and population marts are absent, with why (camg.pipeline.study_status).
    studies_not_published: pl.DataFrame | None = None


def query_frame(db: Path, sql: str, params: dict[str, object] | None = None) -> pl.DataFrame:
    """The result of one query on a database opened read-only."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql, params=params or {}).pl()


def run_rows(db: Path) -> pl.DataFrame:
    """The run_log rows one marts database holds (an unreadable old database adds none)."""
    try:
        return query_frame(db, f"select {', '.join(RUN_COLUMNS)} from run_log")
    except duckdb.Error:
        return pl.DataFrame()


def kept_run_rows(marts_dir: Path) -> list[pl.DataFrame]:
    """The run_log row of every run the publish history keeps."""
    return [kept_runs.run_summary(marts_dir, run_id) for run_id in kept_runs.kept_runs(marts_dir)]


def recent_runs(marts_dir: Path, limit: int) -> pl.DataFrame:
    """The `limit` latest runs, newest first, one row per run id; `is_current` marks the published."""
    published = run_rows(marts_dir / MARTS_FILE)
    frames = [f for f in [published, *kept_run_rows(marts_dir)] if "started_at" in f.columns]
    if not frames:
        return pl.DataFrame()
    # DuckDB hands back time stamps in the session zone (e.g. Etc/UTC); make them all UTC to stack.
    frames = [
        f.with_columns(cs.datetime(time_zone="*").dt.convert_time_zone("UTC")) for f in frames
    ]
    runs = pl.concat(frames, how="diagonal_relaxed").unique("run_id", keep="first")
    current = published["run_id"][0] if published.height else kept_runs.current_run_id(marts_dir)
    return (
        runs.select(RUN_COLUMNS)
        .with_columns((pl.col("run_id") == current).alias("is_current"))
        .sort("started_at", descending=True)
        .head(limit)
    )


def failed_files(db: Path) -> pl.DataFrame:
    """The files the published run could not read, with the reason."""
    return query_frame(
        db,
        "select study_id, source_file, format, error from file_manifest "
        "where status = 'failed' order by source_file",
    )


def quarantine_by_rule(db: Path) -> pl.DataFrame:
    """Quarantined rows of the published run per study, file and rule, with one example line."""
    return query_frame(
        db,
        "select study_id, source_file, rule_id, count(*) as n_rows, "
        "min(source_line) as first_line, arg_min(message, source_line) as message "
        "from quarantine group by all order by n_rows desc, study_id, source_file, rule_id",
    )


def disagreeing_recalls(db: Path) -> pl.DataFrame:
    """Per study: recalls whose kept items' own values do not add up to the export's totals."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {name for (name,) in con.sql("select table_name from duckdb_tables()").fetchall()}
        if "export_crosscheck" not in tables:
            return pl.DataFrame()
        return con.sql(
            "select study_id, count(*) filter (where is_items_disagreeing) as n_disagreeing, "
            "count(*) as n_recalls, "
            "arg_min(person_id || ' recall ' || recall_day, person_id) "
            "filter (where is_items_disagreeing) as first_recall "
            "from export_crosscheck group by study_id having n_disagreeing > 0 order by study_id"
        ).pl()


def studies_not_published(db: Path) -> pl.DataFrame:
    """The studies of the published run without person marts: status, stage and error."""
    try:
        return query_frame(
            db,
            "select study_id, status, stage, error from study_status "
            "where status <> 'published' order by study_id",
        )
    except duckdb.CatalogException:  # a database from before study_status
        return pl.DataFrame()


def not_published_line(marts_dir: Path) -> str | None:
    """One line naming every study the published run left without person marts, and why."""
    db = marts_dir / MARTS_FILE
    studies = studies_not_published(db) if db.is_file() else pl.DataFrame()
    if not studies.height:
        return None
    named = "; ".join(
        f"{r['study_id']} ({r['stage'] + ': ' if r['stage'] else ''}{r['error']})"
        for r in studies.iter_rows(named=True)
    )
    return f"studies NOT published (no person or population marts): {named}"


def marts_status(marts_dir: Path, limit: int = 10) -> MartsStatus | None:
    """The status of a marts folder; None when nothing has been published there yet."""
    db = marts_dir / MARTS_FILE
    if not db.is_file():
        return None
    return MartsStatus(
        db,
        recent_runs(marts_dir, limit),
        failed_files(db),
        quarantine_by_rule(db),
        disagreeing_recalls(db),
        studies_not_published(db),
    )


def markdown_cell(value: object) -> str:
    """A value as a markdown table cell: file names and ids are untrusted text, shown, never markup."""
    text = "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
    return text.translate(MARKDOWN_TABLE)


# Characters that would end a cell or start markup or HTML, as HTML entities (one pass: an entity's
# own `&` and `#` are never escaped again).
MARKDOWN_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "&#124;",
    "\n": " ",
    "\r": " ",
    "`": "&#96;",
    "*": "&#42;",
    "_": "&#95;",
    "[": "&#91;",
    "]": "&#93;",
    "#": "&#35;",
    "\\": "&#92;",
}
MARKDOWN_TABLE = str.maketrans(MARKDOWN_ENTITIES)


def markdown_table(frame: pl.DataFrame) -> str:
    """A frame as a markdown table."""
    lines = [
        "| " + " | ".join(markdown_cell(c) for c in frame.columns) + " |",
        "|" + "---|" * len(frame.columns),
    ]
    lines += ["| " + " | ".join(markdown_cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join(lines)


def run_summary_markdown(marts_dir: Path, reports: object) -> str:
    """The published run's summary for Prefect's UI: files, rows, quarantine by rule, persons, output."""
    found = marts_status(marts_dir, 1)
    if found is None or not found.runs.height:
        return "# camg run\n\nNothing was published."
    run = found.runs.row(0, named=True)
    rules = (
        found.quarantine_by_rule.group_by("rule_id")
        .agg(pl.col("n_rows").sum())
        .sort("n_rows", "rule_id", descending=[True, False])
    )
    parts = [
        f"# camg run {markdown_cell(run['run_id'])}: {markdown_cell(run['status'])}",
        markdown_table(
            pl.DataFrame(
                {
                    "files": [run["n_files"]],
                    "failed files": [run["n_files_failed"]],
                    "rows in": [run["rows_in"]],
                    "kept": [run["rows_kept"]],
                    "quarantined": [run["rows_quarantined"]],
                    "persons": [run["n_persons"]],
                }
            )
        ),
        "## Quarantined rows by rule",
        markdown_table(rules) if rules.height else "none",
        "## Studies not published",
        markdown_table(found.studies_not_published)
        if found.studies_not_published is not None and found.studies_not_published.height
        else "none",
        "## Failed files",
        markdown_table(found.failed_files) if found.failed_files.height else "none",
        "## Published",
        f"- marts: {markdown_cell(found.marts_db)} (run {markdown_cell(run['run_id'])})\n"
        f"- reports: {markdown_cell(reports) if reports is not None else 'not built by this run'}",
    ]
    return "\n\n".join(parts) + "\n"
