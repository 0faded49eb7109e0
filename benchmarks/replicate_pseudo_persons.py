"""Print what `usual.replicate_pseudo_persons` costs and changes: CPU time and the usual-intake SEs.

Usage: python benchmarks/replicate_pseudo_persons.py [k_low] [k_high]   (defaults 4 and 10)

Runs camg's plain functions on the bundled NHANES 2007-2012 batch once (validation/pipeline.py), then
`population_summary` and the `usual_ratio` mart with the rule at each value, and prints their CPU
seconds and, over the usual-intake rows with an SE, the ratio SE(k_low) / SE(k_high) (median, 5th and
95th percentile, largest) and the largest change of an SE in percentage points for the shares. The
estimates themselves do not depend on the rule (they use all `usual_ratio.pseudo_persons` / 100
pseudo-persons per person); only the replicate refits do.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "validation"))
from pipeline import run_batch

from camg.population.summarise import population_summary
from camg.population.usual_ratio_summary import usual_ratio
from camg.reference import Reference

RULE = "usual.replicate_pseudo_persons"
KEYS = ["study_id", "survey_cycle", "grouping", "sex", "age_group", "life_stage", "statistic"]


def with_rule(reference: Reference, value: float) -> Reference:
    """The reference with the rule set to `value`."""
    rules = reference.rules.with_columns(
        pl.when(pl.col("rule_id") == RULE).then(value).otherwise(pl.col("value")).alias("value")
    )
    return dataclasses.replace(reference, rules=rules)


def timed(run, reference: Reference) -> tuple[pl.DataFrame, pl.DataFrame, float, float]:
    """Usual rows of population_summary, the usual_ratio mart, and each one's CPU seconds."""
    cpu = time.process_time()
    summary = population_summary(run.days, run.persons, run.lost, run.divisors, reference)
    summary_cpu, cpu = time.process_time() - cpu, time.process_time()
    ratio = usual_ratio(run.days, run.persons, run.lost, run.divisors, reference)
    ratio_cpu = time.process_time() - cpu
    return summary.filter(pl.col("basis") == "usual_intake"), ratio, summary_cpu, ratio_cpu


def compare(name: str, low: pl.DataFrame, high: pl.DataFrame, keys: list[str]) -> None:
    """SE ratio and share-SE changes between the two settings."""
    both = low.join(high, on=keys, suffix="_high", nulls_equal=True).filter(
        pl.col("se").is_not_null() & (pl.col("se_high") > 0)
    )
    ratio = (both["se"] / both["se_high"]).to_numpy()
    shares = both.filter(pl.col("statistic").str.starts_with("pct_"))
    change = (shares["se"] - shares["se_high"]).abs().to_numpy()
    assert (both["value"] == both["value_high"]).all(), "estimates must not depend on the rule"
    p5, p50, p95 = np.percentile(ratio, [5, 50, 95])
    print(
        f"  {name}: {both.height} rows with an SE; SE(low)/SE(high) median {p50:.3f}, "
        f"p5 {p5:.3f}, p95 {p95:.3f}, min {ratio.min():.3f}, max {ratio.max():.3f}; "
        f"shares: largest SE change {change.max():.2f} points, 95th percentile "
        f"{np.percentile(change, 95):.2f}"
    )


def main() -> None:
    k_low, k_high = (int(a) for a in ([*sys.argv[1:], "4", "10"])[:2])
    run = run_batch("nhanes_2007_2012")
    low = timed(run, with_rule(run.reference, k_low))
    high = timed(run, with_rule(run.reference, k_high))
    for k, result in ((k_low, low), (k_high, high)):
        print(
            f"{RULE} = {k}: population_summary {result[2]:.1f} s CPU, usual_ratio {result[3]:.1f} s CPU"
        )
    compare(
        "population_summary usual_intake", low[0], high[0], [*KEYS, "measure", "threshold_rule_id"]
    )
    compare("usual_ratio", low[1], high[1], KEYS)


if __name__ == "__main__":
    main()
