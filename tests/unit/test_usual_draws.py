"""Unit tests: the usual-intake fit and its replicate refits share one set of standard normal draws,
drawn once per DRI group, with the same floats as each drawing its own from the seed."""

import numpy as np

from camg.population.usual_intake import VarianceComponents, simulate_usual_intake
from camg.population.usual_refit import refit_inputs

SEED, N_SIM, K = 20060101, 100, 10


def test_pseudo_persons_from_given_draws_equal_those_drawn_from_the_seed():
    weights = np.random.default_rng(1).uniform(0.5, 3.0, 400)
    for mu, lam in ((6.5, 0.0), (0.0, 0.25), (-3.0, 1.0)):  # mu 0: no signed-zero slip either
        vc = VarianceComponents(mu, 0.0, 0.09, 0.2, weights.size, 100)
        z = np.random.default_rng(SEED).standard_normal((weights.size, N_SIM))
        seeded = simulate_usual_intake(vc, lam, weights, n_sim=N_SIM, seed=SEED)
        given = simulate_usual_intake(vc, lam, weights, n_sim=N_SIM, seed=SEED, draws=z)
        assert np.array_equal(seeded[0], given[0])
        assert np.array_equal(seeded[1], given[1])


def test_refits_take_the_first_k_of_the_fits_draws_as_a_copy():
    rng = np.random.default_rng(2)
    rows = np.repeat(np.arange(50, 250), 2)
    y, day = rng.lognormal(6, 0.5, rows.size), np.tile([1, 2], 200)
    args = (y, rows, day, np.ones(rows.size), 0.2, 1.0, SEED, N_SIM, K, 800.0, None)
    z = np.random.default_rng(SEED).standard_normal((200, N_SIM))
    own, shared = refit_inputs(*args), refit_inputs(*args, draws=z)
    assert np.array_equal(own.z, shared.z)
    assert shared.z.shape == (200, K)
    assert shared.z.base is None  # not a view keeping all N_SIM draws alive
