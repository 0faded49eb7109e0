"""Per-file diary stage: one file's cached raw rows -> validated, enriched Parquet parts on disk.

A diary file is validated and enriched on its own (a Dask-able unit), against its batch's validated
participants and its study's intake dates, and its results land under `<marts>/.cache/parts/<key>/`:
items.parquet (intake items, raw text dropped), quarantine.parquet (with raw text), days.parquet
(its person-day sums) and lost.parquet (person-days that lost an item). The key hashes everything
the results depend on: the file's ingest-cache key (content, path, study.toml, reader code), the
code and rules/composition versions, and the batch's participant ids and dates; an unchanged key is
reused without reading the file's rows (the incremental run). A run holds O(files) part records.
"""

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from camg.assess import intakes
from camg.enrich import composition
from camg.ingest.batch import FileRead
from camg.ops.cache import ReadCache, code_hash, damaged, parquet_rows
from camg.ops.engine import in_memory_engine
from camg.pipeline import large_files
from camg.population import groups
from camg.reference import Reference
from camg.validate import diary_rows
from camg.validate.participants import People
from camg.validate.rules import Validated

PARTS_DIR = Path(".cache") / "parts"
KINDS = ("items", "quarantine", "days", "lost")
# Code whose change changes a part (the readers are in the ingest-cache key already).
# DuckDB over the parts spills to disk past this (peak RSS stays bounded, whatever the row count).


@dataclass(frozen=True)
class DiaryJob:
    """One diary file to validate: where its raw rows are cached and its batch's context."""

    source_file: str
    study_id: str
    read_key: str
    participants_file: (
        str | None
    )  # the batch's validated participants (camg.validate.participants.People)
    dates: pl.DataFrame  # the study's intake dates, all files (camg.ingest.sidecar)

    def participants(self) -> pl.DataFrame:
        """The batch's validated participants (study_id, person_id, survey_cycle), read when the job runs.

        Jobs name the file rather than hold its rows: at 50 M rows the ids of 32 studies were ~110 MB
        held by the run while its files were validated. Items take their survey cycle from here.
        """
        schema = {"study_id": pl.String, "person_id": pl.String, "survey_cycle": pl.String}
        if self.participants_file is None:
            return pl.DataFrame(schema=schema)
        columns = pl.read_parquet_schema(self.participants_file)
        frame = pl.read_parquet(self.participants_file, columns=[c for c in schema if c in columns])
        if "survey_cycle" not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("survey_cycle"))
        return frame


@dataclass(frozen=True)
class Part:
    """What validating one diary file gave: counts and where its parts are (never its rows)."""

    source_file: str
    study_id: str
    key: str
    folder: str
    read_key: str
    rows_in: int
    rows_kept: int
    rows_quarantined: int
    keyed_days: tuple[int, ...]  # recall days of kept items with an item key (for duplicates)
    reused: bool = False
    error: str | None = None  # set: validating the file raised (camg.failed_files)

    def path(self, kind: str) -> Path:
        """The part's Parquet file of one kind."""
        return Path(self.folder) / f"{kind}.parquet"


def parts_root(marts_dir: Path) -> Path:
    """Where parts live: beside the ingest cache, under the marts folder."""
    return marts_dir / PARTS_DIR


def code_version() -> str:
    """A hash of the code that makes parts, so an edited rule or join invalidates them."""
    return code_hash()


def diary_jobs(reads: list[FileRead], participants: People, marts_dir: Path) -> list[DiaryJob]:
    """One job per file whose diary rows are in the cache, with its batch's participants and dates."""
    dates = [r.dates for r in reads if r.dates.height]
    all_dates = pl.concat(dates) if dates else reads[0].dates.clear() if reads else None
    jobs = []
    for r in reads:
        if not r.n_diary or r.cache_key is None:
            continue
        study = pl.col("study_id") == r.study_id
        people = participants.paths.get(r.study_id)
        jobs.append(
            DiaryJob(r.source_file, r.study_id, r.cache_key, people, all_dates.filter(study))
        )
    return jobs


def part_key(job: DiaryJob, participants: pl.DataFrame, reference: Reference) -> str:
    """The content key of a job's parts (`participants`: the job's, as `DiaryJob.participants`)."""
    cycles = participants["survey_cycle"].fill_null("").to_list()
    ids = "\0".join(
        sorted(f"{p}\x02{c}" for p, c in zip(participants["person_id"], cycles, strict=True))
    )
    dates = job.dates.sort(pl.all()).write_csv()
    versions = [code_version(), reference.rules_version, reference.composition_version]
    parts = "\x01".join([*versions, job.read_key, ids, dates])
    return hashlib.sha256(parts.encode("utf-8", errors="surrogatepass")).hexdigest()


def load_part(folder: Path) -> Part | None:
    """A part written before (reused), or None when absent or damaged (then deleted, made again).

    Damaged: part.json unreadable, or a Parquet file whose footer is unreadable or whose row count
    is not the one part.json records.
    """
    if not folder.exists():
        return None
    try:
        meta = json.loads((folder / "part.json").read_text(encoding="utf-8"))
        meta["keyed_days"] = tuple(meta["keyed_days"])
        part = Part(**{**meta, "folder": str(folder), "reused": True})
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return discard_part(folder, exc)
    expected = {"items": part.rows_kept, "quarantine": part.rows_quarantined}
    for kind in KINDS:
        rows = parquet_rows(part.path(kind))
        if rows is None or rows != expected.get(kind, rows):
            return discard_part(folder, f"{kind}.parquet unreadable or wrong row count")
    return part


