"""Fault injection for issue 17's isolation guards: make one study's (or file's) stage raise.

Earlier fixes removed the hostile inputs that used to make a study's person or population stage
raise, so no real input triggers those guards any more; these wrappers stand in for the next bug.
They wrap camg's real functions (everything else runs for real) and raise only for the studies or
files named. `python -m tests.hostile.faults run ...` is `camg` with the faults named by
environment variables, so a real `camg run` process can be tested.
"""

import os
from collections.abc import Callable, Collection

import polars as pl

from camg.enrich import composition
from camg.ingest import parse
from camg.ingest.fileread import FileRead
from camg.pipeline import studies as study_marts
from camg.validate import participants

# Environment variables naming the studies (or files) whose stage raises, comma separated.
ASSESSMENT = "CAMG_TEST_FAIL_ASSESSMENT"
FOOD_SOURCES = "CAMG_TEST_FAIL_FOOD_SOURCES"
FILES = "CAMG_TEST_FAIL_FILES"
READS = "CAMG_TEST_FAIL_READS"
PARTICIPANTS = "CAMG_TEST_FAIL_PARTICIPANTS"


class InjectedFault(RuntimeError):
    """The error a wrapped stage raises for a named study or file."""


def failing(fn: Callable, names: Collection[str], column: str) -> Callable:
    """`fn`, raising InjectedFault when its first frame holds a row whose `column` is named."""

    def wrapped(frame: pl.DataFrame, *args: object, **kwargs: object) -> object:
        if frame.height and set(frame[column].unique().to_list()) & set(names):
            raise InjectedFault(f"injected fault in {fn.__name__}")
        return fn(frame, *args, **kwargs)

    return wrapped


def failing_read(fn: Callable, names: Collection[str]) -> Callable:
    """`parse.fill_rows`, raising InjectedFault for the files named (by source_file)."""

    def wrapped(result: FileRead, *args: object, **kwargs: object) -> object:
        if result.source_file in names:
            raise InjectedFault(f"injected fault in {fn.__name__}")
        return fn(result, *args, **kwargs)

    return wrapped


def inject(
    setattr_: Callable[[object, str, object], None],
    assessment: Collection[str] = (),
    food_sources: Collection[str] = (),
    files: Collection[str] = (),
    reads: Collection[str] = (),
    people: Collection[str] = (),
) -> None:
    """Wrap the assessment, food-sources and participant stages (by study id), enrichment and
    reading (by file)."""
    if assessment:
        setattr_(
            study_marts,
            "assess_persons",
            failing(study_marts.assess_persons, assessment, "study_id"),
        )
    if food_sources:
        setattr_(
            study_marts, "food_sources", failing(study_marts.food_sources, food_sources, "study_id")
        )
    if files:
        setattr_(composition, "enrich", failing(composition.enrich, files, "source_file"))
    if people:
        setattr_(
            participants,
            "validate_participants",
            failing(participants.validate_participants, people, "study_id"),
        )
    if reads:
        setattr_(parse, "fill_rows", failing_read(parse.fill_rows, reads))


def names(variable: str) -> list[str]:
    """The comma-separated names an environment variable holds."""
    return [n for n in os.environ.get(variable, "").split(",") if n]


if __name__ == "__main__":
    inject(
        setattr,
        names(ASSESSMENT),
        names(FOOD_SOURCES),
        names(FILES),
        names(READS),
        names(PARTICIPANTS),
    )
    from flows.cli import app

    app(prog_name="camg")
