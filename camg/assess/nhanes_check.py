"""Validation helper: camg's person-day Ca/Mg (grams x composition) vs NHANES's own numbers.

NHANES individual-foods files carry each item's official Ca and Mg (DRxICALC, DRxIMAGN, computed by
USDA from FNDDS); DR1TOT carries the official day-1 totals. camg recomputes every item from grams and
its composition table, so the difference measures the whole enrichment path against the published data.
"""

import duckdb
import polars as pl

DAY_COMPARISON_SQL = """
select
    study_id, person_id, recall_day,
    sum(calcium_mg) as calcium_mg,
    sum(reported_calcium_mg) as nhanes_calcium_mg,
    sum(magnesium_mg) as magnesium_mg,
    sum(reported_magnesium_mg) as nhanes_magnesium_mg
from intake_item
group by study_id, person_id, recall_day
"""


def person_day_comparison(marts_db: str) -> pl.DataFrame:
    """One row per person-day: camg's and NHANES's Ca and Mg and their relative differences."""
    with duckdb.connect(marts_db, read_only=True) as con:
        days = con.sql(DAY_COMPARISON_SQL).pl()
    return days.with_columns(
        ((pl.col("calcium_mg") - pl.col("nhanes_calcium_mg")) / pl.col("nhanes_calcium_mg")).alias(
            "calcium_relative_difference"
        ),
        (
            (pl.col("magnesium_mg") - pl.col("nhanes_magnesium_mg")) / pl.col("nhanes_magnesium_mg")
        ).alias("magnesium_relative_difference"),
    )


def with_official_day1_totals(days: pl.DataFrame, dr1tot: pl.DataFrame) -> pl.DataFrame:
    """Day-1 rows joined to the official DR1TCALC / DR1TMAGN totals by SEQN."""
    totals = dr1tot.select(
        pl.col("SEQN").cast(pl.String).alias("person_id"),
        pl.col("DR1TCALC").cast(pl.Float64).alias("official_calcium_mg"),
        pl.col("DR1TMAGN").cast(pl.Float64).alias("official_magnesium_mg"),
    )
    return days.filter(pl.col("recall_day") == 1).join(totals, on="person_id", how="inner")
