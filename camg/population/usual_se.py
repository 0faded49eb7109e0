"""Summarise helper: usual-intake fits + replicate weights -> standard errors of every group's figures.

Each replicate (`camg.population.replicates`) refits every DRI group's variance components on its weights (the
Box-Cox lambda stays at the full-sample value) and redraws the group's pseudo-persons from the same
standard normal draws as the full sample (common random numbers: the first
`usual.replicate_pseudo_persons` per person), so the replicates differ by the design, not by Monte
Carlo noise. Every group's mean, percentiles and shares below the EAR / above the UL are then taken
as in the full sample (pooled groups from their members' pseudo-persons), the replicate variance is
formed around the same computation on the full-sample weights, and SE = its square root.
Percentiles are read from a fine log-scale histogram (`HISTOGRAM_BINS` bins: relative width < 0.3 %).

Vectorised over the replicates (they took 43 s of 120 per 57,000-person study, one refit and one
pass over every group per replicate): a group's variance components for all replicates at once are
weighted moments, i.e. matrix products of its persons' replicate weights; a pseudo-person's usual
intake is read off a grid of the back-transformation whose position in the grid is the same for
every replicate (the grid spans the same standard normal draws), so a replicate costs one small
grid evaluation and a gather (`camg.population.usual_refit`); all groups' statistics come from one
histogram per cell (`camg.population.pooled`).
"""

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from camg.population.pooled import CellHistograms, Cells
from camg.population.replicates import Replicates
from camg.population.threads import each
from camg.population.usual_intake import PERCENTILES
from camg.population.usual_refit import GRID_POINTS, GridUsual, Refit

HISTOGRAM_BINS = 4000
STATISTICS = ["mean", *(f"p{p}" for p in PERCENTILES), "pct_below_ear", "pct_above_ul"]


