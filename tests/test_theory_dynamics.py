"""Tests of damlab.theory.dynamics: the first step, the Γ = 0 map and its capacity, the second step."""

import math

import numpy as np
import pytest
from scipy.special import erf

from damlab.theory import classical, dynamics


def test_first_step_formula_and_broadcasting():
    m0, a = np.array([0.2, 0.5, 1.0]), np.array([[0.1], [0.4]])
    got = dynamics.first_step(m0, a, 3)
    assert got.shape == (2, 3)
    # written out independently; rtol: both are the same erf call up to rounding
    np.testing.assert_allclose(got, erf(m0**2 / np.sqrt(2 * a)), rtol=1e-15)
    assert isinstance(dynamics.first_step(0.5, 0.1, 3), float)
    # odd n: -ξ¹ is pulled to +ξ¹ (the signal m0^{n-1} is even); even n: to -ξ¹
    assert dynamics.first_step(-0.8, 0.1, 3) == dynamics.first_step(0.8, 0.1, 3) > 0.9
    assert dynamics.first_step(-0.8, 0.1, 4) == -dynamics.first_step(0.8, 0.1, 4)


def test_n_equal_2_is_the_parallel_hopfield_first_step():
    # the parallel Hopfield model with zero diagonal: h_i ξ_i = m0 + N(0, α), so
    # m(1) = erf(m0/√(2α)); at m0 = 1 that is 1 - 2 P_err of the classical SNR argument
    alpha = np.array([0.05, 0.1, 0.138, 0.3, 1.0])
    np.testing.assert_allclose(dynamics.first_step(1.0, alpha, 2), 1 - 2 * classical.snr_error(alpha), rtol=1e-14)
    m0 = np.linspace(-1, 1, 11)[:, None]
    np.testing.assert_allclose(dynamics.first_step(m0, alpha, 2), erf(m0 / np.sqrt(2 * alpha)), rtol=1e-15)


def test_naive_map_iterates_the_first_step():
    traj = dynamics.naive_map([0.4, 0.9], [[0.1], [0.3]], 3, steps=4)
    assert traj.shape == (2, 2, 5)
    np.testing.assert_array_equal(traj[..., 0], np.broadcast_to([0.4, 0.9], (2, 2)))
    for t in range(4):
        np.testing.assert_array_equal(traj[..., t + 1], dynamics.first_step(traj[..., t], [[0.1], [0.3]], 3))


@pytest.mark.parametrize("n, digits", [(3, 0.252190430770), (4, 0.197860119195), (5, 0.172772554019)])
def test_naive_capacity_is_a_saddle_node(n, digits):
    a_c, m_c = dynamics.naive_capacity(n)
    # the values computed here (n = 3: 0.25219, the replica-symmetric α′_c ≈ 0.252 of
    # Mimura et al.); 1e-10 is far above brentq's 1e-15 in y and far below any change of the formula
    assert a_c == pytest.approx(digits, abs=1e-10)
    # both saddle-node conditions, checked directly on the map: m_c is a fixed point ...
    assert dynamics.first_step(m_c, a_c, n) == pytest.approx(m_c, abs=1e-12)
    # ... where the map is tangent to the diagonal (central difference, error O(h²) ~ 1e-10)
    h = 1e-5
    slope = (dynamics.first_step(m_c + h, a_c, n) - dynamics.first_step(m_c - h, a_c, n)) / (2 * h)
    assert slope == pytest.approx(1.0, abs=1e-6)
    # and independently of the equations, by iterating the map from m = 1: 1 % below α′_c it
    # settles on a retrieval fixed point above m_c; 1 % above it falls to 0
    below = dynamics.naive_map(1.0, 0.99 * a_c, n, steps=2000)[-1]
    above = dynamics.naive_map(1.0, 1.01 * a_c, n, steps=2000)[-1]
    assert below > m_c and below == pytest.approx(dynamics.first_step(below, 0.99 * a_c, n), abs=1e-12)
    assert above < 1e-6


