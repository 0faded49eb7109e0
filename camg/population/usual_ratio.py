"""Usual Ca:Mg ratio: a bivariate usual-intake model of calcium and magnesium (NCI multivariate method).

The ratio a person lives with is the ratio of their usual (long-run) intakes, not of one day's. Two
recalls per person cannot give it directly, and dividing two univariate usual-intake distributions
cannot either: a person who eats much Ca tends to eat much Mg (milk, grains), so the ratio depends on
how the person effects of the two minerals go together. Following the NCI multivariate method
(Zhang S, Midthune D, Guenther PM et al. 2011, A new multivariate measurement error model with zero-
inflated dietary data, and its application to dietary assessment, Stat Med 30:1857-1876,
doi:10.1002/sim.4063), restricted to two nutrients eaten every day (no zero/consumption part):

1. Each nutrient is Box-Cox transformed with its own lambda, chosen as in the univariate model
   (`camg.population.usual_intake`, Tooze et al. 2006) on the positive first-day intakes.
2. On that scale ``t_ij = mu + beta*day2_j + u_i + e_ij`` with 2-vectors: person effects
   ``u_i ~ N(0, S_b)`` and day effects ``e_ij ~ N(0, S_w)``, both 2x2 covariances. Weighted moment
   estimators generalise the univariate ones: ``S_w`` is the pooled within-person (co)variance of
   persons with 2+ days, ``S_b = Cov_w(person means) - S_w * mean_w(1/n_i)``. A between-person
   correlation the moments put outside [-1, 1] is clipped to it (ML, as in Zhang et al., stays inside).
3. Monte Carlo: each person yields pseudo-persons ``mu + u`` with ``u`` drawn from the fitted
   ``S_b`` (correlated), carrying weight ``w_i / n_sim``. Each pseudo-person's usual intake of a
   nutrient is ``E[T^-1(t + e)]`` over its own day effect (Gauss-Hermite quadrature: the
   back-transformation adjustment), and its usual ratio is usual Ca / usual Mg by camg's ratio rule
   (`camg.ratio.calcium_to_magnesium_mass_ratio`).

Fit one group (e.g. sex x DRI age group) per call; the caller takes every constant (pseudo-persons,
seed, minimum persons, quadrature nodes) from the rules table.
"""

from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from camg.nutrition.ratio import calcium_to_magnesium_mass_ratio
from camg.population.usual_intake import boxcox, choose_boxcox_lambda, inverse_boxcox

GRID_POINTS = 513  # back-transformation evaluated on a grid and interpolated (smooth, monotone)


@dataclass(frozen=True)
class CovarianceComponents:
    """Transformed-scale bivariate fit: means, day-2 shifts, between and within 2x2 covariances."""

    mu: np.ndarray
    day2_effect: np.ndarray
    between: np.ndarray
    within: np.ndarray
    n_persons: int
    n_repeat: int

    @property
    def correlation(self) -> float:
        """Between-person correlation of the transformed intakes, clipped to [-1, 1]."""
        b = self.between
        if b[0, 0] <= 0 or b[1, 1] <= 0:
            return float("nan")
        return float(np.clip(b[0, 1] / np.sqrt(b[0, 0] * b[1, 1]), -1.0, 1.0))

    @property
    def ok(self) -> bool:
        """Both between-person variances positive and both within-person variances non-negative."""
        return bool((np.diag(self.between) > 0).all() and (np.diag(self.within) >= 0).all())


