"""Tests of damlab.experiments.collapse_fraction, and the collapse time against its theory."""

import numpy as np
import pytest

from damlab import Spherical
from damlab.experiments import collapse_fraction, crossing
from damlab.theory import diffusion


def test_scored_routes_agree_with_real_patterns():
    # the "scores" route (the others' scores drawn from their law, against the direction of
    # x_t) against "vectors" (real patterns through the engine): the same fractions within
    # 4 binomial standard errors of the difference (300 instances each)
    t = np.array([0.5, 1.0, 2.0])
    a = collapse_fraction(Spherical(), 12, 0.3, t, trials=300, route="scores", seed=1)
    b = collapse_fraction(Spherical(), 12, 0.3, t, trials=300, route="vectors", dtype="float64", seed=2)
    np.testing.assert_array_less(np.abs(a.mean - b.mean), 4 * np.hypot(a.se, b.se))
    assert a.mean[0] > 0.8 and a.mean[-1] < 0.5  # the grid spans the transition


def test_collapse_time_against_simulation():
    # THEORY vs SIMULATION: the crossing (fraction 1/2, probit) of the commitment of noisy
    # states, spherical patterns, α = 0.2, at N = 20, 30, 40 (200 instances x 11 times each).
    # Measured 2.60, 2.39, 2.33 (± 0.04), above t_c = 2.033 by a finite-size shift roughly
    # linear in 1/N; the weighted fit in 1/N extrapolates to 2.05 ± 0.08. Tolerance: 3 standard errors
    # of the intercept. Every crossing must also lie between t_c and t₁ = 4.45, the
    # memorisation time it would approach if the noise did not lengthen the state.
    sph, alpha = Spherical(), 0.2
    t_c, t_1 = diffusion.collapse_time(sph, alpha), diffusion.memorization_time(sph, alpha)
    Ns, x, se = [20, 30, 40], [], []
    for N in Ns:
        t = t_c * np.linspace(0.7, 2.0, 11)
        c, s = crossing(t, collapse_fraction(sph, N, alpha, t, trials=200, seed=N), method="probit")
        x.append(c)
        se.append(s)
    x, se = np.array(x), np.array(se)
    assert np.all((t_c < x) & (x < t_1))
    A = np.stack([np.ones(3), 1 / np.array(Ns)], axis=1) / se[:, None]
    coef, *_ = np.linalg.lstsq(A, x / se, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    assert abs(coef[0] - t_c) < 3 * np.sqrt(cov[0, 0]), (coef[0], np.sqrt(cov[0, 0]))


@pytest.mark.parametrize("kwargs, name", [
    (dict(t=0.0), "t"),
    (dict(alpha=-0.1), "alpha"),
    (dict(N=0), "N"),
    (dict(trials=1), "trials"),
    (dict(route="fast"), "route"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    args = dict(N=8, alpha=0.1, t=1.0, trials=4, seed=0) | kwargs
    with pytest.raises((ValueError, TypeError), match=rf"^{name} "):
        collapse_fraction(Spherical(), args.pop("N"), args.pop("alpha"), args.pop("t"), **args)
