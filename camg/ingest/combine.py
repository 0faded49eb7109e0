"""Ingest stage exit: a run's reads combined, all files' rows of one kind or one study's rows.

A run's first pass leaves diary and participant rows and dietary weights in the ingest cache
(`camg.ingest.batch.scan_found`); the study-level readers take them from there, one study at a time.
"""

from collections.abc import Callable
from pathlib import Path

import polars as pl

from camg.ingest import sidecar
from camg.ingest.batch import FileRead
from camg.ops.cache import ReadCache
from schemas.diary import empty_raw_diary, empty_raw_totals
from schemas.participants import empty_raw_participants


def combined_weights(reads: list[FileRead]) -> pl.DataFrame:
    """Per person, the first dietary weights any file's diary rows carry (in file order)."""
    return sidecar.combined_weights([r.weights for r in reads if r.weights.height])


def study_weights(reads: list[FileRead], study_id: str, marts_dir: Path) -> pl.DataFrame:
    """`combined_weights` of one study's files, from memory or (a first pass) from the cache.

    A first pass leaves each file's weights in its cache entry: at 50 M rows they were 3.5 M rows
    (~150 MB) held from reading to the end of the run.
    """
    cache, frames = ReadCache(marts_dir), []
    for r in reads:
        if r.study_id != study_id:
            continue
        cached = cache.path(r.cache_key, "weights") if r.cache_key else None
        if r.weights.height:
            frames.append(r.weights)
        elif cached is not None and cached.is_file():
            frames.append(pl.read_parquet(cached))
    return sidecar.combined_weights(frames)


def _combined(reads: list[FileRead], kind: str, empty: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    """All files' rows of one kind in one frame (readers may carry different extra columns)."""
    frames = [getattr(r, kind) for r in reads if getattr(r, kind).height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else empty()


def combined_diary(reads: list[FileRead]) -> pl.DataFrame:
    """All files' raw diary rows in one frame."""
    return _combined(reads, "diary", empty_raw_diary)


def study_participants(reads: list[FileRead], study_id: str, marts_dir: Path) -> pl.DataFrame:
    """One study's raw participant rows, from memory or (a run's first pass) from the cache."""
    cache, frames = ReadCache(marts_dir), [empty_raw_participants()]
    for r in reads:
        if r.study_id != study_id or not r.n_participants:
            continue
        cached = r.participant_rows is not None and r.cache_key is not None
        kind = "participants"
        frames.append(pl.read_parquet(cache.path(r.cache_key, kind)) if cached else r.participants)
    return pl.concat(frames, how="diagonal_relaxed")


def combined_participants(reads: list[FileRead]) -> pl.DataFrame:
    """All files' raw participant rows in one frame (reads that hold them: not a first pass)."""
    if any(r.participant_rows for r in reads):
        raise ValueError("participant rows are in the ingest cache: use study_participants")
    return _combined(reads, "participants", empty_raw_participants)


def combined_totals(reads: list[FileRead]) -> pl.DataFrame:
    """All files' raw per-recall totals (ASA24 Totals) in one frame."""
    return _combined(reads, "totals", empty_raw_totals)
