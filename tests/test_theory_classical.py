"""Tests of damlab.theory.classical: signal-to-noise, the AGS equations, error-free storage,
against known values, against their own equations, and against simulation."""

import numpy as np
import pytest
from scipy.stats import norm

from damlab import Binary, Hopfield
from damlab.theory import classical as th


def test_capacity_is_the_known_value():
    # Amit, Gutfreund & Sompolinsky: α_c ≈ 0.138 with m ≈ 0.967, three digits each
    alpha_c, m_c = th.ags_capacity()
    assert abs(alpha_c - 0.138) < 5e-4
    assert abs(m_c - 0.967) < 5e-4
    # it is the end of the retrieval branch: just below, m ≈ m_c; just above, only m = 0
    assert abs(th.ags_overlap(alpha_c * (1 - 1e-9)) - m_c) < 1e-3
    assert th.ags_overlap(alpha_c * (1 + 1e-9)) == 0


def test_solutions_satisfy_the_equations():
    alpha = np.array([1e-3, 0.02, 0.05, 0.1, 0.13, 0.1379, 0.15, 0.3, 1.0])
    s = th.ags_solution(alpha)
    residuals = th.ags_residual(alpha, s.m, s.C, s.r)
    # solved to rounding: erf and exp of O(1) arguments, relative error ~1e-16
    for res in residuals:
        np.testing.assert_allclose(res, 0, atol=1e-12)


def test_retrieval_branch_is_monotone_from_perfect_retrieval():
    alpha = np.linspace(0, th.ags_capacity()[0], 200)
    m = th.ags_overlap(alpha)
    # (in float64, m rounds to 1 below α ≈ 0.014, where 1 - m ≈ erfc(1/√(2α)) < 1e-16)
    assert m[0] == 1 and np.all(np.diff(m) <= 0) and np.all(np.diff(m[m < 1]) < 0)
    # at small α the noise is exponentially small: 1 - m = erfc(1/√(2α)) to leading order
    assert 1 - th.ags_overlap(0.02) < 1e-10


def test_naive_capacity_matches_the_textbook_table():
    # Hertz, Krogh & Palmer (1991), Table 2.1: P_error vs p_max/N of one synchronous step
    p = [0.001, 0.0036, 0.01, 0.05, 0.1]
    np.testing.assert_allclose(th.snr_capacity(p), [0.105, 0.138, 0.185, 0.37, 0.61], rtol=0.015)
    np.testing.assert_allclose(th.snr_error(th.snr_capacity(p)), p, rtol=1e-12)


def test_one_synchronous_step_flips_bits_as_the_signal_to_noise_analysis_says():
    # Start at each stored pattern, one parallel step, count flipped bits. The exact mean and
    # variance of the crosstalk at finite N are signal (N-1)/N and (P-1)(N-1)/N², i.e. the
    # large-N formula at α = (P-1)/(N-1). The noise is a sum of (P-1)(N-1) terms ±1/N, so
    # its Gaussian tail is accurate here to a few percent. Monte Carlo error: the rate per
    # pattern varies (bits of one pattern share its crosstalk), so the standard error comes
    # from the spread across the 3 × 200 patterns; the test allows 4 of them.
    N, P = 1000, 200
    rates = []
    for seed in range(3):
        xi = Binary().sample(P, N, seed=seed)
        rates.append(np.mean(Hopfield(xi).step(xi) != xi, axis=1))
    rates = np.concatenate(rates)
    predicted = th.snr_error((P - 1) / (N - 1))  # Φ(-√5) ≈ 0.0127
    se = rates.std(ddof=1) / np.sqrt(rates.size)
    assert abs(rates.mean() - predicted) < 4 * se, (rates.mean(), predicted, se)


def test_finite_temperature_equations_reduce_to_zero_temperature():
    # T -> 0: β(1 - q) -> C, and the finite-T solution tends to the T = 0 one. The local
    # fields have a density at 0, so the leading thermal correction is O(T²) (as in a
    # Sommerfeld expansion): halving T divides the gap by about 4 (at least 3 here).
    for alpha in (0.05, 0.1):
        s = th.ags_solution(alpha)
        gaps = []
        for T in (0.05, 0.025):
            m, q, r, ok = th.rs_solution(alpha, T)
            assert ok
            gaps.append(abs(m - s.m))
            assert abs(r - s.r) / s.r < 0.005
        assert gaps[1] < gaps[0] / 3 and gaps[1] < 1e-4


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.5])
def test_spin_glass_line_is_where_the_paramagnet_becomes_unstable(alpha):
    # The m = 0 equations, started from q = 0.5: below T_g they keep a spin-glass order
    # q > 0, above it q decays to 0. 10 % on either side of T_g: far enough that the
    # slow convergence at the transition does not matter.
    T_g = th.spin_glass_temperature(alpha)
    q_below = th.rs_solution(max(alpha, 1e-12), 0.9 * T_g, m0=0.0, q0=0.5)[1]
    q_above = th.rs_solution(max(alpha, 1e-12), 1.1 * T_g, m0=0.0, q0=0.5)[1]
    assert q_below > 0.01 and q_above < 1e-6


def test_error_free_capacities_follow_from_the_tail_of_the_crosstalk():
    # One pattern is error free when the expected number of its wrong bits, N·P_err,
    # vanishes: at P = N/(2 ln N) it does (slowly, as 1/√(ln N)); at twice that it grows.
    # All patterns: the expected total P·N·P_err vanishes at P = N/(4 ln N).
    N = np.logspace(3, 12, 10)
    one = th.error_free_capacity(N)
    wrong = N * th.snr_error(one / N)
    assert np.all(np.diff(wrong) < 0)
    assert np.all(np.diff(N * th.snr_error(2 * one / N)) > 0)
    every = th.error_free_capacity(N, all_patterns=True)
    total = every * N * th.snr_error(every / N)
    assert np.all(np.diff(total) < 0) and total[-1] < 1e-3
    # the classic asymptotics: Φ(-√(2 ln N))·N ~ 1/(2√(π ln N))
    np.testing.assert_allclose(wrong[-1], 1 / (2 * np.sqrt(np.pi * np.log(N[-1]))), rtol=0.1)
    assert norm.sf(np.sqrt(2 * np.log(N[-1]))) == pytest.approx(wrong[-1] / N[-1], rel=1e-9)


@pytest.mark.parametrize("call,match", [
    (lambda: th.ags_solution(-0.1), r"^alpha must be finite and >= 0"),
    (lambda: th.ags_overlap(np.nan), r"^alpha must be finite"),
    (lambda: th.snr_error([0.1, -1]), r"^alpha must"),
    (lambda: th.snr_capacity(0.5), r"^p_error must lie in \(0, 1/2\)"),
    (lambda: th.snr_capacity(0.0), r"^p_error must be finite and > 0"),
    (lambda: th.error_free_capacity(1), r"^N must be finite and > 1"),
    (lambda: th.rs_solution(0.1, 0.0), r"^T must be finite and > 0"),
    (lambda: th.rs_solution(0.0, 1.0), r"^alpha must be finite and > 0"),
], ids=["alpha<0", "alpha-nan", "alpha-array", "p>=1/2", "p=0", "N<=1", "T=0", "rs-alpha=0"])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_numbers_are_a_type_error():
    with pytest.raises(TypeError, match="^alpha must be a real number"):
        th.ags_overlap("0.1")
