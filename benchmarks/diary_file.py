"""One diary file's validate + enrich + day sums alone: seconds, CPU seconds and peak RSS per file.

    python benchmarks/diary_file.py --rows 1M --workdir /tmp/diary_bench          # the scale workload
    python benchmarks/diary_file.py --copies 5 --workdir /tmp/one_file           # one file of ~2.1 M rows

The workload is read once (camg's ingest cache and participants, not timed); then each diary file's
`process_or_fail` runs in a process of its own, so its peak RSS (VmHWM) is that step's alone and
does not mix with reading or with the other file. `--copies K` writes one batch whose day-1 file
holds K copies of the real NHANES items (~0.42 M rows a copy): peak RSS per file size, to show
whether memory grows with the file. Each file's part stays in the workdir, keyed by the code, for
`benchmarks/same_parts.py` to compare two checkouts (run with PYTHONPATH=<other checkout> to
measure that code on the same workload; each line prints the part's folder).
"""

import argparse
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _workload
from _paths import peak_rss_mb
from scale import parse_size

REPO = Path(__file__).resolve().parents[1]


def one_file_workload(copies: int, root: Path) -> Path:
    """`root/raw/one/DR1IFF.csv.gz`: `copies` copies of the day-1 items in one file, and DEMO."""
    raw = root / "raw"
    folder = raw / "one"
    if (folder / "DR1IFF.csv.gz").exists():
        return raw
    items, demo = _workload.source_items(), _workload.source_demo()
    folder.mkdir(parents=True, exist_ok=True)
    chunk = pl.concat([_workload.with_new_ids(items, k) for k in range(copies)])
    people = chunk.select("SEQN").unique()
    demo_rows = pl.concat([_workload.with_new_ids(demo, k) for k in range(copies)])
    demo_rows = demo_rows.join(people, on="SEQN", how="semi", maintain_order="left")
    _workload.write_csv_gz(_workload.iff_layout(chunk, 1), folder / "DR1IFF.csv.gz")
    _workload.write_csv_gz(demo_rows, folder / "DEMO.csv.gz")
    return raw


def prepared_jobs(raw: Path, marts: Path) -> list:
    """The run's diary jobs after reading and validating participants (camg's own steps)."""
    from camg.ingest import batch
    from camg.pipeline import diary_files
    from camg.reference import load_reference
    from camg.validate import participants

    reference = load_reference(REPO / "reference")
    reads = [batch.scan_found(f, raw, marts) for f in batch.batch_files(raw)]
    people = participants.validate_by_study(reads, marts, reference)
    return diary_files.diary_jobs(reads, people, marts)


def measure_one(job_file: Path, marts: Path) -> None:
    """Child process: one job's process_or_fail; prints seconds, peak MB and the part's counts."""
    from camg.pipeline import diary_files
    from camg.pipeline.failed_files import process_or_fail
    from camg.reference import load_reference

    job = pickle.loads(job_file.read_bytes())
    reference = load_reference(REPO / "reference")
    # This code's part of the file, left by an earlier run, would be reused: time making it.
    key = diary_files.part_key(job, job.participants(), reference)
    shutil.rmtree(diary_files.parts_root(marts) / key, ignore_errors=True)
    before = peak_rss_mb()
    t0, cpu0 = time.perf_counter(), time.process_time()
    part = process_or_fail(job, reference, marts)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    counts = {k: getattr(part, k) for k in ("rows_in", "rows_kept", "rows_quarantined", "error")}
    result = {"file": job.source_file, "s": round(seconds, 2), "cpu_s": round(cpu, 2)}
    result["peak_mb"] = round(peak_rss_mb())
    print(json.dumps(result | {"start_mb": round(before), "folder": part.folder} | counts))


def child_env() -> dict[str, str]:
    """The environment of a measured process: camg's allocator settings, set before polars loads.

    camg sets them when imported, but this script imports polars first (through _workload).
    """
    import camg

    allocators = {"_RJEM_MALLOC_CONF": camg.JEMALLOC_CONF, "ARROW_DEFAULT_MEMORY_POOL": "system"}
    return allocators | dict(os.environ)


def main() -> None:
    """Build or reuse the workload, read it, then time each diary file in its own process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=parse_size, help="the scale workload of this many rows")
    parser.add_argument("--copies", type=int, help="one file of this many copies of day 1")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return measure_one(Path(args.child[0]), Path(args.child[1]))
    if args.copies:
        raw = one_file_workload(args.copies, args.workdir)
    else:
        raw = _workload.build(args.rows, args.workdir)
    import camg

    marts = args.workdir / "marts"
    print(f"camg from {Path(camg.__file__).parent}", flush=True)
    for i, job in enumerate(prepared_jobs(raw, marts)):
        job_file = args.workdir / f"job-{i}.pickle"
        job_file.write_bytes(pickle.dumps(job))
        child = [sys.executable, __file__, "--workdir", str(args.workdir), "--child"]
        subprocess.run([*child, str(job_file), str(marts)], check=True, env=child_env())
    return None


if __name__ == "__main__":
    main()
