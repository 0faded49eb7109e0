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

Vectorised as the univariate SEs (`camg.population.usual_se`): every replicate's 2x2 covariances of a
group at once, as weighted moments of all replicate weight columns; every group's statistics from
the cells of `camg.population.pooled` (one pass per replicate, not one per group).
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from camg.population.pooled import CellHistograms, Cells, SortedPool
from camg.population.replicates import Replicates
from camg.population.threads import each
from camg.population.usual_ratio import (
    BivariateFit,
    CovarianceComponents,
    flat_draws,
    pseudo_person_intakes,
    usual_ratio,
)
from camg.population.usual_se import HISTOGRAM_BINS

RATIO_PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
STATISTICS = ["mean", *(f"p{p}" for p in RATIO_PERCENTILES), "pct_below", "pct_above"]


@dataclass(frozen=True)
class Bands:
    """The band edges the shares use (values of the rules named)."""

    low: float
    high: float


class RatioPool:
    """Every group's statistics from the DRI-group fits' pseudo-persons, filled one fit at a time.

    A cell lies in one DRI group, so each fit adds whole cells (`camg.population.pooled`): a cell's
    sums add its members in the same order as the whole pool at once, the other fits add exact
    zeros, and each fit's pseudo-persons (100 per person) are freed before the next is made.
    """

    def __init__(self, cells: Cells, bands: Bands) -> None:
        """An empty pool over the study's cells."""
        self.cells, self.bands = cells, bands
        # Per cell: weight with a ratio, weighted ratio, below, above, uncovered ratios, weight.
        self.sums = np.zeros((6, cells.n_cells))
        self.sorted = SortedPool.empty(cells)

    def add(self, cell: np.ndarray, ratio, weights, covered) -> None:
        """Pseudo-persons of whole cells (`cell`: each one's cell; `covered`: as `ratio_statistics`)."""
        finite = np.isfinite(ratio)
        clean = bool(finite.all())  # mostly: then no copies with the NaNs set to 0
        w = weights if clean else np.where(finite, weights, 0.0)
        value = ratio if clean else np.where(finite, ratio, 0.0)
        below, above = w * (value < self.bands.low), w * (value > self.bands.high)
        uncovered = (finite & ~covered).astype(float)
        for i, v in enumerate((w, w * value, below, above, uncovered, weights)):
            self.sums[i] += np.bincount(cell, v, minlength=self.cells.n_cells)
        self.sorted.add(cell, ratio, weights)

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """Groups x STATISTICS (exact weighted percentiles), and each group's weight total."""
        member = self.cells.membership.astype(float)
        total, weighted, below, above, uncovered, weight = (member @ s for s in self.sums)
        out = np.full((total.size, len(STATISTICS)), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, 0] = weighted / total
            out[:, -2] = 100 * below / total
            out[:, -1] = 100 * above / total
        out[:, 1:-2] = self.sorted.quantiles(np.array(RATIO_PERCENTILES) / 100)
        out[uncovered > 0, -2:] = np.nan
        out[~(total > 0)] = np.nan
        return out, weight


def ratio_statistics(cells: Cells, cell, ratio, weights, covered, bands: Bands) -> np.ndarray:
    """Groups x STATISTICS of pseudo-persons (`cell`: each one's cell), exact weighted percentiles.

    `covered`: per pseudo-person, whether its person is in the bands' population (shares are NaN
    for a group not wholly covered). Pseudo-persons without a ratio (NaN) are left out.
    """
    pool = RatioPool(cells, bands)
    pool.add(cell, ratio, weights, covered)
    return pool.statistics()[0]


@dataclass(frozen=True, eq=False)
class RatioRefit:
    """A fitted DRI group for the replicates: its fit, each person's study row, and k draws each."""

    fit: BivariateFit
    rows: np.ndarray
    z: np.ndarray  # persons x k x 2


