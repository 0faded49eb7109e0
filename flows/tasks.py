"""Tasks, made in one place from camg's plain functions (tests call the functions directly)."""

from prefect import task
from prefect.cache_policies import NONE

from camg import assess, enrich, marts, publish, reconcile, reference, runlog, validate
from camg.ingest import batch

# Retries only where I/O can fail transiently: reading raw files and publishing.
read_raw = task(name="read raw exports", retries=2, retry_delay_seconds=5, cache_policy=NONE)(
    batch.read_raw
)
combined_diary = task(name="combine diary rows", cache_policy=NONE)(batch.combined_diary)
combined_participants = task(name="combine participants", cache_policy=NONE)(
    batch.combined_participants
)
load_reference = task(name="load reference data", cache_policy=NONE)(reference.load_reference)
validate_participants = task(name="validate participants", cache_policy=NONE)(
    validate.validate_participants
)
attach_dietary_weights = task(name="attach dietary weights", cache_policy=NONE)(
    validate.attach_dietary_weights
)
validate_diary = task(name="validate diary rows", cache_policy=NONE)(validate.validate_diary)
enrich_items = task(name="enrich with composition", cache_policy=NONE)(enrich.enrich)
person_days = task(name="person-day intakes", cache_policy=NONE)(assess.person_days)
assess_persons = task(name="person intakes and flags", cache_policy=NONE)(assess.assess_persons)
kept_sources = task(name="kept rows by file", cache_policy=NONE)(marts.kept_sources)
all_quarantine = task(name="collect quarantine", cache_policy=NONE)(marts.all_quarantine)
file_manifest = task(name="file manifest", cache_policy=NONE)(reconcile.file_manifest)
check_reconciled = task(name="reconcile counts", cache_policy=NONE)(reconcile.check_reconciled)
run_log_row = task(name="run log", cache_policy=NONE)(runlog.run_log_row)
mart_tables = task(name="assemble marts", cache_policy=NONE)(marts.mart_tables)
publish_marts = task(name="publish marts", retries=2, retry_delay_seconds=5, cache_policy=NONE)(
    publish.publish
)
