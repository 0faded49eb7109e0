"""Nothing lost by the engine reader (issue 16): the old and the new path give the same marts.

The pipeline order (camg.pipeline.run.run_tables_of, no Prefect, no population figures, no
reports) runs on the bundled data (data/raw) and on the hostile corpus (tests/hostile/corpus.py)
twice each: once as a run reads files (regular ones by the engine, camg.ingest.engine_lines) and
once with setting `engine_reader = false` (camg's own Python parse for every file). Every mart
table must be the same, run ids and clocks aside: items, person-days, persons, participants,
quarantine (file, line, rule and raw text), file manifest (statuses, errors, counts), run log.
"""

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.ops.config import Settings
from camg.pipeline.run import Runner, run_tables_of
from tests.conftest import RAW_DIR, settings_in
from tests.hostile import corpus

pytestmark = pytest.mark.slow

# Columns that differ between any two runs (clocks, ids, the code's identity, where rows came from).
RUN_COLUMNS = {"run_id", "started_at", "finished_at", "code_version", "duration_seconds"}
RUN_COLUMNS |= {"read_from"}
# The hostile corpus's gzip bomb expands to 24 MB; it runs with a 4 MB limit (as its own tests do).
HOSTILE_LIMIT = 4 << 20


def tables_of(settings: Settings) -> tuple[dict[str, pl.DataFrame], dict[str, str | None]]:
    """The run's mart tables in memory, run columns dropped, and which reader read each file."""
    made = run_tables_of(settings, Runner(), population=False)
    tables = {}
    for name, table in made.tables.items():
        frame = table if isinstance(table, pl.DataFrame) else table.collect()
        tables[name] = frame.drop(RUN_COLUMNS & set(frame.columns))
    return tables, {read.source_file: read.reader for read in made.reads}


def both_paths(root: Path, fill_raw, **settings: object) -> dict:
    """The same raw folder run by the engine reader and by the Python parse."""
    runs = {}
    for engine in (True, False):
        folder = root / ("engine" if engine else "python")
        folder.mkdir()
        base = settings_in(folder)
        fill_raw(base.raw_dir, root)
        config = {**base.__dict__, **settings, "engine_reader": engine}
        runs[engine] = tables_of(Settings(**config))
    return runs


def bundled(raw: Path, root: Path) -> None:
    """The bundled NHANES batches, as they ship."""
    for batch in RAW_DIR.iterdir():
        shutil.copytree(batch, raw / batch.name)


def hostile(raw: Path, root: Path) -> None:
    """Every class of bad input of the hostile corpus beside a good study."""
    outside = root / f"outside_{raw.parent.name}"
    outside.mkdir()
    corpus.good(raw)
    corpus.trust_boundary(raw, outside)
    for build in corpus.BUILDERS.values():
        build(raw)


@pytest.fixture(scope="module")
def bundled_runs(tmp_path_factory) -> dict:
    return both_paths(tmp_path_factory.mktemp("bundled"), bundled)


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hostile")
    return both_paths(root, hostile, max_expanded_bytes=HOSTILE_LIMIT)


def assert_same_marts(runs: dict) -> None:
    """Every table of the engine run equals the Python run's, row for row."""
    (engine, _), (python, _) = runs[True], runs[False]
    assert engine.keys() == python.keys()
    for name in sorted(engine):
        try:
            assert_frame_equal(engine[name], python[name])
        except AssertionError as exc:
            raise AssertionError(f"mart {name} differs between the readers: {exc}") from exc


def assert_reconciled(tables: dict) -> None:
    """rows_in = rows_kept + rows_quarantined for every file, and quarantine rows are located."""
    manifest = tables["file_manifest"]
    kept_plus = manifest["rows_kept"] + manifest["rows_quarantined"]
    assert (manifest["rows_in"] == kept_plus).all()
    quarantine = tables["quarantine"]
    assert quarantine.height > 0
    located = quarantine.filter(pl.col("source_file").is_null() | pl.col("source_line").is_null())
    assert located.height == 0


def test_the_bundled_data_gives_the_same_marts_by_either_reader(bundled_runs):
    assert_same_marts(bundled_runs)
    assert bundled_runs[True][0]["intake_item"].height > 500_000


def test_the_bundled_files_are_read_by_the_engine(bundled_runs):
    readers = bundled_runs[True][1]
    data_files = {name: r for name, r in readers.items() if not name.endswith(".md")}
    assert set(data_files.values()) == {"engine"}, data_files
    assert set(bundled_runs[False][1].values()) <= {"python", None}


def test_the_bundled_counts_reconcile_by_either_reader(bundled_runs):
    for tables, _ in bundled_runs.values():
        assert_reconciled(tables)


def test_the_hostile_corpus_gives_the_same_marts_by_either_reader(hostile_runs):
    assert_same_marts(hostile_runs)


def test_the_hostile_corpus_takes_both_readers(hostile_runs):
    """Its readable files go to the engine, its odd ones (a quote left open, a bomb) to Python."""
    readers = hostile_runs[True][1]
    assert {"engine", "python"} <= set(readers.values())
    assert readers["mixed_encoding/records.csv"] == "engine"  # one Latin-1 line: a UTF-8 copy
    assert readers["open_quote/records.csv"] == "python"  # the csv module's own reading
    assert readers["mixed_encoding/participants.csv"] == "engine"
    assert readers["bomb/records.csv.gz"] == "python"  # past max_expanded_bytes: failed there


def test_the_hostile_quarantine_keeps_file_line_and_raw_text(hostile_runs):
    for tables, _ in hostile_runs.values():
        assert_reconciled(tables)
        rules = set(tables["quarantine"]["rule_id"])
        assert {"row.ragged", "file.failed"} & rules
