"""Assemble stage: per-file parts -> the run's diary (cross-file repeats, person-days), out of core.

Per-file parts (`camg.pipeline.diary_files`) are combined without loading every item: repeats across files are
found in DuckDB over the parts of files that could hold them (same study and keyed recall days),
their later copies quarantined as row.duplicate and the files concerned re-summed; person-days
are the files' day sums added up (O(person-days)); items and quarantine stay Parquet files that
publish streams into the run's database (`ParquetTable`).
"""

import hashlib
import itertools
import shutil
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from camg.assess import intakes
from camg.ops.cache import ReadCache
from camg.ops.engine import bounded_connection
from camg.ops.queries import query
from camg.pipeline import large_files
from camg.pipeline.diary_files import (
    Part,
    finish_part,
    load_part,
    parts_root,
    prune_parts,
    temp_folder,
)
from camg.publish.parquet_table import ParquetTable
from schemas import empty_frame
from schemas.diary import IntakeItem
from schemas.intake import PersonDay

LOST_SCHEMA = pl.DataFrame(
    schema={"study_id": pl.String, "person_id": pl.String, "recall_day": pl.Int64}
)
DAY_SUMS = [
    "calcium_food_mg",
    "calcium_supplement_mg",
    "magnesium_food_mg",
    "magnesium_supplement_mg",
    "n_items",
    "n_unmatched_items",
    "n_supplement_items",
]


@dataclass(frozen=True)
class Diary:
    """The run's assembled diary: parts after cross-file repeats, and the person-days that lost items.

    Person-days are summed per study on demand (`days_of`), so a run never has to hold them all.
    """

    parts: list[Part]
    lost: pl.DataFrame
    # Files whose validation raised (pipeline.failed_files): quarantine only, no items or days.
    failed: list[Part] = field(default_factory=list)

    @property
    def study_ids(self) -> list[str]:
        """The studies that have diary parts, sorted."""
        return sorted({p.study_id for p in self.parts})

    def failures(self) -> pl.DataFrame:
        """Files whose validation raised: their error and the records they hold."""
        return pl.DataFrame(
            [(p.source_file, p.error, p.rows_in) for p in self.failed],
            schema={"source_file": pl.String, "error": pl.String, "rows_in": pl.Int64},
            orient="row",
        )

    def days_of(self, study_id: str) -> pl.DataFrame:
        """One study's person-day intakes."""
        return combined_days([p for p in self.parts if p.study_id == study_id])

    @cached_property
    def days(self) -> pl.DataFrame:
        """Every study's person-day intakes in one frame (tests and small runs)."""
        return combined_days(self.parts)

    def item_frame(
        self, columns: list[str] | None, study_ids: set[str] | None = None
    ) -> pl.DataFrame:
        """Items in memory: some columns of the parts of some studies (all when None)."""
        paths = [
            p.path("items") for p in self.parts if study_ids is None or p.study_id in study_ids
        ]
        empty = empty_frame(IntakeItem)
        if not paths:
            return empty.select(columns) if columns else empty
        return pl.read_parquet(paths, columns=columns)

    def imputed_counts(self) -> pl.DataFrame:
        """Per diary file: food items whose values were imputed (camg.imputation) and their grams.

        Read from the parts' item files, two columns at a time (never the items in memory).
        """
        schema = {
            "source_file": pl.String,
            "n_imputed_items": pl.Int64,
            "imputed_grams": pl.Float64,
        }
        paths = [str(p.path("items")) for p in self.parts]
        if not paths:
            return pl.DataFrame(schema=schema)
        imputed = pl.col("is_imputed") & (pl.col("item_kind") == "food")
        return (
            pl.scan_parquet(paths)
            .group_by("source_file")
            .agg(
                imputed.sum().cast(pl.Int64).alias("n_imputed_items"),
                pl.col("grams").filter(imputed).sum().cast(pl.Float64).alias("imputed_grams"),
            )
            .collect(engine="streaming")  # every part's items: never in memory at once
            .sort("source_file")
        )

    def items(self) -> ParquetTable:
        """intake_item: every file's items, files in order, each ordered by person and day."""
        paths = [str(p.path("items")) for p in self.parts]
        return ParquetTable(paths, self.rows_kept, None if paths else empty_frame(IntakeItem))

    def quarantine(self, others: pl.DataFrame) -> ParquetTable:
        """quarantine: every file's quarantined diary rows and `others`, by file and line."""
        with_rows = [p for p in [*self.parts, *self.failed] if p.rows_quarantined]
        paths = [str(p.path("quarantine")) for p in with_rows]
        height = sum(p.rows_quarantined for p in with_rows) + others.height
        extra = others if others.height or not paths else None
        return ParquetTable(paths, height, extra, ["source_file", "source_line"])

    @property
    def rows_kept(self) -> int:
        """Items kept over all files."""
        return sum(p.rows_kept for p in self.parts)

    def counts(self) -> pl.DataFrame:
        """Kept and quarantined rows per diary file."""
        return pl.DataFrame(
            [(p.source_file, p.rows_kept, p.rows_quarantined) for p in [*self.parts, *self.failed]],
            schema={"source_file": pl.String, "rows_kept": pl.Int64, "rows_quarantined": pl.Int64},
            orient="row",
        )


