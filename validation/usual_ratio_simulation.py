"""Print the bias and interval coverage of camg's usual Ca:Mg ratio model, by simulation.

Usage: python validation/usual_ratio_simulation.py [samples]

A finite population of 120,000 adults in 15 strata x 8 PSUs (PSU effects make persons of a PSU alike)
has known usual Ca and Mg intakes: lognormal, between-person log SDs 0.35 (Ca) and 0.30 (Mg) with
correlation 0.75 (NHANES 2007-2012 DRI groups: 0.55-0.82 on the Box-Cox scale). The truth is the
population's own distribution of usual Ca / usual Mg: its median and the shares below 1.70 and above
2.80 (ratio.detrimental_low / ratio.detrimental_high). Each simulated survey draws 2 PSUs per stratum
and 70 persons per PSU (weights = inverse inclusion probabilities), two recalls each (day effects:
log SDs 0.5 and 0.4, correlated 0.6, mean one on the intake scale), fits camg's bivariate model
(population.usual_ratio) and its replicate SEs (usual_ratio_se: BRR with Fay's factor, as NHANES),
and checks whether value +- t(df) SE (Korn-Graubard for shares, as published) covers the truth. The
same fit with the between-person correlation set to 0 (what two univariate fits would give) is
printed beside it. Seeded: every run prints the same figures.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
from scipy import stats

from camg.population.pooled import Cells
from camg.population.reliability import korn_graubard
from camg.population.replicates import replicate_design
from camg.population.usual_ratio import draws, fit_bivariate, pseudo_person_ratios
from camg.population.usual_ratio_se import (
    STATISTICS,
    Bands,
    RatioRefit,
    ratio_ses,
    ratio_statistics,
)

STRATA, PSUS, PER_PSU_POP, PER_PSU_SAMPLE = 15, 8, 1000, 70
N_SIM, K, FAY, NODES, SEED = 100, 10, 0.3, 9, 20110101
BANDS = Bands(1.70, 2.80)
SD_B, RHO_B = (0.35, 0.30), 0.75
SD_W, RHO_W = (0.5, 0.4), 0.6
PSU_SD = 0.10
SHOWN = ("p50", "pct_below", "pct_above")


def population(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Usual (Ca, Mg) of every person (persons x 2), stratum and PSU (nested)."""
    stratum = np.repeat(np.arange(STRATA), PSUS * PER_PSU_POP)
    psu = np.repeat(np.arange(STRATA * PSUS), PER_PSU_POP)
    cov = np.array([[1, RHO_B], [RHO_B, 1]]) * np.outer(SD_B, SD_B)
    u = rng.multivariate_normal([0, 0], cov, psu.size)
    effect = rng.normal(0, PSU_SD, STRATA * PSUS)[psu]
    return np.exp(np.log([900.0, 290.0]) + u + effect[:, None]), stratum, psu


def truth(usual: np.ndarray) -> np.ndarray:
    """Median ratio, % below the low and % above the high band of the population."""
    ratio = usual[:, 0] / usual[:, 1]
    return np.array(
        [np.median(ratio), 100 * np.mean(ratio < BANDS.low), 100 * np.mean(ratio > BANDS.high)]
    )


def sample(rng, usual, stratum, psu):
    """One survey: persons drawn, their two days of (Ca, Mg), weights and design codes."""
    chosen = np.concatenate(
        [rng.choice(np.arange(h * PSUS, (h + 1) * PSUS), 2, replace=False) for h in range(STRATA)]
    )
    persons = np.concatenate(
        [rng.choice(np.flatnonzero(psu == j), PER_PSU_SAMPLE, replace=False) for j in chosen]
    )
    cov = np.array([[1, RHO_W], [RHO_W, 1]]) * np.outer(SD_W, SD_W)
    noise = rng.multivariate_normal(-np.square(SD_W) / 2, cov, (persons.size, 2))
    days = usual[persons][:, None, :] * np.exp(noise)  # persons x day x nutrient
    weight = np.full(persons.size, (PSUS / 2) * (PER_PSU_POP / PER_PSU_SAMPLE))
    codes = stratum[persons], np.unique(psu[persons], return_inverse=True)[1]
    return days, weight, codes


