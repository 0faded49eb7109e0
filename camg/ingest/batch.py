"""Ingest stage entry: a raw folder of batches -> raw diary rows, raw participants, file manifest.

A batch is `raw/<study_id>/`; every file in it is read on its own, its format recognised from its
content. A file that cannot be read is recorded in the manifest with its error and the rest go on.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from camg.ingest import nhanes
from camg.ingest.delimited import UnreadableFileError, parse_delimited, read_bytes
from schemas.diary import RawDiaryRow, empty_raw_diary
from schemas.participants import RawParticipant, empty_raw_participants

# Files in a batch folder that are documentation or configuration, not data.
NOT_DATA_SUFFIXES = {".md", ".txt", ".toml", ".json", ".yaml", ".yml", ".pdf"}

Reader = Callable[[pl.DataFrame, list[str], str, str], pl.DataFrame]


@dataclass(frozen=True)
class Format:
    """An export format: how to recognise it from its header and which rows it yields."""

    name: str
    recognise: Callable[[list[str]], bool]
    read: Reader
    yields: str  # "diary" or "participants"


FORMATS: list[Format] = [
    Format("nhanes_iff", nhanes.is_iff, nhanes.read_iff, "diary"),
    Format("nhanes_demo", nhanes.is_demo, nhanes.read_demo, "participants"),
]


@dataclass
class FileRead:
    """What reading one file gave: its manifest entry and its raw rows."""

    source_file: str
    study_id: str
    sha256: str
    size_bytes: int
    format: str | None = None
    status: str = "read"
    error: str | None = None
    encoding: str | None = None
    diary: pl.DataFrame = field(default_factory=empty_raw_diary)
    participants: pl.DataFrame = field(default_factory=empty_raw_participants)

    @property
    def rows_in(self) -> int:
        """Records read from the file (diary or participant rows)."""
        return self.diary.height + self.participants.height


def sha256_of(path: Path) -> str:
    """The file's sha256, streamed so a large export is not held twice."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def discover(raw_dir: Path) -> list[tuple[str, Path]]:
    """(study_id, path) for every data file under raw/<study_id>/, sorted for a stable order."""
    found = []
    for batch in sorted(p for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(batch.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                found.append((batch.name, path))
    return found


def recognise(header: list[str]) -> Format | None:
    """The first format whose signature the header matches."""
    return next((f for f in FORMATS if f.recognise(header)), None)


def read_file(path: Path, raw_dir: Path, study_id: str) -> FileRead:
    """Read one export file; never raises for bad content (the manifest says what went wrong)."""
    source_file = path.relative_to(raw_dir).as_posix()
    result = FileRead(source_file, study_id, sha256_of(path), path.stat().st_size)
    if path.suffix.lower() in NOT_DATA_SUFFIXES:
        result.status = "ignored"
        return result
    try:
        text = parse_delimited(read_bytes(path))
    except (UnreadableFileError, OSError, UnicodeError) as exc:
        result.status, result.error = "failed", str(exc)
        return result
    result.encoding = text.encoding
    fmt = recognise(text.header)
    if fmt is None:
        result.status = "failed"
        result.error = "unrecognised format: header matches no known export"
        return result
    result.format = fmt.name
    rows = fmt.read(text.rows, text.header, source_file, study_id)
    if fmt.yields == "diary":
        result.diary = RawDiaryRow.validate(rows)
    else:
        result.participants = RawParticipant.validate(rows)
    return result


def read_raw(raw_dir: Path) -> list[FileRead]:
    """Read every file of every batch under `raw_dir`."""
    return [read_file(path, raw_dir, study_id) for study_id, path in discover(raw_dir)]


def combined_diary(reads: list[FileRead]) -> pl.DataFrame:
    """All files' raw diary rows in one frame (readers may carry different extra columns)."""
    frames = [r.diary for r in reads if r.diary.height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else empty_raw_diary()


def combined_participants(reads: list[FileRead]) -> pl.DataFrame:
    """All files' raw participant rows in one frame."""
    frames = [r.participants for r in reads if r.participants.height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else empty_raw_participants()
