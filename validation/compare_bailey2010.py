"""Print camg's usual calcium intake (NHANES 2007-2012 batch) against Bailey et al. 2010, Table 3.

Usage: python validation/compare_bailey2010.py

Runs camg's plain stage functions (no Prefect) on data/raw/nhanes_2007_2012, fits the NCI amount-only
usual-intake model per sex x DRI age group (population.summarise) and prints, per group, camg's mean usual
calcium intake beside the published mean (NHANES 2003-2006, food and water only), the % difference
and whether it is within 15 %.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
from pipeline import run_batch

PUBLISHED = Path(__file__).parent / "published" / "bailey2010_table3_calcium.csv"
TOLERANCE_PCT = 15.0


def comparison(summary: pl.DataFrame) -> pl.DataFrame:
    """Published vs camg mean usual calcium per sex x DRI age group, with % difference."""
    camg = summary.filter(
        (pl.col("basis") == "usual_intake")
        & (pl.col("measure") == "calcium_mg")
        & (pl.col("statistic") == "mean")
        & (pl.col("life_stage") == "general")
    ).select(
        "sex", "age_group", pl.col("value").alias("camg_mg"), pl.col("n_persons").alias("camg_n")
    )
    published = pl.read_csv(PUBLISHED)
    return (
        published.join(camg, on=["sex", "age_group"], how="left")
        .select(
            "sex",
            "age_group",
            pl.col("mean_usual_calcium_food_mg").alias("bailey_mg"),
            "se_mg",
            pl.col("n").alias("bailey_n"),
            "camg_mg",
            "camg_n",
            (100 * (pl.col("camg_mg") / pl.col("mean_usual_calcium_food_mg") - 1)).alias(
                "diff_pct"
            ),
        )
        .with_columns((pl.col("diff_pct").abs() <= TOLERANCE_PCT).alias("within_15pct"))
    )


def main() -> None:
    started = time.perf_counter()
    run = run_batch("nhanes_2007_2012")
    summary = run.summary
    table = comparison(summary)
    print(
        "camg (NHANES 2007-2012, WTDR2D/3) vs Bailey 2010 Table 3 (NHANES 2003-2006), "
        "mean usual Ca from food"
    )
    print(
        f"{'sex':7s} {'age':8s} {'Bailey':>7s} {'(SE)':>5s} {'camg':>7s} {'n':>5s} {'diff %':>7s}"
        "  within 15 %"
    )
    for r in table.iter_rows(named=True):
        print(
            f"{r['sex']:7s} {r['age_group']:8s} {r['bailey_mg']:7.0f} {r['se_mg']:5.0f} "
            f"{r['camg_mg']:7.0f} {r['camg_n']:5d} {r['diff_pct']:+7.1f}  {r['within_15pct']}"
        )
    diffs = table["diff_pct"].abs()
    print(
        f"groups within 15 %: {int(table['within_15pct'].sum())}/{table.height}; "
        f"mean |diff| {diffs.mean():.1f} %, max |diff| {diffs.max():.1f} %"
    )
    print(f"elapsed {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
