"""camg.pipeline.studies: one study at a time gives exactly the marts of all studies at once.

Two real studies from the bundled NHANES 2015-2016 batch: the whole batch, and its day-1 file with
a third of its participants (so the studies differ in persons, days and usual-intake fits).
"""

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from camg.assess import intakes
from camg.ingest import batch, combine
from camg.pipeline import diary_files, run_diary
from camg.pipeline import studies as study_marts_module
from camg.pipeline.studies import study_marts
from camg.population import groups
from camg.population.food_sources import SOURCE_COLUMNS, food_sources
from camg.population.summarise import USUAL_SES_STEP, population_summary
from camg.population.usual_ratio_summary import usual_ratio
from camg.validate import participants as participants_stage
from tests.conftest import RAW_DIR, people_of


def write_studies(raw: Path) -> None:
    shutil.copytree(RAW_DIR / "nhanes_2015_2016", raw / "b_full")
    part = raw / "a_day1_third"
    part.mkdir()
    shutil.copy(RAW_DIR / "nhanes_2015_2016" / "DR1IFF_I.csv", part)
    demo = pl.read_csv(RAW_DIR / "nhanes_2015_2016" / "DEMO_I.csv", infer_schema=False)
    demo.gather_every(3).write_csv(part / "DEMO_I.csv")


@pytest.fixture(scope="module")
def run(tmp_path_factory, reference) -> dict:
    root = tmp_path_factory.mktemp("study_marts")
    raw, marts_dir = root / "raw", root / "marts"
    write_studies(raw)
    reads = [batch.scan_found(found, raw, marts_dir) for found in batch.discover(raw)]
    people = participants_stage.validate_by_study(reads, marts_dir, reference)
    jobs = diary_files.diary_jobs(reads, people, marts_dir)
    made = [diary_files.process_diary_file(job, reference, marts_dir) for job in jobs]
    diary = run_diary.assemble_diary(made, marts_dir)
    divisors = groups.weight_divisors(people.files)
    by_study = study_marts(diary, people, divisors, reference, marts_dir)
    days = intakes.days_with_supplement_status(diary.days)
    persons = intakes.assess_persons(days, people.frame(), reference, diary.lost)
    items = diary.item_frame(SOURCE_COLUMNS)
    at_once = {
        "days": days,
        "persons": persons,
        "summary": population_summary(days, persons, diary.lost, divisors, reference),
        "sources": food_sources(items, days, persons, diary.lost, divisors, reference),
        "ratio": usual_ratio(days, persons, diary.lost, divisors, reference),
    }
    context = {"people": people, "divisors": divisors, "marts_dir": marts_dir}
    return {"by_study": by_study, "at_once": at_once, "diary": diary} | context


def test_two_real_studies_that_differ(run):
    persons = run["at_once"]["persons"]
    counts = persons.group_by("study_id").len().sort("study_id")["len"].to_list()
    assert len(counts) == 2
    assert counts[0] < counts[1] / 2
    days = run["at_once"]["days"]
    assert days.filter(pl.col("study_id") == "a_day1_third")["recall_day"].unique().to_list() == [1]


def test_days_and_persons_are_the_frames_of_all_studies_at_once(run):
    by_study, at_once = run["by_study"], run["at_once"]
    assert_frame_equal(by_study.days.collect(), at_once["days"])
    assert_frame_equal(by_study.persons.collect(), at_once["persons"])
    assert by_study.days.height == at_once["days"].height
    assert by_study.persons.height == at_once["persons"].height
    assert len(by_study.persons.paths) == 2  # one file per study: never all persons at once


def test_population_figures_are_those_of_all_studies_at_once(run):
    by_study, at_once = run["by_study"], run["at_once"]
    assert by_study.summary.height > 0
    assert by_study.sources.height > 0
    assert_frame_equal(by_study.summary, at_once["summary"])
    assert_frame_equal(by_study.sources, at_once["sources"])
    assert by_study.ratio.height > 0
    assert_frame_equal(by_study.ratio, at_once["ratio"])


def test_a_run_without_diary_rows_has_empty_marts_with_their_columns(tmp_path, reference, run):
    empty = run_diary.Diary([], run["diary"].lost.clear())
    people = participants_stage.attach_weights(
        participants_stage.validate_participants(combine.combined_participants([]), reference).kept,
        combine.combined_weights([]),
    )
    divisors = groups.weight_divisors(people)
    marts = study_marts(
        empty, people_of(people, tmp_path / "people"), divisors, reference, tmp_path
    )
    assert marts.persons.height == 0
    assert marts.days.height == 0
    assert marts.persons.collect().columns == run["at_once"]["persons"].columns
    assert marts.summary.height == 0
    assert marts.sources.height == 0
    assert marts.ratio.height == 0


def test_unchanged_studies_are_reused_and_a_changed_one_is_made_again(
    run, reference, monkeypatch, tmp_path
):
    made = []
    real = study_marts_module.one_study
    monkeypatch.setattr(
        study_marts_module, "one_study", lambda *a, **k: made.append(a[1]) or real(*a, **k)
    )
    args = (run["diary"], run["people"], run["divisors"], reference, run["marts_dir"])
    again = study_marts(*args)
    assert made == []
    # Reused studies computed no replicate SEs: the run's one record of them says 0 s.
    assert [(s["step"], s["duration_seconds"]) for s in again.steps] == [(USUAL_SES_STEP, 0)]
    assert_frame_equal(again.persons.collect(), run["at_once"]["persons"])
    assert_frame_equal(again.summary, run["at_once"]["summary"])
    one = pl.col("study_id") == "a_day1_third"
    every_other = one & (pl.int_range(pl.len()) % 2 == 0)
    heavier = (
        run["people"]
        .frame()
        .with_columns(  # some persons of one study weigh three times more
            pl.when(every_other).then(pl.col("weight") * 3).otherwise("weight").alias("weight")
        )
    )
    heavier = people_of(heavier, tmp_path / "heavier")
    changed = study_marts(run["diary"], heavier, run["divisors"], reference, run["marts_dir"])
    assert made == ["a_day1_third"]
    assert [s["step"] for s in changed.steps] == [USUAL_SES_STEP]
    assert changed.steps[0]["duration_seconds"] > 0
    assert not changed.summary.filter(one).equals(run["at_once"]["summary"].filter(one))
    assert_frame_equal(changed.summary.filter(~one), run["at_once"]["summary"].filter(~one))
    assert len(list((run["marts_dir"] / study_marts_module.STUDY_MARTS_DIR).iterdir())) == 2


def test_usual_intake_replicate_ses_are_timed_apart_in_one_record(run):
    steps = run["by_study"].steps  # both studies made now: one record of both
    assert [s["step"] for s in steps] == [USUAL_SES_STEP]
    assert all(s["state"] == "Completed" and s["duration_seconds"] > 0 for s in steps)
    assert all(s["finished_at"] >= s["started_at"] for s in steps)
