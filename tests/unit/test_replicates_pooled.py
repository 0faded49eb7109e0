"""Unit tests for population.pooled and the vectorised replicates: all at once equals one by one."""

import numpy as np
import pytest

from camg.population.pooled import (
    CellHistograms,
    Cells,
    SortedPool,
    log_bins,
)
from camg.population.survey import weighted_quantiles
from camg.population.usual_intake import variance_components
from camg.population.usual_ratio import covariance_components
from camg.population.usual_ratio_se import column_components
from camg.population.usual_refit import GridUsual, Refit, components
from camg.population.usual_se import Pool, binned_cell_sums, sorted_cell_sums

PROBS = np.array([0.05, 0.25, 0.5, 0.75, 0.95])


def test_cells_partition_persons_by_the_groups_they_belong_to():
    # Persons 0..5; groups: {0,1,2}, {2,3}, everyone. Cells: {0,1}, {2}, {3}, {4,5}.
    masks = [
        np.array([1, 1, 1, 0, 0, 0], bool),
        np.array([0, 0, 1, 1, 0, 0], bool),
        np.ones(6, bool),
    ]
    cells = Cells.of(masks, 6)
    assert cells.n_cells == 4
    same = cells.person_cell[:, None] == cells.person_cell[None, :]
    assert same[0, 1]
    assert same[4, 5]
    assert not same[1, 2]
    assert not same[2, 3]
    for g, mask in enumerate(masks):
        assert (cells.membership[g, cells.person_cell] == mask).all()
    sums = cells.group_sums(cells.person_cell, np.arange(6.0))
    assert sums.tolist() == [3.0, 5.0, 15.0]


@pytest.fixture
def pool():
    """120 persons with 7 pseudo-persons each, 4 overlapping groups, ties and a zero weight."""
    rng = np.random.default_rng(5)
    persons = 120
    masks = [rng.random(persons) < share for share in (0.3, 0.5, 0.8)] + [np.ones(persons, bool)]
    masks.append(np.zeros(persons, bool))  # an empty group
    person = np.repeat(np.arange(persons), 7)
    values = np.round(rng.lognormal(6, 0.5, person.size), 0)  # rounded: many exact ties
    weights = np.repeat(rng.uniform(0.5, 3, persons), 7) / 7
    weights[3] = 0.0
    return masks, person, values, weights


def test_sorted_pool_quantiles_and_group_sums_equal_each_groups_own(pool):
    masks, person, values, weights = pool
    cells = Cells.of(masks, masks[0].size)
    cell = cells.person_cell[person]
    found = SortedPool.of(cells, cell, values, weights).quantiles(PROBS)
    sums, totals = cells.group_sums(cell, weights * values), cells.group_sums(cell, weights)
    for g, mask in enumerate(masks):
        mine = mask[person]
        if not mine.any():
            assert np.isnan(found[g]).all()
            assert totals[g] == 0
            continue
        assert found[g].tolist() == weighted_quantiles(values[mine], weights[mine], PROBS).tolist()
        expected = (weights[mine] * values[mine]).sum() / weights[mine].sum()
        assert sums[g] / totals[g] == pytest.approx(expected, rel=1e-12)


def test_equal_weights_keep_exact_ties_at_a_probability():
    # Four equal weights: the median is the 2nd value (F = 0.5 exactly), as R's qrule "math".
    cells = Cells.of([np.ones(4, bool)], 4)
    values, weights = np.array([4.0, 1.0, 3.0, 2.0]), np.full(4, 0.25)
    found = SortedPool.of(cells, cells.person_cell, values, weights).quantiles(np.array([0.5]))
    assert found[0, 0] == 2.0


def test_pool_quantiles_of_negative_zero_and_tied_values_equal_each_groups_own(pool):
    # The bisection runs over the floats' order-keeping codes: signs, zeros and ties included.
    masks, person, values, weights = pool
    values = np.where(person % 3 == 0, -values, values)
    values[::11] = 0.0
    values[5::13] = -0.0
    cells = Cells.of(masks, masks[0].size)
    found = SortedPool.of(cells, cells.person_cell[person], values, weights).quantiles(PROBS)
    for g, mask in enumerate(masks[:-1]):
        mine = mask[person]
        assert found[g].tolist() == weighted_quantiles(values[mine], weights[mine], PROBS).tolist()


def test_log_bins_equal_a_search_of_the_edges():
    edges = np.geomspace(0.5, 5000.0, 4001)
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.lognormal(5, 1.5, 20_000), edges, edges * (1 + 1e-15), [0.1, 9e9]])
    expected = np.clip(np.searchsorted(edges, values) - 1, 0, edges.size - 2)
    assert (log_bins(values, edges) == expected).all()


