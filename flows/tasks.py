"""Tasks, made in one place from camg's plain functions (tests call the functions directly)."""

from prefect import task
from prefect.cache_policies import NONE

from camg import (
    assemble,
    crosscheck,
    marts,
    outcome,
    parts,
    population,
    publish,
    reconcile,
    reference,
    runlog,
    study_marts,
)
from camg import participants as participants_stage
from camg.ingest import batch, combine
from flows import lineage

# Retries only where I/O can fail transiently: reading raw files and publishing.
read_raw = task(name="read raw exports", retries=2, retry_delay_seconds=5, cache_policy=NONE)(
    batch.read_raw
)
discover_raw = task(name="discover raw files", cache_policy=NONE)(batch.discover)


# One discovered file (with its batch's study.toml and the file cache): the unit a runner fans out.
# Diary rows stay in the file cache: the flow holds counts and small summaries, not rows.
read_raw_file = task(name="read raw file", retries=2, retry_delay_seconds=5, cache_policy=NONE)(
    batch.scan_found
)
diary_jobs = task(name="plan diary files", cache_policy=NONE)(parts.diary_jobs)
# One diary file validated, enriched and written as Parquet parts (reused when unchanged).
validate_diary_file = task(name="validate diary rows", cache_policy=NONE)(parts.process_diary_file)
assemble_diary = task(name="assemble diary", cache_policy=NONE)(assemble.assemble_diary)
prune_parts = task(name="prune diary parts", cache_policy=NONE)(assemble.prune_unused_parts)
run_counts = task(name="kept rows by file", cache_policy=NONE)(marts.run_counts)
run_manifest = task(name="file manifest", cache_policy=NONE)(marts.run_manifest)
run_quarantine = task(name="collect quarantine", cache_policy=NONE)(marts.run_quarantine)
source_items = task(name="items for population figures", cache_policy=NONE)(marts.source_items)
prune_cache = task(name="prune file cache", cache_policy=NONE)(batch.prune_cache)
combined_totals = task(name="combine export totals", cache_policy=NONE)(combine.combined_totals)
validate_recall_totals = task(name="validate export totals", cache_policy=NONE)(
    crosscheck.validate_recall_totals
)
export_crosscheck = task(name="cross-check export totals", cache_policy=NONE)(
    crosscheck.export_crosscheck
)
load_reference = task(name="load reference data", cache_policy=NONE)(reference.load_reference)
validate_participants = task(name="validate participants", cache_policy=NONE)(
    participants_stage.validate_by_study
)
# Person-days, persons and population figures (issue 5), one study in memory at a time.
person_marts = task(name="person intakes, flags and population figures", cache_policy=NONE)(
    study_marts.study_marts
)
check_reconciled = task(name="reconcile counts", cache_policy=NONE)(reconcile.check_reconciled)
run_log_row = task(name="run log", cache_policy=NONE)(runlog.run_log_row)
mart_tables = task(name="assemble marts", cache_policy=NONE)(marts.mart_tables)
publish_marts = task(name="publish marts", retries=2, retry_delay_seconds=5, cache_policy=NONE)(
    publish.publish
)
# Lineage (issue 6): how long every task so far took, from Prefect's task-run records.
run_steps = task(name="step timings", cache_policy=NONE)(lineage.run_step_table)
weight_divisors = task(name="survey weight divisors", cache_policy=NONE)(population.weight_divisors)
# Reports (issue 7): population, participant and dietitian pages from the published marts.
# After publishing: a failure here says the marts were published (camg.outcome).
build_reports = task(name="build reports", cache_policy=NONE)(outcome.reports_after_publish)
