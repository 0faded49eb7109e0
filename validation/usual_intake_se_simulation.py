"""Print how often camg's replicate 95 % intervals for usual intake cover the truth, by simulation.

Usage: python validation/usual_intake_se_simulation.py [samples]

A finite population of 120,000 persons in 15 strata x 8 PSUs (PSU effects make persons of a PSU
alike, as in NHANES) has known usual Ca intakes (lognormal); its true mean usual intake and share
below the EAR (800 mg) are computed from those usual intakes. Each simulated survey draws 2 PSUs per
stratum (NHANES-like: BRR with Fay's factor applies) and 70 persons per PSU (weights = inverse
inclusion probabilities), two recalls each (day-to-day noise, lognormal), fits camg's NCI
amount-only model and its replicate SEs (population.usual_se, .replicates), and checks whether
value +- t(df) SE covers the truth. Seeded: every run prints the same figures.
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import stats

from camg.population.replicates import replicate_design
from camg.population.usual_intake import estimate_usual_intake
from camg.population.usual_refit import refit_inputs
from camg.population.usual_se import STATISTICS, replicate_ses

STRATA, PSUS, PER_PSU_POP, PER_PSU_SAMPLE = 15, 8, 1000, 70
EAR, N_SIM, K, FAY = 800.0, 100, 10, 0.3
BETWEEN_SD, PSU_SD, WITHIN_SD = 0.33, 0.12, 0.45


def population(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Usual intakes, stratum and PSU (nested) of every person of the population."""
    stratum = np.repeat(np.arange(STRATA), PSUS * PER_PSU_POP)
    psu = np.repeat(np.arange(STRATA * PSUS), PER_PSU_POP)
    effect = rng.normal(0, PSU_SD, STRATA * PSUS)[psu] + 0.05 * (stratum - STRATA / 2) / STRATA
    usual = 900 * np.exp(effect + rng.normal(0, BETWEEN_SD, psu.size))
    return usual, stratum, psu


def one_survey(rng, usual, stratum, psu) -> tuple[np.ndarray, np.ndarray]:
    """(estimates, SEs) of mean usual intake and % below the EAR from one simulated survey."""
    chosen = np.concatenate(
        [rng.choice(np.arange(h * PSUS, (h + 1) * PSUS), 2, replace=False) for h in range(STRATA)]
    )
    persons = np.concatenate(
        [rng.choice(np.flatnonzero(psu == j), PER_PSU_SAMPLE, replace=False) for j in chosen]
    )
    weight = np.full(persons.size, (PSUS / 2) * (PER_PSU_POP / PER_PSU_SAMPLE))
    noise = rng.normal(-(WITHIN_SD**2) / 2, WITHIN_SD, (persons.size, 2))
    y = (usual[persons][:, None] * np.exp(noise)).ravel()
    rows = np.repeat(np.arange(persons.size), 2)
    day = np.tile([1, 2], persons.size)
    w_days = np.repeat(weight, 2)
    fit = estimate_usual_intake(y, rows, day, w_days, cutpoint=EAR, n_sim=N_SIM, seed=11)
    refit = refit_inputs(
        y, rows, day, w_days, fit.boxcox_lambda, fit.zero_offset, 11, N_SIM, K, EAR, None
    )
    strata_codes = stratum[persons]
    psu_codes = np.unique(psu[persons], return_inverse=True)[1]
    design = replicate_design(strata_codes, psu_codes, persons.size, rho=FAY, srs_groups=30, seed=1)
    ses = replicate_ses([refit], [np.ones(persons.size, bool)], design, persons.size)[0]
    estimate = np.array([fit.mean, fit.pct_below])
    se = ses[[STATISTICS.index("mean"), STATISTICS.index("pct_below_ear")]]
    return estimate, se, design


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rng = np.random.default_rng(20261130)
    usual, stratum, psu = population(rng)
    truth = np.array([usual.mean(), 100 * np.mean(usual < EAR)])
    covered = np.zeros(2)
    estimates, ses = [], []
    for _ in range(samples):
        estimate, se, design = one_survey(rng, usual, stratum, psu)
        t = stats.t.ppf(0.975, design.df)
        covered += np.abs(estimate - truth) <= t * se
        estimates.append(estimate)
        ses.append(se)
    estimates, ses = np.array(estimates), np.array(ses)
    print(f"{samples} simulated surveys, {design.method}, df {design.df}, 95 % t intervals")
    for i, name in enumerate(("mean usual Ca, mg/day", "% below EAR 800 mg")):
        print(
            f"  {name:22s} truth {truth[i]:7.2f}  mean estimate {estimates[:, i].mean():7.2f}"
            f"  SD of estimates {estimates[:, i].std(ddof=1):6.2f}  mean SE {ses[:, i].mean():6.2f}"
            f"  coverage {100 * covered[i] / samples:5.1f} %"
        )


if __name__ == "__main__":
    main()
