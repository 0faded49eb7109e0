"""Usual-intake distributions for a daily-consumed nutrient (NCI method, amount-only model).

One 24-h recall mixes each person's long-run ("usual") intake with large day-to-day
variation, so the single-day distribution is too wide and the share below the EAR is
overstated. Following Tooze JA et al. (2006), J Am Diet Assoc 106:1575-1587 (the NCI
method; amount-only model for nutrients eaten nearly every day, e.g. Ca and Mg):

1. Box-Cox transform the daily intakes, ``T(y) = (y**lam - 1)/lam`` (``log y`` at 0), with
   ``lam`` on a 0.01 grid in [0, 1] maximising the weighted Box-Cox profile log-likelihood
   of the positive first-day values (closest to normal). Zero intakes are replaced by half the
   smallest positive intake of the group (the usual NCI device; Ca/Mg zeros are rare).
2. On that scale fit the one-way random-effects model ``t_ij = mu + beta*day2_j + u_i + e_ij``
   with weighted moment (ANOVA) estimators: ``beta`` is the weighted mean day-2 minus day-1
   difference (the NCI day-2/sequence effect; usual intake is predicted on the day-1 scale),
   ``s2_w`` the pooled within-person variance of persons with 2+ recalls and
   ``s2_b = var_w(person means) - s2_w * mean_w(1/n_i)``.
3. Monte Carlo as in NCI's DISTRIB: each person yields ``n_sim`` pseudo-persons
   ``t = mu + u``, ``u ~ N(0, s2_b)``, carrying weight ``w_i / n_sim``; the usual intake is
   ``E[T^-1(t + e)]``, ``e ~ N(0, s2_w)``, by Gauss-Hermite quadrature (this is the
   back-transformation bias adjustment).
4. Prevalence of inadequacy by the EAR cut-point method (IOM 2000, Dietary Reference
   Intakes: Applications in Dietary Assessment): the weighted share of the usual-intake
   distribution below the EAR.

Fit one group (e.g. sex x age band) per call; persons must be unique within the call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from camg.population.boxcox import (
    boxcox,
    choose_boxcox_lambda,
    inverse_boxcox,
    inverse_boxcox_in_place,
)
from camg.population.survey import weighted_mean, weighted_quantiles

__all__ = [
    "PERCENTILES",
    "UsualIntakeResult",
    "VarianceComponents",
    "boxcox",
    "choose_boxcox_lambda",
    "estimate_usual_intake",
    "inverse_boxcox",
    "prevalence_below",
    "simulate_usual_intake",
    "variance_components",
]

PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 95)
Array = NDArray[np.float64]


@dataclass(frozen=True)
class VarianceComponents:
    """Transformed-scale mixed-model fit: mean, day-2 shift, between/within variances."""

    mu: float
    day2_effect: float
    var_between: float
    var_within: float
    n_persons: int
    n_repeat: int


@dataclass(frozen=True, eq=False)
class UsualIntakeResult:
    """Usual-intake summary of one group; NaN fields and a ``reason`` when not estimable."""

    n_persons: int
    n_repeat: int
    boxcox_lambda: float = float("nan")
    zero_offset: float = float("nan")
    components: VarianceComponents | None = None
    mean: float = float("nan")
    percentiles: dict[int, float] = field(default_factory=dict)
    cutpoint: float | None = None
    pct_below: float = float("nan")
    single_day_pct_below: float = float("nan")
    reason: str | None = None
    usual: Array = field(default_factory=lambda: np.empty(0), repr=False)
    usual_weights: Array = field(default_factory=lambda: np.empty(0), repr=False)
    usual_person: NDArray = field(default_factory=lambda: np.empty(0), repr=False)

    @property
    def ok(self) -> bool:
        """Whether the distribution was estimated."""
        return self.reason is None


def variance_components(
    t: ArrayLike,
    person: ArrayLike,
    day: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    day2_effect: bool = True,
) -> VarianceComponents:
    """Weighted moment estimates of the one-way random-effects model on transformed intakes.

    ``day`` is the recall number (1 = first); ``weights`` are per row, constant per person.
    Variances can come out <= 0 on small or odd samples; the caller decides what to do.
    """
    t = np.asarray(t, dtype=float)
    pid = np.unique(np.asarray(person), return_inverse=True)[1].ravel()
    later = np.asarray(day) > 1
    row_w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    w = np.zeros(pid.max() + 1)
    w[pid] = row_w
    n_i = np.bincount(pid)
    n_first, n_later = np.bincount(pid, ~later), np.bincount(pid, later)
    both = (n_first > 0) & (n_later > 0)
    beta = 0.0
    if day2_effect and both.any():
        s_first = np.bincount(pid, np.where(later, 0.0, t))[both] / n_first[both]
        s_later = np.bincount(pid, np.where(later, t, 0.0))[both] / n_later[both]
        beta = weighted_mean(s_later - s_first, w[both])
    ta = t - beta * later
    m_i = np.bincount(pid, weights=ta) / n_i
    rep = n_i >= 2
    ss_within = np.bincount(pid, weights=(ta - m_i[pid]) ** 2)
    sw2 = (w * ss_within)[rep].sum() / (w * (n_i - 1))[rep].sum() if rep.any() else np.nan
    mu = weighted_mean(m_i, w)
    var_means = weighted_mean((m_i - mu) ** 2, w)
    sb2 = var_means - sw2 * weighted_mean(1.0 / n_i, w)
    return VarianceComponents(mu, beta, float(sb2), float(sw2), int(n_i.size), int(rep.sum()))


def simulate_usual_intake(
    vc: VarianceComponents,
    lam: float,
    person_weights: ArrayLike,
    *,
    n_sim: int = 100,
    n_nodes: int = 9,
    seed: int = 20060101,
    draws: Array | None = None,
) -> tuple[Array, Array]:
    """NCI-style pseudo-persons: usual intakes and their weights (``w_i / n_sim`` each).

    `draws`: the persons x n_sim standard normals of `seed` when the caller has them already.
    """
    w = np.asarray(person_weights, dtype=float)
    sd = np.sqrt(vc.var_between)
    if draws is None:
        t = vc.mu + np.random.default_rng(seed).normal(0.0, sd, size=(w.size, n_sim))
    else:  # the same floats: numpy's normal(0, sd) is 0.0 + sd * z of the same stream
        t = vc.mu + sd * draws
    nodes, node_w = np.polynomial.hermite.hermgauss(n_nodes)
    usual, node = np.zeros_like(t), np.empty_like(t)
    for x, a in zip(nodes, node_w, strict=True):  # E over e ~ N(0, s2_w): x*sqrt(2 s2_w)
        np.add(t, x * np.sqrt(2.0 * vc.var_within), out=node)
        inverse_boxcox_in_place(node, lam)
        node *= a / np.sqrt(np.pi)
        usual += node
    return usual.ravel(), np.repeat(w / n_sim, n_sim)


def prevalence_below(usual: ArrayLike, weights: ArrayLike | None, cutoff: float) -> float:
    """EAR cut-point method: weighted fraction (0-1) of usual intakes strictly below ``cutoff``."""
    u = np.asarray(usual, dtype=float)
    return weighted_mean((u < cutoff).astype(float), weights)


@dataclass(frozen=True)
class _PersonDays:
    """Cleaned person-day arrays of one group: intakes, person codes, days, row weights."""

    y: Array
    ids: NDArray  # the distinct person values, in code order
    pid: NDArray[np.intp]
    day: NDArray[np.int_]
    w: Array
    first: NDArray[np.intp]  # one first-recall row per person

    @property
    def n_per_person(self) -> NDArray[np.intp]:
        """Recalls per person."""
        return np.bincount(self.pid, minlength=int(self.pid.max(initial=-1)) + 1)


def _person_days(
    intake: ArrayLike, person: ArrayLike, day: ArrayLike, weights: ArrayLike | None
) -> _PersonDays:
    """Drop NaN intakes, reject negatives, code persons, locate first-day rows."""
    y = np.asarray(intake, dtype=float)
    keep = np.isfinite(y)
    if np.any(y[keep] < 0):
        raise ValueError("intakes must be non-negative")
    y, d = y[keep], np.asarray(day)[keep]
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)[keep]
    ids, pid = np.unique(np.asarray(person)[keep], return_inverse=True)
    pid = pid.ravel()
    first = np.flatnonzero(d == d.min()) if d.size else np.zeros(0, dtype=np.intp)
    first = first[np.unique(pid[first], return_index=True)[1]]
    return _PersonDays(y, ids, pid, d, w, first)


def _fit(days: _PersonDays, day2_effect: bool) -> tuple[float, float, VarianceComponents]:
    """Box-Cox lambda (on positive first-day amounts), zero offset and variance components."""
    pos = days.first[days.y[days.first] > 0]  # zeros would dominate the choice of lambda
    lam = choose_boxcox_lambda(days.y[pos], days.w[pos])
    offset = 0.5 * float(days.y[days.y > 0].min())
    t = boxcox(np.where(days.y > 0, days.y, offset), lam)
    return lam, offset, variance_components(t, days.pid, days.day, days.w, day2_effect=day2_effect)


def estimate_usual_intake(
    intake: ArrayLike,
    person: ArrayLike,
    day: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    cutpoint: float | None = None,
    min_repeat: int = 50,
    day2_effect: bool = True,
    n_sim: int = 100,
    seed: int = 20060101,
    summary: bool = True,
    draws: Array | None = None,
) -> UsualIntakeResult:
    """Fit the amount-only NCI model to one group's person-days and summarise usual intake.

    `summary=False` leaves the mean, percentiles and prevalences out (NaN): a caller that pools the
    pseudo-persons of several groups (`camg.population.usual_summary`) takes them from the pool.
    `draws`: the pseudo-persons' standard normals (persons x n_sim, persons in sorted order), if
    the caller drew them from `seed` already (`simulate_usual_intake`).

    Rows are person-days (``intake`` in mg/day, ``day`` 1 or 2, ``weights`` per row but
    constant within person, e.g. NHANES day-1 dietary weights). NaN intakes are dropped.
    Returns a result with ``reason`` set (and NaNs) instead of raising when fewer than
    ``min_repeat`` persons have 2+ recalls, fewer than 2 positive first-day intakes, or
    the between-person variance is not positive.
    """
    days = _person_days(intake, person, day, weights)
    n_i = days.n_per_person
    base = {"n_persons": int(n_i.size), "n_repeat": int((n_i >= 2).sum()), "cutpoint": cutpoint}
    first_positive = days.y[days.first][days.y[days.first] > 0]
    if base["n_repeat"] < min_repeat or np.unique(first_positive).size < 2:
        why = f"{base['n_repeat']} persons with 2+ recalls (need {min_repeat})"
        return UsualIntakeResult(**base, reason=why + " or < 2 distinct positive day-1 intakes")
    lam, offset, vc = _fit(days, day2_effect)
    if not (vc.var_between > 0 and vc.var_within >= 0):
        why = f"non-positive between-person variance ({vc.var_between:.3g})"
        return UsualIntakeResult(**base, boxcox_lambda=lam, components=vc, reason=why)
    person_w = np.zeros(n_i.size)
    person_w[days.pid] = days.w
    usual, uw = simulate_usual_intake(vc, lam, person_w, n_sim=n_sim, seed=seed, draws=draws)
    pct, below, single, mean = np.full(len(PERCENTILES), np.nan), np.nan, np.nan, np.nan
    if summary:
        pct = weighted_quantiles(usual, uw, np.array(PERCENTILES) / 100.0)
        mean = weighted_mean(usual, uw)
    if summary and cutpoint is not None:
        below = 100.0 * prevalence_below(usual, uw, cutpoint)
        single = 100.0 * prevalence_below(days.y[days.first], days.w[days.first], cutpoint)
    return UsualIntakeResult(
        **base,
        boxcox_lambda=lam,
        zero_offset=offset,
        components=vc,
        mean=mean,
        percentiles=dict(zip(PERCENTILES, pct.tolist(), strict=True)),
        pct_below=below,
        single_day_pct_below=single,
        usual=usual,
        usual_weights=uw,
        usual_person=np.repeat(days.ids, n_sim),
    )