@dataclass(frozen=True, eq=False)
class CellOrdered:
    """A refit's persons sorted by cell (stable): its pseudo-persons come as the pool sorts them.

    A cell lies in one DRI group, so with the fits taken in the order of their cells every
    replicate's pseudo-persons are made already sorted by cell: no gather per replicate.
    """

    index: int  # the refit's place in the list (its components)
    lam: np.ndarray
    rows: np.ndarray  # the persons' study rows, by cell
    person_w: np.ndarray
    flat: tuple[np.ndarray, np.ndarray]  # their draws (`camg.population.usual_ratio.flat_draws`)

    @classmethod
    def of(cls, index: int, refit: RatioRefit, cells: Cells) -> "CellOrdered":
        """The refit's persons and draws in cell order."""
        by_cell = np.argsort(cells.person_cell[refit.rows], kind="stable")
        w, z = refit.fit.person_w[by_cell], refit.z[by_cell]
        return cls(index, refit.fit.lam, refit.rows[by_cell], w, flat_draws(z))


def _day2_shift(fit: BivariateFit, weights: np.ndarray) -> np.ndarray:
    """Columns x 2: the weighted mean day-2 minus day-1 difference (as `covariance_components`)."""
    later = fit.day > 1
    n_i, n_later = np.bincount(fit.pid), np.bincount(fit.pid, later)
    both = (n_later > 0) & (n_later < n_i)
    if not both.any():
        return np.zeros((weights.shape[1], 2))
    diff = np.column_stack(
        [
            np.bincount(fit.pid, np.where(later, fit.t[:, c], 0.0))[both] / n_later[both]
            - np.bincount(fit.pid, np.where(later, 0.0, fit.t[:, c]))[both] / (n_i - n_later)[both]
            for c in (0, 1)
        ]
    )
    wb = weights[both]
    return (wb.T @ diff) / wb.sum(axis=0)[:, None]


# The distinct entries of a 2 x 2 outer product a a' (a_i a_j = a_j a_i exactly), and where each
# of its four entries (row-major) is among them: three products summed, not four.
DISTINCT = (np.array([0, 0, 1]), np.array([0, 1, 1]))
SQUARE = np.array([0, 1, 1, 2])


def _pairs(a: np.ndarray) -> np.ndarray:
    """... x 2 -> ... x 3: the distinct entries of the outer products of the last axis.

    Written entry by entry: no gathered copies of `a` (rows x replicates x 2 each).
    """
    out = np.empty((*a.shape[:-1], 3))
    for j, (p, q) in enumerate(zip(*DISTINCT, strict=True)):
        np.multiply(a[..., p], a[..., q], out=out[..., j])
    return out


def _square(p: np.ndarray) -> np.ndarray:
    """... x 3 (`_pairs`' entries) -> ... x 2 x 2 symmetric matrices."""
    return p[..., SQUARE].reshape(*p.shape[:-1], 2, 2)


def column_components(fit: BivariateFit, weights: np.ndarray) -> list[CovarianceComponents]:
    """`covariance_components` of the fit's day rows under each column of person weights.

    `weights`: persons x columns. The same weighted moments, for all columns at once: per-person
    sums of the day rows as one sparse product.
    """
    n_i, rows = np.bincount(fit.pid), fit.pid.size
    beta = _day2_shift(fit, weights)
    by_person = sparse.csr_matrix((np.ones(rows), (fit.pid, np.arange(rows))), (n_i.size, rows))
    ta = fit.t[:, None, :] - (fit.day > 1)[:, None, None] * beta[None, :, :]  # rows x R x 2
    means = (by_person @ ta.reshape(rows, -1)).reshape(-1, *ta.shape[1:]) / n_i[:, None, None]
    resid = means[fit.pid]
    np.subtract(ta, resid, out=resid)  # ta - means[pid], in place (rows x columns x 2 each)
    del ta
    products = (by_person @ _pairs(resid).reshape(rows, -1)).reshape(n_i.size, -1, 3)
    del resid
    rep, total = n_i >= 2, weights.sum(axis=0)
    w_rep = weights[rep]
    with np.errstate(invalid="ignore", divide="ignore"):
        scatter = _square((w_rep[:, :, None] * products[rep]).sum(axis=0))
        within = scatter / (w_rep * (n_i - 1)[rep, None]).sum(axis=0)[:, None, None]
        mu = (weights[:, :, None] * means).sum(axis=0) / total[:, None]
        d = means - mu[None]
        cov_means = _square((weights[:, :, None] * _pairs(d)).sum(axis=0)) / total[:, None, None]
        between = cov_means - within * ((weights / n_i[:, None]).sum(axis=0) / total)[:, None, None]
    return [
        CovarianceComponents(mu[r], beta[r], between[r], within[r], n_i.size, int(rep.sum()))
        for r in range(weights.shape[1])
    ]


