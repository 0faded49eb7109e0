"""Ingest + validate throughput on the real NHANES 2015-2016 items replicated to 1 M and 10 M rows.

    python benchmarks/ingest_throughput.py                 # 1 M and 10 M rows
    python benchmarks/ingest_throughput.py --rows 200000   # any sizes

Copy k of the 33,190 real items (DR1IFF_I + DR2IFF_I, data/raw/nhanes_2015_2016) gets new participant
ids (SEQN + k x 100,000); copies are grouped into files of about 1 M rows (`DR1IFF_<g>.csv`,
`DR2IFF_<g>.csv`, plain CSV, NHANES column names) with a DEMO file for their participants, in a temp
dir. Each size runs in a fresh process so its peak RSS (VmHWM) is its own. Steps timed:

- parse: `read_raw` (sha256, decode, split, NHANES reader, raw schema check), cache written;
- validate: `validate_participants` + `validate_diary` (named rules, pandera, quarantine);
- cached re-read: `read_raw` again, every file reused from the parquet cache (no parsing).

Prints one line per size: rows, seconds and rows/s per step, peak RSS.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
NHANES = REPO / "data" / "raw" / "nhanes_2015_2016"
SEQN_STRIDE = 100_000
ROWS_PER_FILE = 1_000_000


def real_items() -> dict[int, pl.DataFrame]:
    """Day-1 and day-2 items as text, as NHANES ships them."""
    return {day: pl.read_csv(NHANES / f"DR{day}IFF_I.csv", infer_schema=False) for day in (1, 2)}


def copy_of(frame: pl.DataFrame, k: int) -> pl.DataFrame:
    """The frame with participant ids moved to copy k's range."""
    return frame.with_columns(
        (pl.col("SEQN").cast(pl.Int64) + k * SEQN_STRIDE).cast(pl.String).alias("SEQN")
    )


def write_workload(raw: Path, n_rows: int) -> None:
    """Files holding exactly n_rows items (the last copy cut), plus DEMO for their persons."""
    items = real_items()
    per_copy = items[1].height + items[2].height
    copies_per_file = max(1, ROWS_PER_FILE // per_copy)
    demo_src = pl.read_csv(NHANES / "DEMO_I.csv", infer_schema=False)
    demo_src = demo_src.filter(pl.col("SEQN").is_in(items[1]["SEQN"].unique().to_list()))
    batch = raw / "bench"
    batch.mkdir(parents=True)
    left, k, group = n_rows, 0, 0
    demos = []
    while left > 0:
        parts: dict[int, list[pl.DataFrame]] = {1: [], 2: []}
        for _ in range(copies_per_file):
            for day in (1, 2):
                part = copy_of(items[day], k).head(left)
                left -= part.height
                parts[day].append(part)
            demos.append(copy_of(demo_src, k))
            k += 1
            if left <= 0:
                break
        for day in (1, 2):
            frame = pl.concat(parts[day])
            if frame.height:
                frame.write_csv(batch / f"DR{day}IFF_{group:03d}.csv")
        group += 1
    pl.concat(demos).write_csv(batch / "DEMO.csv")


def peak_rss_mb() -> float:
    """This process's peak resident set in MB (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(raw: Path, marts: Path) -> dict:
    """Time parse, validate and cached re-read on the workload under raw/."""
    from camg.ingest.batch import read_raw
    from camg.ingest.combine import combined_diary, combined_participants
    from camg.reference import load_reference
    from camg.validate.diary_rows import validate_diary
    from camg.validate.participants import validate_participants

    reference = load_reference(REPO / "reference")
    t0 = time.perf_counter()
    reads = read_raw(raw, marts)
    t1 = time.perf_counter()
    diary = combined_diary(reads)
    people = validate_participants(combined_participants(reads), reference)
    result = validate_diary(diary, people.kept, reference)
    t2 = time.perf_counter()
    n_rows = diary.height
    assert result.kept.height + result.quarantine.height == n_rows
    del reads, diary, result
    t3 = time.perf_counter()
    again = read_raw(raw, marts)
    t4 = time.perf_counter()
    assert {r.read_from for r in again if r.status == "read"} == {"cache"}
    return {
        "rows": n_rows,
        "parse_s": t1 - t0,
        "validate_s": t2 - t1,
        "cached_read_s": t4 - t3,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_size(n_rows: int) -> dict:
    """Generate the workload in one process and measure it in another (RSS of the measure only)."""
    with tempfile.TemporaryDirectory(prefix="camg-ingest-bench-") as tmp:
        raw, marts = Path(tmp) / "raw", Path(tmp) / "marts"
        me = [sys.executable, __file__]
        subprocess.run([*me, "--generate", str(n_rows), str(raw)], check=True)
        done = subprocess.run(
            [*me, "--measure", str(raw), str(marts)], check=True, capture_output=True, text=True
        )
        return json.loads(done.stdout.strip().splitlines()[-1])


def report(r: dict) -> str:
    """One printed line of figures."""
    rows = r["rows"]
    both = r["parse_s"] + r["validate_s"]
    return (
        f"{rows:>11,} rows | parse {r['parse_s']:6.1f} s ({rows / r['parse_s']:>10,.0f} rows/s)"
        f" | validate {r['validate_s']:6.1f} s ({rows / r['validate_s']:>10,.0f} rows/s)"
        f" | ingest+validate {rows / both:>10,.0f} rows/s"
        f" | cached re-read {r['cached_read_s']:5.1f} s | peak RSS {r['peak_rss_mb']:,.0f} MB"
    )


def main() -> None:
    """Run the sizes asked for and print their figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--generate", nargs=2, metavar=("N", "RAW"))
    parser.add_argument("--measure", nargs=2, metavar=("RAW", "MARTS"))
    args = parser.parse_args()
    if args.generate:
        write_workload(Path(args.generate[1]), int(args.generate[0]))
    elif args.measure:
        print(json.dumps(measure(Path(args.measure[0]), Path(args.measure[1]))))
    else:
        for n_rows in args.rows:
            print(report(run_size(n_rows)), flush=True)


if __name__ == "__main__":
    main()
