"""Study isolation: an unexpected error in one study's work -> that study failed, the others published.

A code bug or an input no rule foresaw that raises inside one study's person or population stage
(assessment, usual intake, population figures, food sources) must not stop every other study's
nightly run (issue 17). Each study's work runs under one guard (`guarded`); an exception there makes
the study `failed` in the `study_status` mart with the stage and the error, logged once with its
traceback, while the run goes on. The failed study's item rows and quarantine are still published
(its files reconcile as before: counts are per file and per row, not per person); its person-days,
persons, population figures and food sources are absent. Nothing is cached for it, so the next run
tries again (and, on the same inputs, fails the same way: identical marts).

Statuses: `published` (person and population marts made), `failed` (see stage and error),
`no_diary_rows` (a study of the manifest with no diary file read: nothing to assess, see
file_manifest). A run where studies had diary rows and every one of them failed publishes nothing
(`NoStudyPublishedError`): its marts would replace good ones with no person at all.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import polars as pl

from camg.ops.failure import error_line
from schemas.status import StudyStatus

LOG = logging.getLogger(__name__)
T = TypeVar("T")

PUBLISHED, FAILED, NO_DIARY_ROWS = "published", "failed", "no_diary_rows"
# The stage named when an error escapes outside any `stage` block (keys, caching, writing).
WHOLE_STUDY = "person marts"
NO_DIARY_MESSAGE = "no diary row of this study was read (see file_manifest)"


class StageError(Exception):
    """An unexpected error inside one named stage of a study's work (the cause is chained)."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        """The stage and the error raised in it."""
        super().__init__(stage, cause)
        self.stage, self.cause = stage, cause


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Name the stage an unexpected error escapes from (the innermost name wins)."""
    try:
        yield
    except StageError:
        raise
    except Exception as exc:
        raise StageError(name, exc) from exc


@dataclass(frozen=True)
class StudyFailure:
    """A study whose person-level work raised: where and why (one line)."""

    study_id: str
    stage: str
    error: str


class NoStudyPublishedError(Exception):
    """Every study with diary rows failed: the run publishes nothing (the old marts stay)."""

    def __init__(self, failures: list[StudyFailure]) -> None:
        """The failures, each named in the message."""
        super().__init__(failures)
        self.failures = failures

    def __str__(self) -> str:
        """One line naming every study, its stage and error."""
        return "no study could be published: " + "; ".join(
            f"{f.study_id} ({f.stage}: {f.error})" for f in self.failures
        )


def guarded(study_id: str, work: Callable[[], T]) -> T | StudyFailure:
    """`work()` for one study, or the StudyFailure it raised (logged once, with its traceback).

    Catching every Exception is the point: whatever one study raises is that study's failure.
    """
    try:
        return work()
    except Exception as exc:
        where = exc.stage if isinstance(exc, StageError) else WHOLE_STUDY
        cause = exc.cause if isinstance(exc, StageError) else exc
        LOG.error("study %r not published: %s failed", study_id, where, exc_info=cause)
        return StudyFailure(study_id, where, error_line(cause))


def status_frame(study_ids: list[str], failures: list[StudyFailure]) -> pl.DataFrame:
    """study_status rows of the studies whose person marts were attempted, by study."""
    failed = {f.study_id: f for f in failures}
    rows = [
        (s, FAILED, failed[s].stage, failed[s].error) if s in failed else (s, PUBLISHED, None, None)
        for s in study_ids
    ]
    return StudyStatus.validate(
        pl.DataFrame(rows, schema=StudyStatus.polars_schema(), orient="row").sort("study_id")
    )


def with_studies_without_diary(status: pl.DataFrame, manifest: pl.DataFrame) -> pl.DataFrame:
    """`status` plus a `no_diary_rows` row for every study of the manifest it does not name."""
    named = manifest.filter(pl.col("study_id") != "")["study_id"].unique()
    missing = sorted(set(named.to_list()) - set(status["study_id"].to_list()))
    rows = pl.DataFrame(
        [(s, NO_DIARY_ROWS, None, NO_DIARY_MESSAGE) for s in missing],
        schema=StudyStatus.polars_schema(),
        orient="row",
    )
    return StudyStatus.validate(pl.concat([status, rows]).sort("study_id"))
