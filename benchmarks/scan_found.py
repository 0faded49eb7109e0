"""A run's first pass alone (`scan_found`: read, check, cache every file) on the scale workload.

    python benchmarks/scan_found.py                      # 1M rows, both readers
    python benchmarks/scan_found.py --sizes 1M,10M --code /tmp/before   # another checkout

The workload is benchmarks/scale.py's (NHANES layout, gzip CSV, built once under --workdir).
Each reader runs in a fresh process (its peak RSS is its own) with an empty marts folder, its
files two at a time as `camg run`'s default runner does (setting file_workers): `engine`
(regular files read by polars, camg.ingest.engine_lines) and `python` (setting
engine_reader = false, camg's own parse). A checkout without the setting (--code of a commit
before the engine reader) runs as `python`. Prints seconds (wall and CPU), rows/s and peak RSS
per reader. `--variant quoted` reads a copy of the workload with every field quoted (as an Excel
or ASA24 export quotes its text), which the engine cuts with its RFC 4180 expressions
(camg.ingest.engine_records); `--variant latin1` the same with a Latin-1 text column, which the
engine reads from a UTF-8 copy (camg.ingest.transcode).
"""

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _workload

HERE = Path(__file__).resolve().parent
FILE_WORKERS = 2


def child(raw: Path, marts: Path, reader: str) -> None:
    """Scan every file of `raw` into a fresh cache under `marts`; print figures as JSON."""
    import inspect

    from camg.ingest import batch

    sys.path.insert(0, str(HERE))
    from _paths import peak_rss_mb

    found = batch.batch_files(raw)
    takes_engine = "engine" in inspect.signature(batch.scan_found).parameters
    extra = {"engine": reader == "engine"} if takes_engine else {}
    clock, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(FILE_WORKERS) as pool:
        reads = list(pool.map(lambda f: batch.scan_found(f, raw, marts, **extra), found))
    seconds, cpu = time.perf_counter() - clock, time.process_time() - cpu
    readers = sorted({str(getattr(r, "reader", "python")) for r in reads if r.n_diary})
    rows = sum(r.n_diary for r in reads)
    figures = {"s": seconds, "cpu_s": cpu, "rows": rows, "peak_mb": peak_rss_mb()}
    print(json.dumps(figures | {"readers": readers}))


def measure(raw: Path, work: Path, reader: str, code: Path | None) -> dict:
    """One reader in its own process on an empty marts folder."""
    marts = work / f"marts_{reader}"
    shutil.rmtree(marts, ignore_errors=True)
    marts.mkdir(parents=True)
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    command = [sys.executable, __file__, "--child", str(raw), str(marts), reader]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    shutil.rmtree(marts, ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def variant_copy(raw: Path, root: Path, variant: str) -> Path:
    """The workload with every field quoted (`quoted`), or quoted and a Latin-1 description
    column added (`latin1`); built once beside it, gzip as it was."""
    import polars as pl

    copy = root / f"raw_{variant}"
    if copy.exists():
        return copy
    building = root / f"raw_{variant}.building"
    shutil.rmtree(building, ignore_errors=True)
    for path in sorted(raw.rglob("*.csv.gz")):
        frame = pl.read_csv(path, infer_schema=False)
        if variant == "latin1":
            frame = frame.with_columns(pl.lit("Café au lait, crème").alias("FOODDESC"))
        text = frame.write_csv(quote_style="always")
        target = building / path.relative_to(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        encoding = "latin-1" if variant == "latin1" else "utf-8"
        target.write_bytes(gzip.compress(text.encode(encoding), 6))
    building.rename(copy)
    return copy


def main() -> None:
    """Build (or reuse) each workload and measure the readers asked for."""
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1M")
    parser.add_argument("--readers", default="engine,python")
    parser.add_argument("--workdir", type=Path, default=HERE.parent / ".camg" / "bench")
    parser.add_argument("--code", type=Path, help="run camg from this checkout")
    parser.add_argument("--variant", choices=["quoted", "latin1"], help="a copy of the workload")
    args = parser.parse_args()
    for size in args.sizes.split(","):
        rows = int(float(size.rstrip("kKmM")) * {"k": 1e3, "m": 1e6}.get(size[-1].lower(), 1))
        root = args.workdir / f"rows_{rows}"
        raw = _workload.build(rows, root)
        raw = variant_copy(raw, root, args.variant) if args.variant else raw
        for reader in args.readers.split(","):
            r = measure(raw, root, reader, args.code)
            kind = f" {args.variant}" if args.variant else ""
            print(
                f"{rows:>11,} rows{kind}  reader {reader:<7} ({'/'.join(r['readers'])}) "
                f"scan_found {r['s']:6.1f} s ({r['cpu_s']:.1f} s CPU)  {r['rows'] / r['s']:>9,.0f} rows/s  "
                f"peak RSS {r['peak_mb']:,.0f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
