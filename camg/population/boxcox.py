"""Box-Cox transform of daily intakes and its inverse (the usual-intake models' scale).

Step 1 of the NCI method (`camg.population.usual_intake`, Tooze et al. 2006): intakes are
transformed to be close to normal, ``T(y) = (y**lam - 1)/lam`` (``log y`` at 0), with ``lam`` on
a 0.01 grid in [0, 1] maximising the weighted Box-Cox profile log-likelihood; usual intakes come
back through the inverse, truncated at 0 below the transform's floor (as NCI's macros).
"""

import numpy as np
from numpy.typing import ArrayLike, NDArray

LAMBDA_GRID: NDArray[np.float64] = np.round(np.arange(0.0, 1.0001, 0.01), 2)
Array = NDArray[np.float64]


def boxcox(y: ArrayLike, lam: float) -> Array:
    """Box-Cox transform of positive ``y``; ``lam == 0`` is the log."""
    y = np.asarray(y, dtype=float)
    return np.log(y) if lam == 0 else (y**lam - 1.0) / lam


def inverse_boxcox(t: ArrayLike, lam: float) -> Array:
    """Inverse Box-Cox; values below the transform's floor map to 0 (NCI truncation)."""
    out = np.array(t, dtype=float)
    inverse_boxcox_in_place(out, lam)
    return out[()]  # a scalar for a scalar


def inverse_boxcox_in_place(t: Array, lam: float) -> None:
    """`inverse_boxcox` written into `t`: the same operations in the same order, so the same values.

    The pseudo-persons' 9 quadrature passes then make no new array per operation (2x faster).
    """
    if lam == 0:
        np.exp(t, out=t)
        return
    t *= lam
    t += 1.0
    np.maximum(t, 0.0, out=t)
    t **= 1.0 / lam  # as `**`: numpy squares for an exponent of 2


def choose_boxcox_lambda(y: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Lambda on ``LAMBDA_GRID`` maximising the weighted Box-Cox profile log-likelihood.

    ``l(lam) = -n/2 log(var_w(T(y))) + (lam - 1) sum_w log y`` with weights scaled to sum to n;
    pass positive first-day intakes (one per person) so day-to-day noise is not double counted.
    """
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    w = w * (y.size / w.sum())
    logy = np.log(y)
    best, best_ll = 1.0, -np.inf
    for lam in LAMBDA_GRID:
        t = logy if lam == 0 else np.expm1(lam * logy) / lam
        m = (w * t).sum() / y.size
        var = (w * (t - m) ** 2).sum() / y.size
        ll = -0.5 * y.size * np.log(var) + (lam - 1.0) * (w * logy).sum()
        if ll > best_ll:
            best, best_ll = float(lam), ll
    return best
