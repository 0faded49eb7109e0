"""Replicate weights for design-based variances of estimates with no linearised form (usual intake).

Usual-intake figures come out of a model fit and a Monte Carlo step, so their variance is estimated
by refitting on replicate weights, as NCI-method analyses of NHANES do (Tooze JA et al. 2010, Stat Med
29:2857; the NCI SAS macros' NHANES examples use balanced repeated replication with Fay's factor):
- BRR with Fay's adjustment (Judkins DR 1990, J Off Stat 6:223) when every stratum has exactly two
  PSUs (NHANES masked variance units): R = the smallest power of two >= the number of strata,
  replicate r multiplies one PSU of stratum h by 2 - rho and the other by rho (Hadamard row r),
  variance = sum_r (theta_r - theta)^2 / (R (1 - rho)^2); rho = usual.brr_fay_coefficient.
- Otherwise, with strata and PSUs: the delete-one-PSU jackknife (JKn; Rust & Rao 1996, Stat Methods
  Med Res 5:283): drop PSU j of stratum h, weight its stratum's other PSUs by n_h / (n_h - 1),
  variance = sum_h (n_h - 1) / n_h sum_j (theta_hj - theta)^2. Strata with one PSU add nothing.
- Without a design: the same jackknife over usual.srs_jackknife_groups random groups of persons
  (seeded, so reruns are identical), one stratum.
Degrees of freedom: the number of strata (BRR, JKn: PSUs - strata with two PSUs each), groups - 1.
"""

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True, eq=False)
class Replicates:
    """Replicate weight factors, each replicate's variance multiplier, and labels.

    A factor depends on the person's unit only (PSU, or random group), so it is kept per unit
    (R x units) and each person's unit: R x persons floats were 41 MB per 57,000-person study.
    """

    unit_factors: np.ndarray  # R x units
    scale: np.ndarray
    method: str
    df: int
    unit: np.ndarray  # each person's unit

    @property
    def factors(self) -> np.ndarray:
        """R x persons: each person's factor in each replicate."""
        return self.unit_factors[:, self.unit]

    @property
    def n_replicates(self) -> int:
        """R."""
        return self.unit_factors.shape[0]

    def row(self, r: int) -> np.ndarray:
        """Per person: the factor of column r, 0 the full sample (1), r > 0 replicate r - 1."""
        return np.ones(self.unit.size) if r == 0 else self.unit_factors[r - 1][self.unit]

    def columns(self, rows: np.ndarray) -> np.ndarray:
        """Persons `rows` x (1 + R): `row(r)` of those persons in column r.

        In C order (a person's factors side by side): sums over persons keep their order.
        """
        out = np.empty((rows.size, 1 + self.n_replicates))
        out[:, 0] = 1.0
        out[:, 1:] = self.unit_factors[:, self.unit[rows]].T
        return out

    def variance(self, estimates: np.ndarray, full: np.ndarray) -> np.ndarray:
        """Replicate variance of estimates (R x ...) around the full-sample ones (...), NaN-safe."""
        deviation = (estimates - full) ** 2
        scale = self.scale.reshape(-1, *([1] * (estimates.ndim - 1)))
        return np.nansum(scale * deviation, axis=0)


def hadamard(order: int) -> np.ndarray:
    """A Sylvester Hadamard matrix of a power-of-two order (entries +1 / -1)."""
    h = np.ones((1, 1))
    while h.shape[0] < order:
        h = np.block([[h, h], [h, -h]])
    return h


def brr_fay(strata: np.ndarray, psu: np.ndarray, rho: float) -> Replicates:
    """BRR with Fay's factor `rho` for a design with exactly two PSUs (codes 0, 1) in every stratum."""
    n_strata = int(strata.max()) + 1
    order = 1 << int(np.ceil(np.log2(n_strata + 1)))
    signs = hadamard(order)[:, 1 : n_strata + 1]  # column 0 is all +1: not balanced
    first = psu == np.array([np.unique(psu[strata == h]).min() for h in range(n_strata)])[strata]
    plus = signs[:, strata] > 0
    factors = np.where(plus == first, 2.0 - rho, rho)
    scale = np.full(order, 1.0 / (order * (1.0 - rho) ** 2))
    return Replicates(factors, scale, f"brr_fay_{rho:g}_r{order}", n_strata, np.arange(psu.size))


def jackknife(strata: np.ndarray, psu: np.ndarray) -> Replicates:
    """Delete-one-PSU jackknife (JKn) over nested PSUs; singleton strata contribute nothing."""
    rows, scale = [], []
    n_strata = 0
    for h in np.unique(strata):
        in_h = strata == h
        units = np.unique(psu[in_h])
        if units.size < 2:
            continue
        n_strata += 1
        for j in units:
            factor = np.ones(strata.size)
            factor[in_h] = units.size / (units.size - 1)
            factor[in_h & (psu == j)] = 0.0
            rows.append(factor)
            scale.append((units.size - 1) / units.size)
    n_units = len(rows)
    factors = np.array(rows) if rows else np.ones((0, strata.size))
    method, df = f"jackknife_psu_r{n_units}", n_units - n_strata
    return Replicates(factors, np.array(scale), method, df, np.arange(strata.size))


def random_groups(n: int, groups: int, seed: int) -> np.ndarray:
    """Each of n persons' random group (0..groups-1), balanced and seeded."""
    order = np.random.default_rng(seed).permutation(n)
    out = np.empty(n, dtype=np.intp)
    out[order] = np.arange(n) % groups
    return out


def replicate_design(
    strata: np.ndarray | None,
    psu: np.ndarray | None,
    n: int,
    *,
    rho: float,
    srs_groups: int,
    seed: int,
) -> Replicates:
    """The replicate design of a study's persons (see the module docstring for the choice).

    Its factors are worked out per unit (a unit stands for its persons: each is in one stratum)
    and each person keeps its unit.
    """
    if strata is None or psu is None:
        group = random_groups(n, min(srs_groups, n), seed)
        units = int(group.max(initial=-1)) + 1
        result = jackknife(np.zeros(units, dtype=np.intp), np.arange(units))
        r = len(result.scale)
        method = f"jackknife_random_groups_r{r}"
        return replace(result, method=method, df=max(r - 1, 1), unit=group)
    codes = np.unique(strata, return_inverse=True)[1].ravel()
    pairs = np.unique(codes.astype(np.int64) * (int(psu.max()) + 1) + psu, return_inverse=True)[1]
    pairs = pairs.ravel()
    unit_strata = np.zeros(int(pairs.max(initial=-1)) + 1, codes.dtype)
    unit_strata[pairs] = codes
    units = np.arange(unit_strata.size)
    per_stratum = np.bincount(unit_strata)
    if (per_stratum == 2).all():
        return replace(brr_fay(unit_strata, units, rho), unit=pairs)
    return replace(jackknife(unit_strata, units), unit=pairs)
