"""Tests of damlab.theory.dense: Krotov–Hopfield capacities (limits, and one step against
simulation), Demircigil's constant, the one-step retrieval bound of the modern network."""

import math

import numpy as np
import pytest

from damlab import Binary, DenseMemory, ModernHopfield, Spherical
from damlab.theory import capacity, classical, dense


def test_n_equal_2_is_the_classical_hopfield_model():
    alpha = np.array([0.0, 0.05, 0.1, 0.3, 1.0])
    np.testing.assert_allclose(dense.snr_error(alpha, 2), classical.snr_error(alpha), rtol=1e-15)
    np.testing.assert_array_equal(dense.rescaled_load(alpha, 2), alpha)
    N = np.logspace(2, 8, 7)
    np.testing.assert_allclose(dense.error_free_capacity(N, 2), classical.error_free_capacity(N), rtol=1e-15)
    np.testing.assert_allclose(dense.error_free_capacity(N, 2, all_patterns=True),
                               classical.error_free_capacity(N, all_patterns=True), rtol=1e-15)


def test_krotov_hopfield_capacity_grows_like_n_to_the_n_minus_1():
    # P_max = N^{n-1}/(2 (2n-3)!! ln N): (2n-3)!! = 1, 3, 15, 105 for n = 2..5
    N = 1000.0
    for n, df in [(2, 1), (3, 3), (4, 15), (5, 105)]:
        assert dense.error_free_capacity(N, n) == pytest.approx(N ** (n - 1) / (2 * df * math.log(N)), rel=1e-14)
        assert dense.rescaled_load(1.0, n) == df
        # all patterns: 2n in place of 2
        assert dense.error_free_capacity(N, n, all_patterns=True) == pytest.approx(dense.error_free_capacity(N, n) / n)
    # the exponent of N: d ln P / d ln N -> n - 1 (up to the 1/ln N of the logarithm)
    N = np.array([1e6, 1e7])
    for n in (2, 3, 4):
        slope = np.diff(np.log(dense.error_free_capacity(N, n)))[0] / math.log(10)
        assert slope == pytest.approx(n - 1 - 1 / math.log(10**6.5), abs=0.01)
    # error free: at P_max the expected number of wrong bits N·P_err -> 0 (slowly), at 2 P_max it grows
    N = np.logspace(3, 9, 7)
    for n in (3, 4):
        p = dense.error_free_capacity(N, n)
        assert np.all(np.diff(N * dense.snr_error(p / N ** (n - 1), n)) < 0)
        assert np.all(np.diff(N * dense.snr_error(2 * p / N ** (n - 1), n)) > 0)


def test_one_step_of_the_cubic_memory_flips_bits_as_the_signal_to_noise_analysis_says():
    # n = 3, N = 200, P = 2667: α'₃ = 3P/N² ≈ 0.2, P_err = Φ(-1/√α') ≈ 0.013. The parallel
    # update excludes the self-term, so b_μ sums N - 1 terms: signal (N-1)², noise
    # variance (P-1)·E b⁴ = (P-1)(3(N-1)² - 2(N-1)); the formula is used at that exact
    # ratio. The noise is a sum of P - 1 independent terms (excess kurtosis ~9/P: the
    # Gaussian tail is accurate to well under 1 %). States of one pattern set share
    # their crosstalk (b_μν = b_νμ), so the Monte Carlo error comes from the spread over
    # 10 independent pattern sets (300 states each); 4 standard errors allowed.
    N, P = 200, 2667
    rates = []
    for seed in range(10):
        xi = Binary().sample(P, N, seed=seed)
        states = xi[:300]
        rates.append(np.mean(DenseMemory(xi, n=3).step(states) != states))
    rates = np.array(rates)
    alpha_eff = (P - 1) * (3 * (N - 1) ** 2 - 2 * (N - 1)) / (N - 1) ** 4 / 3  # α₃ with α' = 3α₃
    predicted = dense.snr_error(alpha_eff, 3)
    se = rates.std(ddof=1) / math.sqrt(rates.size)
    assert abs(rates.mean() - predicted) < 4 * se, (rates.mean(), predicted, se)


def test_demircigil_constant_is_the_binary_all_pattern_bound_at_lambda_1():
    # F = e^x is λ = 1 in the book's units; there the binary all-pattern bound is set
    # by two patterns coinciding: (ln 2)/2
    assert dense.DEMIRCIGIL_ALPHA == pytest.approx(math.log(2) / 2)
    assert capacity.alpha_c_lower(Binary(), 1.0) == pytest.approx(dense.DEMIRCIGIL_ALPHA)


def test_one_step_error_bound_holds():
    # spherical patterns; states at and near the patterns; every distance after one step
    # within the bound, and the bound is not vacuous (< 2M) for the well-separated ones
    N, P, lam = 64, 500, 0.5
    xi = Spherical().sample(P, N, seed=7)
    rng = np.random.default_rng(8)
    x = xi[:100] + 0.3 * rng.standard_normal((100, N))
    scores = x @ xi.T
    mu = np.arange(100)
    own = scores[mu, mu]
    scores[mu, mu] = -np.inf
    margin = own - scores.max(axis=1)
    M = np.linalg.norm(xi, axis=1).max()
    bound = dense.one_step_error_bound(lam, margin, P, M)
    moved = np.linalg.norm(ModernHopfield(xi, lam).step(x) - xi[:100], axis=1)
    assert np.all(moved <= bound * (1 + 1e-9))
    assert np.sum(bound < 0.01 * M) > 50
    # limits: no other pattern, no error; a negative margin, the trivial 2M
    assert dense.one_step_error_bound(1.0, 0.0, 1, 3.0) == 0
    assert dense.one_step_error_bound(1.0, -1e4, 10, 3.0) == pytest.approx(6.0)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: dense.snr_error(0.1, 1), ValueError, r"^n must be an integer >= 2"),
    (lambda: dense.snr_error(0.1, 2.5), TypeError, r"^n must be a positive integer"),
    (lambda: dense.snr_error(-0.1, 3), ValueError, r"^alpha_n must be finite and >= 0"),
    (lambda: dense.error_free_capacity(1.0, 3), ValueError, r"^N must be finite and > 1"),
    (lambda: dense.one_step_error_bound(0.0, 1.0, 10, 1.0), ValueError, r"^lam must be finite and > 0"),
    (lambda: dense.one_step_error_bound(1.0, 1.0, 0.5, 1.0), ValueError, r"^P must be finite and >= 1"),
    (lambda: dense.one_step_error_bound(1.0, np.nan, 10, 1.0), ValueError, r"^margin must be finite"),
], ids=["n=1", "n-float", "alpha<0", "N<=1", "lam=0", "P<1", "margin-nan"])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
