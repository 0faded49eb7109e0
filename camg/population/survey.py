"""Design-based survey statistics for weighted, stratified, clustered samples (NHANES-like).

Plain numpy functions that reproduce what R's ``survey`` package computes for
``svymean(~x, svydesign(ids=~psu, strata=~strata, weights=~w, nest=TRUE))``:

* the mean is the weighted (ratio) mean ``sum(w*y) / sum(w)``;
* its variance is the Taylor-linearisation (first-stage, with-replacement PSU)
  estimator ``sum_h (1 - f_h) n_h/(n_h - 1) sum_i (z_hi - zbar_h)^2`` where ``z_hi``
  is the PSU total of the influence values ``w_k (y_k - ybar) / sum(w)``;
* PSUs are always taken as nested within strata (R's ``nest=TRUE``): PSU ``1`` of
  stratum ``A`` and PSU ``1`` of stratum ``B`` are different PSUs, as in NHANES
  where SDMVPSU is 1..2 (or 3) inside every SDMVSTRA;
* domains (sub-populations) keep the full design and zero the influence values
  outside the domain, as ``svyby``/``subset`` do, so that PSUs without domain
  members still count in ``n_h``. Rows with NaN values are treated as outside the
  domain (R's ``na.rm=TRUE``, which subsets the design).

Singleton strata (a stratum with one PSU in the *full* design): R's default
``options(survey.lonely.psu="fail")`` errors. Here the default is ``"adjust"``
(R >= 4.2 semantics): the lonely PSU total is centred at the grand mean of all PSU
totals (zero for a mean's influence values) with scale 1 -- conservative.
``"certainty"`` (or ``"remove"``) makes it contribute 0, ``"fail"`` raises.

Quantile SEs: Woodruff (1952) intervals. For the p-th quantile q (``qrule="math"``), F = the
domain's estimated share with ``y <= q`` and se_F its Taylor SE (as a mean of a 0/1 variable, full
design); the 95 % interval is [Q(F - c se_F), Q(F + c se_F)] (probabilities clipped to [0, 1]) with
c the 97.5 % quantile of t on the design's degrees of freedom (``df``; the normal 1.96 when df is
not given), and SE = width / (2 c). This is the construction R ``survey`` 4.1.1 documents as the
default of ``svyquantile`` (t on ``degf(design)``, interval centred on the estimated CDF); it has not
been checked here against R's output, and R's own SE for a quantile is derived the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

LonelyPsu = Literal["adjust", "certainty", "remove", "fail"]

__all__ = [
    "LonelyPsu",
    "SurveyEstimate",
    "linearized_variance",
    "survey_mean",
    "survey_proportion",
    "survey_quantiles",
    "weighted_mean",
    "weighted_quantiles",
]


@dataclass(frozen=True)
class SurveyEstimate:
    """A design-based estimate: point value, Taylor SE, unweighted n in the domain."""

    estimate: float
    se: float
    n: int


def _weights(values: NDArray[np.float64], weights: ArrayLike | None) -> NDArray[np.float64]:
    """Return float weights, equal to 1 when none are given."""
    if weights is None:
        return np.ones_like(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    if w.shape != values.shape:
        raise ValueError(f"weights shape {w.shape} != values shape {values.shape}")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and non-negative")
    return w


def weighted_mean(values: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Weighted mean ``sum(w*y)/sum(w)``; NaN values are dropped, NaN if no weight remains."""
    y = np.asarray(values, dtype=float)
    w = _weights(y, weights)
    ok = np.isfinite(y)
    total = w[ok].sum()
    return float((w[ok] * y[ok]).sum() / total) if total > 0 else float("nan")


