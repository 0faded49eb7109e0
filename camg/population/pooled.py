"""Statistics of every population group over one pool of pseudo-persons, all groups at once.

A study's reporting groups (DRI groups, WWEIA and headline ages by sex, overall) overlap: a person
is in about a dozen of them. Each group is a union of *cells*, the sets of persons that belong to
exactly the same groups (about 60 in NHANES). A sum over a group is the sum of its cells' sums (one
`bincount` for all groups), and a group's weighted quantile is found on each cell's values sorted
once, by bisection over the floats, adding up its cells' cumulative weights: no per-group sort,
selection or copy of the millions of pseudo-persons. Selecting and sorting per group took 28 s of the
population stage per 57,000-person study (benchmarks/population_stage.py); one sort of the whole
pool took 0.6 s of a pool's 1.2 s, the cells' sorts (each in cache) 0.15 s.

The figures are those of a per-group `camg.population.survey.weighted_quantiles` (qrule "math", the
same 1e-12 tolerance on the CDF) and weighted means, up to the order of floating-point additions.
"""

from dataclasses import dataclass

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
    """A pool's finite, positively weighted values sorted cell by cell, with running weights."""

    values: list[np.ndarray]  # per cell: its members' values, ascending
    cumulative: list[np.ndarray]  # per cell: 0, then its members' running weight total
    cells: Cells
    filled: np.ndarray  # per cell: whether its members were added (`add`)

    @classmethod
    def of(cls, cells: Cells, cell: np.ndarray, values, weights) -> "SortedPool":
        """The pool of all values at once (`cell`: each value's cell)."""
        pool = cls.empty(cells)
        pool.add(cell, values, weights)
        return pool

    @classmethod
    def empty(cls, cells: Cells) -> "SortedPool":
        """A pool without values, filled by `add` a part at a time."""
        n = cells.n_cells
        return cls([np.empty(0)] * n, [np.zeros(1)] * n, cells, np.zeros(n, bool))

    def add(self, cell: np.ndarray, values, weights) -> None:
        """Sort in the values of whole cells: a cell's members all come in one call.

        So a pool is built one part (e.g. one DRI group's fit) at a time, and a caller frees each
        part's arrays before making the next: the same sorted cells as all values at once (a
        cell's members in the same order), without the pool's concatenated copies.
        Each cell's values sort on their own (a few hundred thousand sort in cache: ~4x one big
        sort). Not a stable sort: equal values may come in any order, and the quantile is still
        the same value (a group's weight below and up to a value does not depend on their order).
        """
        keep = np.isfinite(values) & (weights > 0)
        if not keep.all():
            cell, values, weights = cell[keep], values[keep], weights[keep]
        by_cell = np.argsort(cell.astype(np.uint16), kind="stable")  # radix sort
        bounds = np.searchsorted(cell[by_cell], np.arange(self.cells.n_cells + 1))
        for c in np.flatnonzero(np.diff(bounds)):
            if self.filled[c]:
                raise ValueError(f"cell {c} is in two parts of the pool")
            members = by_cell[bounds[c] : bounds[c + 1]]
            v = values[members]
            order = np.argsort(v)
            self.values[c] = v[order]
            self.cumulative[c] = np.concatenate([[0.0], np.cumsum(weights[members[order]])])
            self.filled[c] = True

    def weight_up_to(self, groups_of: list[np.ndarray], at: np.ndarray) -> np.ndarray:
        """Per group: the weight of its values <= `at` (a row per group).

        `groups_of`: per cell, the groups holding it (a cell searches only for those).
        """
        out = np.zeros(at.shape)
        for c, rows in enumerate(groups_of):
            taken = np.searchsorted(self.values[c], at[rows], side="right")
            out[rows] += self.cumulative[c][taken]
        return out

    def quantiles(self, probs: np.ndarray) -> np.ndarray:
        """Groups x probs weighted quantiles: the smallest value whose group CDF reaches p.

        Found by bisection over the floats themselves (their order-keeping integer codes, 64
        steps at most): the group's weight up to x only steps at its members' values, so the
        smallest x reaching p is a member's value, the one a search of the group's sorted
        members would return.
        """
        member = self.cells.membership
        total = member.astype(float) @ np.array([c[-1] for c in self.cumulative])
        target = (probs[None, :] - CDF_TOLERANCE) * total[:, None]
        present = [v for v in self.values if v.size]
        if not present:
            return np.full(target.shape, np.nan)
        groups_of = [np.flatnonzero(member[:, c]) for c in range(self.cells.n_cells)]
        low = np.full(target.shape, _code(min(v[0] for v in present)))
        high = np.full(target.shape, _code(max(v[-1] for v in present)))
        while (low < high).any():  # the smallest code whose weight so far reaches the target
            mid = low + (high - low) // np.uint64(2)
            reached = self.weight_up_to(groups_of, _float(mid)) >= target
            low, high = bisected(low, high, mid, reached)
        largest = np.array([v[-1] if v.size else -np.inf for v in self.values])
        last = np.where(member, largest[None, :], -np.inf).max(axis=1, initial=-np.inf)
        out = np.minimum(_float(low), last[:, None]) + 0.0  # + 0.0: a -0.0 code reads as 0.0
        return np.where((total > 0)[:, None], out, np.nan)


SIGN = np.uint64(1 << 63)


def _code(x: float | np.ndarray) -> np.ndarray:
    """Unsigned integer codes in the order of the (non-NaN) floats.

    The sign bit set on the non-negative ones, every bit flipped on the negative ones.
    """
    bits = np.asarray(x, dtype=np.float64).view(np.uint64)
    return np.where(bits & SIGN, ~bits, bits | SIGN)


def _float(code: np.ndarray) -> np.ndarray:
    """The floats of `_code`'s codes."""
    bits = np.where(code & SIGN, code & ~SIGN, ~code)
    return bits.view(np.float64)


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
