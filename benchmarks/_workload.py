"""Benchmark workloads: the real NHANES 2007-2012 items replicated to N rows, in NHANES layout.

Copy k of the 785,780 items gets new participant ids (SEQN + k x 100,000; real SEQNs are below
72,000). Two copies make one batch folder `raw/bench_NNN/` holding `DR1IFF.csv.gz` and `DR2IFF.csv.gz`
(about 0.8 M rows each, original NHANES column names) and `DEMO.csv.gz` for the copies' participants.
The last copy is cut at the row count asked for, so a workload holds exactly N item rows.
"""

import gzip
import json
import math
from pathlib import Path

import polars as pl

SHARED = Path("/work/shared/data/nhanes")
ITEMS_FILE = SHARED / "nhanes_2007_2012_iff_minimal.csv.gz"
DEMO_FILE = SHARED / "nhanes_2007_2012_demo_minimal.csv.gz"
SEQN_STRIDE = 100_000
COPIES_PER_BATCH = 2
DEMO_COLUMNS = ["SEQN", "RIAGENDR", "RIDAGEYR", "SDMVPSU", "SDMVSTRA", "BMXWT"]


def source_items() -> pl.DataFrame:
    """The real items as text, by person (a cut copy then keeps both days of whom it holds)."""
    items = pl.read_csv(ITEMS_FILE, infer_schema=False)
    order = [pl.col(c).cast(pl.Int64) for c in ("SEQN", "day", "source_order")]
    return items.sort(order, maintain_order=True)


def source_demo() -> pl.DataFrame:
    """The real participants (DEMO + body weight) as text."""
    return pl.read_csv(DEMO_FILE, infer_schema=False).select(DEMO_COLUMNS)


def with_new_ids(frame: pl.DataFrame, copy: int) -> pl.DataFrame:
    """A copy of the rows whose SEQN is moved into copy k's id range."""
    seqn = pl.col("SEQN").cast(pl.Int64) + copy * SEQN_STRIDE
    return frame.with_columns(seqn.cast(pl.String).alias("SEQN"))


def iff_layout(items: pl.DataFrame, day: int) -> pl.DataFrame:
    """One day's items with that day's NHANES column names (DR1IFDCD, DR1IGRMS, ...)."""
    p = f"DR{day}"
    return items.filter(pl.col("day") == str(day)).select(
        "SEQN",
        "WTDR2D",
        pl.col("food_code").alias(f"{p}IFDCD"),
        pl.col("grams").alias(f"{p}IGRMS"),
        pl.col("recall_status").alias(f"{p}DRSTZ"),
        pl.col("eating_occasion").alias(f"{p}_030Z"),
    )


def write_csv_gz(frame: pl.DataFrame, path: Path) -> None:
    """Write a gzip CSV (level 1: the benchmark measures reading, not our compression)."""
    with gzip.open(path, "wb", compresslevel=1) as handle:
        frame.write_csv(handle)


def batch_copies(n_rows: int, n_items: int) -> list[list[tuple[int, int]]]:
    """Per batch, its (copy, rows to take) pairs; only the last copy is cut short."""
    n_copies = math.ceil(n_rows / n_items)
    takes = [(k, min(n_items, n_rows - k * n_items)) for k in range(n_copies)]
    return [takes[i : i + COPIES_PER_BATCH] for i in range(0, len(takes), COPIES_PER_BATCH)]


def write_batch(
    folder: Path, copies: list[tuple[int, int]], items: pl.DataFrame, demo: pl.DataFrame
) -> None:
    """One batch folder: both days' IFF files and the DEMO file of its copies."""
    folder.mkdir(parents=True, exist_ok=True)
    chunk = pl.concat([with_new_ids(items.head(take), k) for k, take in copies])
    people = chunk.select("SEQN").unique()
    demo_chunk = pl.concat([with_new_ids(demo, k) for k, _ in copies])
    demo_chunk = demo_chunk.join(people, on="SEQN", how="semi", maintain_order="left")
    for day in (1, 2):
        write_csv_gz(iff_layout(chunk, day), folder / f"DR{day}IFF.csv.gz")
    write_csv_gz(demo_chunk, folder / "DEMO.csv.gz")


def build(n_rows: int, root: Path, first_batch: int = 0) -> Path:
    """`root/raw` holding exactly `n_rows` item rows (built once; reused when already there)."""
    raw = root / "raw"
    done = root / "workload.json"
    if done.exists() and json.loads(done.read_text())["rows"] == n_rows:
        return raw
    items, demo = source_items(), source_demo()
    for i, copies in enumerate(batch_copies(n_rows, items.height)):
        write_batch(raw / f"bench_{first_batch + i:03d}", copies, items, demo)
    done.write_text(json.dumps({"rows": n_rows, "source": str(ITEMS_FILE)}))
    return raw


def add_batch(raw: Path, n_rows: int, copy: int, name: str) -> Path:
    """One more batch of `n_rows` items (copy `copy`'s ids), as new files landing for a rerun."""
    items, demo = source_items(), source_demo()
    folder = raw / name
    write_batch(folder, [(copy, min(n_rows, items.height))], items, demo)
    return folder
