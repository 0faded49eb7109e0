"""Tasks, made in one place from camg's plain functions (tests call the functions directly).

Every task tells the progress line (`camg.progress`) when it starts and what it did: `step` wraps
the plain function, so neither the flow body nor camg's functions carry progress code. The totals
a later step will reach (files found, diary files planned) are said by the step that knows them.
"""

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from prefect import Task, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from camg import reference
from camg.enrich import export_totals
from camg.ingest import batch, combine
from camg.ingest.batch import FileRead
from camg.ops import progress
from camg.pipeline import (
    diary_files,
    failed_files,
    outcome,
    run_diary,
    run_tables,
    studies,
)
from camg.pipeline.run import Runner
from camg.population import groups
from camg.publish import reconcile, run_folder, runlog
from camg.report import status
from camg.validate import participants as participants_stage
from flows import lineage

READ_FILE = "read raw file"
VALIDATE_FILE = "validate diary rows"


def step(
    name: str,
    fn: Callable,
    rows: Callable[[Any], int] | None = None,
    then: Callable[..., None] | None = None,
    **options: Any,
) -> Task:
    """A task named `name` running `fn`, that reports its start and end to the progress line.

    `rows(result)`: the rows one call did (a file's rows); `then(result, *args, **kwargs)`: what
    the result tells about later steps (their totals). `options` go to Prefect's `task`.
    """

    @functools.wraps(fn)
    def reported(*args: Any, **kwargs: Any) -> Any:
        progress.step_started(name)
        result = fn(*args, **kwargs)
        if rows is not None:  # a step run once per file: one more file done
            progress.step_advanced(name, rows=rows(result))
        if then is not None:
            then(result, *args, **kwargs)
        return result

    return task(name=name, cache_policy=NONE, **options)(reported)


def expect_reads(found: list, *_: Any) -> None:
    """Discovery tells the progress line how many files there are to read."""
    progress.step_expects(READ_FILE, len(found), "files")


def expect_validation(jobs: list, reads: list[FileRead], *_: Any, **__: Any) -> None:
    """Planning tells the progress line how many diary files and rows there are to validate."""
    planned = {job.source_file for job in jobs}
    rows = sum(r.n_diary for r in reads if r.source_file in planned)
    progress.step_expects(VALIDATE_FILE, len(jobs), "files", rows_total=rows)


# Retries only where I/O can fail transiently: reading raw files and publishing.
read_raw = step("read raw exports", batch.read_raw, retries=2, retry_delay_seconds=5)
# Every batch's files, or `settings.study`'s only (`camg run --study`).
discover_raw = step("discover raw files", batch.batch_files, then=expect_reads)


# One discovered file (with its batch's study.toml and the file cache): the unit a runner fans out.
# Diary rows stay in the file cache: the flow holds counts and small summaries, not rows.
read_raw_file = step(
    READ_FILE, batch.scan_found, rows=lambda r: r.n_diary, retries=2, retry_delay_seconds=5
)
diary_jobs = step("plan diary files", diary_files.diary_jobs, then=expect_validation)
# One diary file validated, enriched and written as Parquet parts (reused when unchanged).
# A file whose validation raises is that file's failure (camg.pipeline.failed_files), never the run's.
validate_diary_file = step(VALIDATE_FILE, failed_files.process_or_fail, rows=lambda p: p.rows_in)
assemble_diary = step("assemble diary", run_diary.assemble_diary)
prune_parts = step("prune diary parts", run_diary.prune_unused_parts)
run_counts = step("kept rows by file", run_tables.run_counts)
run_manifest = step("file manifest", run_tables.run_manifest)
run_quarantine = step("collect quarantine", run_tables.run_quarantine)
source_items = step("items for population figures", run_tables.source_items)
prune_cache = step("prune file cache", batch.prune_cache)
combined_totals = step("combine export totals", combine.combined_totals)
validate_recall_totals = step("validate export totals", export_totals.validate_recall_totals)
export_crosscheck = step("cross-check export totals", export_totals.export_crosscheck)
load_reference = step("load reference data", reference.load_reference)
validate_participants = step("validate participants", participants_stage.validate_by_study)
# Person-days, persons and population figures (issue 5), one study in memory at a time.
person_marts = step("person intakes, flags and population figures", studies.study_marts)
check_reconciled = step("reconcile counts", reconcile.check_reconciled)
run_log_row = step("run log", runlog.run_log_row)
mart_tables = step("assemble marts", run_tables.mart_tables)
publish_marts = step("publish marts", run_folder.publish, retries=2, retry_delay_seconds=5)
# Lineage (issue 6): how long every task so far took, from Prefect's task-run records.
run_steps = step("step timings", lineage.run_step_table)
weight_divisors = step("survey weight divisors", groups.weight_divisors)
# Reports (issue 7): population, participant and dietitian pages from the published marts.
# After publishing: a failure here says the marts were published (camg.pipeline.outcome).
build_reports = step("build reports", outcome.reports_after_publish)


def publish_run_summary(marts_dir: Path, reports: object) -> str:
    """The published run's summary as a markdown artifact, where Prefect's UI shows it per run."""
    markdown = status.run_summary_markdown(marts_dir, reports)
    create_markdown_artifact(
        markdown=markdown, key="camg-run-summary", description="What this camg run published"
    )
    return markdown


run_summary = step("run summary", publish_run_summary)


# The plain function of every task above -> its task (each wraps its function: `step`).
TASKS: dict[Callable, Task] = {
    task_.fn.__wrapped__: task_ for task_ in list(globals().values()) if isinstance(task_, Task)
}


class PrefectRunner(Runner):
    """camg's pipeline order (camg.pipeline.run) with every step run as its task above.

    Per-file steps are mapped, so a Dask task runner (settings.dask_scheduler) fans them out;
    step timings come from Prefect's task-run records; the run ends with its summary artifact.
    """

    def step(self, fn: Callable) -> Callable:
        """The task of `fn` (a KeyError names a pipeline step that has no task here)."""
        return TASKS[fn]

    def fan_out(self, fn: Callable, items: Sequence, *shared: Any) -> list:
        """The task of `fn` mapped over `items`, the `shared` arguments unmapped."""
        return TASKS[fn].map(items, *(unmapped(value) for value in shared)).result()

    def step_table(self) -> pl.DataFrame:
        """Step timings from Prefect's task-run records, and the parts steps timed inside them."""
        return run_steps(self.records)

    def after_run(self, marts_dir: Path, reports: object) -> None:
        """The run summary artifact in Prefect's UI."""
        run_summary(marts_dir, reports)