def covariance_components(
    t: np.ndarray, pid: np.ndarray, day: np.ndarray, w: np.ndarray
) -> CovarianceComponents:
    """Weighted moment estimates of the bivariate random-effects model (rows: person-days).

    `t` is (rows, 2); `pid` person codes 0..n-1; `day` the recall number (1 = first); `w` the row
    weights, constant per person. The diagonals equal `camg.population.usual_intake.variance_components`.
    """
    later = np.asarray(day) > 1
    n_p = int(pid.max()) + 1
    pw = np.zeros(n_p)
    pw[pid] = w
    n_i = np.bincount(pid, minlength=n_p)
    n_later = np.bincount(pid, later, minlength=n_p)
    both = (n_later > 0) & (n_later < n_i)
    beta = np.zeros(2)
    if both.any():
        for c in range(2):
            s_later = np.bincount(pid, np.where(later, t[:, c], 0.0), n_p)[both] / n_later[both]
            s_first = np.bincount(pid, np.where(later, 0.0, t[:, c]), n_p)[both]
            diff = s_later - s_first / (n_i - n_later)[both]
            beta[c] = (pw[both] * diff).sum() / pw[both].sum()
    ta = t - beta * later[:, None]
    means = np.column_stack([np.bincount(pid, ta[:, c], n_p) / n_i for c in range(2)])
    resid = ta - means[pid]
    rep = n_i >= 2
    scatter = resid[:, :, None] * resid[:, None, :] * pw[pid][:, None, None]
    in_rep = rep[pid]
    denominator = (pw * (n_i - 1))[rep].sum()
    within = scatter[in_rep].sum(axis=0) / denominator if rep.any() else np.full((2, 2), np.nan)
    mu = (pw[:, None] * means).sum(axis=0) / pw.sum()
    d = means - mu
    cov_means = (pw[:, None, None] * d[:, :, None] * d[:, None, :]).sum(axis=0) / pw.sum()
    between = cov_means - within * (pw / n_i).sum() / pw.sum()
    return CovarianceComponents(mu, beta, between, within, n_p, int(rep.sum()))


def between_factor(comps: CovarianceComponents) -> np.ndarray:
    """A 2x2 lower-triangular L with L L' = S_b (correlation clipped to [-1, 1])."""
    sd = np.sqrt(np.diag(comps.between))
    r = comps.correlation
    return np.array([[sd[0], 0.0], [r * sd[1], np.sqrt(max(1.0 - r * r, 0.0)) * sd[1]]])


