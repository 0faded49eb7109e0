"""The camg flow: raw exports -> validated -> enriched -> assessed -> published marts."""

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow

from camg.config import Settings
from camg.runlog import new_run_id
from flows import tasks


@flow(name="camg", log_prints=True)
def camg_flow(settings: Settings | None = None) -> Path:
    """Run the whole pipeline once on `settings.raw_dir` and publish to `settings.marts_dir`."""
    settings = settings or Settings.load()
    run_id, started_at = new_run_id(), datetime.now(UTC)
    reference = tasks.load_reference(settings.reference_dir)
    reads = tasks.read_raw(settings.raw_dir)
    raw_diary = tasks.combined_diary(reads)
    participants = tasks.validate_participants(tasks.combined_participants(reads), reference)
    people = tasks.attach_dietary_weights(participants.kept, raw_diary)
    diary = tasks.validate_diary(raw_diary, people, reference)
    items = tasks.enrich_items(diary.kept, reference)
    days = tasks.person_days(items)
    persons = tasks.assess_persons(days, people, reference)
    quarantine = tasks.all_quarantine(participants, diary)
    manifest = tasks.file_manifest(reads, tasks.kept_sources(participants, diary), quarantine)
    tasks.check_reconciled(manifest, quarantine)
    run_log = tasks.run_log_row(
        started_at,
        manifest,
        persons,
        days,
        items,
        reference.rules_version,
        reference.composition_version,
    )
    tables = tasks.mart_tables(
        items, days, persons, people, quarantine, manifest, run_log, reference
    )
    return tasks.publish_marts(settings.marts_dir, tables, run_id)