def one_group(ratio: np.ndarray, w: np.ndarray) -> np.ndarray:
    """STATISTICS of pseudo-persons forming one group (one cell), all in the bands' population."""
    cells = Cells.of([np.ones(1, bool)], 1)
    everyone = np.zeros(ratio.size, np.intp)
    return ratio_statistics(cells, everyone, ratio, w, np.ones(ratio.size, bool), BANDS)[0]


def estimate(fit, design, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(p50, % below, % above) and their replicate SEs from one fit."""
    z = draws(n, N_SIM, SEED)
    ratio = pseudo_person_ratios(fit.comps, fit.lam, z, NODES)[2]
    w = np.repeat(fit.person_w / N_SIM, N_SIM)
    values = one_group(ratio, w)
    refit = RatioRefit(fit, np.arange(n), z[:, :K])
    ses = ratio_ses([refit], [np.ones(n, bool)], np.ones(n, bool), BANDS, design, NODES)[0]
    pick = [STATISTICS.index(s) for s in SHOWN]
    return values[pick], ses[pick]


def one_survey(rng, usual, stratum, psu):
    """Estimates and SEs of the bivariate fit, the independent-effects estimates, and the design."""
    days, weight, (strata_codes, psu_codes) = sample(rng, usual, stratum, psu)
    n = weight.size
    person, day = np.repeat(np.arange(n), 2), np.tile([1, 2], n)
    ca, mg = days[..., 0].ravel(), days[..., 1].ravel()
    fit = fit_bivariate(ca, mg, person, day, np.repeat(weight, 2), min_repeat=50)
    design = replicate_design(strata_codes, psu_codes, n, rho=FAY, srs_groups=30, seed=1)
    values, ses = estimate(fit, design, n)
    between = np.diag(np.diag(fit.comps.between))
    independent = replace(fit, comps=replace(fit.comps, between=between))
    z = draws(n, N_SIM, SEED)
    ratio = pseudo_person_ratios(independent.comps, fit.lam, z, NODES)[2]
    w = np.repeat(fit.person_w / N_SIM, N_SIM)
    alone = one_group(ratio, w)
    pick = [STATISTICS.index(s) for s in SHOWN]
    return values, ses, alone[pick], design, n


def covers(values, ses, true, design, n) -> np.ndarray:
    """Whether each 95 % interval (t for the median, Korn-Graubard for shares) holds the truth."""
    t = stats.t.ppf(0.975, design.df)
    median = abs(values[0] - true[0]) <= t * ses[0]
    low, high, _ = korn_graubard(
        values[1:] / 100, ses[1:] / 100, np.full(2, n), np.full(2, design.df)
    )
    shares = (100 * low <= true[1:]) & (true[1:] <= 100 * high)
    return np.array([median, *shares])


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rng = np.random.default_rng(20261130)
    usual, stratum, psu = population(rng)
    true = truth(usual)
    rows, alone, hits = [], [], np.zeros(3)
    for _ in range(samples):
        values, ses, independent, design, n = one_survey(rng, usual, stratum, psu)
        rows.append(np.concatenate([values, ses]))
        alone.append(independent)
        hits += covers(values, ses, true, design, n)
    rows, alone = np.array(rows), np.array(alone)
    print(f"{samples} simulated surveys of {n} adults, {design.method}, df {design.df}")
    print(f"between-person correlation {RHO_B} (log scale), within {RHO_W}")
    names = ("median usual ratio", "% below 1.70", "% above 2.80")
    for i, name in enumerate(names):
        print(
            f"  {name:19s} truth {true[i]:7.3f}  mean estimate {rows[:, i].mean():7.3f}"
            f"  bias {rows[:, i].mean() - true[i]:+7.3f}  SD {rows[:, i].std(ddof=1):6.3f}"
            f"  mean SE {rows[:, 3 + i].mean():6.3f}  95 % coverage {100 * hits[i] / samples:5.1f} %"
            f"  | independent effects: bias {alone[:, i].mean() - true[i]:+7.3f}"
        )


if __name__ == "__main__":
    main()
