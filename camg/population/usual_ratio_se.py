"""Usual-ratio helper: pseudo-persons' usual Ca:Mg ratios -> group statistics and replicate SEs.

Statistics of a group (a DRI group, or a reporting group pooling its members' pseudo-persons): the
weighted mean and percentiles of the usual ratio, and the shares below the low band edge
(`ratio.detrimental_low`, strictly below) and above the high one (`ratio.detrimental_high`, strictly
above), as `camg.ratio.ratio_band` bands a person. Shares are given only for a group whose every
member is in the population the bands' sources studied (`camg.ratio.rule_population`).

Standard errors by the replicate method of the univariate usual-intake rows (`camg.population.replicates`,
`camg.population.usual_se`): each replicate refits every DRI group's 2x2 covariances on its weights (Box-Cox
lambdas kept at their full-sample values) and redraws the pseudo-persons from the same standard
normal draws (common random numbers: the first `usual.replicate_pseudo_persons` per person);
percentiles then come from a fine log-scale histogram. SE = sqrt of the replicate variance around the
same computation on the full-sample weights.
"""

from dataclasses import dataclass

import numpy as np

from camg.population.replicates import Replicates
from camg.population.usual_ratio import BivariateFit, covariance_components, pseudo_person_ratios
from camg.population.usual_se import HISTOGRAM_BINS

RATIO_PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
STATISTICS = ["mean", *(f"p{p}" for p in RATIO_PERCENTILES), "pct_below", "pct_above"]


@dataclass(frozen=True)
class Bands:
    """The band edges the shares use (values of the rules named)."""

    low: float
    high: float


def histogram_quantiles(bins, weights, edges, probs) -> np.ndarray:
    """Weighted quantiles read from a histogram, interpolated within the bin."""
    hist = np.bincount(bins, weights, minlength=edges.size - 1)
    total = hist.sum()
    if total <= 0:
        return np.full(len(probs), np.nan)
    cdf = np.cumsum(hist) / total
    i = np.minimum(np.searchsorted(cdf, probs), hist.size - 1)
    before = np.where(i > 0, cdf[i - 1], 0.0)
    share = np.divide(probs - before, hist[i] / total, out=np.zeros(len(probs)), where=hist[i] > 0)
    log_edges = np.log(edges)
    return np.exp(log_edges[i] + np.clip(share, 0, 1) * (log_edges[i + 1] - log_edges[i]))


def sorted_quantiles(order: np.ndarray, idx: np.ndarray, ratio, weights, probs) -> np.ndarray:
    """Weighted quantiles of ratio[idx] (as `camg.survey.weighted_quantiles`) from one global sort."""
    chosen = np.zeros(ratio.size, bool)
    chosen[idx] = True
    in_order = order[chosen[order] & (weights[order] > 0)]
    y, w = ratio[in_order], weights[in_order]
    if y.size == 0:
        return np.full(probs.size, np.nan)
    cdf = np.cumsum(w) / w.sum()
    return y[np.minimum(np.searchsorted(cdf, probs - 1e-12, side="left"), y.size - 1)]


def ratio_statistics(ratio, weights, members, covered, bands: Bands, edges=None) -> np.ndarray:
    """Groups x STATISTICS; exact weighted percentiles, or from a histogram on `edges`.

    `members`: index arrays of each group's pseudo-persons; `covered`: per pseudo-person, whether its
    person is in the bands' population (shares are NaN for a group not wholly covered).
    """
    probs = np.array(RATIO_PERCENTILES) / 100
    finite = np.isfinite(ratio)
    bins = order = None
    if edges is not None:
        bins = np.clip(np.searchsorted(edges, ratio) - 1, 0, edges.size - 2)
    else:
        order = np.argsort(ratio, kind="stable")  # NaN last; groups below drop them
    out = np.full((len(members), len(STATISTICS)), np.nan)
    for g, idx in enumerate(members):
        idx = idx[finite[idx]]
        w = weights[idx]
        if idx.size == 0 or w.sum() <= 0:
            continue
        r = ratio[idx]
        out[g, 0] = (w * r).sum() / w.sum()
        if bins is None:
            out[g, 1:-2] = sorted_quantiles(order, idx, ratio, weights, probs)
        else:
            out[g, 1:-2] = histogram_quantiles(bins[idx], w, edges, probs)
        if covered[idx].all():
            out[g, -2] = 100 * (w * (r < bands.low)).sum() / w.sum()
            out[g, -1] = 100 * (w * (r > bands.high)).sum() / w.sum()
    return out


@dataclass(frozen=True, eq=False)
class RatioRefit:
    """A fitted DRI group for the replicates: its fit, each person's study row, and k draws each."""

    fit: BivariateFit
    rows: np.ndarray
    z: np.ndarray  # persons x k x 2


def replicate_ratios(refit: RatioRefit, factor: np.ndarray, nodes: int):
    """Usual ratios and weights of a group's k pseudo-persons per person under replicate factors."""
    fit = refit.fit
    w = fit.person_w * factor[refit.rows]
    k = refit.z.shape[1]
    comps = covariance_components(fit.t, fit.pid, fit.day, w[fit.pid])
    if not comps.ok:
        return np.full(w.size * k, np.nan), np.repeat(w / k, k)
    return pseudo_person_ratios(comps, fit.lam, refit.z, nodes)[2], np.repeat(w / k, k)


def ratio_ses(
    refits: list[RatioRefit],
    masks: list[np.ndarray],
    covered: np.ndarray,
    bands: Bands,
    design: Replicates,
    nodes: int,
) -> np.ndarray:
    """Groups x STATISTICS replicate SEs; `masks` and `covered` are boolean over the study's persons."""
    if not refits:
        return np.full((len(masks), len(STATISTICS)), np.nan)
    k = refits[0].z.shape[1]
    person_of = np.concatenate([np.repeat(f.rows, k) for f in refits])
    members = [np.flatnonzero(m[person_of]) for m in masks]
    in_bands = covered[person_of]

    def estimates(factor: np.ndarray, edges: np.ndarray) -> np.ndarray:
        pairs = [replicate_ratios(f, factor, nodes) for f in refits]
        ratio = np.concatenate([p[0] for p in pairs])
        weights = np.concatenate([p[1] for p in pairs])
        return ratio_statistics(ratio, weights, members, in_bands, bands, edges)

    ones = np.ones(covered.size)
    full_ratio = np.concatenate([replicate_ratios(f, ones, nodes)[0] for f in refits])
    finite = full_ratio[np.isfinite(full_ratio) & (full_ratio > 0)]
    low, high = (finite.min() / 4, finite.max() * 4) if finite.size else (1e-3, 1e3)
    edges = np.geomspace(low, high, HISTOGRAM_BINS + 1)
    full = estimates(ones, edges)
    if not len(design.factors):
        return np.full_like(full, np.nan)
    reps = np.stack([estimates(f, edges) for f in design.factors])
    return np.sqrt(design.variance(reps, full))
