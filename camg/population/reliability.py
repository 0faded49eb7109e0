"""Summarise helper: population_summary rows -> confidence intervals and reliability marks.

Intervals: 95 % confidence intervals with Student t on the design's degrees of freedom, as R
`survey` does with `confint(..., df = degf(design))` and `svyciprop`: means and percentiles
value +- t se; proportions by Korn & Graubard (1998, Surv Methodol 24:193), the interval the NCHS
standard is written for: a Clopper-Pearson interval on the effective sample size
n_eff = p (1 - p) / se^2 (at most n), scaled by (t_{n-1} / t_df)^2.

Reliability (`reliability`: reliable, review or suppress, with `reliability_reason`):
- proportions (pct_*): NCHS Data Presentation Standards for Proportions (Parker JD et al. 2017,
  Vital Health Stat 2(175)): suppress when n < 30, n_eff < 30, the Korn-Graubard interval is 30
  points or wider, or it is wider than 5 points and wider than 130 % of the estimate; flag for
  review when the degrees of freedom are below 8 or the estimate is 0 or 100 % (no SE there).
- means and percentiles: the customary NCHS rule (e.g. NCHS Health, United States, "Data
  presentation": unreliable when the relative standard error exceeds 30 %), and n < 30.
Every threshold is a row of reference/camg_rules.csv (`reliability.*`).
"""

import numpy as np
import polars as pl
from scipy import stats

from camg.reference import Reference

RULES = {
    "min_n": "reliability.min_sample_size",
    "min_n_eff": "reliability.min_effective_sample_size",
    "max_width": "reliability.max_ci_width",
    "small_width": "reliability.small_ci_width",
    "max_relative_width": "reliability.max_relative_ci_width",
    "min_df": "reliability.min_degrees_of_freedom",
    "max_rse": "reliability.max_relative_se",
}


def reliability_rules(reference: Reference) -> dict[str, float]:
    """The reliability thresholds from the rules table, by short name."""
    return {name: reference.threshold(rule_id) for name, rule_id in RULES.items()}


def t_quantile(df: np.ndarray) -> np.ndarray:
    """97.5 % quantile of Student t on df (normal where df is unknown)."""
    df = np.asarray(df, dtype=float)
    return np.where(
        np.isfinite(df) & (df > 0), stats.t.ppf(0.975, np.maximum(df, 1)), stats.norm.ppf(0.975)
    )


def korn_graubard(p, se, n, df) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Korn-Graubard 95 % interval of proportions p (0-1) and the effective sample sizes."""
    p, se, n, df = (np.asarray(a, dtype=float) for a in (p, se, n, df))
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where((se > 0) & (p > 0) & (p < 1), p * (1 - p) / se**2, n)
        n_eff = np.minimum(n_eff, n)
        adjust = np.where(
            (df > 0) & (n > 1),
            (stats.t.ppf(0.975, np.maximum(n - 1, 1)) / t_quantile(df)) ** 2,
            1.0,
        )
        n_df = n_eff * adjust
        x = n_df * p
        low = np.where(x > 0, stats.beta.ppf(0.025, x, n_df - x + 1), 0.0)
        high = np.where(x < n_df, stats.beta.ppf(0.975, x + 1, n_df - x), 1.0)
    return low, high, n_eff


def proportion_marks(p, low, high, n, n_eff, df, rule) -> list[tuple[str, str | None]]:
    """NCHS (Parker et al. 2017) marks of proportions p (0-1) with their Korn-Graubard interval."""
    out = []
    for pi, lo, hi, ni, ne, d in zip(p, low, high, n, n_eff, df, strict=True):
        width = hi - lo
        if ni < rule["min_n"]:
            out.append(("suppress", f"sample size {ni:.0f} < {rule['min_n']:.0f}"))
        elif ne < rule["min_n_eff"]:
            out.append(("suppress", f"effective sample size {ne:.0f} < {rule['min_n_eff']:.0f}"))
        elif width >= rule["max_width"]:
            out.append(("suppress", f"confidence interval {100 * width:.1f} points wide"))
        elif width > rule["small_width"] and pi > 0 and width / pi > rule["max_relative_width"]:
            out.append(
                ("suppress", f"confidence interval {100 * width / pi:.0f} % of the estimate")
            )
        elif d < rule["min_df"]:
            out.append(("review", f"{d:.0f} degrees of freedom < {rule['min_df']:.0f}"))
        elif pi in (0.0, 1.0):
            out.append(("review", "estimate of 0 or 100 %: no variance, review"))
        else:
            out.append(("reliable", None))
    return out


def mean_marks(value, se, n, rule) -> list[tuple[str, str | None]]:
    """Marks of means and percentiles: n below the minimum or relative SE above the maximum."""
    out = []
    for v, s, ni in zip(value, se, n, strict=True):
        rse = s / abs(v) if np.isfinite(s) and v not in (0.0,) and np.isfinite(v) else np.nan
        if ni < rule["min_n"]:
            out.append(("suppress", f"sample size {ni:.0f} < {rule['min_n']:.0f}"))
        elif not np.isfinite(rse):
            out.append(("review", "no standard error"))
        elif rse > rule["max_rse"]:
            out.append(
                (
                    "suppress",
                    f"relative standard error {100 * rse:.0f} % > {100 * rule['max_rse']:.0f} %",
                )
            )
        else:
            out.append(("reliable", None))
    return out


def with_intervals(rows: pl.DataFrame, rule: dict[str, float]) -> pl.DataFrame:
    """Rows with ci_low, ci_high, reliability and reliability_reason (needs value, se, n, df)."""
    value = rows["value"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    se = rows["se"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    n = rows["n_persons"].cast(pl.Float64).to_numpy()
    df = rows["df"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    is_pct = rows["statistic"].str.starts_with("pct_").to_numpy()
    half = t_quantile(df) * se
    low, high = value - half, value + half
    kg_low, kg_high, n_eff = korn_graubard(value / 100, se / 100, n, df)
    low = np.where(is_pct, 100 * kg_low, low)
    high = np.where(is_pct, 100 * kg_high, high)
    known = np.isfinite(value) & (np.isfinite(se) | is_pct)
    low, high = np.where(known, low, np.nan), np.where(known, high, np.nan)
    p_marks = proportion_marks(value / 100, kg_low, kg_high, n, n_eff, df, rule)
    m_marks = mean_marks(value, se, n, rule)
    marks = [
        ("not_estimated", None) if not np.isfinite(v) else (pm if pct else mm)
        for v, pct, pm, mm in zip(value, is_pct, p_marks, m_marks, strict=True)
    ]
    return rows.with_columns(
        pl.Series("ci_low", low).fill_nan(None),
        pl.Series("ci_high", high).fill_nan(None),
        pl.Series("reliability", [m[0] for m in marks], dtype=pl.String),
        pl.Series("reliability_reason", [m[1] for m in marks], dtype=pl.String),
    )