def overlapping(parts: list[Part]) -> list[Part]:
    """Parts that share a study and a keyed recall day with another part (candidates for repeats)."""
    found: dict[str, Part] = {}
    for a, b in itertools.combinations(parts, 2):
        if a.study_id == b.study_id and set(a.keyed_days) & set(b.keyed_days):
            found[a.source_file], found[b.source_file] = a, b
    return sorted(found.values(), key=lambda p: p.source_file)


def cross_file_duplicates(parts: list[Part], marts_dir: Path) -> pl.DataFrame:
    """(source_file, source_line) of every kept item that repeats one of an earlier file."""
    candidates = overlapping(parts)
    if not candidates:
        return pl.DataFrame(schema={"source_file": pl.String, "source_line": pl.Int64})
    with bounded_connection(marts_dir) as con:
        paths = [str(p.path("items")) for p in candidates]
        return con.sql(query("cross_file_duplicates"), params={"paths": paths}).pl()


def without_repeats(part: Part, repeats: pl.DataFrame, marts_dir: Path) -> Part:
    """A new part for a file that lost items to cross-file repeats (content-addressed too).

    Its items are streamed in slices (`camg.pipeline.large_files`): memory stays bounded however big the file.
    """
    lines = repeats["source_line"].sort()
    digest = hashlib.sha256(lines.cast(pl.String).str.join(",").item().encode()).hexdigest()[:16]
    folder = parts_root(marts_dir) / f"{part.key}-without-{digest}"
    if (reused := load_part(folder)) is not None:  # its own counts, not the original part's
        return reused
    tmp = temp_folder(folder, part)
    items = pq.ParquetFile(part.path("items"))
    empty = pl.DataFrame(schema=pl.read_parquet_schema(part.path("items")))
    batches = large_files.arrow_frames(items.iter_batches(large_files.SLICE_ROWS))
    merged = large_files.write_items(batches, tmp, empty, drop=lines)
    raw = ReadCache(marts_dir).path(part.read_key, "diary")
    quarantined = large_files.merge_quarantine(raw, tmp, [part.path("quarantine")], lines.to_list())
    shutil.copyfile(part.path("lost"), tmp / "lost.parquet")
    new = replace(
        part,
        key=folder.name,
        folder=str(folder),
        rows_kept=merged.kept,
        rows_quarantined=quarantined,
    )
    return finish_part(tmp, folder, new)


def combined_days(parts: list[Part]) -> pl.DataFrame:
    """Person-day intakes: the files' day sums added up (a day may span files)."""
    frames = [
        pl.read_parquet(p.path("days"), columns=["study_id", "person_id", "recall_day", *DAY_SUMS])
        for p in parts
    ]
    if not frames:
        return intakes.person_days(
            pl.DataFrame(
                schema=dict.fromkeys(["study_id", "person_id"], pl.String)
                | {
                    "recall_day": pl.Int64,
                    "item_kind": pl.String,
                    "calcium_mg": pl.Float64,
                    "magnesium_mg": pl.Float64,
                    "is_matched": pl.Boolean,
                }
            )
        )
    sums = (
        pl.concat(frames)
        .group_by("study_id", "person_id", "recall_day", maintain_order=True)
        .agg(pl.col(DAY_SUMS).sum())
    )
    days = sums.with_columns(
        (pl.col("calcium_food_mg") + pl.col("calcium_supplement_mg")).alias("calcium_mg"),
        (pl.col("magnesium_food_mg") + pl.col("magnesium_supplement_mg")).alias("magnesium_mg"),
        (pl.col("n_unmatched_items") == 0).alias("is_complete"),
    )
    order = list(PersonDay.to_schema().columns)
    return PersonDay.validate(days.select(order).sort("study_id", "person_id", "recall_day"))


def assemble_diary(parts: list[Part], marts_dir: Path) -> Diary:
    """The run's diary from its files' parts (in file order); failed files' parts kept apart."""
    failed = sorted((p for p in parts if p.error is not None), key=lambda p: p.source_file)
    parts = sorted((p for p in parts if p.error is None), key=lambda p: p.source_file)
    repeats = cross_file_duplicates(parts, marts_dir)
    by_file = {f: g for (f,), g in repeats.group_by("source_file")} if repeats.height else {}
    parts = [
        without_repeats(p, by_file[p.source_file], marts_dir) if p.source_file in by_file else p
        for p in parts
    ]
    lost = [pl.read_parquet(p.path("lost")) for p in parts]
    lost_days = pl.concat([LOST_SCHEMA, *lost]).unique().sort("study_id", "person_id", "recall_day")
    return Diary(parts, lost_days, failed)


def prune_unused_parts(marts_dir: Path, diary: Diary) -> int:
    """Delete the parts this run's diary does not use (and their originals' stale versions)."""
    used = {p.key for p in [*diary.parts, *diary.failed]}
    used |= {p.key.split("-without-")[0] for p in diary.parts}
    return prune_parts(marts_dir, used)