def discard_part(folder: Path, reason: object) -> None:
    """Log and delete a damaged part folder (a miss: the part is made again in its place)."""
    damaged(folder, reason)
    shutil.rmtree(folder, ignore_errors=True)


def temp_folder(folder: Path, tag: object) -> Path:
    """A fresh folder beside `folder` to write a part into before it is renamed into place."""
    tmp = folder.with_name(f".tmp-{folder.name}-{os.getpid()}-{id(tag)}")
    tmp.mkdir(parents=True)
    return tmp


def write_part(folder: Path, frames: dict[str, pl.DataFrame], part: Part) -> Part:
    """Write the frames and part.json into a temporary folder, then rename it to `folder`."""
    tmp = temp_folder(folder, part)
    for kind, frame in frames.items():
        frame.write_parquet(tmp / f"{kind}.parquet")
    return finish_part(tmp, folder, part)


def finish_part(tmp: Path, folder: Path, part: Part) -> Part:
    """Write part.json into `tmp` (holding the part's Parquet files) and rename it to `folder`."""
    meta = asdict(part) | {"folder": "", "reused": False}
    (tmp / "part.json").write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
    try:
        os.replace(tmp, folder)
    except OSError:  # another worker wrote the same key first: same content
        shutil.rmtree(tmp, ignore_errors=True)
    return part


def part_frames(
    raw: pl.DataFrame, job: DiaryJob, participants: pl.DataFrame, reference: Reference
) -> dict[str, pl.DataFrame]:
    """Validate, enrich and sum one file's raw diary rows (pandera validates each stage's frame).

    The rows are in memory: every plan runs on polars' in-memory engine (`ops.engine.in_memory_engine`).
    """
    with in_memory_engine():
        diary = diary_rows.validate_diary(raw, participants, reference, job.dates)
        items = composition.enrich(diary.kept, reference, participants)
        return {
            "items": items,
            "quarantine": diary.quarantine,
            "lost": groups.days_with_lost_items(diary.quarantine, quarantined(raw, diary)),
            "days": intakes.person_days(items),
        }


def quarantined(raw: pl.DataFrame, diary: Validated) -> pl.DataFrame:
    """The raw rows `diary` quarantined (days_with_lost_items reads only those: 12 -> 3 ms a slice)."""
    return raw.filter(pl.col("source_line").is_in(diary.quarantine["source_line"].implode()))


def keyed_days(items: pl.DataFrame) -> tuple[int, ...]:
    """Recall days of the items that carry an item key (only those can repeat across files)."""
    days = items.filter(pl.col("item_key").is_not_null())["recall_day"].unique().sort()
    return tuple(days.to_list())


def process_diary_file(
    job: DiaryJob, reference: Reference, marts_dir: Path, slice_rows: int = large_files.SLICE_ROWS
) -> Part:
    """Validate and enrich one diary file into its parts, or reuse them when its key is unchanged.

    A file of more than `slice_rows` rows is validated a range of persons at a time
    (`camg.pipeline.large_files`), with the same results.
    """
    participants = job.participants()
    key = part_key(job, participants, reference)
    folder = parts_root(marts_dir) / key
    if (reused := load_part(folder)) is not None:
        return reused
    cached = ReadCache(marts_dir).path(job.read_key, "diary")
    rows_in = large_files.cached_rows(cached)
    if rows_in > slice_rows:
        return process_in_slices(job, participants, reference, marts_dir, folder, slice_rows)
    raw = pl.read_parquet(cached)
    frames = part_frames(raw, job, participants, reference)
    part = Part(
        job.source_file,
        job.study_id,
        key,
        str(folder),
        job.read_key,
        raw.height,
        frames["items"].height,
        frames["quarantine"].height,
        keyed_days(frames["items"]),
    )
    return write_part(folder, frames, part)


def process_in_slices(
    job: DiaryJob,
    participants: pl.DataFrame,
    reference: Reference,
    marts_dir: Path,
    folder: Path,
    slice_rows: int,
) -> Part:
    """A big file's parts, validated a range of persons at a time (bounded memory, same results)."""
    cached = ReadCache(marts_dir).path(job.read_key, "diary")
    tmp = temp_folder(folder, job)
    done = large_files.validate_by_person(
        cached,
        lambda raw: part_frames(raw, job, participants, reference),
        tmp,
        slice_rows,
    )
    part = Part(
        job.source_file,
        job.study_id,
        folder.name,
        str(folder),
        job.read_key,
        large_files.cached_rows(cached),
        done.kept,
        done.quarantined,
        tuple(sorted(done.keyed_days)),
    )
    return finish_part(tmp, folder, part)


def prune_parts(marts_dir: Path, used: set[str]) -> int:
    """Delete part folders no file of this run used (changed or removed files); how many went."""
    root = parts_root(marts_dir)
    if not root.is_dir():
        return 0
    stale = [p for p in root.iterdir() if p.name not in used]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return len(stale)
