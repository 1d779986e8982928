"""Finite-N single-pattern thresholds (damlab.theory.finite_size) against closed forms
computed independently here, their large-N limits, and bad input."""

import math

import numpy as np
import pytest
from scipy import special, stats

from damlab import Binary, Gaussian, HiddenManifold, Spherical
from damlab.ensembles import log_mgf
from damlab.theory import capacity, finite_size


def _spherical_log_mgf(N, kappa):
    """ln E e^{κu} for the cosine u of a uniform direction in R^N: the von Mises–Fisher
    normaliser, Γ(N/2) (2/κ)^{N/2-1} I_{N/2-1}(κ) (ive keeps it finite)."""
    nu = N / 2 - 1
    return special.gammaln(N / 2) + nu * np.log(2 / kappa) + np.log(special.ive(nu, kappa)) + kappa


@pytest.mark.parametrize("N", [3, 16, 60, 400])
def test_spherical_annealed_threshold_is_lambda_minus_the_exact_log_mgf(N):
    lam = np.array([0.1, 0.5, 1.0, 3.0])
    expected = lam - _spherical_log_mgf(N, lam * N) / N
    np.testing.assert_allclose(finite_size.alpha_1_annealed(Spherical(), lam, N), expected, rtol=1e-9, atol=1e-12)


def test_annealed_threshold_approaches_alpha_1_from_below_like_one_over_N():
    lam = np.array([0.3, 0.8, 2.0])
    a1 = capacity.alpha_1(Spherical(), lam)
    shift = {N: a1 - finite_size.alpha_1_annealed(Spherical(), lam, N) for N in (500, 1000, 2000)}
    assert np.all(shift[500] > 0)
    # N·shift tends to a constant (the saddle point's prefactor): 1/N corrections to it
    np.testing.assert_allclose(1000 * shift[1000], 2000 * shift[2000], rtol=2e-3)
    np.testing.assert_allclose(500 * shift[500], 1000 * shift[1000], rtol=4e-3)


@pytest.mark.parametrize("ens", [Gaussian(), Binary()], ids=repr)
def test_gaussian_and_binary_have_no_annealed_shift(ens):
    # E e^{λs} = e^{Nλ²/2} (s ~ N(0, N)) and cosh^N λ exactly: ψ_N = ψ
    lam = np.array([0.2, 0.6, 0.9])
    np.testing.assert_allclose(finite_size.alpha_1_annealed(ens, lam, 20), capacity.alpha_1(ens, lam))


def test_gaussian_argmax_threshold():
    # exact: (1 - S)^(P - 1) = 1/2 with S = Pr(N(0, N) >= N), solved here by bisection on α
    for N in (12, 30, 60):
        S = stats.norm.sf(np.sqrt(N))
        g = lambda a: (math.exp(a * N) - 1) * math.log1p(-S) + math.log(2)  # noqa: E731
        lo, hi = 0.0, 2.0
        for _ in range(200):
            lo, hi = (lo, (lo + hi) / 2) if g((lo + hi) / 2) < 0 else ((lo + hi) / 2, hi)
        assert finite_size.alpha_1_argmax(Gaussian(), N) == pytest.approx(lo, abs=1e-12)
    # large N: 1/2 + (½ ln 2πN + ln ln 2)/N, up to the Mills-ratio correction O(1/N²)
    N = np.array([1000, 4000])
    approach = 0.5 + (0.5 * np.log(2 * np.pi * N) + np.log(np.log(2))) / N
    np.testing.assert_allclose(finite_size.alpha_1_argmax(Gaussian(), N), approach, atol=2 / 1000**2)


def test_binary_and_spherical_argmax_threshold():
    # binary: S = 2^-N, α = ln 2 + (ln ln 2)/N up to O(2^-N); at N = 2000 S underflows
    N = np.array([20, 60, 2000])
    np.testing.assert_allclose(finite_size.alpha_1_argmax(Binary(), N), np.log(2) + np.log(np.log(2)) / N,
                               rtol=1e-6)
    assert finite_size.alpha_1_argmax(Spherical(), 30) == math.inf  # no other pattern reaches overlap 1


