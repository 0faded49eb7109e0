"""A mart table that stays on disk until publish streams it into the run's database."""

from dataclasses import dataclass, field

import polars as pl


@dataclass(frozen=True)
class ParquetTable:
    """A mart table that stays on disk: Parquet files (+ a small frame), streamed in by publish."""

    paths: list[str]
    height: int
    frame: pl.DataFrame | None = None  # extra rows (e.g. participant quarantine), same columns
    order_by: list[str] = field(default_factory=list)

    def collect(self, columns: list[str] | None = None) -> pl.DataFrame:
        """The rows in memory (tests and small tables only)."""
        frames = [pl.read_parquet(p, columns=columns) for p in self.paths]
        if self.frame is not None:
            frames.append(self.frame.select(columns) if columns else self.frame)
        out = pl.concat(frames, how="vertical_relaxed")
        return out.sort(self.order_by, maintain_order=True) if self.order_by else out
