"""Population view: one study's marts -> headline, intakes, prevalence, ratio, sources, quality."""

import itertools
from collections.abc import Callable

import polars as pl

from camg.report import fmt
from camg.report.assessment import assessment_section
from camg.report.charts import RangeRow, range_chart, ratio_histogram
from camg.report.load import MartData
from camg.report.quality import crosscheck_view
from camg.report.rules import Rules
from camg.report.sources import food_sources_view
from camg.report.stats import study_summary
from camg.report.usual_ratio import usual_ratio_view

SEX_ORDER = {"female": 0, "male": 1, "all": 2}
# Reliability marks (camg.population.reliability) -> CSS class of the table cell, and the suppressed text.
MARK_CLASS = {"suppress": "unreliable", "review": "review"}
SUPPRESSED = "* (unreliable)"
RATIO_BIN_WIDTH = 0.25
RATIO_BINS_MAX = 6.0


def _figures(long: pl.DataFrame) -> dict[tuple, dict[str, tuple]]:
    """(sex, age_group, life_stage, measure) -> statistic -> (value, se, basis, n, age_min, mark).

    mark: the row's reliability (camg.population.reliability; None when unknown).
    """
    out: dict[tuple, dict[str, tuple]] = {}
    keys = ["sex", "age_group", "life_stage", "measure", "statistic"]
    for r in long.sort(keys, nulls_last=True).iter_rows(named=True):
        key = (r["sex"], r["age_group"], r["life_stage"], r["measure"])
        out.setdefault(key, {})[r["statistic"]] = (
            r["value"],
            r["se"],
            r["basis"],
            r["n_persons"],
            r["age_months_min"],
            r.get("reliability"),
        )
    return out


def _group_label(sex: str, age_group: str, life_stage: str) -> str:
    """`female 19-30 y`, `female 19-30 y, pregnant`, `all ages`."""
    label = age_group if sex == "all" else f"{sex} {age_group}"
    return label if life_stage in ("general", "all") else f"{label}, {life_stage}"


def _dri_lookup(persons: pl.DataFrame) -> dict[tuple, dict]:
    """(sex, DRI age group, life stage) -> that group's DRI values (identical within a group)."""
    return {
        (r["sex"], r["dri_age_group"], r["life_stage"]): r
        for r in persons.unique(
            subset=["sex", "dri_age_group", "life_stage"], keep="first"
        ).iter_rows(named=True)
    }


def _group_order(figures: dict) -> Callable[[tuple], tuple]:
    """Sort key: female, male, all; by age within each, the all-ages row last."""
    return lambda k: (
        SEX_ORDER.get(k[0], 3),
        k[1] == "all ages",
        min((v[4] for v in figures[k].values() if v[4] is not None), default=-1),
        k[2],
    )


def group_size(stats: dict[str, tuple]) -> int:
    """Persons in a group: the most any of its figures rests on (some figures leave persons out)."""
    return max((v[3] for v in stats.values() if v[3] is not None), default=0)


def _intake_row(label: str, stats: dict, ear: float | None, target: float | None) -> dict:
    """One group's table row: percentiles, DRI values, prevalence with SE, basis and marks.

    A figure marked `suppress` (NCHS reliability standards, camg.population.reliability) is not shown; one
    marked `review` is shown in grey with a dagger; `marks` gives each cell's CSS class.
    """
    value = {s: v[0] for s, v in stats.items()}
    first = next(iter(stats.values()))
    n_persons = group_size(stats)
    below = stats.get("pct_below_ear", (None,) * 6)
    above = stats.get("pct_above_ul", (None,) * 6)
    cells = {s: fmt.number(value.get(s)) for s in ("mean", "p5", "p50", "p95")}
    cells["below_ear"] = fmt.percent_se(below[0], below[1])
    cells["above_ul"] = fmt.percent_se(above[0], above[1])
    marks = {}
    statistics = ("mean", "p5", "p50", "p95", "pct_below_ear", "pct_above_ul")
    for cell, statistic in zip(cells, statistics, strict=True):
        mark = stats.get(statistic, (None,) * 6)[5]
        marks[cell] = MARK_CLASS.get(mark, "")
        if mark == "suppress":
            cells[cell] = SUPPRESSED
        elif mark == "review":
            cells[cell] += " †"
    return {
        "group": label,
        "n": fmt.number(n_persons),
        "basis": basis_label(below[2] or stats.get("p50", first)[2]),
        **cells,
        "ear": fmt.number(ear),
        "target": fmt.number(target),
        "marks": marks,
    }


