"""Preview: one batch folder or export file -> what a run would keep and quarantine (nothing published).

The batch's parent folder is read as a raw folder with discovery narrowed to the batch
(`batch.batch_files`), through the run's own order (camg.pipeline.run) into a scratch marts folder:
the run's readers and rules see it exactly as under `data/raw/<study_id>/` (same study id, same
`source_file` names), and the batches beside it are not read.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from camg.ingest import asa24, food_record
from camg.ingest.fileread import FileRead
from camg.ops.cache import ReadCache
from camg.ops.config import Settings
from camg.pipeline import run
from schemas.diary import empty_raw_diary

# A rule id's first part names the raw column holding the bad value (`amount.not_positive`).
VALUE_COLUMNS = {
    "amount": "amount",
    "unit": "unit",
    "recall_day": "recall_day",
    "intake_date": "intake_date",
    "person_id": "person_id",
    "food_code": "food_code",
    "food_system": "food_system",
    "item_kind": "item_kind",
}
VALUE_WIDTH = 80  # a whole raw line is cut to this many characters
# What a header needs to be recognised, per format (the signatures in camg/ingest/*.py), for people.
EXPECTED_HEADERS = [
    (
        "NHANES individual foods",
        "SEQN and one day's food code: DR1IFDCD (day 1) or DR2IFDCD (day 2)",
    ),
    ("NHANES demographics", "SEQN, RIAGENDR, RIDAGEYR"),
    ("ASA24 Items", ", ".join(sorted(asa24.ITEMS_SIGNATURE))),
    ("ASA24 Totals", ", ".join(sorted(asa24.TOTALS_SIGNATURE)) + " (and no foodcode)"),
    ("participants", "participant_id, sex, and age_years or age_months"),
    (
        "camg food record",
        "participant_id, amount, and one of " + ", ".join(sorted(food_record.FOOD_COLUMNS)),
    ),
]


@dataclass(frozen=True)
class Preview:
    """What a run would make of the checked files: manifest, quarantine, unmatched foods."""

    manifest: pl.DataFrame
    quarantine: pl.DataFrame  # with `value`: the bad field's text, else the raw line
    unmatched: pl.DataFrame  # one row per file and food code the composition tables lack


def preview_raw(raw_dir: Path, reference_dir: Path, study: str = "") -> Preview:
    """Batch `study` (all when empty) through the run's own order, in a scratch marts folder.

    The same steps as `camg run` (camg.pipeline.run) up to the mart tables, without population
    figures; nothing is published and the scratch folder is removed.
    """
    with tempfile.TemporaryDirectory(prefix="camg-validate-") as scratch:
        settings = Settings(
            raw_dir=raw_dir, marts_dir=Path(scratch), reference_dir=reference_dir, study=study
        )
        made = run.run_tables_of(settings, run.Runner(), population=False)
        quarantine = made.tables["quarantine"].collect()
        raw_diary = cached_diary(made.reads, Path(scratch))
        unmatched = unmatched_foods(made.diary.items().collect())
        manifest = made.tables["file_manifest"]
    return Preview(manifest, with_bad_values(quarantine, raw_diary), unmatched)


def cached_diary(reads: list[FileRead], marts_dir: Path) -> pl.DataFrame:
    """The run's raw diary rows, as the read step left them in the file cache under `marts_dir`."""
    cache = ReadCache(marts_dir)
    paths = [cache.path(r.cache_key, "diary") for r in reads if r.cache_key and r.n_diary]
    frames = [pl.read_parquet(p) for p in paths if p.exists()]
    return pl.concat(frames, how="diagonal_relaxed") if frames else empty_raw_diary()


def unmatched_foods(items: pl.DataFrame) -> pl.DataFrame:
    """Food codes the composition tables lack, per file: kept with null Ca and Mg in a run."""
    return (
        items.filter(~pl.col("is_matched") & (pl.col("item_kind") == "food"))
        .group_by("source_file", "food_system", "food_code")
        .agg(
            pl.len().alias("n_items"),
            pl.col("source_line").min().alias("first_line"),
            pl.col("food_description").drop_nulls().first().alias("food_description"),
        )
        .sort("source_file", "n_items", "food_code", descending=[False, True, False])
    )


def with_bad_values(quarantine: pl.DataFrame, raw_diary: pl.DataFrame) -> pl.DataFrame:
    """The quarantine rows with `value`: the text of the field their rule names, else the raw line.

    Untrusted text: it is shown (rich escapes nothing it prints as a table cell), never evaluated.
    """
    fields = raw_diary.select(
        "source_file",
        "source_line",
        *[c for c in set(VALUE_COLUMNS.values()) if c in raw_diary.columns],
    ).unique(["source_file", "source_line"], keep="first")
    prefix = pl.col("rule_id").str.split(".").list.first()
    picked = pl.lit(None, dtype=pl.String)
    for rule_prefix, column in VALUE_COLUMNS.items():
        if column in fields.columns:
            quoted = pl.concat_str(pl.lit("'"), pl.col(column), pl.lit("'")).fill_null("(empty)")
            picked = pl.when(prefix == rule_prefix).then(quoted).otherwise(picked)
    line = pl.col("raw").str.slice(0, VALUE_WIDTH)
    diary_rows = quarantine.filter(pl.col("record_kind") == "diary")
    joined = diary_rows.join(fields, on=["source_file", "source_line"], how="left")
    valued = joined.with_columns(pl.coalesce(picked, line).alias("value")).select(
        *quarantine.columns, "value"
    )
    others = quarantine.filter(pl.col("record_kind") != "diary").with_columns(line.alias("value"))
    return pl.concat([valued, others]).sort("source_file", "source_line")


def preview(path: Path, reference_dir: Path) -> Preview:
    """Check a batch folder, or one file with the rest of its folder (its participants file)."""
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    batch_dir = (path if path.is_dir() else path.parent).resolve()
    result = preview_raw(batch_dir.parent, reference_dir, batch_dir.name)
    if path.is_dir():
        return result
    source_file = f"{batch_dir.name}/{path.name}"
    return Preview(
        result.manifest.filter(pl.col("source_file") == source_file),
        result.quarantine.filter(pl.col("source_file") == source_file),
        result.unmatched.filter(pl.col("source_file") == source_file),
    )


def quarantine_summary(quarantine: pl.DataFrame) -> pl.DataFrame:
    """Quarantined rows per file and rule, with the first line and its message."""
    return (
        quarantine.sort("source_file", "source_line")
        .group_by("source_file", "rule_id", maintain_order=True)
        .agg(
            pl.len().alias("n_rows"),
            pl.col("source_line").first().alias("first_line"),
            pl.col("message").first(),
        )
        .sort("n_rows", "source_file", descending=[True, False])
    )


def expected_headers() -> pl.DataFrame:
    """The columns each recognised export needs in its header (names are case-insensitive)."""
    return pl.DataFrame(EXPECTED_HEADERS, schema=["export", "header needs"], orient="row")


def bad_lines(quarantine: pl.DataFrame, limit: int) -> pl.DataFrame:
    """Every quarantined line, up to `limit` per file and rule, with its bad value."""
    return (
        quarantine.sort("source_file", "rule_id", "source_line")
        .group_by("source_file", "rule_id", maintain_order=True)
        .head(limit)
        .select("source_file", "rule_id", pl.col("source_line").alias("line"), "value")
    )
