"""Unit tests for camg.population.usual_ratio (bivariate usual-intake model) and the usual_ratio mart."""

from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats

from camg.assess.intakes import assess_persons
from camg.population.pooled import Cells
from camg.population.usual_intake import variance_components
from camg.population.usual_ratio import (
    covariance_components,
    draws,
    fit_bivariate,
    pseudo_person_ratios,
    usual_ratio,
)
from camg.population.usual_ratio_se import Bands, ratio_statistics
from camg.population.usual_ratio_summary import usual_ratio as usual_ratio_mart
from tests.unit.test_summarise import NO_LOST, ONE, participants, person_days

# A known bivariate truth on the log scale: person effects sd .3 each, correlation .9; day effects
# sd .5 (Ca) and .4 (Mg), correlated .3. Usual intake = exp(m + u + s_w^2 / 2), so
# log(usual Ca / usual Mg) ~ N(A, sd^2) with sd^2 = .09 + .09 - 2 x .9 x .09 = .018.
SD_B, RHO, SD_W = 0.3, 0.9, (0.5, 0.4)
MEDIAN_RATIO = 2.5
LOG_SD = np.sqrt(2 * SD_B**2 * (1 - RHO))
LOW, HIGH = 1.70, 2.80


def simulated(n: int, seed: int, repeat_share: float = 1.0):
    """(Ca, Mg, person, day, weight) person-day arrays from the truth above."""
    rng = np.random.default_rng(seed)
    u = rng.multivariate_normal([0, 0], SD_B**2 * np.array([[1, RHO], [RHO, 1]]), n)
    days = np.where(rng.random(n) < repeat_share, 2, 1)
    person = np.repeat(np.arange(n), days)
    day = np.concatenate([np.arange(1, k + 1) for k in days])
    cov_w = np.array(
        [[SD_W[0] ** 2, 0.3 * SD_W[0] * SD_W[1]], [0.3 * SD_W[0] * SD_W[1], SD_W[1] ** 2]]
    )
    e = rng.multivariate_normal([0, 0], cov_w, person.size)
    mean_mg = np.log(300.0) - SD_W[1] ** 2 / 2
    mean_ca = np.log(300.0 * MEDIAN_RATIO) - SD_W[0] ** 2 / 2
    ca = np.exp(mean_ca + u[person, 0] + e[:, 0])
    mg = np.exp(mean_mg + u[person, 1] + e[:, 1])
    return ca, mg, person, day, np.ones(person.size)


def true_shares() -> tuple[float, float]:
    """Percent of the true usual-ratio distribution below LOW and above HIGH."""
    z = (np.log([LOW, HIGH]) - np.log(MEDIAN_RATIO)) / LOG_SD
    return 100 * stats.norm.cdf(z[0]), 100 * stats.norm.sf(z[1])


def shares(fit, n_sim=20):
    """(median ratio, % below LOW, % above HIGH) of a fit's pseudo-persons."""
    z = draws(fit.n_persons, n_sim, 3)
    ratio = pseudo_person_ratios(fit.comps, fit.lam, z, 9)[2]
    w = np.repeat(fit.person_w / n_sim, n_sim)
    cells = Cells.of([np.ones(1, bool)], 1)
    everyone = np.zeros(ratio.size, np.intp)  # one cell, one group
    covered = np.ones(ratio.size, bool)
    out = ratio_statistics(cells, everyone, ratio, w, covered, Bands(LOW, HIGH))[0]
    return out[4], out[-2], out[-1]


def test_covariance_diagonals_equal_the_univariate_components():
    ca, mg, person, day, w = simulated(400, 1, repeat_share=0.7)
    w = np.random.default_rng(2).uniform(1, 3, person.max() + 1)[person]
    t = np.log(np.column_stack([ca, mg]))
    comps = covariance_components(t, person, day, w)
    for c in range(2):
        uni = variance_components(t[:, c], person, day, w)
        assert comps.mu[c] == pytest.approx(uni.mu)
        assert comps.day2_effect[c] == pytest.approx(uni.day2_effect)
        assert comps.between[c, c] == pytest.approx(uni.var_between)
        assert comps.within[c, c] == pytest.approx(uni.var_within)
    assert comps.between[0, 1] == comps.between[1, 0]


