"""Shared fixtures: the repo's real reference data and batches, copied into tmp folders."""

import os
import shutil
from pathlib import Path

import pytest

from camg.config import Settings
from camg.reference import Reference, load_reference

REPO = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO / "reference"
RAW_DIR = REPO / "data" / "raw"
TEST_DATA = REPO / "tests" / "data"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def reference() -> Reference:
    """The real rules and composition tables."""
    return load_reference(REFERENCE_DIR)


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    """Settings whose raw, marts and reports folders are empty tmp folders."""
    for name in ("raw", "marts", "reports"):
        (tmp_path / name).mkdir()
    return Settings(
        raw_dir=tmp_path / "raw",
        marts_dir=tmp_path / "marts",
        reports_dir=tmp_path / "reports",
        reference_dir=REFERENCE_DIR,
        log_dir=tmp_path / "logs",
    )


def copy_batch(name: str, raw_dir: Path) -> Path:
    """Copy a bundled batch (data/raw/<name>) into a tmp raw folder."""
    return Path(shutil.copytree(RAW_DIR / name, raw_dir / name))
