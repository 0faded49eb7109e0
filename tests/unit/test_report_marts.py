"""A tiny published marts file for the report tests (hostile ids and names included), and its checks.

The intake_person rows come from the real `camg.assess.intakes` code on literal items, so the reports are
tested on the columns the pipeline really publishes. Other modules import `write_tiny_marts`.
"""

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from camg.assess.intakes import assess_persons, person_days
from camg.reference import Reference

HOSTILE_ID = "<script>alert(1)</script>"
SQL_ID = '"; drop table x; --'
HOSTILE_FOOD = "<script>alert(1)</script> cake"
HOSTILE_STUDY = "../<i>evil</i> study"
MILK, CASHEWS, BEANS = "11111000", "42104110", "41102020"


def _item(
    study: str,
    person: str,
    day: int,
    code: str,
    grams: float | None,
    ca: float | None,
    mg: float | None,
    kind: str = "food",
    description: str | None = None,
    system: str = "fndds",
) -> dict:
    return {
        "study_id": study,
        "person_id": person,
        "recall_day": day,
        "item_kind": kind,
        "food_system": system,
        "food_code": code,
        "food_description": description,
        "grams": grams,
        "calcium_mg": ca,
        "magnesium_mg": mg,
        "is_matched": ca is not None,
    }


def tiny_items() -> pl.DataFrame:
    """Items of four persons in two studies: milk, cashews, beans, a supplement, a hostile food."""
    a = "study_a"
    rows = [
        # p1: 300 g milk a day (Ca 339, Mg 30) + 30 g cashews (Ca 11.1, Mg 78); day 2 adds a Ca tablet.
        _item(a, "p1", 1, MILK, 300, 339, 30),
        _item(a, "p1", 1, CASHEWS, 30, 11.1, 78),
        _item(a, "p1", 2, MILK, 300, 339, 30),
        _item(a, "p1", 2, CASHEWS, 30, 11.1, 78),
        _item(
            a,
            "p1",
            2,
            "ca500",
            None,
            500,
            0,
            kind="supplement",
            system="supplement",
            description="Calcium 500 mg tablet",
        ),
        _item(a, HOSTILE_ID, 1, "x1", 100, 120, 20, description=HOSTILE_FOOD, system="custom"),
        _item(a, HOSTILE_ID, 1, "99999999", 50, None, None, description="<b>mystery</b>"),
        _item(a, SQL_ID, 1, CASHEWS, 30, 11.1, 78),
        _item(a, SQL_ID, 1, BEANS, 130, 35, 90),
        _item(a, SQL_ID, 1, MILK, 250, 282.5, 25),
        _item(HOSTILE_STUDY, "p1", 1, CASHEWS, 30, 11.1, 78),
        _item(HOSTILE_STUDY, "p1", 1, MILK, 200, 226, 20),
        _item(HOSTILE_STUDY, "p1", 2, BEANS, 130, 35, 90),
    ]
    items = pl.DataFrame(
        rows,
        schema_overrides={
            "grams": pl.Float64,
            "calcium_mg": pl.Float64,
            "magnesium_mg": pl.Float64,
            "food_description": pl.String,
        },
    )
    return items.with_columns(
        pl.lit("f.csv").alias("source_file"), pl.int_range(1, pl.len() + 1).alias("source_line")
    )


def tiny_participants() -> pl.DataFrame:
    """Sex, age and life stage of the four persons (no survey design)."""
    people = [
        ("study_a", "p1", "female", 480),
        ("study_a", HOSTILE_ID, "male", 360),
        ("study_a", SQL_ID, "female", 840),
        (HOSTILE_STUDY, "p1", "male", 120),
    ]
    return pl.DataFrame(
        [
            {
                "study_id": s,
                "person_id": p,
                "sex": x,
                "age_months": a,
                "life_stage": "general",
                "weight": None,
                "weight_two_day": None,
                "strata": None,
                "psu": None,
                "source_file": "participants.csv",
                "source_line": i + 2,
            }
            for i, (s, p, x, a) in enumerate(people)
        ],
        schema_overrides={
            "weight": pl.Float64,
            "weight_two_day": pl.Float64,
            "strata": pl.String,
            "psu": pl.String,
        },
    )


def side_tables(run_id: str, rules_version: str) -> dict[str, pl.DataFrame]:
    """Manifest, quarantine, unmatched foods and run log of the tiny run."""
    manifest = pl.DataFrame(
        {
            "source_file": ["study_a/diary.csv", "study_a/bad.csv"],
            "study_id": ["study_a", "study_a"],
            "format": ["camg_csv", None],
            "status": ["read", "failed"],
            "error": [None, "<svg onload=alert(1)>"],
            "rows_in": [12, 0],
            "rows_kept": [11, 0],
            "rows_quarantined": [1, 0],
        }
    )
    quarantine = pl.DataFrame(
        {
            "source_file": ["study_a/diary.csv"],
            "source_line": [9],
            "study_id": ["study_a"],
            "record_kind": ["diary"],
            "rule_id": ["amount.implausible"],
            "message": ["too big"],
            "raw": ["<script>x</script>"],
        }
    )
    unmatched = pl.DataFrame(
        {
            "study_id": ["study_a"],
            "food_system": ["fndds"],
            "food_code": ["99999999"],
            "food_description": ["<b>mystery</b>"],
            "n_items": [1],
            "n_persons": [1],
            "grams": [50.0],
        }
    )
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    run_log = pl.DataFrame(
        {
            "started_at": [now],
            "finished_at": [now],
            "status": ["published"],
            "rules_version": [rules_version],
            "composition_version": ["tiny"],
            "code_version": ["test"],
        }
    )
    return {
        "file_manifest": manifest,
        "quarantine": quarantine,
        "unmatched_foods": unmatched,
        "run_log": run_log,
    }


def write_tiny_marts(
    path: Path, reference: Reference, extra: dict[str, pl.DataFrame] | None = None
) -> Path:
    """A marts file like `publish.run_folder` writes, from the tiny frames (plus optional extra tables)."""
    items = tiny_items()
    days = person_days(items)
    persons = assess_persons(days, tiny_participants(), reference)
    run_id = "tiny-run"
    tables = {
        "intake_item": items,
        "intake_person_day": days,
        "intake_person": persons,
        "participant": tiny_participants(),
        "reference_rules": reference.rules,
        **side_tables(run_id, reference.rules_version),
        **(extra or {}),
    }
    with duckdb.connect(str(path)) as con:
        for name, frame in tables.items():
            con.register("frame", frame.to_arrow())
            con.execute(
                f'create table "{name}" as select $run_id as run_id, * from frame',
                {"run_id": run_id},
            )
            con.unregister("frame")
    return path


def test_tiny_marts_hold_the_hostile_persons(tmp_path: Path, reference: Reference) -> None:
    path = write_tiny_marts(tmp_path / "camg.duckdb", reference)
    with duckdb.connect(str(path), read_only=True) as con:
        ids = sorted(r[0] for r in con.sql("select person_id from intake_person").fetchall())
        # p1's day 2 had a 500 mg Ca tablet: mean supplement Ca = (0 + 500) / 2 = 250 mg.
        supplement = con.sql(
            "select calcium_supplement_mg from intake_person where study_id = 'study_a' "
            "and person_id = 'p1'"
        ).fetchall()
    assert ids == sorted([SQL_ID, HOSTILE_ID, "p1", "p1"])
    assert supplement == [(250.0,)]