def intake_section(figures: dict, dri: dict, nutrient: str, name: str) -> dict:
    """Distribution chart and prevalence table of one mineral by group."""
    keys = sorted((k for k in figures if k[3] == f"{nutrient}_mg"), key=_group_order(figures))
    rows, chart_rows = [], []
    for key in keys:
        stats, person = figures[key], dri.get(key[:3], {})
        ear = person.get(f"{nutrient}_ear_mg")
        target = person.get(f"{nutrient}_rda_mg") or person.get(f"{nutrient}_ai_mg")
        label = _group_label(*key[:3])
        rows.append(_intake_row(label, stats, ear, target))
        q = [stats.get(s, (None,))[0] for s in ("p5", "p25", "p50", "p75", "p95")]
        if all(v is not None for v in q):
            n = group_size(stats)
            chart_rows.append(RangeRow(f"{label} (n={n:,})", *q, ear, target))
    desc = "; ".join(
        f"{r.label}: median {r.p50:,.0f} mg, middle half {r.p25:,.0f}-{r.p75:,.0f} mg"
        + (f", EAR {r.ear:,.0f} mg" if r.ear is not None else "")
        for r in chart_rows
    )
    title = (
        f"{name} intake by sex and age group: 5th-95th percentile line, 25th-75th box, "
        "median dot; red line EAR, black triangle RDA or AI"
    )
    chart = range_chart(f"{nutrient}-range", title, desc, chart_rows) if chart_rows else None
    return {"name": name, "rows": rows, "chart": chart}


def basis_label(basis: str | None) -> str:
    """How a figure was estimated, for the tables."""
    return {"usual_intake": "usual intake", "single_day": "observed days"}.get(basis or "", "–")


def ratio_section(persons: pl.DataFrame, rules: Rules) -> dict:
    """Histogram of participants' Ca:Mg ratios with the bands, and the band table with sources."""
    bands = rules.bands()
    ratios = persons["calcium_to_magnesium_mass_ratio"].drop_nulls()
    n = ratios.len()
    edges = [i * RATIO_BIN_WIDTH for i in range(int(RATIO_BINS_MAX / RATIO_BIN_WIDTH) + 1)]
    bins = []
    for lo, hi in itertools.pairwise(edges):
        upper = ratios < hi if hi < RATIO_BINS_MAX else ratios >= lo
        bins.append((lo, hi, 100 * int(((ratios >= lo) & upper).sum()) / n if n else 0.0))
    shares = [
        (f"below {bands.low:.1f}", int((ratios < bands.low).sum()), "ratio.detrimental_low"),
        (
            f"{bands.low:.1f} to {bands.optimal_high:.1f}",
            int(((ratios >= bands.low) & (ratios <= bands.optimal_high)).sum()),
            "ratio.optimal_low, ratio.optimal_high",
        ),
        (
            f"{bands.optimal_high:.1f} to {bands.high:.1f}",
            int(((ratios > bands.optimal_high) & (ratios <= bands.high)).sum()),
            "ratio.optimal_high",
        ),
        (f"above {bands.high:.1f}", int((ratios > bands.high).sum()), "ratio.detrimental_high"),
    ]
    desc = "; ".join(
        f"{label}: {fmt.percent(100 * k / n if n else None)}" for label, k, _ in shares
    )
    return {
        "n": fmt.number(n),
        "median": fmt.ratio(ratios.median() if n else None),
        "chart": ratio_histogram(
            "ratio-hist",
            "Distribution of participants' Ca:Mg mass ratio with the 1.7 / 2.6 / 2.8 bands",
            desc,
            bins,
            bands,
        ),
        "bands": [
            {"band": label, "share": fmt.percent(100 * k / n if n else None), "rule_id": rule}
            for label, k, rule in shares
        ],
        "rules": [
            {
                "rule_id": r.rule_id,
                "value": fmt.ratio(r.value),
                "source": r.source,
                "detail": r.source_detail,
            }
            for r in rules.band_rules()
        ],
    }


def headline(persons: pl.DataFrame, figures: dict) -> list[tuple[str, str, str]]:
    """The few numbers a reader sees first: (label, value, note)."""
    measures = ("calcium_mg", "magnesium_mg", "calcium_to_magnesium_mass_ratio")
    overall = {m: figures.get(("all", "all ages", "all", m), {}) for m in measures}
    empty = (None, None, None, None, None)
    mean_ca, mean_mg = (
        overall["calcium_mg"].get("mean", empty),
        overall["magnesium_mg"].get("mean", empty),
    )
    below = overall["magnesium_mg"].get("pct_below_ear", empty)
    n, high = persons.height, persons.filter(pl.col("risk_level") == "high").height
    assessed = persons.filter(pl.col("risk_level").is_not_null()).height
    return [
        ("Participants assessed", fmt.number(n), ""),
        ("Recorded days", fmt.number(persons["n_days"].sum()), ""),
        ("Mean calcium", fmt.mg(mean_ca[0]), basis_label(mean_ca[2])),
        ("Mean magnesium", fmt.mg(mean_mg[0]), basis_label(mean_mg[2])),
        ("Median Ca:Mg ratio", fmt.ratio(overall[measures[2]].get("p50", empty)[0]), ""),
        (
            "Magnesium below EAR",
            fmt.percent(below[0]),
            f"SE {fmt.number(below[1], 1)}, {basis_label(below[2])}",
        ),
        (
            "Screened high risk",
            fmt.percent(100 * high / assessed if assessed else None),
            "of assessed persons, DRI method for individuals",
        ),
    ]


