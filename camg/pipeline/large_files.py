"""Bounded per-file validation: a big file's cached raw rows validated in row slices, then merged.

Peak memory follows the slice size, not the file size. Each slice of SLICE_ROWS raw rows is
validated and enriched on its own (`camg.pipeline.diary_files.part_frames`); its items and quarantine go to
Parquet. The slices' items are then read back in item order (study, person, day, file, line;
in turn when the file is sorted by person, else a range of persons at a time) in complete
person-days, so that, as if the file were checked whole:
- an item repeating a kept item of an earlier slice (same person, day and item key; the first by
  source line wins) is quarantined as row.duplicate;
- each person-day is summed over all its items in the same order (identical floats).
One gap: a row that passes the rules but fails the pandera backstop still shadows its later repeats
when the file is checked whole, but not across slices (the backstop is not meant to fire).
"""

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from camg.assess import intakes
from camg.enrich.composition import ITEM_ORDER
from camg.validate.diary_rows import DAY_KEY, DUPLICATE_MESSAGE, DUPLICATE_RULE
from camg.validate.rules import quarantine_rows

# Raw rows validated at once (about 2 KB each while validating): the knob for peak memory.
# At 10 M rows (benchmarks/scale.py) 100k held ~250 MB less than 200k, for ~10% more run CPU time.
SLICE_ROWS = 100_000
# Rows per row group of a slice's items: small, so a range of persons reads few beyond its own.
SLICE_ROW_GROUP = 10_000
Frames = Callable[[pl.DataFrame], dict[str, pl.DataFrame]]


def cached_rows(path: Path) -> int:
    """How many rows a cached Parquet file holds (from its footer, without reading rows)."""
    return pq.ParquetFile(path).metadata.num_rows


def validate_slices(raw: Path, frames_of: Frames, tmp: Path, slice_rows: int) -> pl.DataFrame:
    """Validate `raw` slice by slice into tmp/items-i and tmp/quarantine-i; the lost person-days."""
    scan, lost = pl.scan_parquet(raw), []
    for i, start in enumerate(range(0, cached_rows(raw), slice_rows)):
        frames = frames_of(scan.slice(start, slice_rows).collect())
        frames["items"].write_parquet(tmp / f"items-{i}.parquet", row_group_size=SLICE_ROW_GROUP)
        frames["quarantine"].write_parquet(tmp / f"quarantine-{i}.parquet")
        lost.append(frames["lost"])
    return pl.concat(lost).unique().sort(DAY_KEY)


