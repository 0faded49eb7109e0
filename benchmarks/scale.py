"""Scale benchmark: camg vs the DuckDB floor vs plain pandas on the same NHANES-layout files.

    python benchmarks/scale.py                      # 1M and 10M rows
    python benchmarks/scale.py --sizes 50M          # needs ~1 GB for the workload, more for marts
    python benchmarks/scale.py --sizes 1M --flow --incremental

Workloads replicate the real NHANES 2007-2012 items with new participant ids per copy (see
`_workload.py`) and are built once under --workdir. Each path runs in its own process, so its peak RSS
(the child's VmHWM) is its own. Prefect's start-up (an empty flow run) is measured apart: the camg
row is camg's plain functions in flow order, the work a flow run does after Prefect is up, every mart
included (population_summary and food_sources too), HTML reports excepted. Each workload batch is a
study of two copies (~57,000 persons), so 50M rows are 32 studies: camg works one study at a time.
"""

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import camg  # noqa: F401  before polars: its allocator variables reach every measured child

# isort: split
import _workload

HERE = Path(__file__).resolve().parent
DEFAULT_WORKDIR = HERE.parent / ".camg" / "bench"
MAIN_PATHS = ["camg", "floor", "item-floor", "pandas", "pandas-items"]
CODE_DIR: Path | None = None


@dataclass
class Measure:
    """One path on one workload: wall seconds, peak RSS and the path's own step timings."""

    path: str
    rows: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    steps: list[dict[str, object]]
    ok: bool

    @property
    def rows_per_s(self) -> float:
        """Input rows per wall-clock second."""
        return self.rows / self.wall_s if self.wall_s else 0.0


def parse_size(text: str) -> int:
    """`1M`, `250k`, `50M` or a plain number -> rows."""
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1].lower(), 1)
    return int(float(text.rstrip("kKmM")) * scale)


def run_path(path: str, raw: Path, out: Path, rows: int) -> Measure:
    """Run one path in a child process; wall time and that child's own peak RSS."""
    result = out / f"{path}.json"
    command = [
        sys.executable,
        str(HERE / "_paths.py"),
        path,
        str(raw),
        str(out / path),
        str(result),
    ]
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    if CODE_DIR is not None:  # measure another checkout of camg (e.g. `git archive` of a commit)
        env["PYTHONPATH"] = str(CODE_DIR)
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    # The child's own VmHWM; ru_maxrss from wait4 would include the parent's RSS at fork time.
    own = json.loads(result.read_text()) if result.exists() else {}
    peak = own.get("peak_rss_mb", usage.ru_maxrss / 1024)
    cpu = usage.ru_utime + usage.ru_stime
    return Measure(path, rows, wall, cpu, peak, own.get("steps", []), child.returncode == 0)


