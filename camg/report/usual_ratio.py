"""Population view, usual Ca:Mg ratio: the `usual_ratio` mart -> a small table for adults.

One row per group the Ca:Mg bands apply to (the mart gives band shares only there): the adult DRI
groups and ages 20+ by sex and for both sexes, all survey cycles together. Figures failing the NCHS
standards (`camg.population.reliability`) are not shown, as in the intake tables.
"""

import polars as pl

from camg.report import fmt

SUPPRESSED = "* (unreliable)"
SEX_ORDER = {"female": 0, "male": 1, "all": 2}
ALL_CYCLES = "all"


def _cell(row: dict | None, text) -> str:
    """A figure's text, or the suppressed mark."""
    if row is None:
        return fmt.MISSING
    return SUPPRESSED if row["reliability"] == "suppress" else text(row)


def _group_row(label: str, stats: dict[str, dict]) -> dict[str, str]:
    """One group's cells: n, median with its interval, p5, p95, shares with SEs."""
    median = stats.get("p50")
    return {
        "group": label,
        "n": fmt.number(median["n_persons"] if median else None),
        "p50": _cell(
            median,
            lambda r: (
                f"{fmt.ratio(r['value'])} ({fmt.ratio(r['ci_low'])}-{fmt.ratio(r['ci_high'])})"
            ),
        ),
        "p5": _cell(stats.get("p5"), lambda r: fmt.ratio(r["value"])),
        "p95": _cell(stats.get("p95"), lambda r: fmt.ratio(r["value"])),
        "below": _cell(stats.get("pct_below"), lambda r: fmt.percent_se(r["value"], r["se"])),
        "above": _cell(stats.get("pct_above"), lambda r: fmt.percent_se(r["value"], r["se"])),
    }


def usual_ratio_view(mart: pl.DataFrame | None, study_id: str) -> dict | None:
    """The table's rows and band edges, or None when the run published no usual_ratio rows."""
    if mart is None:
        return None
    rows = mart.filter((pl.col("study_id") == study_id) & (pl.col("survey_cycle") == ALL_CYCLES))
    banded = rows.filter(pl.col("statistic") == "pct_above").select(
        "grouping", "sex", "age_group", "life_stage", "age_months_min"
    )
    adults = banded.filter(
        (pl.col("grouping") == "dri_age_group")
        | ((pl.col("grouping") == "headline_age_group") & (pl.col("age_group") == "20+ y"))
    )
    if adults.height == 0:
        return None
    order = adults.with_columns(
        (pl.col("grouping") != "dri_age_group").alias("last"),
        pl.col("sex").replace_strict(SEX_ORDER, default=3).alias("s"),
    ).sort("last", "s", "age_months_min", "life_stage")
    keys = ["grouping", "sex", "age_group", "life_stage"]
    table = []
    for key in order.select(keys).iter_rows(named=True):
        group = rows.join(pl.DataFrame([key]), on=keys)
        stats = {r["statistic"]: r for r in group.iter_rows(named=True)}
        label = key["age_group"] if key["sex"] == "all" else f"{key['sex']} {key['age_group']}"
        if key["life_stage"] not in ("general", "all"):
            label += f", {key['life_stage']}"
        table.append(_group_row(label, stats))
    edges = rows.filter(pl.col("statistic").is_in(["pct_below", "pct_above"]))
    low = edges.filter(pl.col("statistic") == "pct_below")["threshold_value"].max()
    high = edges.filter(pl.col("statistic") == "pct_above")["threshold_value"].max()
    return {"rows": table, "low": fmt.ratio(low), "high": fmt.ratio(high)}