def test_naive_capacity_decreases_with_n_and_n_2_is_a_pitchfork():
    a = [dynamics.naive_capacity(n).alpha_prime for n in (3, 4, 5, 6)]
    assert np.all(np.diff(a) < 0)
    # n = 2: the slope of erf(m/√(2α)) at m = 0 is 1 at α = 2/π, where the branch reaches m = 0
    assert dynamics.naive_capacity(2) == (2 / math.pi, 0.0)
    assert dynamics.naive_map(0.5, 0.98 * 2 / math.pi, 2, steps=5000)[-1] > 0.05
    assert dynamics.naive_map(0.5, 1.02 * 2 / math.pi, 2, steps=5000)[-1] < 1e-3


def test_hermite_kernel_moments():
    # R̃(1) = E x^{2p} = (2p-1)!!, and R̃(C) = 1 + 2C² for p = 2 (THEORY.md §5)
    for p, df in [(1, 1), (2, 3), (3, 15), (4, 105)]:
        assert dynamics.hermite_kernel(1.0, p) == pytest.approx(df, rel=1e-14)
    C = np.linspace(-1, 1, 9)
    np.testing.assert_allclose(dynamics.hermite_kernel(C, 2), 1 + 2 * C**2, rtol=1e-14)
    np.testing.assert_allclose(dynamics.hermite_kernel(C, 2, derivative=True), 4 * C, rtol=1e-14, atol=1e-15)
    # p = 3: E[x³y³] = 9C + 6C³, and its derivative kernel 9 E[x²y²] = 9(1 + 2C²)
    np.testing.assert_allclose(dynamics.hermite_kernel(C, 3), 9 * C + 6 * C**3, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(dynamics.hermite_kernel(C, 3, derivative=True), 9 * (1 + 2 * C**2), rtol=1e-14)
    # Monte Carlo check of the definition (200 000 pairs: se of E[x²y²] ≈ 0.01, 5 se allowed)
    rng = np.random.default_rng(0)
    x, z = rng.standard_normal((2, 200_000))
    y = 0.6 * x + 0.8 * z
    assert np.mean(x**2 * y**2) == pytest.approx(dynamics.hermite_kernel(0.6, 2), abs=0.05)


def test_second_step_n_3():
    m0, a = np.array([0.3, 0.5, 0.8]), 0.3
    m1 = dynamics.first_step(m0, a, 3)
    # written out for n = 3: Γ10 = (4α′/3) m0 m1 · 2e^{-m0⁴/(2α′)}/√(2πα′)
    G = 2 * np.exp(-m0**4 / (2 * a)) / np.sqrt(2 * np.pi * a)
    gamma = 4 * a / 3 * m0 * m1 * G
    want = sum((1 + s * m0) / 2 * erf((m1**2 + s * gamma) / np.sqrt(2 * a)) for s in (1, -1))
    np.testing.assert_allclose(dynamics.second_step(m0, a, 3), want, rtol=1e-14)
    # at m0 = 1 every spin starts aligned: m(2) = erf((m1² + Γ10)/√(2α′)) > the naive map's
    assert dynamics.second_step(1.0, a, 3) > dynamics.naive_map(1.0, a, 3, 2)[-1]


@pytest.fixture(scope="module")
def process():
    # α′ = 0.3 > α′_c, m0 = 0.9: the slow decay the naive map misses; 40 000 paths, 4 replicas
    return dynamics.effective_process(0.9, 0.3, 3, steps=12, paths=40_000, seed=1)


def test_effective_process_first_steps_are_the_closed_forms(process):
    m0, a = 0.9, 0.3
    # exact: the start is stratified and the first step is averaged analytically over the noise
    assert process.m[0] == m0 and process.m_se[1] == 0
    assert process.m[1] == pytest.approx(dynamics.first_step(m0, a, 3), rel=1e-12)
    # the response to θ(0) is twice the density of the field m0² + N(0, α′) at 0, written out
    assert process.G[1, 0] == pytest.approx(2 * np.exp(-m0**4 / (2 * a)) / np.sqrt(2 * np.pi * a), rel=1e-12)
    # the second step against its closed form: the only sampled input is C(1, 0) = m0 m1
    # (error ~ 1/√paths = 0.005, entering Γ10 ≈ 0.1 C: 5e-4 at most); 4 se + 1e-3
    assert abs(process.m[2] - dynamics.second_step(m0, a, 3)) < 4 * process.m_se[2] + 1e-3
    # and the second step is not the naive map's (by 0.06 here): the test can tell them apart
    assert abs(process.m[2] - dynamics.naive_map(m0, a, 3, 2)[-1]) > 0.05


def test_effective_process_structure(process):
    C, G, Gamma, T = process.C, process.G, process.Gamma, 12
    np.testing.assert_array_equal(C, C.T)
    np.testing.assert_array_equal(np.diag(C), 1.0)
    # causal, and with parallel updates a field at s moves σ only at odd lags t - s
    lag = np.subtract.outer(np.arange(T + 1), np.arange(T + 1))
    assert np.all(G[(lag <= 0) | (lag % 2 == 0)] == 0)
    assert np.all(G[(lag > 0) & (lag % 2 == 1)] != 0)
    # Γ(t, s) = (4α′/3) C(t, s) G(t, s) for n = 3 (THEORY.md §5). It holds on each replica; the
    # returned means differ from it by the covariance of C and G across replicas (~1e-3 relative)
    np.testing.assert_allclose(Gamma, 4 * 0.3 / 3 * C[:T, :T] * G[:T, :T], rtol=1e-2, atol=1e-12)
    # the crosstalk is the noise (variance α′ at every t) plus the retarded term: α′ before any Γ
    assert process.noise[0] == pytest.approx(0.3, rel=1e-12) and np.all(process.noise > 0.3 - 1e-12)


def test_effective_process_error_is_honest():
    # the standard error comes from the spread of the replicas: across 6 seeds the scatter of
    # m(t) must match it. Ratio of the seed-to-seed s.d. to the mean se, averaged over t = 3..12:
    # measured 0.8-1.3; 0.5-2 allowed (each of the 6 s.d.s is itself uncertain by ~30 %)
    runs = [dynamics.effective_process(0.7, 0.4, 3, steps=12, paths=8_000, seed=s) for s in range(6)]
    m, se = np.array([r.m for r in runs]), np.array([r.m_se for r in runs])
    ratio = np.mean(m[:, 3:].std(axis=0, ddof=1) / se[:, 3:].mean(axis=0))
    assert 0.5 < ratio < 2


@pytest.mark.parametrize("call, name", [
    (lambda: dynamics.first_step(1.5, 0.1, 3), "m0"),
    (lambda: dynamics.first_step(-1.1, 0.1, 3), "m0"),
    (lambda: dynamics.first_step(0.5, 0.0, 3), "alpha_prime"),
    (lambda: dynamics.first_step(0.5, [0.1, np.nan], 3), "alpha_prime"),
    (lambda: dynamics.first_step(0.5, 0.1, 1), "n"),
    (lambda: dynamics.first_step(0.5, 0.1, 2.5), "n"),
    (lambda: dynamics.naive_map(0.5, 0.1, 3, 0), "steps"),
    (lambda: dynamics.naive_capacity(1), "n"),
    (lambda: dynamics.second_step(0.5, 0.1, 2), "n"),
    (lambda: dynamics.hermite_kernel(1.2, 2), "C"),
    (lambda: dynamics.first_step("a", 0.1, 3), "m0"),
    (lambda: dynamics.effective_process(1.2, 0.1), "m0"),
    (lambda: dynamics.effective_process(0.5, 0.0), "alpha_prime"),
    (lambda: dynamics.effective_process(0.5, 0.1, 2), "n"),
    (lambda: dynamics.effective_process(0.5, 0.1, steps=0), "steps"),
    (lambda: dynamics.effective_process(0.5, 0.1, paths=300, replicas=4), "paths"),
    (lambda: dynamics.effective_process(0.5, 0.1, replicas=1), "replicas"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises((ValueError, TypeError), match=rf"^{name} "):
        call()
