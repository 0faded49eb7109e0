"""The one order of camg's stages: a raw folder -> the run's tables -> published marts (and reports).

The flow (flows/camg_flow.py), the benchmarks, the validation scripts and the tests all call
`run` or `run_tables`; the order and the arguments of every step are stated here once. How a step
runs is the caller's `Runner`: plainly (each step timed for the run_step table), or as Prefect
tasks, where per-file work is mapped so a Dask task runner fans it out.
"""

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from camg.enrich import export_totals
from camg.ingest import batch, combine
from camg.ops import progress
from camg.ops.config import Settings
from camg.pipeline import diary_files, failed_files, outcome, run_diary, run_tables, studies
from camg.population import groups
from camg.publish import reconcile, run_folder, runlog
from camg.publish.parquet_table import ParquetTable
from camg.reference import Reference, load_reference
from camg.validate import participants as participants_stage

# The per-file steps, as the progress line names them, and the rows one call did.
PER_FILE: dict[Callable, tuple[str, Callable[[Any], int]]] = {
    batch.scan_found: ("read files", lambda read: read.n_diary),
    failed_files.process_or_fail: ("validate diary rows", lambda part: part.rows_in),
}


@dataclass
class Runner:
    """How the pipeline runs its steps; the default runs them plainly and times each one.

    `step(fn)`: the callable that runs `fn` as a step. `fan_out(fn, items, *shared)`: `fn(item,
    *shared)` for every item (per-file work). `step_table()`: the run_step table of the steps so
    far. `threads`: how many files the plain runner works on at once. flows/tasks.py's runner
    makes each step a Prefect task instead.
    """

    threads: int = Settings.file_workers
    records: list[dict] = field(default_factory=list)

    def step(self, fn: Callable) -> Callable:
        """`fn`, timed into this run's step records."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            started, t0 = datetime.now(UTC), time.perf_counter()
            result = fn(*args, **kwargs)
            seconds = time.perf_counter() - t0
            self.records.append(
                {
                    "step": fn.__name__,
                    "state": "Completed",
                    "started_at": started,
                    "finished_at": datetime.now(UTC),
                    "duration_seconds": seconds,
                }
            )
            return result

        return timed

    def fan_out(self, fn: Callable, items: Sequence, *shared: Any) -> list:
        """`fn(item, *shared)` for every item, `threads` at a time, results in item order.

        The progress line (camg.ops.progress) hears of every file done, as from the flow's tasks.
        """
        name, rows = PER_FILE[fn]
        progress.step_started(name, len(items), "files")

        def one(item: Any) -> Any:
            result = self.step(fn)(item, *shared)
            progress.step_advanced(name, rows=rows(result))
            return result

        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            return list(pool.map(one, items))

    def inner_steps(self, records: list[dict]) -> None:
        """Records of parts a step timed apart inside itself (rows of their own in run_step)."""
        self.records.extend(records)

    def step_table(self) -> pl.DataFrame:
        """The run_step table of the steps timed so far."""
        return runlog.run_steps(self.records)

    def after_run(self, marts_dir: Path, reports: object) -> None:
        """What the caller does once the run published (the flow: a run summary in Prefect's UI)."""


@dataclass(frozen=True)
class RunTables:
    """A run's tables before publishing, and what produced them (validation scripts read these)."""

    reference: Reference
    reads: list[batch.FileRead]
    diary: run_diary.Diary
    people: participants_stage.People
    divisors: pl.DataFrame
    days: ParquetTable
    persons: ParquetTable
    tables: dict[str, pl.DataFrame | ParquetTable]


def run_tables_of(settings: Settings, runner: Runner, population: bool = True) -> RunTables:
    """Raw folder -> the run's mart tables: ingest, validate, enrich, assess, population figures.

    `population=False` leaves the population figures out (`camg validate` needs none).
    """
    started_at = datetime.now(UTC)
    step, marts_dir = runner.step, settings.marts_dir
    reference = step(load_reference)(settings.reference_dir)
    found = step(batch.batch_files)(settings.raw_dir, settings.study)
    reads = runner.fan_out(
        batch.scan_found,
        found,
        settings.raw_dir,
        marts_dir,
        settings.max_expanded_bytes,
        settings.engine_reader,
    )
    step(batch.prune_cache)(marts_dir, reads)
    # Participants, with the dietary weights their diary files carry (on disk, one file per study).
    people = step(participants_stage.validate_by_study)(reads, marts_dir, reference)
    # Each diary file becomes Parquet parts on disk; the run holds their counts, not their rows.
    jobs = step(diary_files.diary_jobs)(reads, people, marts_dir)
    # A file whose validation raises is that file's failure (failed_files), never the run's.
    parts = runner.fan_out(failed_files.process_or_fail, jobs, reference, marts_dir)
    diary = step(run_diary.assemble_diary)(parts, marts_dir)
    step(run_diary.prune_unused_parts)(marts_dir, diary)
    divisors = step(groups.weight_divisors)(people.files)
    # Person-days, persons and population figures, one study in memory at a time.
    person = step(studies.study_marts)(diary, people, divisors, reference, marts_dir, population)
    runner.inner_steps(person.steps)  # the usual-intake replicate SEs, timed apart (issue 16)
    totals = step(export_totals.validate_recall_totals)(step(combine.combined_totals)(reads))
    items = step(run_tables.source_items)(diary, totals.kept)
    crosscheck = step(export_totals.export_crosscheck)(items, totals.kept, reference)
    quarantine = step(run_tables.run_quarantine)(diary, people, totals)
    counts = step(run_tables.run_counts)(diary, people, totals)
    manifest = step(run_tables.run_manifest)(reads, counts, diary, people)
    step(reconcile.check_reconciled)(manifest, counts)
    log = step(runlog.run_log_row)(
        started_at,
        manifest,
        person.persons,
        person.days,
        reference.rules_version,
        reference.composition_version,
        person.status,
    )
    tables = step(run_tables.mart_tables)(
        diary.items(),
        person.days,
        person.persons,
        people,
        quarantine,
        manifest,
        log,
        reference,
        crosscheck,
        summary=person.summary,
        sources=person.sources,
        ratio=person.ratio,
        study_status=person.status,
    )
    return RunTables(reference, reads, diary, people, divisors, person.days, person.persons, tables)


def run(settings: Settings, reports: bool = True, runner: Runner | None = None) -> Path:
    """Run the whole pipeline once on `settings.raw_dir`; publish to `settings.marts_dir`.

    `reports=False` publishes the marts only (`camg run --no-reports`; `camg report` builds them).
    """
    runner = runner or Runner()
    run_id = runlog.new_run_id()
    made = run_tables_of(settings, runner)
    steps = runner.step_table()
    published = runner.step(run_folder.publish)(
        settings.marts_dir, made.tables, run_id, steps, settings.keep_runs
    )
    built = None
    if reports:
        built = runner.step(outcome.reports_after_publish)(
            published, settings.reports_dir, settings.report_key_path(), settings.reference_dir
        )
    runner.after_run(settings.marts_dir, built)
    return published