def _column_ratios(fits: list[CellOrdered], components, r: int, factor, nodes: int, k: int):
    """Usual ratios and weights of every fit's k pseudo-persons per person in replicate column r.

    The ratio rule runs once on all fits' pseudo-persons (one polars call per replicate, not per fit).
    """
    intakes, weights = [], []
    for fit in fits:
        comps, w = components[fit.index], fit.person_w * factor[fit.rows]
        if comps[r].ok:
            intakes.append(pseudo_person_intakes(comps[r], fit.lam, fit.flat, nodes))
        else:
            intakes.append((np.full(w.size * k, np.nan),) * 2)
        weights.append(np.repeat(w / k, k))
    calcium, magnesium = (np.concatenate([i[c] for i in intakes]) for c in (0, 1))
    return usual_ratio(calcium, magnesium), np.concatenate(weights)


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
    components = each(  # column 0: the full sample
        lambda i: column_components(refits[i].fit, _weights(refits[i], design)), len(refits)
    )
    k = refits[0].z.shape[1]
    cells = Cells.of(masks, covered.size)
    fits = sorted(
        (CellOrdered.of(i, f, cells) for i, f in enumerate(refits)),
        key=lambda f: cells.person_cell[f.rows[0]],
    )
    person = np.concatenate([np.repeat(f.rows, k) for f in fits])
    order = np.argsort(cells.person_cell[person], kind="stable")
    in_order = bool((order == np.arange(order.size)).all())  # each fit's cells side by side
    cell = cells.person_cell[person[order]]
    bounds, uncovered = cells.bounds(cell), ~covered[person[order]]

    def column(r: int) -> tuple[np.ndarray, np.ndarray]:
        return _column_ratios(fits, components, r, design.row(r), nodes, k)

    full_ratio, full_w = column(0)
    finite = full_ratio[np.isfinite(full_ratio) & (full_ratio > 0)]
    low, high = (finite.min() / 4, finite.max() * 4) if finite.size else (1e-3, 1e3)
    histograms = CellHistograms(
        cells, np.geomspace(low, high, HISTOGRAM_BINS + 1), np.array(RATIO_PERCENTILES) / 100
    )

    first_bin = histograms.first_bins(cell)

    def statistics(ratio, weights):
        if not in_order:
            ratio, weights = ratio[order], weights[order]
        return _binned(histograms, first_bin, bounds, ratio, weights, uncovered, bands)

    full = statistics(full_ratio, full_w)
    if not design.n_replicates:
        return np.full_like(full, np.nan)
    reps = np.stack(each(lambda r: statistics(*column(1 + r)), design.n_replicates))
    return np.sqrt(design.variance(reps, full))


def _weights(refit: RatioRefit, design: Replicates) -> np.ndarray:
    """The refit's persons x (1 + R) weights: full-sample weight times each column's factor."""
    return refit.fit.person_w[:, None] * design.columns(refit.rows)


def _binned(
    histograms: CellHistograms, first_bin, bounds, ratio, weights, uncovered, bands
) -> np.ndarray:
    """Groups x STATISTICS of one replicate's pseudo-persons (sorted by cell), from the histogram."""
    cells = histograms.cells
    finite = np.isfinite(ratio)
    clean = bool(finite.all())  # mostly: then no copies with the NaNs set to 0
    w = weights if clean else np.where(finite, weights, 0.0)
    value = ratio if clean else np.where(finite, ratio, 0.0)
    total = cells.sorted_sums(bounds, w)
    out = np.full((total.size, len(STATISTICS)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, 0] = cells.sorted_sums(bounds, w * value) / total
        out[:, -2] = 100 * cells.sorted_sums(bounds, w * (value < bands.low)) / total
        out[:, -1] = 100 * cells.sorted_sums(bounds, w * (value > bands.high)) / total
    out[:, 1:-2] = histograms.quantiles(histograms.cumulative(first_bin, value, w))
    outside = cells.sorted_sums(bounds, (finite & uncovered).astype(float)) > 0
    out[outside, -2:] = np.nan
    out[~(total > 0)] = np.nan
    return out
