"""Population stage alone: seconds and peak RSS of each part on one scale-workload study.

    python benchmarks/population_stage.py                 # one study of the scale workload
    python benchmarks/population_stage.py --parts summary,usual_se --profile out.prof
    python benchmarks/population_stage.py --parts stage --save new --compare old   # same figures?

The scale workload (`_workload.py`, as `benchmarks/scale.py` builds it) holds studies of two copies
of the real NHANES 2007-2012 items (~57,000 persons, 1,571,560 rows each). This builds one such
study, runs camg's pipeline without population figures once (`run_tables_of(population=False)`), and
keeps the study's person-days, persons, lost days, weight divisors and food-source items as Parquet
under --workdir, so later runs start at the population stage. Each part then runs in its own child
process (its peak RSS is its own, VmHWM), in the order `camg.pipeline.studies.one_study` runs them:

- summary: population_summary's single-day rows (survey means, percentiles, prevalences, Taylor SEs);
- usual: its usual-intake point estimates (NCI amount-only fits, pooled groups);
- usual_se: the usual-intake replicate standard errors (BRR-Fay / jackknife refits);
- ratio: the usual_ratio mart's point estimates (bivariate fits, pseudo-persons);
- ratio_se: the usual_ratio mart's replicate standard errors;
- sources: the food_sources mart.

The 10M-row figure is extrapolated: the scale workload at 10M rows is 6.36 such studies (the last
one cut short), so total(10M) ~= 6.36 x the study's total; the issue's goal is the item floor's
~20 s at 10M rows (the population stage <= 1x, usual-intake replicate SEs <= 3x).
"""

import argparse
import cProfile
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import camg  # noqa: F401  before polars: its allocator settings (as in a run) reach every part

# isort: split
import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _population_parts as _parts  # noqa: E402
import _workload  # noqa: E402
from _paths import REFERENCE_DIR, peak_rss_mb  # noqa: E402

STUDY_ROWS = 2 * 785_780  # one workload batch: two copies of the NHANES 2007-2012 items
ROWS_10M = 10_000_000
FRAMES = ["days", "persons", "lost", "divisors", "items"]
PARTS = ["summary", "usual", "usual_se", "ratio", "ratio_se", "sources"]  # "stage": all at once


def prepare(workdir: Path) -> Path:
    """The study's frames as Parquet under `workdir/frames` (built once, then reused)."""
    frames = workdir / "frames"
    if all((frames / f"{name}.parquet").exists() for name in FRAMES):
        return frames
    from camg.ops.config import Settings
    from camg.pipeline.run import Runner, run_tables_of
    from camg.population.food_sources import SOURCE_COLUMNS

    raw = _workload.build(STUDY_ROWS, workdir)
    settings = Settings(raw_dir=raw, marts_dir=workdir / "marts", reference_dir=REFERENCE_DIR)
    made = run_tables_of(settings, Runner(), population=False)
    (study_id,) = made.diary.study_ids
    frames.mkdir(parents=True, exist_ok=True)
    out = {
        "days": made.days.collect(),
        "persons": made.persons.collect(),
        "lost": made.diary.lost.filter(pl.col("study_id") == study_id),
        "divisors": made.divisors,
        "items": made.diary.item_frame(SOURCE_COLUMNS, {study_id}),
    }
    for name, frame in out.items():
        frame.write_parquet(frames / f"{name}.parquet")
    return frames


def run_part(part: str, frames: Path, profile: Path | None, save: Path | None) -> dict:
    """One part in this process: its wall and CPU seconds, and the process's peak RSS."""
    from camg.reference import load_reference

    reference = load_reference(REFERENCE_DIR)
    data = {name: pl.read_parquet(frames / f"{name}.parquet") for name in FRAMES}
    extra = {"save": save} if part == "stage" else {}
    work = _parts.PARTS[part](data, reference, **extra)  # set-up (untimed), then the work
    profiler = cProfile.Profile() if profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    rows = work()
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
    return {
        "part": part,
        "s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "peak_mb": peak_rss_mb(),
        "rows": rows,
    }


def child(part: str, frames: Path, profile: Path | None, save: Path | None) -> dict:
    """Run one part in a fresh process (its own peak RSS)."""
    command = [sys.executable, __file__, "--child", part, "--workdir", str(frames.parent)]
    if save:
        command += ["--save", str(save)]
    if profile:
        command += ["--profile", str(profile.with_suffix(f".{part}.prof"))]
    out = subprocess.run(command, capture_output=True, text=True, env=os.environ, check=False)
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"part {part} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed_parts(parts: list[str], frames: Path, profile: Path | None, save: Path | None):
    """Each part's figures, printed as it ends (a long run shows its progress)."""
    print(f"{'part':10} {'wall s':>8} {'cpu s':>8} {'peak RSS MB':>12} {'rows':>7}", flush=True)
    results = []
    for part in parts:
        r = child(part, frames, profile, save)
        print(f"{part:10} {r['s']:8.2f} {r['cpu_s']:8.2f} {r['peak_mb']:12.0f} {r['rows']:7}")
        results.append(r)
    return results


def report(results: list[dict]) -> None:
    """Print the study's and the 10M workload's totals, wall and CPU (CPU: on a loaded machine)."""
    per_10m = ROWS_10M / STUDY_ROWS
    for kind in ("s", "cpu_s"):
        total = sum(r[kind] for r in results)
        se = sum(r[kind] for r in results if r["part"] in ("usual_se", "ratio_se"))
        name = "wall" if kind == "s" else "CPU"
        print(
            f"{name}: study {total:.2f} s (replicate SEs {se:.2f} s); 10M rows (x{per_10m:.2f} "
            f"studies, extrapolated) {total * per_10m:.1f} s, replicate SEs {se * per_10m:.1f} s, "
            f"the rest {(total - se) * per_10m:.1f} s (goals: rest <= ~20 s, SEs <= ~60 s)"
        )


def main() -> None:
    """Build or reuse the study, then time the parts asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=HERE.parent / ".camg" / "bench_population")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--profile", type=Path, default=None, help="cProfile stats path prefix")
    parser.add_argument("--save", type=Path, default=None, help="part stage: write its marts here")
    parser.add_argument("--compare", type=Path, default=None, help="marts saved by another run")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    frames = args.workdir / "frames"
    if args.child:
        print(json.dumps(run_part(args.child, frames, args.profile, args.save)))
        return
    frames = prepare(args.workdir)
    report(timed_parts(args.parts.split(","), frames, args.profile, args.save))
    if args.compare and args.save:
        for mart, worst in _parts.differences(args.compare, args.save).items():
            print(f"{mart}: largest relative difference from {args.compare}: {worst:.3g}")


if __name__ == "__main__":
    main()
