"""Print camg's usual Ca:Mg ratio of adults on NHANES 2007-2012, per survey cycle and combined.

Usage: python validation/nhanes_2007_2012_usual_ratio.py

Runs camg's plain stage functions on data/raw/nhanes_2007_2012 and the `usual_ratio` mart
(camg.usual_ratio_summary: bivariate usual-intake model of Ca and Mg, Zhang et al. 2011) and prints,
for ages 20+ by sex and for both sexes, the median usual ratio and the shares below 1.70 and above
2.80 with their replicate SEs, then each adult DRI group's between-person correlation (all cycles).
Food only: the batch has no supplement data. Costello et al. 2021 (Adv Nutr 12:291) report a US adult
food Ca:Mg ratio above 3.0 since 2000: compare by hand.
"""

from __future__ import annotations

import time

import polars as pl
from pipeline import run_batch

from camg.population.usual_ratio_summary import usual_ratio

SEXES = ("male", "female", "all")


def cell(rows: pl.DataFrame, statistic: str, digits: int) -> str:
    """`value (SE se)` of one statistic, or `-`."""
    row = rows.filter(pl.col("statistic") == statistic)
    if row.height == 0 or row["value"][0] is None:
        return "-"
    value, se = row["value"][0], row["se"][0]
    return f"{value:.{digits}f}" + (f" ({se:.{digits}f})" if se is not None else "")


def adults_table(mart: pl.DataFrame) -> None:
    """Ages 20+: median, % below 1.70 and % above 2.80 by cycle and sex."""
    adults = mart.filter(
        (pl.col("grouping") == "headline_age_group") & (pl.col("age_group") == "20+ y")
    )
    cycles = [*sorted(c for c in adults["survey_cycle"].unique() if c != "all"), "all"]
    print(
        "| cycle | sex | n | median ratio (SE) | % below 1.70 (SE) | % above 2.80 (SE) | se_method |"
    )
    print("|---|---|---|---|---|---|---|")
    for cycle in cycles:
        for sex in SEXES:
            rows = adults.filter((pl.col("survey_cycle") == cycle) & (pl.col("sex") == sex))
            print(
                f"| {cycle} | {sex} | {rows['n_persons'][0]:,} | {cell(rows, 'p50', 2)} "
                f"| {cell(rows, 'pct_below', 1)} | {cell(rows, 'pct_above', 1)} "
                f"| {rows['se_method'][0]} |"
            )


def correlations(mart: pl.DataFrame) -> None:
    """Each DRI group's fitted between-person correlation, all cycles together."""
    dri = mart.filter(
        (pl.col("grouping") == "dri_age_group")
        & (pl.col("survey_cycle") == "all")
        & (pl.col("statistic") == "p50")
    ).sort("sex", "age_months_min", "life_stage")
    print("DRI group: between-person correlation of transformed Ca and Mg, median usual ratio")
    for r in dri.iter_rows(named=True):
        corr = (
            "not fitted" if r["between_correlation"] is None else f"{r['between_correlation']:.2f}"
        )
        median = "-" if r["value"] is None else f"{r['value']:.2f}"
        print(f"  {r['sex']:6s} {r['age_group']:8s} {r['life_stage']:10s} {corr:>10s}  {median}")


def main() -> None:
    run = run_batch("nhanes_2007_2012")
    started, cpu = time.perf_counter(), time.process_time()
    mart = usual_ratio(run.days, run.persons, run.lost, run.divisors, run.reference)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    adults_table(mart)
    correlations(mart)
    print(f"usual_ratio: {mart.height} rows in {seconds:.1f} s ({cpu:.1f} s CPU)")


if __name__ == "__main__":
    main()
