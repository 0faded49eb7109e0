"""Print camg's NHANES 2007-2012 figures per survey cycle, to set beside published national figures.

Usage: python validation/nhanes_2007_2012_cycles.py

Runs camg's plain stage functions on data/raw/nhanes_2007_2012 and prints, for each cycle
(2007-2008, 2009-2010, 2011-2012) and for the three together:
- single-day (day 1) survey-weighted mean Ca and Mg (mg/day, total intake = food here: the batch
  carries no supplements) by sex and the WWEIA age groups, and for ages 2+ (the WWEIA "What We Eat
  in America" Table 1 layout: "Nutrient Intakes from Food and Beverages, by gender and age");
- usual-intake % below the EAR for ages 2+, both sexes and each sex (NCI amount-only model per DRI
  group, pseudo-persons pooled, each compared with its own group's EAR), with its SE when present.
Published figures are not in this repository: compare by hand, and build to the method, not to them.
"""

from __future__ import annotations

import time

import polars as pl
from pipeline import run_batch

SEXES = ("male", "female", "all")


def _pick(summary: pl.DataFrame, **where: str) -> pl.DataFrame:
    for column, value in where.items():
        summary = summary.filter(pl.col(column) == value)
    return summary


def single_day_table(summary: pl.DataFrame, cycle: str) -> None:
    """Mean Ca and Mg by sex x WWEIA age group (and 2+) for one cycle."""
    rows = _pick(summary, survey_cycle=cycle, basis="single_day", statistic="mean")
    ages = rows.filter(pl.col("grouping") == "wweia_age_group")["age_group"].unique(
        maintain_order=True
    )
    print(f"  {'age':8s}" + "".join(f"  {s + ' Ca':>10s}  {s + ' Mg':>10s}" for s in SEXES))
    for age, grouping in [*[(a, "wweia_age_group") for a in ages], ("2+ y", "headline_age_group")]:
        line = f"  {age:8s}"
        for sex in SEXES:
            for measure in ("calcium_mg", "magnesium_mg"):
                r = _pick(rows, grouping=grouping, age_group=age, sex=sex, measure=measure)
                value = r["value"][0] if r.height else None
                line += f"  {value:10.0f}" if value is not None else f"  {'-':>10s}"
        print(line)


def usual_below_ear(summary: pl.DataFrame, cycle: str) -> None:
    """Usual-intake % below the EAR, ages 2+, by sex, Ca and Mg."""
    rows = _pick(
        summary,
        survey_cycle=cycle,
        basis="usual_intake",
        grouping="headline_age_group",
        age_group="2+ y",
        statistic="pct_below_ear",
    )
    for measure in ("calcium_mg", "magnesium_mg"):
        parts = []
        for sex in SEXES:
            r = _pick(rows, sex=sex, measure=measure)
            value, se = (r["value"][0], r["se"][0]) if r.height else (None, None)
            text = "-" if value is None else f"{value:.1f}" + (f" (SE {se:.1f})" if se else "")
            parts.append(f"{sex} {text}")
        print(f"  usual % below EAR, 2+ y, {measure.removesuffix('_mg'):9s}: " + "; ".join(parts))


def main() -> None:
    run = run_batch("nhanes_2007_2012")
    started, cpu = time.perf_counter(), time.process_time()
    summary = run.summary
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    cycles = [*sorted(c for c in summary["survey_cycle"].unique() if c != "all"), "all"]
    for cycle in cycles:
        print(f"NHANES {cycle}: single-day (day 1) weighted mean intake, mg/day")
        single_day_table(summary, cycle)
        usual_below_ear(summary, cycle)
    print(f"population_summary: {summary.height} rows in {seconds:.1f} s ({cpu:.1f} s CPU)")
    marks = summary.group_by("basis", "reliability").len().sort("basis", "reliability")
    print("reliability marks: " + "; ".join(f"{b} {r} {n}" for b, r, n in marks.iter_rows()))


if __name__ == "__main__":
    main()
