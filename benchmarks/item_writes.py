"""What the marts contract makes a run write for intake_item, timed alone on a published run's parts.

    python benchmarks/item_writes.py --marts /work/bench/rows_10000000/out/camg/marts

Whatever reads, validates and enriches the item rows, a run must write them twice (DESIGN section
5): the store (`store.intake_item` in the run database, at one thread so insertion order holds)
and the Parquet copy (one file with run_id on every row, which a run after new files rewrites
whole). Each write runs alone in a fresh process (its peak RSS is its own) with camg's functions,
on the parts of the marts folder's published run. Beside them: the parts read alone (the decode
share) and the copy by other writers, to tell the encoding's cost from the codec's. Prints rows,
wall and CPU seconds, µs per row and peak RSS per write, and the least wall time the two writes
need on two cores (their CPU halved): a lower bound of camg's publish step (issue 16).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUN_ID = "20261201T000000-00000000"
WRITES = {
    "store": "camg's store.intake_item (DuckDB, one thread, order kept)",
    "parquet-copy": "camg's Parquet copy (DuckDB, one thread, zstd)",
    "read-parts": "reading the parts alone (pyarrow, one thread)",
    "copy-uncompressed": "the copy by DuckDB, one thread, no compression",
    "copy-polars": "the copy by polars' sink, one thread, zstd",
}


def part_files(marts: Path) -> list[str]:
    """The published run's intake_item parts."""
    parts = sorted(str(p) for p in (marts / "current" / "item_parts").glob("*.parquet"))
    if not parts:
        raise SystemExit(f"no published run with item_parts under {marts}: run camg there first")
    return parts


def write(name: str, parts: list[str], out: Path) -> None:
    """Run one write on `parts` into the folder `out`."""
    import duckdb
    import pyarrow.parquet as pq

    from camg.ops.engine import bounded_connection
    from camg.publish import item_table
    from camg.publish.run_folder import PUBLISH_THREADS

    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
    source = item_table.ItemSource({Path(p).stem: p for p in parts}, None, rows)
    if name == "store":
        with bounded_connection(out, str(out / "camg.duckdb"), threads=PUBLISH_THREADS) as con:
            item_table.create_store(con, source)
    elif name == "parquet-copy":
        with bounded_connection(out, threads=1) as con:
            item_table.write_parquet_copy(con, source, RUN_ID, out / "intake_item.parquet")
    elif name == "read-parts":
        for path in parts:
            file = pq.ParquetFile(path)
            for group in range(file.num_row_groups):
                file.read_row_group(group, use_threads=False)
    elif name == "copy-uncompressed":
        with duckdb.connect(config={"threads": 1, "preserve_insertion_order": True}) as con:
            con.execute(
                "copy (select $run_id as run_id, * from read_parquet($paths)) to $path "
                "(format parquet, compression uncompressed)",
                {"run_id": RUN_ID, "paths": parts, "path": str(out / "copy.parquet")},
            )
    elif name == "copy-polars":
        import polars as pl

        rows_of = pl.scan_parquet(parts).select(pl.lit(RUN_ID).alias("run_id"), pl.all())
        rows_of.sink_parquet(out / "copy.parquet", compression="zstd", maintain_order=True)


def child(name: str, marts: Path) -> None:
    """One write, in this process; its figures as JSON."""
    sys.path.insert(0, str(HERE))
    from _paths import peak_rss_mb

    parts = part_files(marts)
    with tempfile.TemporaryDirectory(dir=marts.parent) as folder:
        clock, cpu = time.perf_counter(), time.process_time()
        write(name, parts, Path(folder))
        seconds, cpu = time.perf_counter() - clock, time.process_time() - cpu
    import pyarrow.parquet as pq

    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
    print(json.dumps({"s": seconds, "cpu_s": cpu, "rows": rows, "peak_mb": peak_rss_mb()}))


def measure(name: str, marts: Path) -> dict:
    """One write in a fresh process (polars held to one thread)."""
    env = os.environ | {"POLARS_MAX_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, __file__, "--marts", str(marts), "--child", name],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marts", type=Path, required=True, help="a camg marts folder")
    parser.add_argument(
        "--writes", default=",".join(WRITES), help="comma-separated: " + ",".join(WRITES)
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.marts)
        return
    figures = {name: measure(name, args.marts) for name in args.writes.split(",")}
    rows = next(iter(figures.values()))["rows"]
    print(f"intake_item writes on {rows:,} rows ({args.marts})")
    print(f"{'write':<18} {'wall s':>7} {'cpu s':>7} {'us/row':>7} {'peak MB':>8}  what")
    for name, f in figures.items():
        per_row = f["cpu_s"] / rows * 1e6
        print(
            f"{name:<18} {f['s']:>7.1f} {f['cpu_s']:>7.1f} {per_row:>7.2f} "
            f"{f['peak_mb']:>8.0f}  {WRITES[name]}"
        )
    if {"store", "parquet-copy"} <= figures.keys():
        both = figures["store"]["cpu_s"] + figures["parquet-copy"]["cpu_s"]
        print(f"store + copy: {both:.1f} s CPU, at least {both / 2:.1f} s wall on two cores")


if __name__ == "__main__":
    main()
