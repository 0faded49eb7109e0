"""Print what imputing unmatched FNDDS codes does to NHANES 2007-2012 (coverage, group means).

Usage: python validation/imputation_effect.py

Coverage: per cycle, the kept food items (and grams) with their own code's values, imputed from the
composition table's hierarchy (camg.enrich.imputation, by method) or still unmatched.
Before / after: day-1 survey-weighted mean Ca and Mg (all cycles, day-1 weight / 3) by sex for ages 2+ and
the WWEIA age groups (both sexes), computed two ways on the same persons:
- before: as camg did without imputation: unmatched foods count as 0 mg and every day is used;
- after: as camg publishes: imputed values, days still holding an unmatched food left out.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from pipeline import run_batch

from camg.assess import intakes
from camg.population.groups import HEADLINE_AGE_GROUPS, WWEIA_AGE_GROUPS
from camg.population.survey import weighted_mean

CYCLES = {"E": "2007-2008", "F": "2009-2010", "G": "2011-2012"}


def coverage(items: pl.DataFrame) -> None:
    """Items and grams by how their values were found, per cycle."""
    food = items.filter(pl.col("item_kind") == "food").with_columns(
        pl.col("source_file")
        .str.extract(r"IFF_([A-Z])\.", 1)
        .replace_strict(CYCLES)
        .alias("cycle"),
        pl.when(~pl.col("is_matched"))
        .then(pl.lit("unmatched"))
        .when(pl.col("is_imputed"))
        .then(pl.col("imputation_method"))
        .otherwise(pl.lit("own code"))
        .alias("how"),
    )
    table = (
        food.group_by("cycle", "how")
        .agg(pl.len().alias("items"), pl.col("grams").sum().alias("grams"))
        .with_columns(
            (100 * pl.col("items") / pl.col("items").sum().over("cycle")).alias("pct_items"),
            (100 * pl.col("grams") / pl.col("grams").sum().over("cycle")).alias("pct_grams"),
        )
        .sort("cycle", "how")
    )
    print("coverage of kept food items: cycle, values from, items, % items, grams, % grams")
    for r in table.iter_rows(named=True):
        print(
            f"  {r['cycle']}  {r['how']:16s} {r['items']:7d} {r['pct_items']:6.2f} %"
            f" {r['grams']:12.0f} g {r['pct_grams']:6.2f} %"
        )


def day_one(items: pl.DataFrame, persons: pl.DataFrame, lost: pl.DataFrame, before: bool):
    """Each person's day-1 Ca and Mg (null when the day is not used) with sex, age and weight."""
    if before:  # no imputation: imputed items as unknown (0 mg), every day used
        items = items.with_columns(
            pl.when(pl.col("is_imputed")).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("calcium_mg", "magnesium_mg")
        )
    days = intakes.person_days(items).filter(pl.col("recall_day") == 1)
    days = days.join(lost, on=["study_id", "person_id", "recall_day"], how="anti")
    if not before:
        days = days.filter(pl.col("n_unmatched_items") == 0)
    # as camg's single-day weight: the one-day weight where there is one, else the two-day weight
    weight = pl.coalesce("weight", "weight_two_day") / 3
    return persons.select("person_id", "sex", "age_months", weight.alias("w")).join(
        days.select("person_id", "calcium_mg", "magnesium_mg"), on="person_id", how="left"
    )


def means(frame: pl.DataFrame, low: int, high: int | None, sex: str) -> tuple[float, float]:
    """Weighted mean Ca and Mg of persons of a sex (or all) and age span with a used day 1."""
    years = pl.col("age_months") // 12
    keep = (years >= low) & (pl.col("w") > 0) & pl.col("calcium_mg").is_not_null()
    if high is not None:
        keep &= years < high
    if sex != "all":
        keep &= pl.col("sex") == sex
    part = frame.filter(keep)
    w = part["w"].to_numpy()
    return (
        weighted_mean(part["calcium_mg"].to_numpy(), w),
        weighted_mean(part["magnesium_mg"].to_numpy(), w),
    )


def main() -> None:
    run = run_batch("nhanes_2007_2012")
    coverage(run.items)
    before = day_one(run.items, run.persons, run.lost, before=True)
    after = day_one(run.items, run.persons, run.lost, before=False)
    print("day-1 weighted mean mg/day, all cycles: before (unmatched = 0 mg) -> after (imputed)")
    spans = [("2+ y", 2, None, s) for s in ("male", "female", "all")]
    spans += [(label, low, high, "all") for label, low, high in WWEIA_AGE_GROUPS]
    assert any(label == "2+ y" for label, *_ in HEADLINE_AGE_GROUPS)
    for label, low, high, sex in spans:
        (ca0, mg0), (ca1, mg1) = means(before, low, high, sex), means(after, low, high, sex)
        print(
            f"  {sex:6s} {label:8s} Ca {ca0:7.1f} -> {ca1:7.1f} ({ca1 - ca0:+5.1f})"
            f"   Mg {mg0:6.1f} -> {mg1:6.1f} ({mg1 - mg0:+5.1f})"
        )
    n_before = int(before["calcium_mg"].is_not_null().sum())
    n_after = int(after["calcium_mg"].is_not_null().sum())
    print(f"persons with a used day 1: before {n_before}, after {n_after}")
    print(f"(mean of finite day-1 Ca, unweighted, after: {np.nanmean(after['calcium_mg']):.1f})")


if __name__ == "__main__":
    main()
