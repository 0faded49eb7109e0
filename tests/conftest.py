"""Shared fixtures: the repo's real reference data and batches, copied into tmp folders."""

import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from camg.ops.config import Settings
from camg.reference import Reference, load_reference
from camg.validate.participants import People
from schemas import empty_frame
from schemas.quarantine import QuarantineRow

REPO = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO / "reference"
RAW_DIR = REPO / "data" / "raw"
TEST_DATA = REPO / "tests" / "data"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A loaded 2-core host starts Prefect's temporary server in more than its default 20 s; the tests'
# harness is called with server_startup_timeout=None so that this setting applies (its own default: 30 s).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")


@pytest.fixture(scope="session")
def reference() -> Reference:
    """The real rules and composition tables."""
    return load_reference(REFERENCE_DIR)


def settings_in(root: Path) -> Settings:
    """Settings whose raw, marts and reports folders are new empty folders under `root`.

    For module-scoped fixtures, which cannot use the function-scoped `tmp_settings`.
    """
    for name in ("raw", "marts", "reports"):
        (root / name).mkdir()
    return Settings(
        raw_dir=root / "raw",
        marts_dir=root / "marts",
        reports_dir=root / "reports",
        reference_dir=REFERENCE_DIR,
        log_dir=root / "logs",
    )


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    """Settings whose raw, marts and reports folders are empty tmp folders."""
    return settings_in(tmp_path)


def copy_batch(name: str, raw_dir: Path) -> Path:
    """Copy a bundled batch (data/raw/<name>) into a tmp raw folder."""
    return Path(shutil.copytree(RAW_DIR / name, raw_dir / name))


def read_tables(db: Path) -> dict[str, pl.DataFrame]:
    """Every base table of a published marts database, read whole."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = [row[0] for row in con.sql("show tables").fetchall()]
        return {name: con.sql(f'select * from "{name}"').pl() for name in names}


def people_of(kept: pl.DataFrame, folder: Path) -> People:
    """A `People` holding `kept` (validated participants), one file per study under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for (study_id,), rows in kept.sort("study_id").group_by("study_id", maintain_order=True):
        paths[study_id] = str(folder / f"{study_id}.parquet")
        rows.sort("person_id", maintain_order=True).write_parquet(paths[study_id])
    files = kept.group_by("study_id", "source_file", maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("rows_kept")
    )
    return People(paths, files, empty_frame(QuarantineRow))
