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

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Replicates:
    """Replicate weight factors (R x persons), each replicate's variance multiplier, and labels."""

    factors: np.ndarray
    scale: np.ndarray
    method: str
    df: int

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
    return Replicates(factors, scale, f"brr_fay_{rho:g}_r{order}", n_strata)


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
    return Replicates(factors, np.array(scale), f"jackknife_psu_r{n_units}", n_units - n_strata)


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
    """The replicate design of a study's persons (see the module docstring for the choice)."""
    if strata is None or psu is None:
        group = random_groups(n, min(srs_groups, n), seed)
        result = jackknife(np.zeros(n, dtype=np.intp), group)
        r = len(result.scale)
        return Replicates(
            result.factors, result.scale, f"jackknife_random_groups_r{r}", max(r - 1, 1)
        )
    codes = np.unique(strata, return_inverse=True)[1].ravel()
    pairs = np.unique(codes.astype(np.int64) * (int(psu.max()) + 1) + psu, return_inverse=True)[1]
    per_stratum = np.bincount(np.unique(np.column_stack([codes, pairs]), axis=0)[:, 0])
    if (per_stratum == 2).all():
        return brr_fay(codes, pairs.ravel(), rho)
    return jackknife(codes, pairs.ravel())
