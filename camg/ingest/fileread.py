"""What reading one raw file gave: its manifest entry and its raw rows (or their count in the cache)."""

from dataclasses import dataclass, field

import polars as pl

from camg.ingest import sidecar
from schemas.diary import empty_raw_diary, empty_raw_totals
from schemas.participants import empty_raw_participants


@dataclass
class FileRead:
    """What reading one file gave: its manifest entry and its raw rows."""

    source_file: str
    study_id: str
    sha256: str | None  # None: not read (see `error`)
    size_bytes: int
    format: str | None = None
    status: str = "read"  # read, empty, failed, ignored, config
    error: str | None = None
    encoding: str | None = None
    read_from: str | None = None  # parsed, cache (None: not a data file)
    cache_key: str | None = None
    diary: pl.DataFrame = field(default_factory=empty_raw_diary)
    participants: pl.DataFrame = field(default_factory=empty_raw_participants)
    totals: pl.DataFrame = field(default_factory=empty_raw_totals)
    # Set when the diary (participant) rows stay in the cache (a run's first pass): their count.
    diary_rows: int | None = None
    participant_rows: int | None = None
    weights: pl.DataFrame = field(default_factory=lambda: sidecar.dietary_weights(pl.DataFrame()))
    dates: pl.DataFrame = field(default_factory=lambda: sidecar.intake_dates(pl.DataFrame()))
    streamed: bool = False  # the diary rows went straight into the cache entry
    reader: str | None = None  # who cut the records when parsed: engine (polars) or python

    @property
    def n_diary(self) -> int:
        """Diary rows the file holds, whether in memory or left in the cache."""
        return self.diary.height if self.diary_rows is None else self.diary_rows

    @property
    def rows_in(self) -> int:
        """Records read from the file (diary, participant or recall-total rows)."""
        return self.n_diary + self.n_participants + self.totals.height

    @property
    def n_participants(self) -> int:
        """Participant rows the file holds, whether in memory or left in the cache."""
        return self.participants.height if self.participant_rows is None else self.participant_rows
