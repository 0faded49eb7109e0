"""Print how much of the NHANES 2007-2012 batch the FNDDS composition table covers, per cycle.

Usage: python validation/nhanes_2007_2012_coverage.py

Runs camg's plain stage functions on data/raw/nhanes_2007_2012 and prints, per cycle (DRxIFF_E/F/G),
the share of kept diary items and of their grams whose food code has Ca and Mg values, the quarantined
rows by rule (human milk has no grams in these files), the person-days and persons left out of the
population figures because they lost an item to quarantine, and how long the population stages take.
"""

from __future__ import annotations

import time

import polars as pl
from pipeline import run_batch

CYCLES = {"E": "2007-2008", "F": "2009-2010", "G": "2011-2012"}


def coverage(items: pl.DataFrame) -> pl.DataFrame:
    """Share of items and grams matched to the composition table, per cycle and overall."""
    cycle = pl.col("source_file").str.extract(r"IFF_([A-Z])\.", 1).replace_strict(CYCLES)
    by = items.with_columns(cycle.alias("cycle"))

    def shares(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(
            pl.len().alias("items"),
            (100 * pl.col("is_matched").mean()).alias("pct_items"),
            (100 * pl.col("grams").filter("is_matched").sum() / pl.col("grams").sum()).alias(
                "pct_grams"
            ),
        )

    per_cycle = by.group_by("cycle").map_groups(
        lambda g: shares(g).with_columns(pl.lit(g["cycle"][0]).alias("cycle"))
    )
    overall = shares(by).with_columns(pl.lit("all").alias("cycle"))
    return pl.concat([per_cycle.sort("cycle"), overall]).select(
        "cycle", "items", "pct_items", "pct_grams"
    )


def main() -> None:
    run = run_batch("nhanes_2007_2012")
    print("FNDDS coverage of kept diary items (is_matched), NHANES 2007-2012")
    for r in coverage(run.items).iter_rows(named=True):
        print(
            f"  {r['cycle']:9s} items {r['items']:7d}  {r['pct_items']:5.1f} % of items"
            f"  {r['pct_grams']:5.1f} % of grams"
        )
    unmatched = run.items.filter(~pl.col("is_matched"))
    print(f"  unmatched: {unmatched.height} items, {unmatched['food_code'].n_unique()} food codes")
    print("quarantined diary rows by rule:")
    for rule, n in run.quarantine.group_by("rule_id").len().sort("rule_id").iter_rows():
        print(f"  {rule}: {n}")
    print(
        f"person-days left out (lost an item to quarantine): {run.lost.height} "
        f"({run.lost['person_id'].n_unique()} persons)"
    )
    started = time.perf_counter()
    summary = run.summary
    middle = time.perf_counter()
    sources = run.sources
    done = time.perf_counter()
    print(
        f"population_summary: {summary.height} rows in {middle - started:.1f} s; "
        f"food_sources: {sources.height} rows in {done - middle:.1f} s"
    )


if __name__ == "__main__":
    main()
