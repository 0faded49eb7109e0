"""Population report, assessment section: intake_person + population_summary -> risk by DRI group.

Per DRI group: the persons at each risk level, the share whose calcium or magnesium is "likely
inadequate" by the DRI method for individuals, and beside it the usual-intake prevalence below the
EAR (the NCI model of `population_summary`). The first can never honestly exceed the second by much:
the individual test needs 85 % confidence, the prevalence counts everyone below the EAR.
"""

import polars as pl

from camg.report import fmt

LEVELS = ["high", "moderate", "low", "undetermined"]
NOT_ASSESSED = ["insufficient data", "age in months unknown"]


def _prevalence(summary: pl.DataFrame | None, study_id: str) -> dict[tuple, float | None]:
    """(sex, DRI age group, life stage, nutrient) -> usual-intake % below the EAR."""
    if summary is None:
        return {}
    rows = summary.filter(
        (pl.col("study_id") == study_id)
        & (pl.col("basis") == "usual_intake")
        & (pl.col("grouping") == "dri_age_group")
        & (pl.col("statistic") == "pct_below_ear")
    )
    return {
        (r["sex"], r["age_group"], r["life_stage"], r["measure"].removesuffix("_mg")): r["value"]
        for r in rows.iter_rows(named=True)
    }


def _share(count: int, total: int) -> str:
    """A count as a percent of a total (unweighted)."""
    return fmt.percent(100 * count / total if total else None)


def assessment_section(persons: pl.DataFrame, summary: pl.DataFrame | None, study_id: str) -> dict:
    """Risk distribution and likely-inadequate shares by DRI group, with the usual-intake prevalence."""
    prevalence = _prevalence(summary, study_id)
    grouped = (
        persons.filter(pl.col("dri_age_group").is_not_null())
        .group_by("sex", "dri_age_group", "life_stage")
        .agg(
            pl.len().alias("n"),
            pl.col("age_months").min().alias("age"),
            *[(pl.col("risk_level") == level).sum().alias(level) for level in LEVELS],
            (pl.col("assessment_status") == "insufficient data").sum().alias("insufficient"),
            pl.col("is_calcium_likely_inadequate").sum().alias("calcium"),
            pl.col("is_magnesium_likely_inadequate").sum().alias("magnesium"),
            pl.col("is_calcium_likely_inadequate").count().alias("calcium_n"),
            pl.col("is_magnesium_likely_inadequate").count().alias("magnesium_n"),
        )
        .sort("age", "sex", "life_stage")
    )
    rows = []
    for r in grouped.iter_rows(named=True):
        key = (r["sex"], r["dri_age_group"], r["life_stage"])
        assessed = sum(r[level] for level in LEVELS)
        stage = "" if r["life_stage"] == "general" else f", {r['life_stage']}"
        rows.append(
            {
                "group": f"{r['sex']} {r['dri_age_group']}{stage}",
                "n": fmt.number(r["n"]),
                "levels": [_share(r[level], assessed) for level in LEVELS],
                "insufficient": fmt.number(r["insufficient"]),
                **{
                    n: _share(r[n], r[f"{n}_n"]) if r[f"{n}_n"] else "–"
                    for n in ("calcium", "magnesium")
                },
                **{
                    f"{n}_usual": fmt.percent(prevalence.get((*key, n)))
                    for n in ("calcium", "magnesium")
                },
            }
        )
    unknown_month = persons.filter(pl.col("assessment_status") == "age in months unknown").height
    return {
        "levels": LEVELS,
        "rows": rows,
        "n_unknown_month": fmt.number(unknown_month) if unknown_month else "",
        "n_insufficient": fmt.number(
            persons.filter(pl.col("assessment_status") == "insufficient data").height
        ),
        "has_supplement_data": bool(persons["has_supplement_data"].any())
        if persons.height
        else True,
    }
