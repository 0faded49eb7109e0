"""Unit tests: usual-intake and usual-ratio pools filled one DRI-group fit at a time equal the
whole pool at once (the same floats), so each fit's pseudo-persons can be freed before the next."""

import numpy as np
import pytest

from camg.population.pooled import Cells, SortedPool
from camg.population.replicates import replicate_design
from camg.population.survey import weighted_quantiles
from camg.population.usual_intake import PERCENTILES
from camg.population.usual_pool import PointPool
from camg.population.usual_ratio import draws, fit_bivariate
from camg.population.usual_ratio_se import Bands, RatioPool, RatioRefit, ratio_ses, ratio_statistics
from camg.population.usual_se import STATISTICS
from tests.unit.test_usual_ratio import HIGH, LOW, simulated

PROBS = np.array(PERCENTILES) / 100


@pytest.fixture
def fits():
    """150 persons in 3 disjoint DRI groups (the fits) and 3 overlapping groups; 9 draws each."""
    rng = np.random.default_rng(11)
    persons = 150
    dri = rng.integers(0, 3, persons)
    masks = [dri == g for g in range(3)]
    masks += [rng.random(persons) < 0.5, np.arange(persons) >= 40, np.ones(persons, bool)]
    parts = []
    for g in range(3):
        person = np.repeat(np.flatnonzero(masks[g]), 9)
        values = np.round(rng.lognormal(6 + 0.2 * g, 0.4, person.size), 1)  # with exact ties
        weights = np.repeat(rng.uniform(0.5, 3, person.size // 9), 9) / 9
        values[::17] = np.nan  # no usual value: left out
        parts.append((person, values, weights))
    return Cells.of(masks, persons), masks, parts


def whole(parts):
    """The fits' pseudo-persons concatenated (the whole pool at once)."""
    return [np.concatenate(a) for a in zip(*parts, strict=True)]


def test_a_sorted_pool_filled_fit_by_fit_is_the_pool_of_all_values_at_once(fits):
    cells, _, parts = fits
    by_fit = SortedPool.empty(cells)
    for person, values, weights in parts:
        by_fit.add(cells.person_cell[person], values, weights)
    person, values, weights = whole(parts)
    at_once = SortedPool.of(cells, cells.person_cell[person], values, weights)
    for c in range(cells.n_cells):
        assert np.array_equal(by_fit.values[c], at_once.values[c])
        assert np.array_equal(by_fit.cumulative[c], at_once.cumulative[c])
    assert np.array_equal(by_fit.quantiles(PROBS), at_once.quantiles(PROBS), equal_nan=True)


def test_a_cell_split_across_two_parts_is_refused(fits):
    cells, _, parts = fits
    pool = SortedPool.empty(cells)
    person, values, weights = parts[0]
    half = person.size // 2
    pool.add(cells.person_cell[person[:half]], values[:half], weights[:half])
    with pytest.raises(ValueError, match="two parts"):
        pool.add(cells.person_cell[person[half:]], values[half:], weights[half:])


def test_point_pool_figures_are_each_groups_own(fits):
    cells, masks, parts = fits
    parts = [(p, np.where(np.isfinite(v), v, 500.0), w) for p, v, w in parts]  # a fit's are finite
    ears, uls = (np.array([700.0, 400.0, np.nan]), np.array([2500.0, np.nan, np.nan]))
    pool = PointPool(cells)
    for (person, values, weights), ear, ul in zip(parts, ears, uls, strict=True):
        pool.add(person, values, weights, (ear, ul))
    stats, total = pool.statistics(len(STATISTICS))
    person, values, weights = whole(parts)
    fit_of = np.repeat(np.arange(3), [p.size for p, _, _ in parts])
    ear, ul = ears[fit_of], uls[fit_of]
    for g, mask in enumerate(masks):
        mine = mask[person]
        v, w = values[mine], weights[mine]
        assert total[g] == pytest.approx(w.sum(), rel=1e-12)
        assert stats[g, 0] == pytest.approx((w * v).sum() / w.sum(), rel=1e-12)
        assert stats[g, 1:6].tolist() == weighted_quantiles(v, w, PROBS).tolist()
        for col, cut, hit in ((-2, ear, values < ear), (-1, ul, values > ul)):
            known = mask[person] & np.isfinite(cut)  # pseudo-persons of fits with the cut
            if not known.any():
                assert np.isnan(stats[g, col])
                continue
            share = 100 * (weights * hit)[known].sum() / weights[known].sum()
            assert stats[g, col] == pytest.approx(share, rel=1e-12)


def test_ratio_pool_filled_fit_by_fit_equals_the_whole_pool_at_once(fits):
    cells, _, parts = fits
    bands = Bands(350.0, 600.0)
    covered = np.arange(cells.person_cell.size) >= 30
    pool = RatioPool(cells, bands)
    for person, values, weights in parts:
        pool.add(cells.person_cell[person], values, weights, covered[person])
    by_fit, weight = pool.statistics()
    person, values, weights = whole(parts)
    cell = cells.person_cell[person]
    at_once = ratio_statistics(cells, cell, values, weights, covered[person], bands)
    assert np.array_equal(by_fit, at_once, equal_nan=True)
    assert np.array_equal(weight, cells.group_sums(cell, weights))


def test_ratio_ses_are_the_same_whatever_the_order_of_fits_cells_and_persons():
    # 3 DRI groups of 120 persons at shuffled study rows. The fits in any order give the same SEs;
    # with the DRI groups' masks first their cells lie side by side (each replicate's pseudo-persons
    # made in cell order), with them last the cells interleave (gathered per replicate).
    ca, mg, person, day, w = simulated(360, seed=4)
    rows = np.random.default_rng(4).permutation(360)
    dri = rows % 3
    refits = []
    for g in range(3):
        mine = (dri == g)[person]
        fit = fit_bivariate(
            ca[mine], mg[mine], rows[person[mine]], day[mine], w[mine], min_repeat=10
        )
        refits.append(RatioRefit(fit, fit.ids, draws(fit.n_persons, 10, 7)))
    design = replicate_design(rows % 4, (rows // 4) % 2, 360, rho=0.3, srs_groups=30, seed=1)
    dri_masks = [np.isin(np.arange(360), rows[dri == g]) for g in range(3)]
    others = [np.arange(360) < 200, np.arange(360) % 2 == 0, np.ones(360, bool)]
    covered, bands = np.arange(360) >= 20, Bands(LOW, HIGH)
    first = ratio_ses(refits, dri_masks + others, covered, bands, design, 9)
    reversed_fits = ratio_ses(refits[::-1], dri_masks + others, covered, bands, design, 9)
    assert np.array_equal(first, reversed_fits, equal_nan=True)
    last = ratio_ses(refits, others + dri_masks, covered, bands, design, 9)
    assert np.isfinite(first[:, 0]).all()
    np.testing.assert_allclose(last[[3, 4, 5, 0, 1, 2]], first, rtol=1e-9)