@cache
def gauss_hermite(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights (computed once per count)."""
    return np.polynomial.hermite.hermgauss(nodes)


def expected_intake(t: np.ndarray, var_within: float, lam: float, nodes: int) -> np.ndarray:
    """E[T^-1(t + e)], e ~ N(0, var_within), by Gauss-Hermite quadrature on a grid of t."""
    low, high = (t.min(), t.max()) if t.size else (0.0, 0.0)
    grid = np.linspace(low, high, GRID_POINTS) if t.size else np.zeros(1)
    x, a = gauss_hermite(nodes)
    values = sum(
        ak / np.sqrt(np.pi) * inverse_boxcox(grid + xk * np.sqrt(2.0 * var_within), lam)
        for xk, ak in zip(x, a, strict=True)
    )
    return on_grid(t, low, high, values)


def on_grid(t: np.ndarray, low: float, high: float, values: np.ndarray) -> np.ndarray:
    """Linear interpolation of `values` on an even grid from `low` to `high` (as `np.interp`).

    The grid is even, so each t's cell is found by arithmetic, not by a binary search per value
    (`np.interp` took 21 of 27 s of the usual ratio's replicate SEs per 57,000-person study).
    """
    if values.size < 2 or not high > low:
        return np.full(t.shape, values[0] if values.size else np.nan)
    # values[index] + (place - index) * step[index], in place (the same operations and values)
    place = t - low
    place *= (values.size - 1) / (high - low)
    index = place.astype(np.intp)
    np.clip(index, 0, values.size - 2, out=index)
    place -= index
    out, step = values[index], np.diff(values)[index]
    step *= place
    out += step
    return out


def usual_ratio(calcium: np.ndarray, magnesium: np.ndarray) -> np.ndarray:
    """Usual Ca / usual Mg by camg's ratio rule (NaN where the rule gives none, e.g. Mg 0)."""
    frame = pl.DataFrame({"calcium_mg": calcium, "magnesium_mg": magnesium})
    ratio = frame.select(calcium_to_magnesium_mass_ratio().alias("r"))["r"]
    return ratio.fill_null(np.nan).to_numpy()


def draws(n_persons: int, n_sim: int, seed: int) -> np.ndarray:
    """Standard normal draws, persons x n_sim x 2 (seeded: reruns are identical)."""
    return np.random.default_rng(seed).standard_normal((n_persons, n_sim, 2))


def pseudo_person_ratios(
    comps: CovarianceComponents, lam: np.ndarray, z: np.ndarray, nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Usual Ca, usual Mg and their ratio of the pseudo-persons of draws `z` (persons x k x 2)."""
    calcium, magnesium = pseudo_person_intakes(comps, lam, flat_draws(z), nodes)
    return calcium, magnesium, usual_ratio(calcium, magnesium)


def flat_draws(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draws (persons x k x 2) as two flat arrays (Ca's and Mg's standard normals, row order)."""
    return np.ascontiguousarray(z[..., 0]).ravel(), np.ascontiguousarray(z[..., 1]).ravel()


def pseudo_person_intakes(
    comps: CovarianceComponents, lam: np.ndarray, z: tuple[np.ndarray, np.ndarray], nodes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Usual Ca and usual Mg of the pseudo-persons of flat draws `z` (`flat_draws`).

    t = mu + L z with L L' = S_b (lower triangular), written out: a batched 2 x 2 product was
    most of the replicate SEs' time.
    """
    f = between_factor(comps)
    t = [comps.mu[c] + (z[0] * f[c, 0] + z[1] * f[c, 1]) for c in range(2)]
    usual = [expected_intake(t[c], comps.within[c, c], lam[c], nodes) for c in range(2)]
    return usual[0], usual[1]


@dataclass(frozen=True, eq=False)
class BivariateFit:
    """One group's fit: transform, components and the day rows it came from (`reason` if none)."""

    n_persons: int
    n_repeat: int
    reason: str | None = None
    lam: np.ndarray | None = None
    t: np.ndarray | None = None  # transformed (Ca, Mg) per day row
    pid: np.ndarray | None = None  # person code of each day row
    day: np.ndarray | None = None
    person_w: np.ndarray | None = None  # weight by person code
    ids: np.ndarray | None = None  # the caller's person key by code
    comps: CovarianceComponents | None = None

    @property
    def ok(self) -> bool:
        """Whether the model could be fitted."""
        return self.reason is None


def _transform(y: np.ndarray, first: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Lambda from positive first-day intakes; zeros at half the smallest positive (as univariate)."""
    pos = first[y[first] > 0]
    lam = choose_boxcox_lambda(y[pos], w[pos])
    offset = 0.5 * float(y[y > 0].min())
    return lam, boxcox(np.where(y > 0, y, offset), lam)


def fit_bivariate(calcium, magnesium, person, day, weights, *, min_repeat: int) -> BivariateFit:
    """Fit the bivariate model to one group's person-days (rows with both intakes known)."""
    y = np.column_stack([np.asarray(calcium, float), np.asarray(magnesium, float)])
    keep = np.isfinite(y).all(axis=1)
    y, day, w = y[keep], np.asarray(day)[keep], np.asarray(weights, float)[keep]
    ids, pid = np.unique(np.asarray(person)[keep], return_inverse=True)
    pid = pid.ravel()
    n_i = np.bincount(pid, minlength=ids.size)
    n_repeat = int((n_i >= 2).sum())
    first = np.flatnonzero(day == day.min()) if day.size else np.zeros(0, int)
    first = first[np.unique(pid[first], return_index=True)[1]]
    base = {"n_persons": int(ids.size), "n_repeat": n_repeat}
    if n_repeat < min_repeat or any(
        np.unique(y[first, c][y[first, c] > 0]).size < 2 for c in (0, 1)
    ):
        why = f"{n_repeat} persons with 2+ recalls (need {min_repeat})"
        why += " or < 2 distinct positive day-1 intakes"
        return BivariateFit(**base, reason=why)
    lam_ca, t_ca = _transform(y[:, 0], first, w)
    lam_mg, t_mg = _transform(y[:, 1], first, w)
    t = np.column_stack([t_ca, t_mg])
    comps = covariance_components(t, pid, day, w)
    person_w = np.zeros(ids.size)
    person_w[pid] = w
    why = None
    if not comps.ok:
        why = f"non-positive between-person variance ({np.diag(comps.between).round(4).tolist()})"
    lam = np.array([lam_ca, lam_mg])
    return BivariateFit(
        **base, reason=why, lam=lam, t=t, pid=pid, day=day, person_w=person_w, ids=ids, comps=comps
    )
