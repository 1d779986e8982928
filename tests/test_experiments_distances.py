"""The distance between two stored patterns (damlab.experiments.pattern_distance) against
its expectation 2(E σ(h)² - (E σ(h))²), computed here by quadrature."""

import numpy as np
import pytest
from scipy import integrate, stats

from damlab import Binary, Gaussian, HiddenManifold, Spherical
from damlab.experiments import pattern_distance

SIGMA = {"linear": lambda h: h, "relu": lambda h: np.maximum(h, 0.0), "tanh": np.tanh, "sign": np.sign}


def _expected(activation):
    """2 Var σ(h), h ~ N(0, 1): two patterns' pre-activations are independent given F."""
    m1, m2 = (integrate.quad(lambda h: SIGMA[activation](h) ** k * stats.norm.pdf(h), -np.inf, np.inf)[0]
              for k in (1, 2))
    return 2 * (m2 - m1**2)


@pytest.mark.parametrize("activation", sorted(SIGMA))
def test_hidden_manifold_distance_does_not_depend_on_the_latent_dimension(activation):
    # d = 0.25 and 4 at N = 200 (D = 50 and 800): 8 trials of 64 patterns each. Tolerance:
    # 4 standard errors over trials, plus 0.5 % for the finite-D fluctuation of |F_i|²/D
    # (its relative s.d. is √(2/D), averaged over N rows; measured deviations below 0.4 %).
    for d in (0.25, 4.0):
        e = pattern_distance(HiddenManifold(d, activation, seed=3), 200, trials=8, seed=4)
        assert abs(e.mean - _expected(activation)) <= 4 * e.se + 0.005 * _expected(activation), (d, e.mean, e.se)


@pytest.mark.parametrize("ens", [Gaussian(), Spherical(), Binary()], ids=repr)
def test_isotropic_ensembles_are_at_distance_two(ens):
    e = pattern_distance(ens, np.array([20, 100]), trials=8, seed=5)
    assert e.mean.shape == (2,)
    assert np.all(np.abs(e.mean - 2) <= 4 * e.se + 1e-12), (e.mean, e.se)


def test_pattern_distance_bad_input():
    with pytest.raises(ValueError, match="P"):
        pattern_distance(Gaussian(), 10, P=1)
    with pytest.raises(ValueError, match="trials"):
        pattern_distance(Gaussian(), 10, trials=1)
    with pytest.raises(TypeError, match="ensemble"):
        pattern_distance("gaussian", 10)