def weighted_quantiles(
    values: ArrayLike, weights: ArrayLike | None, probs: ArrayLike
) -> NDArray[np.float64]:
    """Weighted quantiles by R ``svyquantile``'s default rule ``qrule="math"`` (= ``hf1``).

    The p-th quantile is the mathematical inverse of the weighted ECDF: the smallest
    observed ``x`` with ``F(x) >= p`` where ``F(x) = sum(w[y <= x]) / sum(w)``. With equal
    weights this is R's ``quantile(type=1)``. Zero weights and NaN values are dropped.
    A relative tolerance of 1e-12 on ``F`` keeps exact ties (e.g. F = 0.5) stable.
    """
    y = np.asarray(values, dtype=float)
    w = _weights(y, weights)
    p = np.atleast_1d(np.asarray(probs, dtype=float))
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probs must lie in [0, 1]")
    keep = np.isfinite(y) & (w > 0)
    y, w = y[keep], w[keep]
    if y.size == 0:
        return np.full(p.shape, np.nan)
    order = np.argsort(y, kind="stable")
    y, w = y[order], w[order]
    cdf = np.cumsum(w) / w.sum()
    idx = np.searchsorted(cdf, p - 1e-12, side="left")
    return y[np.minimum(idx, y.size - 1)]


def _codes(values: ArrayLike, n: int) -> NDArray[np.intp]:
    """Dense codes 0..k-1 in sorted order of the values (as ``np.unique(return_inverse=True)``).

    Small non-negative integers (already-coded designs) go through a lookup table in O(n), so
    callers that estimate many statistics on one design do not sort it on every call.
    """
    a = np.asarray(values).reshape(n)
    if a.dtype.kind in "iu" and n and a.min() >= 0 and a.max() <= 4 * n + 1024:
        present = np.zeros(int(a.max()) + 1, dtype=bool)
        present[a] = True
        return (np.cumsum(present) - 1)[a].astype(np.intp)
    return np.unique(a, return_inverse=True)[1].reshape(n).astype(np.intp)