def histogram_quantiles(bins, weights, edges, probs) -> np.ndarray:
    """One group's quantiles from its own histogram, as the per-group replicate code read them."""
    hist = np.bincount(bins, weights, minlength=edges.size - 1)
    cdf = np.cumsum(hist) / hist.sum()
    i = np.minimum(np.searchsorted(cdf, probs), hist.size - 1)
    before = np.where(i > 0, cdf[i - 1], 0.0)
    share = (probs - before) / (hist[i] / hist.sum())
    log_edges = np.log(edges)
    return np.exp(log_edges[i] + np.clip(share, 0, 1) * (log_edges[i + 1] - log_edges[i]))


def test_cell_histogram_quantiles_equal_each_groups_own_histogram(pool):
    masks, person, values, weights = pool
    edges = np.geomspace(values.min() / 4, values.max() * 4, 4001)
    cells = Cells.of(masks, masks[0].size)
    cell = cells.person_cell[person]
    histograms = CellHistograms(cells, edges, PROBS)
    found = histograms.quantiles(
        histograms.cumulative(histograms.first_bins(cell), values, weights)
    )
    bins = np.clip(np.searchsorted(edges, values) - 1, 0, edges.size - 2)
    for g, mask in enumerate(masks):
        mine = mask[person]
        if not mine.any():
            assert np.isnan(found[g]).all()
            continue
        expected = histogram_quantiles(bins[mine], weights[mine], edges, PROBS)
        np.testing.assert_allclose(found[g], expected, rtol=1e-12)


def test_replicate_components_equal_a_refit_per_replicate():
    # 60 persons, 1-3 recalls each, 5 replicate weightings (one with zero weights for some persons).
    rng = np.random.default_rng(3)
    days = rng.integers(1, 4, 60)
    pid = np.repeat(np.arange(60), days)
    day = np.concatenate([np.arange(1, k + 1) for k in days])
    t = rng.normal(3, 1, (pid.size, 2)) + rng.normal(0, 1, (60, 1))[pid]
    weights = rng.uniform(1, 3, (60, 5))
    weights[:10, 2] = 0.0
    refit = Refit(t[:, 0], pid, day, weights[:, 0], np.arange(60), 0.5, np.zeros((60, 1)), 0, 0)
    mu, between, within = components(refit, weights)

    class Fit:  # the fields column_components reads
        pass

    fit = Fit()
    fit.t, fit.pid, fit.day = t, pid, day
    bivariate = column_components(fit, weights)
    for r in range(weights.shape[1]):
        one = variance_components(t[:, 0], pid, day, weights[pid, r])
        assert mu[r] == pytest.approx(one.mu, rel=1e-12)
        assert between[r] == pytest.approx(one.var_between, rel=1e-10)
        assert within[r] == pytest.approx(one.var_within, rel=1e-10)
        both = covariance_components(t, pid, day, weights[pid, r])
        np.testing.assert_allclose(bivariate[r].between, both.between, rtol=1e-10)
        np.testing.assert_allclose(bivariate[r].within, both.within, rtol=1e-10)
        np.testing.assert_allclose(bivariate[r].mu, both.mu, rtol=1e-12)


def test_cell_sums_in_grid_order_equal_binning_each_pseudo_person():
    # Two fitted groups of 40 persons (2 recalls, 12 draws each), groups across them, 6 weightings.
    rng = np.random.default_rng(8)
    persons, k = 80, 12
    pid = np.repeat(np.arange(40), 2)
    day = np.tile([1, 2], 40)
    weights = rng.uniform(0.5, 3, (persons, 6))
    fits = []
    for g, (ear, ul) in enumerate([(300.0, 600.0), (800.0, float("nan"))]):
        t = rng.normal(6 + g, 0.4, pid.size) + rng.normal(0, 0.5, 40)[pid]
        z = rng.standard_normal((40, k))
        rows = np.arange(40) + 40 * g
        fits.append(Refit(t, pid, day, weights[rows, 0], rows, 0.0, z, ear, ul))
    masks = [np.arange(persons) < 40, np.arange(persons) >= 40, np.arange(persons) % 3 == 0]
    cells = Cells.of(masks, persons)
    grids = [GridUsual.of(f, weights[f.rows]) for f in fits]
    pool = Pool.of(fits, grids, cells)
    factors = weights.T / weights[:, 0]
    usual = pool.column(0, factors[0])[0]
    edges = np.geomspace(usual.min() / 4, usual.max() * 4, 4001)
    histograms = CellHistograms(cells, edges, PROBS)
    for r in range(6):
        values, w = pool.column(r, factors[r])
        found = sorted_cell_sums(histograms, pool, values, w)
        expected = binned_cell_sums(histograms, pool, values, w)
        for a, b in zip(found, expected, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-9)
    # Values out of order within a cell: no running totals, the caller bins them.
    assert sorted_cell_sums(histograms, pool, values[::-1].copy(), w) is None
