"""population.replicates (replicate weights) and population.reliability (intervals and marks)."""

import numpy as np
import polars as pl
import pytest

from camg.population.reliability import korn_graubard, with_intervals
from camg.population.replicates import brr_fay, hadamard, jackknife, replicate_design
from camg.population.survey import linearized_variance

RULES = {
    "min_n": 30,
    "min_n_eff": 30,
    "max_width": 0.30,
    "small_width": 0.05,
    "max_relative_width": 1.30,
    "min_df": 8,
    "max_rse": 0.30,
}


def test_hadamard_rows_are_orthogonal():
    h = hadamard(8)
    assert (h @ h.T == 8 * np.eye(8)).all()


def test_brr_fay_variance_of_a_total_equals_the_taylor_variance():
    # 3 strata x 2 PSUs, one person each: for a linear statistic BRR (any Fay factor) is exact
    strata = np.array([0, 0, 1, 1, 2, 2])
    psu = np.array([0, 1, 0, 1, 0, 1])
    y = np.array([3.0, 5.0, 10.0, 4.0, 7.0, 7.5])
    design = replicate_design(strata, psu, 6, rho=0.3, srs_groups=30, seed=1)
    assert design.method == "brr_fay_0.3_r4"  # 4 >= 3 strata + the unused first column
    assert design.df == 3
    # one PSU x (2 - 0.3) = 1.7, the other x 0.3
    assert set(np.unique(design.factors)) == {0.3, 1.7}
    totals = design.factors @ y
    variance = design.variance(totals[:, None], np.array([y.sum()]))[0]
    # Taylor: sum_h (y_h1 - y_h2)^2 = 4 + 36 + 0.25 = 40.25
    assert variance == pytest.approx(40.25)
    assert variance == pytest.approx(linearized_variance(y, strata, psu))


def test_jackknife_when_a_stratum_has_three_psus():
    strata = np.array([0, 0, 0, 1, 1])
    psu = np.array([0, 1, 2, 0, 1])
    y = np.array([1.0, 2.0, 6.0, 4.0, 8.0])
    design = replicate_design(strata, psu, 5, rho=0.3, srs_groups=30, seed=1)
    assert design.method == "jackknife_psu_r5"
    assert design.df == 3  # 5 PSUs - 2 strata
    totals = design.factors @ y
    variance = design.variance(totals[:, None], np.array([y.sum()]))[0]
    # JKn of a total = sum_h n_h/(n_h-1) sum_i (y_hi - ybar_h)^2 = Taylor: 3/2 * 14 + 2 * 8 = 37
    assert variance == pytest.approx(37.0)
    assert variance == pytest.approx(linearized_variance(y, strata, psu))


def test_no_design_uses_seeded_random_groups():
    a = replicate_design(None, None, 100, rho=0.3, srs_groups=10, seed=7)
    b = replicate_design(None, None, 100, rho=0.3, srs_groups=10, seed=7)
    assert a.method == "jackknife_random_groups_r10"
    assert a.df == 9
    assert (a.factors == b.factors).all()
    assert ((a.factors == 0).sum(axis=1) == 10).all()  # each replicate drops one group of 10


@pytest.mark.parametrize("psus", [2, 3])  # 2 PSUs per stratum: BRR; 3: the jackknife
def test_factors_kept_per_unit_are_each_persons_own(psus):
    # Persons of 4 strata x `psus` PSUs, 5 each, in no order: the design is worked out per unit
    # (stratum, PSU), and each person gets the factors a person-level design gives.
    rng = np.random.default_rng(3)
    strata = np.repeat(np.arange(4), 5 * psus)
    psu = np.tile(np.repeat(np.arange(psus), 5), 4)
    order = rng.permutation(strata.size)
    strata, psu = strata[order] + 10, psu[order] + 7  # codes need not start at 0
    design = replicate_design(strata, psu, strata.size, rho=0.3, srs_groups=30, seed=1)
    per_person = (
        brr_fay(strata - 10, (strata - 10) * psus + psu - 7, 0.3)
        if psus == 2
        else jackknife(strata - 10, (strata - 10) * psus + psu - 7)
    )
    assert design.method == per_person.method
    assert np.array_equal(design.factors, per_person.factors)
    rows = np.array([5, 0, 17, 17, 33])
    expected = np.vstack([np.ones(strata.size), per_person.factors])[:, rows].T
    assert np.array_equal(design.columns(rows), expected)
    assert design.columns(rows).flags.c_contiguous
    for r in range(1 + design.n_replicates):
        assert np.array_equal(design.row(r)[rows], expected[:, r])


def test_korn_graubard_is_clopper_pearson_on_the_effective_sample():
    # p = .5, SE = .05 -> n_eff = .25 / .0025 = 100; df = n - 1 -> no t adjustment
    # Clopper-Pearson 95 % for 50 / 100: 0.3983, 0.6017
    low, high, n_eff = korn_graubard(np.array([0.5]), np.array([0.05]), np.array([100]), [99])
    assert n_eff[0] == pytest.approx(100)
    assert (low[0], high[0]) == pytest.approx((0.3983, 0.6017), abs=1e-4)


@pytest.mark.parametrize(
    ("statistic", "value", "se", "n", "df", "mark"),
    [
        ("pct_below_ear", 50.0, 5.0, 100, 99, "reliable"),  # KG width 20 pts, 41 % of 50
        ("pct_below_ear", 50.0, 5.0, 20, 99, "suppress"),  # n < 30
        ("pct_below_ear", 50.0, 12.0, 400, 99, "suppress"),  # n_eff = 17
        ("pct_below_ear", 4.0, 1.9, 400, 99, "suppress"),  # width > 5 pts and > 130 % of 4 %
        ("pct_below_ear", 50.0, 5.0, 100, 5, "review"),  # df < 8
        ("pct_below_ear", 0.0, 0.0, 100, 99, "review"),  # 0 %: no variance
        ("mean", 1000.0, 310.0, 100, 99, "suppress"),  # RSE 31 %
        ("mean", 1000.0, 290.0, 100, 99, "reliable"),
        ("mean", 1000.0, 10.0, 29, 99, "suppress"),  # n < 30
        ("mean", None, None, 0, 99, "not_estimated"),
    ],
)
def test_reliability_marks(statistic, value, se, n, df, mark):
    rows = pl.DataFrame(
        {"statistic": [statistic], "value": [value], "se": [se], "n_persons": [n], "df": [df]},
        schema_overrides={"value": pl.Float64, "se": pl.Float64},
    )
    assert with_intervals(rows, RULES)["reliability"][0] == mark


def test_mean_interval_uses_t_on_the_design_df():
    rows = pl.DataFrame(
        {"statistic": ["mean"], "value": [100.0], "se": [10.0], "n_persons": [500], "df": [15]}
    )
    got = with_intervals(rows, RULES)
    # t(15, .975) = 2.131450: 100 -+ 21.3145
    assert (got["ci_low"][0], got["ci_high"][0]) == pytest.approx((78.6855, 121.3145), abs=1e-4)
