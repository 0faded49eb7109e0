"""Usual-intake replicate refits: a DRI group's fit redone on every column of replicate weights.

Each replicate (`camg.population.replicates`) refits the group's variance components on its weights
(the Box-Cox lambda stays at the full-sample value) and redraws the group's pseudo-persons from the
same standard normal draws as the full sample (common random numbers: the first
`usual.replicate_pseudo_persons` per person). All replicates at once: a group's variance components
are weighted moments, i.e. matrix products of its persons' replicate weights, and a pseudo-person's
usual intake is read off a grid of the back-transformation whose position in the grid is the same
for every replicate (`GridUsual`). The statistics and SEs: `camg.population.usual_se`.
"""

from dataclasses import dataclass

import numpy as np

from camg.population.boxcox import boxcox, inverse_boxcox

GRID_POINTS = 257


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


def refit_inputs(
    y, rows_of_days, day, w_days, lam, offset, seed, n_sim, k, ear, ul, draws=None
) -> Refit:
    """The arrays of one fitted group, in the fit's own person order and draws.

    `draws`: the fit's own persons x n_sim standard normals (`seed`'s), if the caller has them.
    """
    ids, pid = np.unique(rows_of_days, return_inverse=True)
    w = np.zeros(ids.size)
    w[pid] = w_days
    t = boxcox(np.where(y > 0, y, offset), lam)
    if draws is None:
        draws = np.random.default_rng(seed).standard_normal((ids.size, n_sim))
    z = draws[:, :k].copy()  # a copy: a view would keep all n_sim draws alive
    nan = float("nan")
    return Refit(
        t, pid, day, w, ids, lam, z, nan if ear is None else ear, nan if ul is None else ul
    )


def _weighted_means(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Column-wise sum(w y) / sum(w) over rows (`weights` persons x columns; NaN without weight)."""
    total = weights.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (weights * values).sum(axis=0) / total, np.nan)


def components(fit: Refit, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """mu, var_between, var_within per column of person weights (persons x columns).

    `camg.population.usual_intake.variance_components` for many weightings at once (same moments).
    """
    later = fit.day > 1
    n_i = np.bincount(fit.pid)
    n_later = np.bincount(fit.pid, later)
    both = (n_later > 0) & (n_later < n_i)
    beta = np.zeros(weights.shape[1])
    if both.any():
        s_later = np.bincount(fit.pid, np.where(later, fit.t, 0.0))[both] / n_later[both]
        s_first = np.bincount(fit.pid, np.where(later, 0.0, fit.t))[both] / (n_i - n_later)[both]
        beta = _weighted_means((s_later - s_first)[:, None], weights[both])
    order = np.argsort(fit.pid, kind="stable")
    starts = np.searchsorted(fit.pid[order], np.arange(n_i.size))
    ta = fit.t[order, None] - later[order, None] * beta[None, :]
    means = np.add.reduceat(ta, starts, axis=0) / n_i[:, None]
    squares = np.add.reduceat((ta - means[fit.pid[order]]) ** 2, starts, axis=0)
    rep = n_i >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        within = (weights[rep] * squares[rep]).sum(axis=0) / (
            weights[rep] * (n_i - 1)[rep, None]
        ).sum(axis=0)
    mu = _weighted_means(means, weights)
    inverse_n = np.broadcast_to(1.0 / n_i[:, None], weights.shape)
    between = _weighted_means((means - mu) ** 2, weights) - within * _weighted_means(
        inverse_n, weights
    )
    return mu, between, within


@dataclass(frozen=True, eq=False)
class GridUsual:
    """A group's pseudo-persons' usual intakes under every replicate, read off one grid.

    Draws z are fixed, t = mu + sd z, so each pseudo-person's place on a grid spanning its group's
    t is the same in every replicate: `index` and `fraction` are found once.
    """

    values: np.ndarray  # columns x GRID_POINTS: the back-transformed grid per replicate (NaN: none)
    index: np.ndarray
    fraction: np.ndarray

    @classmethod
    def of(cls, fit: Refit, weights: np.ndarray) -> "GridUsual":
        """The grids of all columns of person weights (`weights`: persons x columns)."""
        mu, between, within = components(fit, weights)
        z = fit.z.ravel()
        low, high = z.min(), z.max()
        unit = np.linspace(0.0, 1.0, GRID_POINTS)
        ok = (between > 0) & (within >= 0)
        sd = np.sqrt(np.where(ok, between, 1.0))
        grid = mu[:, None] + sd[:, None] * (low + unit * (high - low))[None, :]
        nodes, node_w = np.polynomial.hermite.hermgauss(9)
        spread = np.sqrt(2.0 * np.where(ok, within, 0.0))[:, None]
        values = sum(
            a / np.sqrt(np.pi) * inverse_boxcox(grid + x * spread, fit.lam)
            for x, a in zip(nodes, node_w, strict=True)
        )
        values[~ok] = np.nan
        place = (z - low) / (high - low) * (GRID_POINTS - 1) if high > low else 0 * z
        index = np.minimum(place.astype(np.intp), GRID_POINTS - 2)
        return cls(values, index, place - index)

    def column(self, r: int) -> np.ndarray:
        """Pseudo-persons' usual intakes in replicate column r (linear between grid points)."""
        v = self.values[r]
        return v[self.index] + self.fraction * (v[self.index + 1] - v[self.index])
