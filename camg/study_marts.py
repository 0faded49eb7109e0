"""Assess and summarise stages, one study at a time: person-days -> persons -> population figures.

Every person-level mart is a function of one study's rows (person-days and persons are per person,
`population_summary` and `food_sources` are per study), so a run takes the studies in turn and writes
each one's person-days and persons to Parquet under `<marts>/.cache/study_marts/`, where publish
streams them from. Peak memory then follows the largest study, not the run: at 50 M diary rows in 32
studies the person tables were 1.1 GB in memory at once (benchmarks/scale.py). The results are the
frames the stage functions give for all studies at once, in the same row order.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from camg.assemble import Diary, ParquetTable
from camg.assess import assess_persons
from camg.food_sources import SOURCE_COLUMNS, food_sources
from camg.reference import Reference
from camg.summarise import population_summary

STUDY_MARTS_DIR = Path(".cache") / "study_marts"


@dataclass(frozen=True)
class StudyMarts:
    """The person-level marts of a run: big ones on disk, population figures in memory."""

    days: ParquetTable
    persons: ParquetTable
    summary: pl.DataFrame | None
    sources: pl.DataFrame | None


@dataclass(frozen=True)
class OneStudy:
    """One study's marts, in memory while it is the one being worked on."""

    days: pl.DataFrame
    persons: pl.DataFrame
    summary: pl.DataFrame | None
    sources: pl.DataFrame | None


def one_study(
    diary: Diary,
    study_id: str | None,
    people: pl.DataFrame,
    divisors: pl.DataFrame,
    reference: Reference,
    population: bool,
) -> OneStudy:
    """A study's person-days, persons and (with `population`) summary and food sources.

    `study_id` None: the empty marts of a run without diary rows (they still have their columns).
    """
    studies = set() if study_id is None else {study_id}
    days = diary.days_of(study_id) if study_id is not None else diary.days
    in_study = pl.col("study_id").is_in(list(studies))
    persons = assess_persons(days, people.filter(in_study), reference)
    if not population:
        return OneStudy(days, persons, None, None)
    lost = diary.lost.filter(in_study)
    summary = population_summary(days, persons, lost, divisors, reference)
    items = diary.item_frame(SOURCE_COLUMNS, studies)  # the study's biggest frame: read last
    return OneStudy(
        days, persons, summary, food_sources(items, days, persons, lost, divisors, reference)
    )


def study_marts(
    diary: Diary,
    people: pl.DataFrame,
    divisors: pl.DataFrame,
    reference: Reference,
    marts_dir: Path,
    population: bool = True,
) -> StudyMarts:
    """Every study's person-level marts, one study in memory at a time (see the module docstring).

    `population=False` skips the population figures (summary and sources are then None).
    """
    folder = marts_dir / STUDY_MARTS_DIR
    shutil.rmtree(folder, ignore_errors=True)  # the last run's files (the run lock is held)
    folder.mkdir(parents=True)
    paths: dict[str, list[str]] = {"days": [], "persons": []}
    heights = dict.fromkeys(paths, 0)
    summaries, sources = [], []
    for i, study_id in enumerate(diary.study_ids or [None]):
        marts = one_study(diary, study_id, people, divisors, reference, population)
        for kind, frame in (("days", marts.days), ("persons", marts.persons)):
            path = folder / f"{kind}-{i:05d}.parquet"
            frame.write_parquet(path)
            paths[kind].append(str(path))
            heights[kind] += frame.height
        summaries.append(marts.summary)
        sources.append(marts.sources)
    return StudyMarts(
        ParquetTable(paths["days"], heights["days"]),
        ParquetTable(paths["persons"], heights["persons"]),
        pl.concat(summaries) if population else None,
        pl.concat(sources) if population else None,
    )
