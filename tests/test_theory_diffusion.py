"""Tests of damlab.theory.diffusion: the collapse time of the empirical-score diffusion and the memorisation time."""

import math

import numpy as np
import pytest

from damlab import Binary, Gaussian, Spherical
from damlab.theory import capacity, diffusion, rem


def test_gaussian_collapse_time_closed_form():
    # Gaussian overlaps: ψ(λ) = λ²/2, u_max = √(2α). At the root the others are condensed
    # (λ′² = (1+t)/t² >= 2α there for every α < 1/2), so u_max √(1+t) = 1: t_c = 1/(2α) - 1,
    # derived by hand, independent of the root finder; 1e-9 is far above brentq's xtol
    alpha = np.array([0.02, 0.1, 0.25, 0.4, 0.49])
    np.testing.assert_allclose(diffusion.collapse_time(Gaussian(), alpha), 1 / (2 * alpha) - 1, rtol=1e-9)
    # at α >= 1/2 another pattern reaches overlap 1: the noisy state never commits
    assert diffusion.collapse_time(Gaussian(), 0.6) == 0.0


def test_spherical_collapse_time_solves_its_equation_and_precedes_memorisation():
    alpha = np.array([0.05, 0.2, 0.5, 1.0])
    t_c = diffusion.collapse_time(Spherical(), alpha)
    lam = np.sqrt(1 + t_c) / t_c
    np.testing.assert_allclose(1 / t_c, rem.phi(Spherical(), alpha, lam), rtol=1e-9)
    t_1 = diffusion.memorization_time(Spherical(), alpha)
    np.testing.assert_allclose(t_1, 1 / capacity.lambda_1(Spherical(), alpha), rtol=1e-14)
    assert np.all(t_c < t_1)
    # the closed form (derived in the book's chapter): at the root the others sit at their
    # condensation point, and α = ½ ln(1 + 1/t), the capacity of a Gaussian channel:
    # t_c = 1/(e^{2α} - 1); 1e-9 as above
    np.testing.assert_allclose(t_c, 1 / np.expm1(2 * alpha), rtol=1e-9)
    # small α: t_c ≈ 1/(2α), half of t₁ ≈ 1/α
    assert diffusion.collapse_time(Spherical(), 1e-3) == pytest.approx(1 / 2e-3, rel=0.01)


def test_bad_input():
    with pytest.raises(ValueError, match="^ensemble must be Gaussian or Spherical"):
        diffusion.collapse_time(Binary(), 0.1)
    with pytest.raises(ValueError, match="^alpha "):
        diffusion.collapse_time(Spherical(), 0.0)
    with pytest.raises(ValueError, match="^alpha "):
        diffusion.memorization_time(Spherical(), [0.1, math.nan])
