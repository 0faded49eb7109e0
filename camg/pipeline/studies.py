"""Assess and summarise stages, one study at a time: person-days -> persons -> population figures.

Every person-level mart is a function of one study's rows (person-days and persons are per person,
`population_summary` and `food_sources` are per study), so a run takes the studies in turn and writes
each one's marts to Parquet under `<marts>/.cache/study_marts/<key>/`, where publish streams them from.
Peak memory then follows the largest study, not the run: at 50 M diary rows in 32 studies the person
tables alone were 1.1 GB in memory at once (benchmarks/scale.py). The results are the frames the stage
functions give for all studies at once, in the same row order.

The key hashes everything a study's marts depend on (its files' part keys, its participants and
weights, the rules and composition versions, the code); a study whose key is unchanged reuses its
marts without reading a row, so a run that adds one study's files recomputes that study only.
"""

import functools
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from camg.assess.intakes import assess_persons, days_with_supplement_status
from camg.ops.cache import code_hash, folder_heights, prune_folders, write_folder
from camg.pipeline.run_diary import Diary
from camg.pipeline.study_status import (
    NoStudyPublishedError,
    StudyFailure,
    guarded,
    stage,
    status_frame,
)
from camg.population.food_sources import SOURCE_COLUMNS, food_sources
from camg.population.summarise import USUAL_SES_STEP, population_summary
from camg.population.usual_ratio_summary import usual_ratio
from camg.publish import runlog
from camg.publish.parquet_table import ParquetTable
from camg.reference import Reference
from camg.validate.participants import People

STUDY_MARTS_DIR = Path(".cache") / "study_marts"
# Code whose change changes a study's marts (its files' parts are in the key through their keys).


@dataclass(frozen=True)
class StudyMarts:
    """The person-level marts of a run: big ones on disk, population figures in memory."""

    days: ParquetTable
    persons: ParquetTable
    summary: pl.DataFrame | None
    sources: pl.DataFrame | None
    ratio: pl.DataFrame | None = None
    # study_status (camg.pipeline.study_status): published or failed, per study with diary rows.
    status: pl.DataFrame | None = None
    # Step records of the parts timed apart inside this step, for the run's step table: with the
    # population figures, one record of the usual-intake replicate SEs of every study made now
    # (0 s when every study was reused, so a re-run's run_step has the same rows).
    steps: list[dict] = field(default_factory=list)


def one_study(
    diary: Diary,
    study_id: str | None,
    people: People,
    divisors: pl.DataFrame,
    reference: Reference,
    population: bool,
    steps: list[dict] | None = None,
) -> dict[str, pl.DataFrame]:
    """A study's person-days, persons and (with `population`) summary, food sources, usual ratio.

    `study_id` None: the empty marts of a run without diary rows (they still have their columns).
    `steps`: where the usual-intake replicate SEs' step record goes (the run times them apart).
    """
    studies = set() if study_id is None else {study_id}
    with stage("person-days"):
        days = diary.days_of(study_id) if study_id is not None else diary.days
        days = days_with_supplement_status(days)
    in_study = pl.col("study_id").is_in(list(studies))
    lost = diary.lost.filter(in_study)
    with stage("assessment"):
        persons = assess_persons(days, people.of(study_id), reference, lost)
    if not population:
        return {"days": days, "persons": persons}
    with stage("population summary"):
        timed = functools.partial(runlog.timed_step, [] if steps is None else steps)
        summary = population_summary(days, persons, lost, divisors, reference, timed)
    with stage("usual ratio"):
        ratio = usual_ratio(days, persons, lost, divisors, reference)
    with stage("food sources"):
        # The study's items, its biggest frame: read last and passed unnamed (food_sources frees it).
        sources = food_sources(
            diary.item_frame(SOURCE_COLUMNS, studies), days, persons, lost, divisors, reference
        )
    return {
        "days": days,
        "persons": persons,
        "summary": summary,
        "sources": sources,
        "ratio": ratio,
    }


def code_version() -> str:
    """A hash of the code that makes a study's marts."""
    return code_hash()


def frame_digest(frame: pl.DataFrame) -> bytes:
    """A frame's content hash (its uncompressed Arrow IPC bytes)."""
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="uncompressed")
    return hashlib.sha256(buffer.getvalue()).digest()


def study_key(
    diary: Diary,
    study_id: str,
    people: People,
    divisors: pl.DataFrame,
    reference: Reference,
    population: bool,
) -> str:
    """The content key of one study's marts."""
    digest = hashlib.sha256()
    versions = [code_version(), reference.rules_version, reference.composition_version]
    parts = sorted(p.key for p in diary.parts if p.study_id == study_id)
    for text in [*versions, str(population), study_id, *parts]:
        digest.update(text.encode("utf-8", errors="surrogatepass") + b"\0")
    in_study = pl.col("study_id") == study_id
    for frame in (people.of(study_id), divisors.filter(in_study)):
        digest.update(frame_digest(frame))
    return digest.hexdigest()


def study_folder(
    root: Path,
    diary: Diary,
    study_id: str | None,
    people: People,
    divisors: pl.DataFrame,
    reference: Reference,
    population: bool,
    steps: list[dict] | None = None,
) -> Path:
    """The folder holding one study's marts: reused when its key is unchanged, else made now.

    `steps`: as `one_study`'s (a reused study adds no record).
    """
    key = "empty" if study_id is None else study_key(
        diary, study_id, people, divisors, reference, population
    )  # fmt: skip
    folder = root / key
    if study_id is None or folder_heights(folder) is None:
        made = one_study(diary, study_id, people, divisors, reference, population, steps)
        write_folder(folder, made)
    return folder


def study_marts(
    diary: Diary,
    people: People,
    divisors: pl.DataFrame,
    reference: Reference,
    marts_dir: Path,
    population: bool = True,
) -> StudyMarts:
    """Every study's person-level marts, one study in memory at a time (see the module docstring).

    `population=False` skips the population figures (summary and sources are then None). A study
    whose work raises is left out and named in `status` (`camg.pipeline.study_status`); when every study
    failed, NoStudyPublishedError.
    """
    root, steps, started_at = marts_dir / STUDY_MARTS_DIR, [], datetime.now(UTC)

    def made(study_id: str) -> Callable[[], Path]:
        args = (diary, study_id, people, divisors, reference, population, steps)
        return lambda: study_folder(root, *args)

    done = [
        StudyFailure(study_id, "participants", people.failed[study_id])
        if study_id in people.failed
        else guarded(study_id, made(study_id))
        for study_id in diary.study_ids
    ]
    failures = [d for d in done if isinstance(d, StudyFailure)]
    if failures and len(failures) == len(done):
        raise NoStudyPublishedError(failures)
    folders = [d for d in done if isinstance(d, Path)] or [
        study_folder(root, diary, None, people, divisors, reference, population)
    ]
    prune_folders(root, folders)  # studies changed or gone since
    heights = [folder_heights(f) or {} for f in folders]

    def table(kind: str) -> ParquetTable:
        paths = [str(f / f"{kind}.parquet") for f in folders]
        return ParquetTable(paths, sum(h[kind] for h in heights))

    def frame(kind: str) -> pl.DataFrame | None:
        return (
            pl.concat(pl.read_parquet(f / f"{kind}.parquet") for f in folders)
            if population
            else None
        )

    return StudyMarts(
        table("days"),
        table("persons"),
        frame("summary"),
        frame("sources"),
        frame("ratio"),
        status_frame(diary.study_ids, failures),
        [runlog.summed_step(USUAL_SES_STEP, steps, started_at)] if population else [],
    )