def quality_section(marts: MartData, study_id: str) -> dict:
    """Files, rows in / kept / quarantined by rule, and unmatched foods of the study."""
    files = marts.file_manifest.filter(pl.col("study_id") == study_id).sort("source_file")
    quarantine = marts.quarantine_by_rule.filter(pl.col("study_id") == study_id).sort(
        "n_rows", descending=True
    )
    unmatched = marts.unmatched_foods.filter(pl.col("study_id") == study_id).sort(
        "n_items", descending=True
    )
    return {
        "files": [fmt.file_row(r) for r in files.iter_rows(named=True)],
        "totals": {
            k: fmt.number(files[k].sum()) for k in ("rows_in", "rows_kept", "rows_quarantined")
        },
        "quarantine": [
            {"rule_id": r["rule_id"], "kind": r["record_kind"], "n": fmt.number(r["n_rows"])}
            for r in quarantine.iter_rows(named=True)
        ],
        "unmatched": [
            {
                "code": f"{r['food_system']} {r['food_code']}",
                "name": r["food_description"] or "",
                "n_items": fmt.number(r["n_items"]),
                "n_persons": fmt.number(r["n_persons"]),
                "grams": fmt.number(r["grams"]),
                "filled": _filled_by(r.get("imputation_method")),
            }
            for r in unmatched.head(20).iter_rows(named=True)
        ],
        "n_unmatched": fmt.number(unmatched.height),
        "imputation": imputation_counts(unmatched),
        "crosscheck": crosscheck_view(marts.export_crosscheck, study_id),
    }


def _filled_by(method: str | None) -> str:
    """How a missing food's values were filled: `mean of codes sharing 6 digits` or `not filled`."""
    if method and method.startswith("fndds_prefix_"):
        return f"mean of codes sharing {method.removeprefix('fndds_prefix_')} digits"
    return "not filled: its days are left out"


def imputation_counts(unmatched: pl.DataFrame) -> dict[str, str]:
    """Items, codes and grams imputed from the composition hierarchy, and those left unmatched."""
    imputed = (
        pl.col("is_imputed").fill_null(False)
        if "is_imputed" in unmatched.columns
        else pl.lit(False)
    )
    out = {}
    for name, rows in (
        ("imputed", unmatched.filter(imputed)),
        ("left", unmatched.filter(~imputed)),
    ):
        out[f"{name}_codes"] = fmt.number(rows.height)
        out[f"{name}_items"] = fmt.number(rows["n_items"].sum())
        out[f"{name}_grams"] = fmt.number(rows["grams"].sum())
    return out


def methods_section(marts: MartData, rules: Rules, from_mart: bool) -> dict:
    """Versions and references (no run id or time: the page changes only when its content does)."""
    run = marts.run_log.sort("finished_at").row(-1, named=True) if marts.run_log.height else {}
    return {
        "rules_version": run.get("rules_version", "–"),
        "composition_version": run.get("composition_version", "–"),
        "code_version": run.get("code_version", "–"),
        "from_mart": from_mart,
        "references": rules.sources(),
    }


def population_view(marts: MartData, study_id: str, rules: Rules, names: dict) -> dict:
    """Everything one study's population report shows."""
    persons = marts.persons.filter(pl.col("study_id") == study_id)
    long, from_mart = study_summary(marts.population_summary, persons, study_id)
    figures, dri = _figures(long), _dri_lookup(persons)
    return {
        "study_id": study_id,
        "from_mart": from_mart,
        "headline": headline(persons, figures),
        "intakes": [
            intake_section(figures, dri, "calcium", "Calcium"),
            intake_section(figures, dri, "magnesium", "Magnesium"),
        ],
        "ratio": ratio_section(persons, rules),
        "usual_ratio": usual_ratio_view(marts.usual_ratio, study_id),
        "assessment": assessment_section(persons, marts.population_summary, study_id),
        "sources": food_sources_view(marts, study_id, names),
        "quality": quality_section(marts, study_id),
        "methods": methods_section(marts, rules, from_mart),
    }