@dataclass(frozen=True, eq=False)
class Pool:
    """Every fit's replicate pseudo-persons by cell, each cell in grid order (`of`)."""

    grids: list[GridUsual]
    at: np.ndarray  # per pseudo-person: fit x GRID_POINTS + grid index
    fraction: np.ndarray
    person: np.ndarray  # the study row of its person
    person_w: np.ndarray  # its person's full-sample weight
    cell: np.ndarray
    cuts: tuple[np.ndarray, np.ndarray]  # each pseudo-person's EAR and UL (NaN: none)
    k: int
    bounds: np.ndarray  # where each cell's pseudo-persons start and end
    cell_known: np.ndarray  # 2 x cells: whether the cell's EAR (UL) is known
    first_bin: np.ndarray  # per pseudo-person: its cell's first histogram bin
    members: np.ndarray  # per group: how many pseudo-persons

    @classmethod
    def of(cls, fits: list[Refit], grids: list[GridUsual], cells: Cells) -> "Pool":
        """The pool of fitted groups, sorted by cell, then by place on the grid.

        A cell lies in one fit, and a fit's usual intakes grow along its grid in every replicate,
        so each cell's pseudo-persons come in ascending order of usual intake: its cumulative
        histogram is a running sum read at the bin edges (`sorted_cumulative`), no binning.
        """
        k = fits[0].z.shape[1]
        person = np.concatenate([np.repeat(f.rows, k) for f in fits])
        at = np.concatenate([i * GRID_POINTS + g.index for i, g in enumerate(grids)])
        fraction = np.concatenate([g.fraction for g in grids])
        order = np.lexsort((fraction, at, cells.person_cell[person]))
        person_w = np.concatenate([np.repeat(f.w, k) for f in fits])
        cell = cells.person_cell[person[order]]
        ear, ul = ([np.full(f.z.size, getattr(f, c)) for f in fits] for c in ("ear", "ul"))
        cuts = (np.concatenate(ear)[order], np.concatenate(ul)[order])
        bounds = cells.bounds(cell)
        known = np.zeros((2, cells.n_cells))
        for i, cut in enumerate(cuts):
            known[i, cell] = np.isfinite(cut)
        return cls(
            grids,
            at[order],
            fraction[order],
            person[order],
            person_w[order],
            cell,
            cuts,
            k,
            bounds,
            known,
            cell * HISTOGRAM_BINS,  # CellHistograms.first_bins
            np.diff(bounds) @ cells.membership.T,
        )

    def column(self, r: int, factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Usual intakes and weights of the pseudo-persons in replicate column r (`factor`: by row).

        In place where it can be: the same operations as `v[at] + fraction * step[at]` and
        `person_w * factor[person] / k`, without a new array for each.
        """
        v = np.concatenate([g.values[r] for g in self.grids])
        usual, step = v[self.at], np.append(np.diff(v), np.nan)[self.at]
        step *= self.fraction
        usual += step
        weights = factor[self.person]
        weights *= self.person_w
        weights /= self.k
        return usual, weights


def sorted_cell_sums(histograms: CellHistograms, pool: Pool, values, weights):
    """`binned_cell_sums` of values ascending within each cell (`Pool.of`), None if some are not.

    From each cell's running weight total: its weight at or below each inner bin edge (the bins
    `log_bins` gives: edges[j] < value <= edges[j + 1], values beyond the ends in the end bins),
    below its EAR, where the edge or cut falls among its values; above its UL, the sum of the
    values after the cut (a difference of running totals would cancel: small shares above the UL
    lost 1e-12 of their SE). No value is binned or compared; the sums come in another order
    (float noise only).
    """
    descents = np.flatnonzero(values[1:] < values[:-1]) + 1
    if not np.isin(descents, pool.bounds).all():
        return None
    inner = histograms.edges[1:-1]
    cumulative = np.zeros((pool.bounds.size - 1, histograms.edges.size))
    sums = np.zeros((3, pool.bounds.size - 1))  # weight, below the EAR, above the UL
    for c, (a, b) in enumerate(pairwise(pool.bounds)):
        if b == a:
            continue
        mine, running = values[a:b], np.concatenate([[0.0], np.cumsum(weights[a:b])])
        low, high = np.searchsorted(inner, (mine[0], mine[-1]))  # edges within the cell's values
        cumulative[c, 1 + low : 1 + high] = running[np.searchsorted(mine, inner[low:high], "right")]
        cumulative[c, 1 + high :] = running[-1]
        below = running[np.searchsorted(mine, pool.cuts[0][a])]  # NaN cut: unknown, masked
        above = weights[a + np.searchsorted(mine, pool.cuts[1][a], "right") : b].sum()
        sums[:, c] = running[-1], below, above
    weighted = histograms.cells.cell_sums(pool.bounds, weights * values)
    return sums[0], weighted, sums[1], sums[2], cumulative


def binned_cell_sums(histograms: CellHistograms, pool: Pool, values, weights):
    """Per cell: weight, weighted values, weight below its EAR and above its UL, and histogram.

    The histogram is `CellHistograms.cumulative`'s. A cell lies in one DRI group: one EAR and UL.
    """
    cells, bounds = histograms.cells, pool.bounds
    below = cells.cell_sums(bounds, weights * (values < pool.cuts[0]))
    above = cells.cell_sums(bounds, weights * (values > pool.cuts[1]))
    cumulative = histograms.cumulative(pool.first_bin, values, weights)
    total, weighted = cells.cell_sums(bounds, weights), cells.cell_sums(bounds, weights * values)
    return total, weighted, below, above, cumulative


def replicate_ses(
    fits: list[Refit], masks: list[np.ndarray], design: Replicates, n_persons: int
) -> np.ndarray:
    """Groups x STATISTICS replicate SEs; `masks` are boolean person masks of the groups.

    A group's pseudo-persons are those of the fits whose persons it holds (a DRI group: its own).
    """
    if not fits:
        return np.full((len(masks), len(STATISTICS)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):  # column 0: the full sample
        grids = each(
            lambda i: GridUsual.of(fits[i], fits[i].w[:, None] * design.columns(fits[i].rows)),
            len(fits),
        )
    cells = Cells.of(masks, n_persons)
    pool = Pool.of(fits, grids, cells)
    full_usual = pool.column(0, design.row(0))[0]
    finite = full_usual[np.isfinite(full_usual) & (full_usual > 0)]
    low, high = (finite.min() / 4, finite.max() * 4) if finite.size else (1e-3, 1e6)
    edges = np.geomspace(low, high, HISTOGRAM_BINS + 1)
    histograms = CellHistograms(cells, edges, np.array(PERCENTILES) / 100)
    estimates = each(  # a replicate at a time per thread (`camg.population.threads`)
        lambda r: _statistics(histograms, pool, *pool.column(r, design.row(r))),
        1 + design.n_replicates,
    )
    full, reps = estimates[0], np.stack(estimates[1:] or estimates[:1])
    return np.sqrt(design.variance(reps, full))


def _statistics(histograms: CellHistograms, pool: Pool, usual, weights) -> np.ndarray:
    """Groups x STATISTICS of one replicate's pseudo-persons (NaN for a group with a NaN one).

    Sums per cell first: a cell lies in one DRI group, so its EAR and UL (known or not) are one.
    """
    cells, bounds = histograms.cells, pool.bounds
    finite = np.isfinite(usual)
    clean = bool(finite.all())
    w = weights if clean else np.where(finite, weights, 0.0)
    u = usual if clean else np.where(finite, usual, 0.0)
    made = sorted_cell_sums(histograms, pool, u, w) if clean else None
    if made is None:  # not in grid order (NaNs set to 0): bin and compare each value
        made = binned_cell_sums(histograms, pool, u, w)
    cell_w, cell_wu, below, above, cumulative = made
    sums = np.stack([cell_w, cell_wu, below * pool.cell_known[0], above * pool.cell_known[1]])
    sums = np.vstack([sums, cell_w * pool.cell_known])
    total, mean, below, above, known_ear, known_ul = (cells.membership.astype(float) @ sums.T).T
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.column_stack(
            [
                mean / total,
                histograms.quantiles(cumulative),
                np.where(known_ear > 0, 100 * below / known_ear, np.nan),
                np.where(known_ul > 0, 100 * above / known_ul, np.nan),
            ]
        )
    bad = np.zeros(total.size, bool)
    if not clean:
        bad = cells.sorted_sums(bounds, (~finite).astype(float)) > 0
    out[bad | (total <= 0) | (pool.members == 0)] = np.nan
    return out