def _design_codes(
    n: int, strata: ArrayLike | None, psu: ArrayLike | None
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Integer stratum codes and nested PSU codes; each row is its own PSU without psu."""
    s = np.zeros(n, dtype=np.intp) if strata is None else _codes(strata, n)
    if psu is None:
        return s, np.arange(n, dtype=np.intp)
    p = _codes(psu, n)
    # nest=TRUE: a PSU is identified by (stratum, psu) pair.
    pairs = s.astype(np.int64) * (int(p.max()) + 1) + p
    return s, _codes(pairs, n)


def linearized_variance(
    scores: ArrayLike,
    strata: ArrayLike | None = None,
    psu: ArrayLike | None = None,
    *,
    lonely_psu: LonelyPsu = "adjust",
    fpc_rate: ArrayLike | None = None,
) -> float:
    """Variance of a total of influence ``scores`` under a stratified with-replacement PSU design.

    ``fpc_rate`` (optional, per row, constant within stratum) is the PSU sampling fraction
    ``f_h`` for a without-replacement finite-population correction ``(1 - f_h)``; leave it
    ``None`` for NHANES (R default, no fpc). Without ``psu`` each row is its own PSU, and
    without ``strata`` there is one stratum, so with neither this is the SRS formula
    ``n/(n-1) * sum((z - zbar)^2)``.
    """
    z = np.asarray(scores, dtype=float)
    s, p = _design_codes(z.size, strata, psu)
    f = np.zeros(z.size) if fpc_rate is None else np.asarray(fpc_rate, dtype=float)
    psu_tot = np.bincount(p, weights=z)
    psu_stratum = np.zeros(psu_tot.size, dtype=np.intp)
    psu_stratum[p] = s
    psu_f = np.zeros(psu_tot.size)
    psu_f[p] = f
    n_h = np.bincount(psu_stratum)
    centre = psu_tot.sum() / psu_tot.size  # R's "adjust" centre: grand mean of PSU totals
    var = 0.0
    for h in np.flatnonzero(n_h):
        t = psu_tot[psu_stratum == h]
        fh = psu_f[psu_stratum == h][0]
        if t.size > 1:
            var += (1 - fh) * t.size / (t.size - 1) * float(((t - t.mean()) ** 2).sum())
        elif lonely_psu == "fail":
            raise ValueError(f"stratum code {h} has only one PSU (lonely_psu='fail')")
        elif lonely_psu == "adjust":
            var += (1 - fh) * float(((t - centre) ** 2).sum())
    return var


def survey_mean(
    values: ArrayLike,
    weights: ArrayLike | None = None,
    strata: ArrayLike | None = None,
    psu: ArrayLike | None = None,
    *,
    domain: ArrayLike | None = None,
    lonely_psu: LonelyPsu = "adjust",
    fpc_rate: ArrayLike | None = None,
) -> SurveyEstimate:
    """Weighted (ratio) mean with Taylor-linearisation SE, as R ``svymean`` computes it.

    Pass *all* rows of the design and select a sub-population with the boolean
    ``domain`` mask: subsetting the rows first would drop PSUs and understate the SE.
    Returns NaN estimate and SE when the domain is empty (zero total weight).
    """
    y = np.asarray(values, dtype=float).ravel()
    w = _weights(y, weights)
    d = np.ones(y.size, dtype=bool) if domain is None else np.asarray(domain, dtype=bool).ravel()
    d = d & np.isfinite(y)
    wd = np.where(d, w, 0.0)
    total = wd.sum()
    if total <= 0:
        return SurveyEstimate(float("nan"), float("nan"), int(d.sum()))
    y0 = np.where(d, y, 0.0)
    mean = float((wd * y0).sum() / total)
    scores = wd * (y0 - mean) / total
    var = linearized_variance(scores, strata, psu, lonely_psu=lonely_psu, fpc_rate=fpc_rate)
    return SurveyEstimate(mean, float(np.sqrt(var)), int(d.sum()))


def survey_proportion(
    indicator: ArrayLike,
    weights: ArrayLike | None = None,
    strata: ArrayLike | None = None,
    psu: ArrayLike | None = None,
    *,
    domain: ArrayLike | None = None,
    lonely_psu: LonelyPsu = "adjust",
    fpc_rate: ArrayLike | None = None,
) -> SurveyEstimate:
    """Weighted proportion of ``indicator`` (bool or 0/1, NaN = missing) with Taylor SE.

    A proportion is the mean of a 0/1 variable, so this is ``survey_mean`` on it
    (R: ``svymean(~I(x < cut), design)``); the estimate is a fraction in [0, 1].
    """
    x = np.asarray(indicator, dtype=float)
    finite = x[np.isfinite(x)]
    if np.any((finite != 0) & (finite != 1)):
        raise ValueError("indicator must be 0/1 (or bool), NaN for missing")
    return survey_mean(
        x, weights, strata, psu, domain=domain, lonely_psu=lonely_psu, fpc_rate=fpc_rate
    )


# Two-sided 95 % normal quantile (scipy.stats.norm.ppf(0.975)), for Woodruff intervals.
Z_95 = 1.959963984540054


def survey_quantiles(
    values: ArrayLike,
    weights: ArrayLike | None,
    strata: ArrayLike | None,
    psu: ArrayLike | None,
    probs: ArrayLike,
    *,
    domain: ArrayLike | None = None,
    lonely_psu: LonelyPsu = "adjust",
    df: int | None = None,
) -> list[SurveyEstimate]:
    """Weighted quantiles of a domain with Woodruff SEs (R ``svyquantile``, ``qrule="math"``).

    For each p: q = Q(p); F, se_F = the domain share with ``y <= q`` and its SE (full design); the
    interval is [Q(F - c se_F), Q(F + c se_F)] (clipped to [0, 1]), c = t_{df, .975} (1.96 without
    df); SE = its width / (2 c).
    """
    y = np.asarray(values, dtype=float).ravel()
    w = _weights(y, weights)
    d = np.ones(y.size, dtype=bool) if domain is None else np.asarray(domain, dtype=bool).ravel()
    d = d & np.isfinite(y)
    p = np.atleast_1d(np.asarray(probs, dtype=float))
    q = weighted_quantiles(y[d], w[d], p)
    crit = Z_95 if df is None else float(stats.t.ppf(0.975, df))
    out = []
    for qp in q:
        if not np.isfinite(qp):
            out.append(SurveyEstimate(float("nan"), float("nan"), int(d.sum())))
            continue
        below = np.where(np.isfinite(y), (y <= qp).astype(float), np.nan)
        cdf = survey_mean(below, w, strata, psu, domain=d, lonely_psu=lonely_psu)
        lo_hi = np.clip([cdf.estimate - crit * cdf.se, cdf.estimate + crit * cdf.se], 0.0, 1.0)
        lo, hi = weighted_quantiles(y[d], w[d], lo_hi)
        out.append(SurveyEstimate(float(qp), float(hi - lo) / (2 * crit), int(d.sum())))
    return out
