"""Unit tests for camg.population.usual_intake (NCI amount-only model, EAR cut-point method)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from camg.population.usual_intake import (
    VarianceComponents,
    boxcox,
    choose_boxcox_lambda,
    estimate_usual_intake,
    inverse_boxcox,
    prevalence_below,
    simulate_usual_intake,
    variance_components,
)

EAR = 800.0  # mg/day, e.g. the Ca EAR for adults 19-50 y (IOM 2011)


def _simulate(seed, n=4000, median=1000.0, sd_between=0.35, ratio=1.8, p_day2=0.85, day2=0.95):
    """Lognormal usual intake T; daily intake = T * mean-one lognormal noise (* day-2 shift).

    Log-scale within/between variance ratio 1.8, as for calcium. True % below EAR is the
    in-sample share of T < EAR (population value Phi(log(0.8)/0.35) = 26.2 %).
    """
    rng = np.random.default_rng(seed)
    sd_within = math.sqrt(ratio) * sd_between
    usual = median * np.exp(rng.normal(0.0, sd_between, n))
    has2 = rng.random(n) < p_day2
    person = np.concatenate([np.arange(n), np.flatnonzero(has2)])
    day = np.concatenate([np.ones(n, int), np.full(int(has2.sum()), 2)])
    noise = np.exp(rng.normal(0.0, sd_within, person.size) - sd_within**2 / 2)
    intake = usual[person] * noise * np.where(day == 2, day2, 1.0)
    return intake, person, day, usual


def test_boxcox_hand_values():
    # (4**0.5 - 1)/0.5 = (2 - 1)/0.5 = 2 ; log(e) = 1 ; inverse (0.5*2 + 1)**2 = 4
    np.testing.assert_allclose(boxcox([4.0, 1.0], 0.5), [2.0, 0.0])
    assert boxcox([math.e], 0.0)[0] == pytest.approx(1.0)
    assert inverse_boxcox([2.0], 0.5)[0] == pytest.approx(4.0)
    # below the floor -1/lam = -2: (0.5*-3 + 1) = -0.5 -> truncated to 0
    assert inverse_boxcox([-3.0], 0.5)[0] == 0.0


def test_choose_lambda_recovers_log_and_sqrt():
    rng = np.random.default_rng(3)
    assert choose_boxcox_lambda(np.exp(rng.normal(7.0, 0.5, 3000))) <= 0.05
    assert choose_boxcox_lambda((5.0 + rng.normal(size=3000)) ** 2) == pytest.approx(0.5, abs=0.08)


def test_variance_components_hand_unweighted():
    # persons A: 1,3  B: 4,2  C: 6,6 ; day-2 minus day-1 = +2, -2, 0 -> beta = 0
    # person means 2, 3, 6 ; within SS = 2 + 2 + 0 = 4 over df 3 -> s2_w = 4/3
    # mu = 11/3 ; var of means (divisor 3) = (25 + 4 + 49)/9/3 = 26/9
    # s2_b = 26/9 - (4/3)*(1/2) = 20/9
    vc = variance_components([1, 3, 4, 2, 6, 6], list("AABBCC"), [1, 2, 1, 2, 1, 2])
    assert vc.day2_effect == pytest.approx(0.0)
    assert vc.var_within == pytest.approx(4 / 3)
    assert vc.mu == pytest.approx(11 / 3)
    assert vc.var_between == pytest.approx(20 / 9)
    assert (vc.n_persons, vc.n_repeat) == (3, 3)


def test_variance_components_hand_weighted_with_day2_effect():
    # A (w=1): 1,3 ; B (w=3): 4,2 ; beta = (1*2 + 3*(-2))/4 = -1 ; day 2 adjusted by +1:
    # A: 1,4 (mean 2.5, SS 4.5) ; B: 4,3 (mean 3.5, SS 0.5)
    # s2_w = (1*4.5 + 3*0.5)/(1 + 3) = 1.5 ; mu = (2.5 + 3*3.5)/4 = 3.25
    # var of means = (1*0.75**2 + 3*0.25**2)/4 = 0.1875 ; s2_b = 0.1875 - 1.5/2 = -0.5625
    vc = variance_components([1, 3, 4, 2], list("AABB"), [1, 2, 1, 2], [1, 1, 3, 3])
    assert vc.day2_effect == pytest.approx(-1.0)
    assert vc.var_within == pytest.approx(1.5)
    assert vc.mu == pytest.approx(3.25)
    assert vc.var_between == pytest.approx(-0.5625)


def test_simulate_usual_intake_lognormal_median():
    # log scale: usual = E exp(mu + u + e) = exp(mu + u + s2_w/2) -> median exp(mu + s2_w/2)
    # = 1000 * exp(0.045) = 1046.03 ; mean = 1000 * exp(0.045 + 0.02) = 1067.16
    vc = VarianceComponents(math.log(1000.0), 0.0, 0.04, 0.09, 1000, 1000)
    usual, w = simulate_usual_intake(vc, 0.0, np.ones(1000), n_sim=100, seed=1)
    assert usual.size == w.size == 100_000
    assert np.median(usual) == pytest.approx(1046.03, rel=0.005)
    assert np.average(usual, weights=w) == pytest.approx(1067.16, rel=0.005)


def test_prevalence_below_hand():
    # below 3: values 1 and 2 with weights 1 + 1 out of 5 -> 0.4 (3 itself is not below)
    assert prevalence_below([1, 2, 3, 4], [1, 1, 1, 2], 3.0) == pytest.approx(0.4)


def test_too_few_repeats_returns_reason():
    res = estimate_usual_intake([500, 600, 700], [1, 1, 2], [1, 2, 1], cutpoint=EAR)
    assert not res.ok
    assert "1 persons with 2+ recalls" in res.reason
    assert math.isnan(res.pct_below)
    assert res.percentiles == {}


def test_constant_first_day_intakes_return_reason():
    # every day-1 intake is 300: no distribution to fit (and the Box-Cox likelihood is undefined)
    res = estimate_usual_intake([300, 310, 300, 290], list("AABB"), [1, 2, 1, 2], min_repeat=2)
    assert not res.ok
    assert "distinct positive day-1 intakes" in res.reason


def test_non_positive_between_variance_returns_reason():
    # A: 100,300 ; B: 300,100 -> equal person means, all variation within person
    res = estimate_usual_intake([100, 300, 300, 100], list("AABB"), [1, 2, 1, 2], min_repeat=2)
    assert not res.ok
    assert "between-person variance" in res.reason


def test_negative_intake_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        estimate_usual_intake([-1.0, 2.0], [1, 1], [1, 2])


def test_simulation_usual_beats_single_day():
    intake, person, day, usual = _simulate(seed=0)
    intake[:5] = 0.0  # a few zero days: replaced by half the smallest positive intake
    truth = 100.0 * np.mean(usual < EAR)
    res = estimate_usual_intake(intake, person, day, cutpoint=EAR)
    assert res.ok
    assert res.zero_offset == pytest.approx(0.5 * intake[intake > 0].min())
    assert abs(res.pct_below - truth) < 2.0
    assert abs(res.single_day_pct_below - truth) > 2.0
    assert res.percentiles[50] == pytest.approx(np.median(usual), rel=0.05)
    # lambda is ~0.01 here, so the transformed scale is ~log: day-2 shift ~ log(0.95) = -0.051
    assert res.boxcox_lambda <= 0.03
    assert res.components.day2_effect == pytest.approx(math.log(0.95), abs=0.015)


def test_simulation_weights_correct_informative_sampling():
    # oversample low-intake persons (p = 0.6 if T < 900 else 0.2), weight = 1/p
    rng = np.random.default_rng(7)
    pop = 1000.0 * np.exp(rng.normal(0.0, 0.35, 12000))
    prob = np.where(pop < 900, 0.6, 0.2)
    take = rng.random(pop.size) < prob
    usual, w = pop[take], 1.0 / prob[take]
    sd_w = math.sqrt(1.8) * 0.35
    person = np.repeat(np.arange(usual.size), 2)
    intake = usual[person] * np.exp(rng.normal(0.0, sd_w, person.size) - sd_w**2 / 2)
    day = np.tile([1, 2], usual.size)
    truth = 100.0 * np.average(usual < EAR, weights=w)
    weighted = estimate_usual_intake(intake, person, day, w[person], cutpoint=EAR)
    unweighted = estimate_usual_intake(intake, person, day, cutpoint=EAR)
    assert abs(weighted.pct_below - truth) < 2.0
    assert abs(unweighted.pct_below - truth) > 2.0
