"""camg.ingest.xpt: NHANES as the original SAS transport files reads the same rows as the CSV."""

import gzip
from pathlib import Path

import pandas as pd
import polars as pl
import pyreadstat
import pytest
from polars.testing import assert_frame_equal

from camg.ingest.batch import read_file, read_raw
from camg.ingest.combine import combined_diary, combined_participants
from camg.ingest.xpt import is_xport, parse_xport
from camg.validate.diary_rows import validate_diary
from camg.validate.participants import validate_participants
from tests.conftest import RAW_DIR

NHANES = RAW_DIR / "nhanes_2015_2016"
N_ITEMS = 400  # the first 400 day-1 items of the real file (about 25 persons)


def write_xpt(frame: pd.DataFrame, path: Path, name: str) -> None:
    """A real SAS XPORT v5 file, as NHANES publishes them (pandas reads v5 only)."""
    pyreadstat.write_xport(frame, str(path), file_format_version=5, table_name=name)


@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> dict[str, Path]:
    """The same NHANES rows as a CSV batch and as an XPT batch."""
    root = tmp_path_factory.mktemp("xpt")
    iff = pd.read_csv(NHANES / "DR1IFF_I.csv", nrows=N_ITEMS)
    demo = pd.read_csv(NHANES / "DEMO_I.csv")
    demo = demo[demo["SEQN"].isin(iff["SEQN"])]
    for kind in ("csv", "xpt"):
        (root / kind / "nhanes").mkdir(parents=True)
    iff.to_csv(root / "csv" / "nhanes" / "DR1IFF_I.csv", index=False)
    demo.to_csv(root / "csv" / "nhanes" / "DEMO_I.csv", index=False)
    write_xpt(iff, root / "xpt" / "nhanes" / "DR1IFF_I.XPT", "DR1IFF_I")
    write_xpt(demo, root / "xpt" / "nhanes" / "DEMO_I.XPT", "DEMO_I")
    return {"csv": root / "csv", "xpt": root / "xpt"}


def validated(raw_dir: Path, reference) -> tuple[pl.DataFrame, pl.DataFrame]:
    reads = read_raw(raw_dir)
    people = validate_participants(combined_participants(reads), reference)
    diary = validate_diary(combined_diary(reads), people.kept, reference)
    assert diary.quarantine.height == 0
    return people.kept, diary.kept


def test_xpt_reads_the_same_rows_as_the_csv(batches, reference):
    csv_people, csv_items = validated(batches["csv"], reference)
    xpt_people, xpt_items = validated(batches["xpt"], reference)
    assert csv_items.height == N_ITEMS
    source = ["source_file", "source_line"]
    assert_frame_equal(xpt_items.drop(source), csv_items.drop(source))
    assert_frame_equal(xpt_people.drop(source), csv_people.drop(source))


def test_xpt_record_number_is_the_source_line(batches):
    (iff,) = [r for r in read_raw(batches["xpt"]) if r.format == "nhanes_iff"]
    assert iff.source_file == "nhanes/DR1IFF_I.XPT"
    assert iff.encoding == "sas-xport"
    assert iff.diary["source_line"].to_list() == list(range(1, N_ITEMS + 1))
    # The first real record: SEQN 83732, line 1, food 92101000, 720 g (raw line = its values).
    assert iff.diary["raw_line"][0].startswith("83732,1,92101000,720,")


def test_gzipped_xpt_is_recognised_from_content(batches, tmp_path):
    data = (batches["xpt"] / "nhanes" / "DR1IFF_I.XPT").read_bytes()
    assert is_xport(data)
    (tmp_path / "nhanes").mkdir()
    (tmp_path / "nhanes" / "dr1iff.bin").write_bytes(gzip.compress(data))
    (read,) = read_raw(tmp_path)
    assert (read.format, read.status, read.rows_in) == ("nhanes_iff", "read", N_ITEMS)


def test_truncated_xpt_is_a_failed_file_not_a_crash(batches, tmp_path):
    data = (batches["xpt"] / "nhanes" / "DR1IFF_I.XPT").read_bytes()
    (tmp_path / "nhanes").mkdir()
    (tmp_path / "nhanes" / "DR1IFF_I.XPT").write_bytes(data[:1000])
    (read,) = read_raw(tmp_path)
    assert read.status == "failed"
    assert read.rows_in == 0


def test_missing_sas_values_become_empty_text(tmp_path):
    frame = pd.DataFrame({"SEQN": [1.0, 2.0], "DR1ICALC": [float("nan"), 0.5]})
    path = tmp_path / "t.xpt"
    write_xpt(frame, path, "T")
    rows = parse_xport(path.read_bytes()).rows
    assert rows["DR1ICALC"].to_list() == [None, "0.5"]
    assert rows["raw_line"].to_list() == ["1,", "2,0.5"]


def test_a_transport_file_past_the_size_limit_is_failed_not_read(batches):
    path = batches["xpt"] / "nhanes" / "DR1IFF_I.XPT"
    raw = batches["xpt"]
    limit = path.stat().st_size - 1
    result = read_file(path, raw, "nhanes", max_expanded_bytes=limit)
    assert result.status == "failed"
    assert result.error == (
        f"SAS transport file is larger than {limit:,} bytes (setting max_expanded_bytes): not read"
    )
    assert read_file(path, raw, "nhanes", max_expanded_bytes=limit + 1).status == "read"