def whole_days(batches: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """Frames of complete person-days from frames in item order (a day split by a frame waits)."""
    carry: pl.DataFrame | None = None
    for batch in batches:
        chunk = batch if carry is None else pl.concat([carry, batch])
        if chunk.height == 0:
            continue
        day = chunk.select(DAY_KEY).row(-1)
        last = pl.all_horizontal(pl.col(c) == v for c, v in zip(DAY_KEY, day, strict=True))
        tail = chunk.select(last.alias("_tail"))["_tail"]
        carry = chunk.filter(tail)
        if (done := chunk.filter(~tail)).height:
            yield done
    if carry is not None and carry.height:
        yield carry


def repeats(items: pl.DataFrame) -> pl.Series:
    """Source lines of items repeating an earlier item of the same day (items in item order)."""
    key = pl.struct(*DAY_KEY, "item_key")
    repeat = pl.col("item_key").is_not_null() & ~key.is_first_distinct()
    return items.filter(repeat)["source_line"]


@dataclass
class Merged:
    """What merging a file's slices wrote: kept and repeated rows, and keyed recall days."""

    kept: int = 0
    repeated: list[int] = field(default_factory=list)
    keyed_days: set[int] = field(default_factory=set)


def in_item_order(paths: list[Path]) -> bool:
    """True when each slice's items all come after the previous slice's (a file sorted by person)."""
    last = None
    for path in paths:
        ends = pl.scan_parquet(path).select(ITEM_ORDER)
        first = ends.head(1).collect().rows()
        if not first:
            continue
        if last is not None and not last < first[0]:
            return False
        last = ends.tail(1).collect().row(0)
    return True


def merge_items(tmp: Path, n_slices: int) -> Merged:
    """The slices' items in item order, less repeats, into items.parquet; their days.parquet.

    Slices already in item order are read one after the other; others a range of persons at a time.
    """
    paths = [tmp / f"items-{i}.parquet" for i in range(n_slices)]
    empty = pl.DataFrame(schema=pl.read_parquet_schema(paths[0]))
    if in_item_order(paths):
        # polars reads each slice: pyarrow's batch reader held 340 MB more per file, not 62 (10 M rows).
        return write_items((pl.read_parquet(path) for path in paths), tmp, empty)
    return write_items(by_person_range(paths, n_slices), tmp, empty)


def by_person_range(paths: list[Path], n_ranges: int) -> Iterator[pl.DataFrame]:
    """The slices' items in item order, `n_ranges` ranges of (study, person) in turn, each sorted.

    A range holds about a slice's rows, and each slice is in item order in row groups of
    SLICE_ROW_GROUP rows, so a range reads little more than its own rows (the row groups' person
    bounds skip the rest). Sorting the whole file in DuckDB held ~230 MB more at 50 M rows.
    """
    scan = pl.scan_parquet(paths)
    keys = scan.select("study_id", "person_id").unique().sort(pl.all()).collect()
    for (study_id,), persons in keys.group_by("study_id", maintain_order=True):
        ids = persons["person_id"]
        cuts = sorted({ids[len(ids) * k // n_ranges] for k in range(1, n_ranges)})
        bounds = [None, *cuts, None]
        for low, high in itertools.pairwise(bounds):
            wanted = pl.col("study_id") == study_id
            if low is not None:
                wanted &= pl.col("person_id") >= low
            if high is not None:
                wanted &= pl.col("person_id") < high
            if (rows := scan.filter(wanted).collect()).height:
                yield rows.sort(ITEM_ORDER)


def arrow_frames(batches: Iterable[pa.RecordBatch]) -> Iterator[pl.DataFrame]:
    """Arrow record batches as polars frames, one at a time."""
    for batch in batches:
        yield pl.from_arrow(batch)


def write_items(
    batches: Iterable[pl.DataFrame],
    tmp: Path,
    empty: pl.DataFrame,
    drop: pl.Series | None = None,
) -> Merged:
    """Items in item order, less repeats and `drop` lines, into tmp/items.parquet and days.parquet.

    Each person-day is summed whole and in item order: the same floats as `assess.person_days` of
    all the items at once. `empty` gives the columns when no item is kept.
    """
    merged, writers = Merged(), {}
    for day_rows in whole_days(batches):
        if drop is not None:
            day_rows = day_rows.filter(~pl.col("source_line").is_in(drop.implode()))
        lines = repeats(day_rows)
        kept = day_rows.filter(~pl.col("source_line").is_in(lines.implode()))
        for kind, frame in (("items", kept), ("days", intakes.person_days(kept))):
            table = frame.to_arrow()
            writer = writers.get(kind) or pq.ParquetWriter(tmp / f"{kind}.parquet", table.schema)
            writers[kind] = writer
            writer.write_table(table)
        merged.kept += kept.height
        merged.repeated += lines.to_list()
        keyed = kept.filter(pl.col("item_key").is_not_null())["recall_day"].unique()
        merged.keyed_days.update(keyed.to_list())
    for writer in writers.values():
        writer.close()
    if not writers:  # every row quarantined: empty items and days with their columns
        empty.write_parquet(tmp / "items.parquet")
        intakes.person_days(empty).write_parquet(tmp / "days.parquet")
    return merged


def merge_quarantine(raw: Path, tmp: Path, quarantines: list[Path], repeated: list[int]) -> int:
    """`quarantines` and the `repeated` lines of `raw` into tmp/quarantine.parquet; its row count."""
    dup = (
        pl.scan_parquet(raw)
        .filter(pl.col("source_line").is_in(repeated))
        .with_columns(
            pl.lit(DUPLICATE_RULE).alias("rule_id"), pl.lit(DUPLICATE_MESSAGE).alias("message")
        )
        .collect()
    )
    dup_path = tmp / "quarantine-dup.parquet"
    quarantine_rows(dup, "diary").write_parquet(dup_path)
    pl.scan_parquet([*quarantines, dup_path]).sink_parquet(tmp / "quarantine.parquet")
    dup_path.unlink()
    return cached_rows(tmp / "quarantine.parquet")
