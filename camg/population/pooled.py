"""Statistics of every population group over one pool of pseudo-persons, all groups at once.

A study's reporting groups (DRI groups, WWEIA and headline ages by sex, overall) overlap: a person
is in about a dozen of them. Each group is a union of *cells*, the sets of persons that belong to
exactly the same groups (about 60 in NHANES). A sum over a group is the sum of its cells' sums (one
`bincount` for all groups), and a group's weighted quantile is found on ONE sort of the pool
by bisection over the sorted positions, adding up its cells' cumulative weights: no per-group sort,
selection or copy of the millions of pseudo-persons. Selecting and sorting per group took 28 s of the
population stage per 57,000-person study (benchmarks/population_stage.py).

The figures are those of a per-group `camg.population.survey.weighted_quantiles` (qrule "math", the
same 1e-12 tolerance on the CDF) and weighted means, up to the order of floating-point additions.
"""

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

# Relative tolerance on the CDF, as camg.population.survey.weighted_quantiles (exact ties stay stable).
CDF_TOLERANCE = 1e-12


@dataclass(frozen=True, eq=False)
class Cells:
    """Persons partitioned by the groups they belong to: each group is a union of cells."""

    person_cell: np.ndarray  # per person of the study: its cell
    membership: np.ndarray  # groups x cells, bool

    @classmethod
    def of(cls, masks: list[np.ndarray], n_persons: int) -> "Cells":
        """The cells of boolean person masks (one per group)."""
        if not masks:
            return cls(np.zeros(n_persons, np.intp), np.zeros((0, 1), bool))
        packed = np.ascontiguousarray(np.packbits(np.stack(masks), axis=0).T)
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        return cls(inverse.ravel().astype(np.intp), np.stack(masks)[:, first])

    @property
    def n_cells(self) -> int:
        """How many cells."""
        return self.membership.shape[1]

    def group_sums(self, cell: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per group, the sum of `values` over its members (`cell`: each value's cell)."""
        per_cell = np.bincount(cell, values, minlength=self.n_cells)
        return self.membership.astype(float) @ per_cell

    def bounds(self, cell: np.ndarray) -> np.ndarray:
        """Where each cell starts and ends in values sorted by cell (`cell` ascending)."""
        return np.searchsorted(cell, np.arange(self.n_cells + 1))

    def cell_sums(self, bounds: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per cell, the sum of values sorted by cell (one contiguous pass; `bounds` from `bounds`)."""
        if values.size == 0:
            return np.zeros(self.n_cells)
        starts = np.minimum(bounds[:-1], values.size - 1)
        return np.where(bounds[1:] > bounds[:-1], np.add.reduceat(values, starts), 0.0)

    def sorted_sums(self, bounds: np.ndarray, values: np.ndarray) -> np.ndarray:
        """`group_sums` of values sorted by cell."""
        return self.membership.astype(float) @ self.cell_sums(bounds, values)


def bisected(low, high, mid, reached) -> tuple[np.ndarray, np.ndarray]:
    """One bisection step of many searches at once (searches already done stay put)."""
    active = low < high
    return np.where(active & ~reached, mid + 1, low), np.where(active & reached, mid, high)


@dataclass(frozen=True, eq=False)
class SortedPool:
    """A pool's finite values in one sort, with each cell's sorted positions and weights."""

    values: np.ndarray  # sorted
    positions: list[np.ndarray]  # per cell: its members' positions in `values`, ascending
    cumulative: list[np.ndarray]  # per cell: 0, then its members' running weight total
    cells: Cells

    @classmethod
    def of(cls, cells: Cells, cell: np.ndarray, values, weights) -> "SortedPool":
        """Sort the finite, positively weighted values once.

        Not a stable sort (twice as fast on millions): equal values may come in any order, and the
        quantile is still the same value (the group's weight at the start and at the end of a run
        of equal values does not depend on their order).
        """
        keep = np.isfinite(values) & (weights > 0)
        if keep.all():
            order = np.argsort(values)
        else:
            keep = np.flatnonzero(keep)
            order = keep[np.argsort(values[keep])]
        cell_sorted, w_sorted = cell[order], weights[order]
        by_cell = np.argsort(cell_sorted.astype(np.uint16), kind="stable")  # radix sort
        bounds = np.searchsorted(cell_sorted[by_cell], np.arange(cells.n_cells + 1))
        positions = [by_cell[a:b] for a, b in pairwise(bounds)]
        cumulative = [np.concatenate([[0.0], np.cumsum(w_sorted[p])]) for p in positions]
        return cls(values[order], positions, cumulative, cells)

    def weight_up_to(self, group_cells: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Per row of `group_cells` (groups x cells, bool): the weight at sorted positions <= `at`."""
        out = np.zeros(at.shape)
        for c in range(self.cells.n_cells):
            taken = np.searchsorted(self.positions[c], at, side="right")
            out += group_cells[:, c, None] * self.cumulative[c][taken]
        return out

    def quantiles(self, probs: np.ndarray) -> np.ndarray:
        """Groups x probs weighted quantiles: the smallest value whose group CDF reaches p."""
        member = self.cells.membership
        total = member.astype(float) @ np.array([c[-1] for c in self.cumulative])
        target = (probs[None, :] - CDF_TOLERANCE) * total[:, None]
        n = self.values.size
        low, high = np.zeros(target.shape, np.intp), np.full(target.shape, max(n - 1, 0))
        while (low < high).any():  # smallest position whose weight so far reaches the target
            mid = (low + high) // 2
            reached = self.weight_up_to(member, mid) >= target
            low, high = bisected(low, high, mid, reached)
        last = self._last_positions()
        at = np.minimum(low, last[:, None])
        out = self.values[np.clip(at, 0, max(n - 1, 0))] if n else np.full(target.shape, np.nan)
        return np.where((total > 0)[:, None], out, np.nan)

    def _last_positions(self) -> np.ndarray:
        """Per group: the sorted position of its largest member (-1 when it has none)."""
        last = np.array([p[-1] if p.size else -1 for p in self.positions])
        member = self.cells.membership
        return np.where(member, last[None, :], -1).max(axis=1, initial=-1)


def log_bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin j of each value with edges[j] < value <= edges[j + 1], values beyond the ends in the end bins.

    As `np.clip(np.searchsorted(edges, values) - 1, 0, bins - 1)` for log-spaced `edges`, from the
    logarithm (then corrected by one bin where rounding put a value across an edge): a replicate's
    570,000 pseudo-persons are binned in a few passes instead of a binary search each.
    """
    last = edges.size - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.log(values)
    guess -= np.log(edges[0])
    guess *= (last + 1) / np.log(edges[-1] / edges[0])
    np.floor(guess, out=guess)
    np.fmax(guess, 0.0, out=guess)  # NaN and -inf (a zero value) -> bin 0
    np.minimum(guess, last, out=guess)
    bins = guess.astype(np.intp)
    bins -= (values <= edges[bins]) & (bins > 0)
    bins += (values > edges[bins + 1]) & (bins < last)
    return bins


@dataclass(frozen=True, eq=False)
class CellHistograms:
    """Group quantiles of replicate pseudo-persons read from a fine log-scale histogram (`edges`).

    Replicate estimates read percentiles from a histogram (`camg.population.usual_se`); here each
    cell's cumulative histogram is made once per replicate and a group's quantile is found by
    bisection over the bins, adding up its cells' cumulative weights (no per-group histogram).
    """

    cells: Cells
    edges: np.ndarray
    probs: np.ndarray

    def cumulative(self, first_bin: np.ndarray, values: np.ndarray, weights) -> np.ndarray:
        """Cells x (bins + 1): weight at or below each bin's upper edge (column 0: zero).

        `first_bin`: each value's cell's first bin (`first_bins`, made once for all replicates).
        """
        n_bins = self.edges.size - 1
        keyed = first_bin + log_bins(values, self.edges)
        hist = np.bincount(keyed, weights, minlength=self.cells.n_cells * n_bins)
        out = np.zeros((self.cells.n_cells, n_bins + 1))
        np.cumsum(hist.reshape(-1, n_bins), axis=1, out=out[:, 1:])
        return out

    def first_bins(self, cell: np.ndarray) -> np.ndarray:
        """Each value's cell x the number of bins (its cell's first bin), for `cumulative`."""
        return cell * (self.edges.size - 1)

    def quantiles(self, cumulative: np.ndarray) -> np.ndarray:
        """Groups x probs quantiles, log-interpolated within the bin (NaN for a group without weight).

        Bin i is the first whose group CDF reaches p (as a search of the group's CDF would find).
        """
        member = self.cells.membership.astype(float)
        total = member @ cumulative[:, -1]
        safe = np.where(total > 0, total, 1.0)[:, None]
        last = self.edges.size - 2
        low = np.zeros((total.size, self.probs.size), np.intp)
        high = np.full(low.shape, last)

        def group_cdf(at: np.ndarray) -> np.ndarray:
            return np.einsum("gc,gcp->gp", member, cumulative[:, at].transpose(1, 0, 2)) / safe

        while (low < high).any():
            mid = (low + high) // 2
            low, high = bisected(low, high, mid, group_cdf(mid + 1) >= self.probs)
        before, after = group_cdf(low), group_cdf(low + 1)
        height = after - before
        share = np.divide(self.probs - before, height, out=np.zeros(low.shape), where=height > 0)
        log_edges = np.log(self.edges)
        width = log_edges[low + 1] - log_edges[low]
        out = np.exp(log_edges[low] + np.clip(share, 0, 1) * width)
        return np.where((total > 0)[:, None], out, np.nan)