def fresh(folder: Path) -> Path:
    """An empty output folder."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def measure_size(rows: int, args: argparse.Namespace) -> list[Measure]:
    """Build (or reuse) the workload and measure every asked path on it."""
    root = args.workdir / f"rows_{rows}"
    started = time.perf_counter()
    raw = _workload.build(rows, root)
    print(f"workload {rows:,} rows ready in {time.perf_counter() - started:.1f} s: {raw}")
    out = fresh(root / "out")
    measures = [run_path(p, raw, out, rows) for p in args.paths]
    if args.incremental:
        measures.append(incremental(rows, raw, out))
    return measures


def incremental(rows: int, raw: Path, out: Path) -> Measure:
    """Rerun camg (same output folder) after new files with 1% more rows land; then remove them."""
    copies = len(_workload.batch_copies(rows, 785_780))
    added = _workload.add_batch(raw, max(1, rows // 100), 1_000 + copies, "bench_new")
    try:
        measure = run_path("camg", raw, out, rows // 100)
    finally:
        shutil.rmtree(added)
    measure.path = "camg +1% files"
    return measure


def ratio(a: Measure | None, b: Measure | None) -> str:
    """a's wall time over b's, or `-`."""
    return f"{a.wall_s / b.wall_s:.2f}" if a and b and a.ok and b.ok else "-"


def report(by_size: dict[int, list[Measure]], show_steps: bool) -> None:
    """Print the side-by-side table, the ratios and (optionally) camg's step profile."""
    print(
        f"\n{'rows':>11} {'path':<16} {'wall s':>8} {'cpu s':>7} {'rows/s':>11} {'peak RSS MB':>12}  ok"
    )
    for rows, measures in by_size.items():
        for m in measures:
            print(
                f"{rows:>11,} {m.path:<16} {m.wall_s:>8.1f} {m.cpu_s:>7.1f} {m.rows_per_s:>11,.0f}"
                f" {m.peak_rss_mb:>12,.0f}  {'yes' if m.ok else 'FAILED'}"
            )
    print(
        "\nratios (wall time): camg/item-floor (goal <= 2 at 10M), "
        "pandas-items/camg (goal > 1), item-floor/floor (about 2.2 at 10M)"
    )
    for rows, measures in by_size.items():
        by = {m.path: m for m in measures}
        line = f"{rows:>11,}  camg/item-floor {ratio(by.get('camg'), by.get('item-floor'))}"
        line += f"  pandas-items/camg {ratio(by.get('pandas-items'), by.get('camg'))}"
        line += f"  item-floor/floor {ratio(by.get('item-floor'), by.get('floor'))}"
        line += f"  camg/floor {ratio(by.get('camg'), by.get('floor'))}"
        if "camg +1% files" in by:
            line += f"  incremental/full {ratio(by['camg +1% files'], by.get('camg'))}"
        print(line)
    camg_runs = {
        rows: next((m for m in ms if m.path == "camg"), None) for rows, ms in by_size.items()
    }
    sizes = sorted(r for r, m in camg_runs.items() if m and m.ok)
    for small, large in itertools.pairwise(sizes):
        print(
            f"camg time({large:,}) / time({small:,}) = {ratio(camg_runs[large], camg_runs[small])}"
        )
    if show_steps:
        print("\nsteps: seconds / peak RSS so far / RSS after the step")
        for rows, measures in by_size.items():
            for m in measures:
                steps = ", ".join(
                    f"{s['step']} {s['s']}s/{s['peak_mb']}/{s.get('rss_mb', '-')}MB"
                    for s in m.steps
                )
                print(f"{rows:>11,} {m.path}: {steps}")


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="1M,10M", help="comma-separated row counts (1M,10M,50M)")
    parser.add_argument(
        "--workdir", type=Path, default=DEFAULT_WORKDIR, help="workloads and outputs"
    )
    parser.add_argument(
        "--paths",
        default=",".join(MAIN_PATHS),
        help="comma-separated: camg,floor,item-floor,pandas,pandas-items,camg-flow",
    )
    parser.add_argument("--flow", action="store_true", help="also run the real Prefect flow")
    parser.add_argument("--incremental", action="store_true", help="rerun camg after 1%% new files")
    parser.add_argument("--no-startup", action="store_true", help="skip the Prefect start-up run")
    parser.add_argument("--code", type=Path, help="run camg from this checkout (before/after)")
    parser.add_argument("--steps", action="store_true", help="print each path's step timings")
    args = parser.parse_args(argv)
    args.sizes = [parse_size(s) for s in args.sizes.split(",")]
    args.paths = args.paths.split(",") + (["camg-flow"] if args.flow else [])
    return args


def main(argv: list[str] | None = None) -> None:
    """Measure every size, then print the table."""
    global CODE_DIR
    args = arguments(argv)
    CODE_DIR = args.code
    args.workdir.mkdir(parents=True, exist_ok=True)
    free_gb = shutil.disk_usage(args.workdir).free / 1e9
    print(f"disk free at {args.workdir}: {free_gb:.0f} GB (50M rows need about 10 GB)")
    by_size = {rows: measure_size(rows, args) for rows in args.sizes}
    if not args.no_startup:
        out = fresh(args.workdir / "startup")
        startup = run_path("prefect-startup", out, out, 0)
        steps = ", ".join(f"{s['step']} {s['s']} s" for s in startup.steps)
        print(f"\nPrefect start-up (empty flow run, own process): {startup.wall_s:.1f} s ({steps})")
    report(by_size, args.steps)


if __name__ == "__main__":
    main()
