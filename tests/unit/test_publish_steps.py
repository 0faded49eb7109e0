"""run_step: task-run records -> one row per step, and the publish phases timed alongside."""

from datetime import UTC, datetime

import polars as pl
from polars.testing import assert_frame_equal

from camg.publish.runlog import run_steps, timed_step


def at(second: int) -> datetime:
    return datetime(2026, 1, 1, 2, 0, second, tzinfo=UTC)


def test_a_step_run_once_per_file_is_one_row_with_its_runs_summed():
    records = [
        {"step": "load", "state": "Completed", "started_at": at(0), "finished_at": at(1),
         "duration_seconds": 1.0},
        {"step": "read file", "state": "Completed", "started_at": at(1), "finished_at": at(3),
         "duration_seconds": 2.0},
        {"step": "read file", "state": "Failed", "started_at": at(2), "finished_at": at(6),
         "duration_seconds": 4.0},
    ]  # fmt: skip
    result = run_steps(records)
    expected = pl.DataFrame(
        {
            "step": ["load", "read file"],
            "n_runs": [1, 2],
            "state": ["Completed", "Failed"],  # the worst state of the step's runs
            "started_at": [at(0), at(1)],  # first start
            "finished_at": [at(1), at(6)],  # last finish
            "duration_seconds": [1.0, 6.0],  # 2 s + 4 s of run time
        },
        schema_overrides={
            "started_at": pl.Datetime("us", "UTC"),
            "finished_at": pl.Datetime("us", "UTC"),
        },
    )
    assert_frame_equal(result, expected)


def test_no_records_is_an_empty_table_with_the_columns():
    assert run_steps([]).columns == [
        "step",
        "n_runs",
        "state",
        "started_at",
        "finished_at",
        "duration_seconds",
    ]


def test_timed_step_records_the_block():
    records: list[dict] = []
    with timed_step(records, "publish: write tables"):
        pass
    assert [(r["step"], r["state"]) for r in records] == [("publish: write tables", "Completed")]
    assert records[0]["finished_at"] >= records[0]["started_at"]
    assert records[0]["duration_seconds"] >= 0
