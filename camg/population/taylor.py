"""Many design-based means and Woodruff quantiles of one study at once (Taylor linearisation).

`camg.population.survey` states each estimator for one variable (and is checked against R's
`survey`); a study's single-day rows need about 1,450 of them (58 groups x 3 measures x means,
percentiles and prevalences), and calling it per statistic re-coded the design and re-sorted the
domain every time (7.3 s per 57,000-person study). Here the design is coded once and the variances
of many influence-value columns come from one PSU-total product; the same formulas, so the same
figures up to the order of floating-point additions:
variance = sum_h n_h/(n_h - 1) sum_i (z_hi - zbar_h)^2 over PSU totals z_hi, a stratum with one PSU
centred at the grand mean of all PSU totals (`lonely_psu="adjust"`, survey's default here).
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

from camg.population.survey import Z_95


@dataclass(frozen=True, eq=False)
class TaylorDesign:
    """A study's design coded once: each person's PSU, each PSU's stratum and variance scale."""

    psu_of: np.ndarray  # per person: its PSU (each person its own PSU without a design)
    stratum_of_psu: np.ndarray
    scale: np.ndarray  # per PSU: n_h / (n_h - 1), or 1 for a lonely PSU
    lonely: np.ndarray  # per PSU: alone in its stratum
    crit: float  # t quantile of the Woodruff intervals

    @classmethod
    def of(cls, strata: np.ndarray | None, psu: np.ndarray | None, n: int, df: int | None):
        """Code the design (strata and PSU codes as `camg.population.groups.Study` holds them)."""
        crit = Z_95 if df is None else float(stats.t.ppf(0.975, df))
        if strata is None or psu is None:
            strata, pairs = np.zeros(n, np.intp), np.arange(n)
        else:
            pairs = np.unique(np.column_stack([strata, psu]), axis=0, return_inverse=True)[1]
            pairs = pairs.ravel()
        stratum_of_psu = np.zeros(int(pairs.max(initial=-1)) + 1, np.intp)
        stratum_of_psu[pairs] = strata
        n_h = np.bincount(stratum_of_psu)[stratum_of_psu]
        scale = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 1.0)
        return cls(pairs, stratum_of_psu, scale, n_h == 1, crit)

    def variances(self, rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Variance of the total of each column of influence values of persons `rows` (0 elsewhere)."""
        n_psu = self.stratum_of_psu.size
        psu = self.psu_of[rows]
        totals = np.column_stack(
            [np.bincount(psu, scores[:, j], minlength=n_psu) for j in range(scores.shape[1])]
        )
        sums = np.zeros((self.stratum_of_psu.max() + 1, totals.shape[1]))
        np.add.at(sums, self.stratum_of_psu, totals)
        counts = np.bincount(self.stratum_of_psu)[:, None]
        centre = totals.sum(axis=0) / n_psu
        reference = np.where(self.lonely[:, None], centre, (sums / counts)[self.stratum_of_psu])
        return (self.scale[:, None] * (totals - reference) ** 2).sum(axis=0)

    def means(self, rows: np.ndarray, values: np.ndarray, weights: np.ndarray):
        """Weighted means, Taylor SEs and counts of value columns of a domain's persons `rows`.

        As `camg.population.survey.survey_mean` with the domain `rows` (values: rows x columns;
        NaN values are outside the domain; the design stays the whole study's). NaN mean and SE
        for an empty domain.
        """
        inside = np.isfinite(values)
        wd = np.where(inside, weights[:, None], 0.0)
        y0 = np.where(inside, values, 0.0)
        total = wd.sum(axis=0)
        safe = np.where(total > 0, total, 1.0)
        mean = (wd * y0).sum(axis=0) / safe
        se = np.sqrt(self.variances(rows, wd * (y0 - mean) / safe))
        empty = ~(total > 0)
        return np.where(empty, np.nan, mean), np.where(empty, np.nan, se), inside.sum(axis=0)


def sorted_domain(values: np.ndarray, weights: np.ndarray):
    """Finite, positively weighted values sorted, and their CDF (as weighted_quantiles)."""
    keep = np.isfinite(values) & (weights > 0)
    order = np.argsort(values[keep], kind="stable")
    y, w = values[keep][order], weights[keep][order]
    return y, (np.cumsum(w) / w.sum() if w.size else w)


def quantile_of(y: np.ndarray, cdf: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """`camg.population.survey.weighted_quantiles` on a sorted domain (`sorted_domain`)."""
    if y.size == 0:
        return np.full(np.shape(probs), np.nan)
    idx = np.searchsorted(cdf, np.asarray(probs) - 1e-12, side="left")
    return y[np.minimum(idx, y.size - 1)]


def woodruff(design: TaylorDesign, rows, values, weights, probs: np.ndarray):
    """Quantiles of a domain's persons `rows` with Woodruff SEs (`survey.survey_quantiles`).

    `values`, `weights`: of those persons (NaN values are outside the domain).
    """
    inside = np.isfinite(values)
    y, cdf = sorted_domain(values, weights)
    q = quantile_of(y, cdf, probs)
    below = np.where(inside[:, None], values[:, None] <= q[None, :], np.nan)
    share, share_se, _ = design.means(rows, below, weights)
    c = design.crit
    low = quantile_of(y, cdf, np.clip(share - c * share_se, 0.0, 1.0))
    high = quantile_of(y, cdf, np.clip(share + c * share_se, 0.0, 1.0))
    se = np.where(np.isfinite(q), (high - low) / (2 * c), np.nan)
    return q, se, int(inside.sum())
