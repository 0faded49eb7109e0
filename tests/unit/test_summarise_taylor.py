"""Unit tests for population.taylor: many design-based estimates at once equal survey's one-by-one."""

import numpy as np
import pytest

from camg.population.survey import survey_mean, survey_quantiles
from camg.population.taylor import TaylorDesign, woodruff

PROBS = np.array([0.05, 0.25, 0.5, 0.75, 0.95])


@pytest.fixture
def sample():
    """400 persons in 6 strata of 2-3 PSUs and one lonely stratum; NaN values; a 40 % domain."""
    rng = np.random.default_rng(11)
    n = 400
    strata = rng.integers(0, 7, n)
    psu = np.where(strata == 6, 0, rng.integers(0, 3, n))  # stratum 6: one PSU (lonely)
    y = rng.lognormal(6, 0.6, n)
    y[rng.random(n) < 0.05] = np.nan
    w = rng.uniform(500, 5000, n)
    return strata, psu, y, w, rng.random(n) < 0.4


@pytest.mark.parametrize("designed", [True, False])
def test_means_equal_survey_mean_column_by_column(sample, designed):
    strata, psu, y, w, domain = sample
    design_args = (strata, psu) if designed else (None, None)
    design = TaylorDesign.of(*design_args, y.size, df=None)
    rows = np.flatnonzero(domain)
    values = np.column_stack(
        [y, (y < 400).astype(float), np.where(np.isfinite(y), y > 800, np.nan)]
    )
    mean, se, n = design.means(rows, values[rows], w[rows])
    for j in range(values.shape[1]):
        one = survey_mean(values[:, j], w, *design_args, domain=domain)
        assert mean[j] == pytest.approx(one.estimate, rel=1e-12)
        assert se[j] == pytest.approx(one.se, rel=1e-10)
        assert n[j] == one.n


def test_woodruff_quantiles_equal_survey_quantiles(sample):
    strata, psu, y, w, domain = sample
    design = TaylorDesign.of(strata, psu, y.size, df=12)
    rows = np.flatnonzero(domain)
    q, se, n = woodruff(design, rows, y[rows], w[rows], PROBS)
    expected = survey_quantiles(y, w, strata, psu, PROBS, domain=domain, df=12)
    assert q.tolist() == [e.estimate for e in expected]
    assert se == pytest.approx([e.se for e in expected], rel=1e-10)
    assert n == expected[0].n


def test_an_empty_domain_has_no_estimate(sample):
    strata, psu, y, _, _ = sample
    design = TaylorDesign.of(strata, psu, y.size, df=None)
    mean, se, n = design.means(np.zeros(0, np.intp), np.zeros((0, 1)), np.zeros(0))
    assert np.isnan(mean[0])
    assert np.isnan(se[0])
    assert n[0] == 0
