"""Summarise helper: usual-intake fits + replicate weights -> standard errors of every group's figures.

Each replicate (`camg.population.replicates`) refits every DRI group's variance components on its weights (the
Box-Cox lambda stays at the full-sample value) and redraws the group's pseudo-persons from the same
standard normal draws as the full sample (common random numbers: the first
`usual.replicate_pseudo_persons` per person), so the replicates differ by the design, not by Monte
Carlo noise. Every group's mean, percentiles and shares below the EAR / above the UL are then taken
as in the full sample (pooled groups from their members' pseudo-persons), the replicate variance is
formed around the same computation on the full-sample weights, and SE = its square root.
Percentiles are read from a fine log-scale histogram (`HISTOGRAM_BINS` bins: relative width < 0.3 %).
"""

from dataclasses import dataclass

import numpy as np

from camg.population.replicates import Replicates
from camg.population.usual_intake import PERCENTILES, boxcox, inverse_boxcox, variance_components

HISTOGRAM_BINS = 4000
GRID_POINTS = 257
STATISTICS = ["mean", *(f"p{p}" for p in PERCENTILES), "pct_below_ear", "pct_above_ul"]


@dataclass(frozen=True, eq=False)
class Refit:
    """What a DRI group's fit needs to be redone on other weights."""

    t: np.ndarray  # transformed day intakes
    pid: np.ndarray  # person code of each day row
    day: np.ndarray
    w: np.ndarray  # each person's weight (by code)
    rows: np.ndarray  # each person's row in the study's persons
    lam: float
    z: np.ndarray  # persons x k standard normal draws
    ear: float
    ul: float


def refit_inputs(y, rows_of_days, day, w_days, lam, offset, seed, n_sim, k, ear, ul) -> Refit:
    """The arrays of one fitted group, in the fit's own person order and draws."""
    ids, pid = np.unique(rows_of_days, return_inverse=True)
    w = np.zeros(ids.size)
    w[pid] = w_days
    t = boxcox(np.where(y > 0, y, offset), lam)
    z = np.random.default_rng(seed).standard_normal((ids.size, n_sim))[:, :k]
    nan = float("nan")
    return Refit(
        t, pid, day, w, ids, lam, z, nan if ear is None else ear, nan if ul is None else ul
    )


def pseudo_persons(fit: Refit, factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Usual intakes and weights of a group's pseudo-persons under replicate factors (by person row)."""
    w = fit.w * factor[fit.rows]
    vc = variance_components(fit.t, fit.pid, fit.day, w[fit.pid])
    k = fit.z.shape[1]
    if not (vc.var_between > 0 and vc.var_within >= 0):
        return np.full(fit.z.size, np.nan), np.repeat(w / k, k)
    t = vc.mu + np.sqrt(vc.var_between) * fit.z
    grid = np.linspace(t.min(), t.max(), GRID_POINTS)
    nodes, node_w = np.polynomial.hermite.hermgauss(9)
    usual = sum(
        a / np.sqrt(np.pi) * inverse_boxcox(grid + x * np.sqrt(2.0 * vc.var_within), fit.lam)
        for x, a in zip(nodes, node_w, strict=True)
    )
    return np.interp(t.ravel(), grid, usual), np.repeat(w / k, k)


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


def group_statistics(usual, weights, ear, ul, members, edges) -> np.ndarray:
    """Groups x STATISTICS of the pooled pseudo-persons (members: index arrays per group)."""
    bins = np.clip(np.searchsorted(edges, usual) - 1, 0, edges.size - 2)
    probs = np.array(PERCENTILES) / 100
    out = np.full((len(members), len(STATISTICS)), np.nan)
    below, above = (usual < ear).astype(float), (usual > ul).astype(float)
    has_ear, has_ul = np.isfinite(ear), np.isfinite(ul)
    for g, idx in enumerate(members):
        w = weights[idx]
        total = w.sum()
        if idx.size == 0 or total <= 0 or not np.isfinite(usual[idx]).all():
            continue
        out[g, 0] = (w * usual[idx]).sum() / total
        out[g, 1:6] = histogram_quantiles(bins[idx], w, edges, probs)
        for col, hit, known in ((6, below, has_ear), (7, above, has_ul)):
            wk = w * known[idx]
            out[g, col] = 100 * (wk * hit[idx]).sum() / wk.sum() if wk.sum() > 0 else np.nan
    return out


def replicate_ses(
    fits: list[Refit], masks: list[np.ndarray], design: Replicates, n_persons: int
) -> np.ndarray:
    """Groups x STATISTICS replicate SEs; `masks` are boolean person masks of the groups.

    A group's pseudo-persons are those of the fits whose persons it holds (a DRI group: its own).
    """
    k = fits[0].z.shape[1] if fits else 1
    person_of = np.concatenate([np.repeat(f.rows, k) for f in fits]) if fits else np.empty(0, int)
    members = [np.flatnonzero(m[person_of]) for m in masks]
    ear = np.concatenate([np.full(f.z.size, f.ear) for f in fits]) if fits else np.empty(0)
    ul = np.concatenate([np.full(f.z.size, f.ul) for f in fits]) if fits else np.empty(0)

    def estimates(factor: np.ndarray) -> np.ndarray:
        pairs = [pseudo_persons(f, factor) for f in fits]
        usual = np.concatenate([p[0] for p in pairs]) if pairs else np.empty(0)
        weights = np.concatenate([p[1] for p in pairs]) if pairs else np.empty(0)
        return group_statistics(usual, weights, ear, ul, members, edges)

    ones = np.ones(n_persons)
    full_usual = np.concatenate([pseudo_persons(f, ones)[0] for f in fits]) if fits else ones
    finite = full_usual[np.isfinite(full_usual) & (full_usual > 0)]
    low, high = (finite.min() / 4, finite.max() * 4) if finite.size else (1e-3, 1e6)
    edges = np.geomspace(low, high, HISTOGRAM_BINS + 1)
    full = estimates(ones)
    reps = np.stack([estimates(f) for f in design.factors]) if len(design.factors) else full[None]
    return np.sqrt(design.variance(reps, full))
