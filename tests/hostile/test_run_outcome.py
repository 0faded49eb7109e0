"""Issue 17: `camg run` says exactly what was and was not published, and exits 1 only on nothing.

Real `camg run` subprocesses (their own temporary Prefect API) on hostile corpus folders.
"""

from pathlib import Path

import duckdb
import pytest

from tests.hostile import corpus
from tests.integration.test_cli import camg

pytestmark = pytest.mark.slow


def published_run_ids(marts_dir: Path) -> list[str]:
    with duckdb.connect(str(marts_dir / "camg.duckdb"), read_only=True) as con:
        return [row[0] for row in con.sql("select run_id from run_log").fetchall()]


def test_report_failure_after_publishing_says_the_marts_were_published(tmp_path):
    (tmp_path / "raw").mkdir()
    corpus.good(tmp_path / "raw")
    corpus.unterminated_quote(tmp_path / "raw")
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / ".report_key").write_text("")  # an empty key: the report build fails
    result = camg(tmp_path, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert "marts published" in said
    assert "reports NOT rebuilt" in said
    assert "nothing was published" not in said
    assert len(published_run_ids(tmp_path / "marts")) == 1


def test_a_raw_folder_with_nothing_readable_publishes_nothing_and_says_so(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (tmp_path / "outside.csv").write_text(corpus.food_record(corpus.GOOD_ROWS))
    (raw / "study").mkdir()
    (raw / "study" / "link.csv").symlink_to(tmp_path / "outside.csv")
    result = camg(tmp_path, "run")
    assert result.returncode == 1
    assert "nothing was published" in " ".join(result.stderr.split())
    assert not (tmp_path / "marts" / "camg.duckdb").exists()