@pytest.mark.parametrize("m", [0.25, 2 / 3, 0.9])
def test_stable_median_load_against_the_poisson_process_simulated(m):
    # Independent of the stable-law formula: the points above the own score, intensity
    # Kβe^{-βx}, are x_k = -ln(Γ_k/K)/β with Γ_k the arrival times of a unit Poisson
    # process, so W = Σ_k (Γ_k/K)^{-1/m}. 400 points per sample and the mean of the rest
    # (Σ_{k>400} Γ_k^{-1/m} ≈ ∫ t^{-1/m} dt from Γ_400); at K = stable_median_load(m) the
    # fraction with W < 1 is 1/2 up to Monte Carlo error (s.d. 0.0035 over 20 000; 4 s.d.).
    K = finite_size.stable_median_load(m)
    rng = np.random.default_rng(3)
    gamma = np.cumsum(rng.exponential(size=(20_000, 400)), axis=1)
    W = np.sum((gamma / K) ** (-1 / m), axis=1) + K ** (1 / m) * gamma[:, -1] ** (1 - 1 / m) / (1 / m - 1)
    assert abs(np.mean(W < 1) - 0.5) <= 4 * 0.0035
    assert finite_size.stable_median_load(0.0) == pytest.approx(np.log(2), rel=1e-15)


def test_condensed_threshold_limits():
    # λ = ∞ is the argmax threshold (up to its Poisson approximation of (1 - S)^n, O(S));
    # the threshold falls with λ, stays above α₁ = 1/2, and tends to it as N grows
    N = 30
    assert finite_size.alpha_1_condensed(Gaussian(), np.inf, N) == pytest.approx(
        finite_size.alpha_1_argmax(Gaussian(), N), abs=1e-7)
    a = finite_size.alpha_1_condensed(Gaussian(), [1.2, 1.5, 4.0, 40.0], N)
    assert np.all(np.diff(a) > 0) and np.all(a > 0.5)
    assert 0.5 < finite_size.alpha_1_condensed(Gaussian(), 1.5, 4000) < 0.502


def test_log_mgf_against_the_gaussian_closed_form():
    # ln E[e^{λs}; s < t] = λ²σ²/2 + ln Φ((t - λσ²)/σ), including tilts far beyond 37σ
    for sigma, lam, t in ((3.0, 2.0, math.inf), (3.0, 2.0, 5.0), (7.7, 5.0, math.inf), (7.7, 0.1, -30.0)):
        expected = lam**2 * sigma**2 / 2 + stats.norm.logcdf((t - lam * sigma**2) / sigma)
        assert log_mgf(stats.norm(scale=sigma), lam, t) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_finite_size_bad_input():
    with pytest.raises(ValueError, match="lam"):
        finite_size.alpha_1_annealed(Gaussian(), 1.5, 20)  # beyond the triple point: condensed
    with pytest.raises(ValueError, match="N"):
        finite_size.alpha_1_annealed(Spherical(), 0.5, 1)
    with pytest.raises(NotImplementedError, match="HiddenManifold"):
        finite_size.alpha_1_argmax(HiddenManifold(1.0), 20)
    with pytest.raises(ValueError, match="N"):
        finite_size.alpha_1_argmax(Gaussian(), 2.5)
    with pytest.raises(ValueError, match="lam"):
        finite_size.alpha_1_condensed(Gaussian(), 1.0, 20)  # liquid at the triple point
    with pytest.raises(NotImplementedError, match="Spherical"):
        finite_size.alpha_1_condensed(Spherical(), 2.0, 20)
    with pytest.raises(ValueError, match="m"):
        finite_size.stable_median_load(1.0)
