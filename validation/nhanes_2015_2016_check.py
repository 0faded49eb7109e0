"""Print how camg's person-day Ca/Mg compare with NHANES's own numbers (run `camg run` first).

Usage: python validation/nhanes_2015_2016_check.py [data/marts/camg.duckdb]
"""

import sys
from pathlib import Path

import duckdb
import polars as pl

from camg.assess.nhanes_check import person_day_comparison, with_official_day1_totals

REPO = Path(__file__).resolve().parents[1]


def describe(days: pl.DataFrame, column: str, label: str) -> None:
    diff = days[column].abs() * 100
    print(
        f"{label}: n={days.height}  within 2%: {(diff <= 2).mean() * 100:.2f}%  "
        f"median |diff| {diff.median():.3f}%  p95 {diff.quantile(0.95):.3f}%  max {diff.max():.3f}%"
    )


def worst(days: pl.DataFrame, db: str, nutrient: str) -> None:
    column = f"{nutrient}_relative_difference"
    top = days.sort(pl.col(column).abs(), descending=True).head(5)
    with duckdb.connect(db, read_only=True) as con:
        for row in top.iter_rows(named=True):
            foods = con.sql(
                f"""select food_code, grams, {nutrient}_mg, reported_{nutrient}_mg from intake_item
                where person_id = $p and recall_day = $d
                order by abs({nutrient}_mg - reported_{nutrient}_mg) desc limit 2""",
                params={"p": row["person_id"], "d": row["recall_day"]},
            ).fetchall()
            print(
                f"  SEQN {row['person_id']} day {row['recall_day']}: camg {row[f'{nutrient}_mg']:.1f}"
                f" vs NHANES {row[f'nhanes_{nutrient}_mg']:.1f} mg ({row[column] * 100:+.2f}%);"
                f" largest item gaps (code, g, camg, NHANES): {foods}"
            )


def main() -> None:
    db = sys.argv[1] if len(sys.argv) > 1 else str(REPO / "data/marts/camg.duckdb")
    days = person_day_comparison(db).filter(pl.col("study_id") == "nhanes_2015_2016")
    describe(days, "calcium_relative_difference", "Ca vs item sums")
    describe(days, "magnesium_relative_difference", "Mg vs item sums")
    dr1tot = pl.read_csv(REPO / "tests/data/nhanes_2015_2016_dr1tot_day1.csv.gz")
    day1 = with_official_day1_totals(days, dr1tot).with_columns(
        (
            (pl.col("calcium_mg") - pl.col("official_calcium_mg")) / pl.col("official_calcium_mg")
        ).alias("ca_vs_official"),
        (
            (pl.col("magnesium_mg") - pl.col("official_magnesium_mg"))
            / pl.col("official_magnesium_mg")
        ).alias("mg_vs_official"),
    )
    describe(day1, "ca_vs_official", "Ca day 1 vs DR1TCALC")
    describe(day1, "mg_vs_official", "Mg day 1 vs DR1TMAGN")
    print("Worst 5 person-days, calcium:")
    worst(days, db, "calcium")
    print("Worst 5 person-days, magnesium:")
    worst(days, db, "magnesium")


if __name__ == "__main__":
    main()
