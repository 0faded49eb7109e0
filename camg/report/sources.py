"""Food sources view: the `food_sources` mart (or an unweighted fallback) -> top Ca and Mg foods."""

import polars as pl

from camg.report import fmt
from camg.report.charts import share_bars
from camg.report.load import MartData
from camg.report.names import FoodKey, food_label

TOP_SOURCES = 10


def _from_mart(sources: pl.DataFrame, study_id: str, names: dict[FoodKey, str]) -> pl.DataFrame:
    """The mart's food-level rows for a study (all its survey cycles together), named."""
    rows = sources.filter(
        (pl.col("study_id") == study_id)
        & (pl.col("level") == "food")
        & (pl.col("survey_cycle") == "all")
    )
    labels = [
        row["description"] or food_label(names, "fndds", row["code"], None)
        for row in rows.select("code", "description").iter_rows(named=True)
    ]
    return rows.select(
        pl.Series("name", labels, dtype=pl.String),
        "calcium_share_pct",
        "magnesium_share_pct",
        pl.col("calcium_mg_per_person_day").alias("calcium_per_day"),
        pl.col("magnesium_mg_per_person_day").alias("magnesium_per_day"),
    )


def _fallback(marts: MartData, study_id: str, names: dict[FoodKey, str]) -> pl.DataFrame:
    """Unweighted shares: each food's Ca and Mg over the study's summed recorded Ca and Mg."""
    rows = marts.study_food_totals.filter(pl.col("study_id") == study_id)
    person_days = marts.persons.filter(pl.col("study_id") == study_id)["n_days"].sum() or None
    labels = [
        food_label(names, r["food_system"], r["food_code"], r["food_description"], r["item_kind"])
        for r in rows.iter_rows(named=True)
    ]
    return rows.select(
        pl.Series("name", labels, dtype=pl.String),
        (100 * pl.col("calcium_mg") / pl.col("calcium_mg").sum()).alias("calcium_share_pct"),
        (100 * pl.col("magnesium_mg") / pl.col("magnesium_mg").sum()).alias("magnesium_share_pct"),
        (pl.col("calcium_mg") / person_days).alias("calcium_per_day"),
        (pl.col("magnesium_mg") / person_days).alias("magnesium_per_day"),
    )


def _top(shares: pl.DataFrame, nutrient: str, name: str) -> dict:
    """The top foods of one mineral: chart and table."""
    top = (
        shares.filter(pl.col(f"{nutrient}_share_pct") > 0)
        .sort([f"{nutrient}_share_pct", "name"], descending=[True, False])
        .head(TOP_SOURCES)
    )
    rows = [(r["name"], r[f"{nutrient}_share_pct"]) for r in top.iter_rows(named=True)]
    desc = "; ".join(f"{label}: {pct:.1f} %" for label, pct in rows)
    return {
        "name": name,
        "chart": share_bars(
            f"{nutrient}-sources",
            f"Top {len(rows)} food sources of {name.lower()}: share of intake",
            desc,
            rows,
        )
        if rows
        else None,
        "rows": [
            {
                "name": r["name"],
                "share": fmt.percent(r[f"{nutrient}_share_pct"]),
                "per_day": fmt.mg(r[f"{nutrient}_per_day"]),
            }
            for r in top.iter_rows(named=True)
        ],
    }


def food_sources_view(marts: MartData, study_id: str, names: dict[FoodKey, str]) -> dict:
    """Top food sources of Ca and Mg, from the mart when the run made it."""
    from_mart = (
        marts.food_sources is not None
        and marts.food_sources.filter(pl.col("study_id") == study_id).height > 0
    )
    shares = (
        _from_mart(marts.food_sources, study_id, names)
        if from_mart
        else _fallback(marts, study_id, names)
    )
    return {
        "from_mart": from_mart,
        "nutrients": [_top(shares, "calcium", "Calcium"), _top(shares, "magnesium", "Magnesium")],
    }