def test_within_covariance_by_hand():
    # person 0: day 1 (1, 2), day 2 (3, 6); person 1: (3, 5), (7, 3). Day-2 shift = mean difference
    # = ((2, 4) + (4, -2)) / 2 = (3, 1). Shifted: person 0 (1, 2), (0, 5), mean (.5, 3.5), deviations
    # +-(.5, -1.5); person 1 (3, 5), (4, 2), mean (3.5, 3.5), deviations +-(-.5, 1.5). Within =
    # sum of deviation products / sum (n_i - 1) = 2: Ca 1 / 2, Mg 9 / 2, cross -3 / 2.
    t = np.array([[1.0, 2.0], [3.0, 6.0], [3.0, 5.0], [7.0, 3.0]])
    comps = covariance_components(t, np.array([0, 0, 1, 1]), np.array([1, 2, 1, 2]), np.ones(4))
    assert comps.day2_effect == pytest.approx([3.0, 1.0])
    assert comps.within == pytest.approx(np.array([[0.5, -1.5], [-1.5, 4.5]]))
    # means (.5, 3.5), (3.5, 3.5): covariance of means [[2.25, 0], [0, 0]] - within / 2
    assert comps.between == pytest.approx(np.array([[2.0, 0.75], [0.75, -2.25]]))
    assert not comps.ok  # a negative between-person variance: not fitted


def test_the_ratio_uses_the_correlated_person_effects():
    ca, mg, person, day, w = simulated(3000, 11)
    fit = fit_bivariate(ca, mg, person, day, w, min_repeat=50)
    assert fit.ok
    assert fit.comps.correlation == pytest.approx(RHO, abs=0.08)
    median, below, above = shares(fit)
    true_below, true_above = true_shares()  # 0.2 % and 19.9 %
    assert median == pytest.approx(MEDIAN_RATIO, rel=0.03)
    assert above == pytest.approx(true_above, abs=4)
    assert below == pytest.approx(true_below, abs=1.5)
    # independent person effects (what two univariate fits would give) are far off the truth
    independent = replace(
        fit, comps=replace(fit.comps, between=np.diag(np.diag(fit.comps.between)))
    )
    _, below_ind, above_ind = shares(independent)
    assert above_ind - true_above > 12
    assert below_ind - true_below > 10


def test_too_few_repeat_persons_are_not_fitted():
    ca, mg, person, day, w = simulated(100, 4, repeat_share=0.3)
    fit = fit_bivariate(ca, mg, person, day, w, min_repeat=50)
    assert not fit.ok
    assert "need 50" in fit.reason


def test_usual_ratio_follows_the_ratio_rule():
    out = usual_ratio(np.array([500.0, 600.0]), np.array([250.0, 0.0]))
    assert out[0] == 2.0
    assert np.isnan(out[1])


def mart(reference):
    """A small study: 300 men 40 y and 300 boys 10 y, two days each, from the truth above."""
    ca, mg, person, day, _ = simulated(600, 21)
    ids = [f"p{i:03d}" for i in range(600)]
    people = participants(
        [(ids[i], "male", 40 if i < 300 else 10, 1.0, 1.0, None, None) for i in range(600)]
    )
    rows = [
        (ids[p], int(d), float(c), float(m)) for p, d, c, m in zip(person, day, ca, mg, strict=True)
    ]
    days = person_days(rows)
    persons = assess_persons(days, people, reference)
    return usual_ratio_mart(days, persons, NO_LOST, ONE, reference)


def pick(frame, **where):
    for column, value in where.items():
        frame = frame.filter(pl.col(column) == value)
    return frame


def test_the_mart_gives_shares_only_where_the_bands_apply_and_reruns_identically(reference):
    result = mart(reference)
    men = pick(result, grouping="dri_age_group", age_group="31-50 y")
    boys = pick(result, grouping="dri_age_group", age_group="9-13 y")
    above = pick(men, statistic="pct_above")
    assert above["threshold_rule_id"][0] == "ratio.detrimental_high"
    assert above["value"][0] == pytest.approx(true_shares()[1], abs=7)
    assert above["se_method"][0] == "jackknife_random_groups_r30"
    assert above["se"][0] > 0
    assert pick(men, statistic="p50")["value"][0] == pytest.approx(MEDIAN_RATIO, rel=0.05)
    assert set(boys["statistic"]) == {"mean", "p5", "p10", "p25", "p50", "p75", "p90", "p95"}
    overall = pick(result, grouping="overall", sex="all")
    assert "pct_above" not in overall["statistic"].to_list()  # mixes boys in
    assert "600 of 600 persons represented" in overall["note"][0]
    adults = pick(result, grouping="headline_age_group", sex="male", age_group="20+ y")
    assert pick(adults, statistic="pct_above")["value"][0] == pytest.approx(above["value"][0])
    assert_frame_equal(mart(reference), result)
