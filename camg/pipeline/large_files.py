"""Bounded per-file validation: a big file's cached raw rows validated a range of persons at a time.

Peak memory follows the slice size, not the file size. The file's rows are cut into slices of
whole persons, about SLICE_ROWS rows each, in person order (`person_ranges`; a file's rows are all
of its batch's study). Each slice is validated, enriched and summed on its own
(`camg.pipeline.diary_files.part_frames`), exactly as if the file were checked whole, because
everything that spans rows stays within a person: an item repeating an earlier one of the same
person and day (row.duplicate, the first by source line wins), and each person-day's sum over its
items in item order (identical floats). Each slice's items come out in item order (study, person,
day, file, line) and every slice's persons sort after the previous slice's, so the slices' items,
days and quarantine are appended to the part's files as they come: nothing is read back or merged.

The whole-day helpers below (`whole_days`, `write_items`, `merge_quarantine`) serve a file that
loses items to another file's repeats (`camg.pipeline.run_diary.without_repeats`).
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from camg.assess import intakes
from camg.ingest.cells import text
from camg.ops.cache import ParquetStream
from camg.validate.diary_rows import DAY_KEY, DUPLICATE_MESSAGE, DUPLICATE_RULE
from camg.validate.rules import quarantine_rows
from schemas.diary import IntakeItem

# Raw rows validated at once (about 2 KB each while validating): the knob for peak memory.
# At 10 M rows (benchmarks/scale.py) 100k held ~250 MB less than 200k, for ~10% more run CPU time.
SLICE_ROWS = 100_000
# The part's files a slice appends to (`lost` is small: it is gathered and written once).
SLICE_KINDS = ("items", "days", "quarantine")
# Intake-item columns written with a dictionary: the text ones but item_key (one value a row). A
# dictionary tried on every column (pyarrow's default) then dropped for the numbers and item_key
# cost a third of writing the items: 0.52 -> 0.36 s CPU per 540k items, for 12% more bytes.
ITEM_DICTIONARY = [
    name
    for name, column in IntakeItem.to_schema().columns.items()
    if column.dtype.type == pl.String and name != "item_key"
]
Frames = Callable[[pl.DataFrame], dict[str, pl.DataFrame]]


def cached_rows(path: Path) -> int:
    """How many rows a cached Parquet file holds (from its footer, without reading rows)."""
    return pq.ParquetFile(path).metadata.num_rows


@dataclass(frozen=True)
class PersonSlice:
    """One slice of a file's rows: the rows `wanted` picks, found at `runs` (start, length) if few.

    A file written in person order (an NHANES export) holds each slice's rows in one or a few runs
    of rows, read as such: only those rows are decoded, and no filter is evaluated over the whole
    file once per slice (2.1 M rows in 22 slices: 2.7 -> 0.7 s CPU). A slice scattered over more
    than MAX_RUNS runs is read through the filter instead.
    """

    wanted: pl.Expr
    runs: tuple[tuple[int, int], ...] | None

    def read(self, scan: pl.LazyFrame) -> pl.DataFrame:
        """The slice's rows of `scan` (the file), in file order."""
        if self.runs is None:
            return scan.filter(self.wanted).collect(engine="streaming")
        runs = [scan.slice(start, length) for start, length in self.runs]
        return pl.concat(runs).collect(engine="streaming")  # in memory: ~4x the CPU and RSS


# More runs than this in one slice: its rows are scattered, a filter reads them.
MAX_RUNS = 64


def person_ranges(raw: Path, slice_rows: int) -> list[PersonSlice]:
    """Slices of `raw`'s rows, each of whole persons, in person order.

    A slice holds the persons (as validation reads them: trimmed, empty as none) whose rows before
    them since the slice began number fewer than `slice_rows`, so a slice is at most one person
    larger than that. Rows without a person go with the first slice (they are quarantined).
    """
    person = text("person_id")
    people = pl.scan_parquet(raw).select(person.alias("person")).collect(engine="streaming")
    people = people["person"]
    counts = people.drop_nulls().value_counts(name="rows").sort("person")
    before = counts["rows"].cum_sum() - counts["rows"]
    starts = counts.filter((before // slice_rows).is_first_distinct())["person"][1:]
    if starts.len() == 0:
        return [PersonSlice(pl.lit(True), ((0, people.len()),))]
    first, bounds = pl.lit(starts[0]), [pl.lit(s) for s in starts]  # values, not column names
    ranges = [person.is_null() | (person < first)]
    for low, high in zip(bounds, [*bounds[1:], None], strict=True):
        ranges.append(person >= low if high is None else person.is_between(low, high, "left"))
    # Each row's slice: how many slice starts its person is at or after (no person: none).
    runs = slice_runs(starts.search_sorted(people.fill_null(""), side="right"))
    return [PersonSlice(wanted, runs.get(i)) for i, wanted in enumerate(ranges)]


def slice_runs(slice_of_row: pl.Series) -> dict[int, tuple[tuple[int, int], ...]]:
    """Per slice number, its runs of consecutive rows (start, length); none past MAX_RUNS."""
    runs = slice_of_row.rle().struct.unnest()
    runs = runs.with_columns((pl.col("len").cum_sum() - pl.col("len")).alias("start"))
    grouped = runs.group_by("value").agg("start", "len", pl.len().alias("n"))
    return {
        value: tuple(zip(starts, lengths, strict=True))
        for value, starts, lengths, n in grouped.iter_rows()
        if n <= MAX_RUNS
    }


@dataclass
class Sliced:
    """What validating a file's slices wrote: kept and quarantined rows, keyed recall days."""

    kept: int = 0
    quarantined: int = 0
    keyed_days: set[int] = field(default_factory=set)


def validate_by_person(raw: Path, frames_of: Frames, tmp: Path, slice_rows: int) -> Sliced:
    """Validate `raw` a person range at a time into tmp/items, days, quarantine and lost.parquet."""
    scan, done, lost = pl.scan_parquet(raw), Sliced(), []
    dictionary = {"items": ITEM_DICTIONARY}
    streams = {k: ParquetStream(tmp / f"{k}.parquet", dictionary.get(k)) for k in SLICE_KINDS}
    try:
        for piece in person_ranges(raw, slice_rows):
            frames = frames_of(piece.read(scan))
            for kind in SLICE_KINDS:
                streams[kind].write(frames[kind])
            lost.append(frames["lost"])
            items = frames["items"]
            done.kept += items.height
            done.quarantined += frames["quarantine"].height
            keyed = items.filter(pl.col("item_key").is_not_null())["recall_day"].unique()
            done.keyed_days.update(keyed.to_list())
    except BaseException:
        for stream in streams.values():
            stream.close(keep=False)
        raise
    for stream in streams.values():
        stream.close(keep=True)
    pl.concat(lost).unique().sort(DAY_KEY).write_parquet(tmp / "lost.parquet")
    return done


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
