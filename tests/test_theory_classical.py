"""Tests of damlab.theory.classical: signal-to-noise, the AGS equations, error-free storage,
against known values, against their own equations, and against simulation."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq, minimize_scalar
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


@pytest.mark.parametrize("alpha, T", [(0.01, 0.3), (0.01, 0.7), (0.05, 0.5), (0.1, 0.9), (0.2, 1.2)])
def test_spin_glass_solution_solves_its_equation(alpha, T):
    # The m = 0 solution below T_g, also at low T and small α, where β(1 - q) is close to
    # 1 and a plain iteration of the equations does not converge. Its q equation checked
    # by adaptive quadrature (to 1e-13): zero to the Simpson rule's accuracy.
    m, q, r, ok = th.rs_solution(alpha, T, m0=0.0)
    assert ok and m == 0 and q > 0.1
    assert r == pytest.approx(q / (1 - (1 - q) / T) ** 2)
    s = np.sqrt(alpha * r)
    residual = q - quad(lambda z: norm.pdf(z) * np.tanh(s * z / T) ** 2, -np.inf, np.inf, epsabs=1e-13)[0]
    assert abs(residual) < 1e-9


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


# The (α, T) phase diagram. Small-α constants from the Landau expansion of the replica-
# symmetric free energy near T = 1: with β = 1 + δ and x = m²/δ, w = αr/δ, v = q/δ, A = α/δ²,
# f = const + δ² Φ with Φ = -x/2 + x²/12 + xw/2 + w²/4 - wv/2 + (A/2) ln(v - 1) - Av/(2(v - 1)).
# Stationarity: v = x + w, w = Av/(v - 1)², and (if m > 0) 1 = x/3 + w.

def _landau_retrieval(A):
    """x of the stable retrieval solution (largest root of (1 - x/3)(2x/3)² = A(1 + 2x/3))."""
    roots = np.roots([-4 / 27, 4 / 9, -2 * A / 3, -A])
    return max(r.real for r in roots if abs(r.imag) < 1e-12 and 0 < r.real < 3)


def _landau_phi(x, A):
    w = 1 + np.sqrt(A) if x == 0 else 1 - x / 3  # spin glass: x = 0, v = w, (w - 1)² = A
    v = x + w
    return (-x / 2 + x * x / 12 + x * w / 2 + w * w / 4 - w * v / 2
            + A / 2 * np.log(v - 1) - A * v / (2 * (v - 1)))


def _landau_constants():
    """c_M and c_c of T_M ≈ 1 - c_M √α and T_c ≈ 1 - c_c √α (δ = c √α, A = 1/c²)."""
    # the retrieval root exists up to the largest A(x) = (1 - x/3)(2x/3)²/(1 + 2x/3)
    A_M = -minimize_scalar(lambda x: -(1 - x / 3) * (2 * x / 3) ** 2 / (1 + 2 * x / 3),
                           bounds=(0, 3), method="bounded", options={"xatol": 1e-12}).fun
    A_c = brentq(lambda A: _landau_phi(_landau_retrieval(A), A) - _landau_phi(0, A), 0.01, A_M * (1 - 1e-9),
                 xtol=1e-15)
    return 1 / np.sqrt(A_M), 1 / np.sqrt(A_c)


def test_retrieval_line_at_small_load_follows_the_landau_expansion():
    c_M, _ = _landau_constants()
    assert abs(c_M - 1.954) < 5e-4  # AGS 1987: T_M ≈ 1 - 1.95 √α
    assert th.retrieval_temperature(0.0) == 1
    alpha = np.array([1e-12, 1e-8, 1e-6, 1e-4])  # (below 1e-10: the leading term itself)
    slope = (1 - th.retrieval_temperature(alpha)) / np.sqrt(alpha)
    # the next order is O(α) in T_M, O(√α) in the slope (observed: 0.43 √α)
    assert np.all(np.abs(slope - c_M) < np.sqrt(alpha)), slope - c_M


def test_retrieval_line_is_reentrant_near_the_capacity():
    alpha_c, _ = th.ags_capacity()
    assert th.retrieval_capacity(0.0) == alpha_c
    # α_M(T) = α_c (1 + C_c T) + O(T²), C_c the T = 0 susceptibility at α_c. The slope
    # (α_M - α_c)/T at T = 0.01 and 0.02, extrapolated linearly to T = 0, leaves an O(T²)
    # error, observed 4e-4 relative.
    C_c = th.ags_solution(alpha_c * (1 - 1e-12)).C
    s1, s2 = (th.retrieval_capacity(np.array([0.01, 0.02])) - alpha_c) / [0.01, 0.02]
    assert 2 * s1 - s2 == pytest.approx(alpha_c * C_c, rel=2e-3)
    # so retrieval survives at finite T above α_c, up to α_max ≈ 0.13819: confirmed by the
    # damped iteration of rs_solution, at a load where the T = 0 equations have no retrieval
    assert th.ags_overlap(0.138) == 0 and th.retrieval_temperature(0.138) > 0.04
    m, _, _, ok = th.rs_solution(0.138, 0.03)
    assert ok and m > 0.9
    assert 0.04 < th.retrieval_temperature(alpha_c) < 0.05
    assert th.retrieval_temperature(0.1383) == 0
    # on [0, α_max] T_M decreases, below the spin-glass line, and inverts α_M
    alpha = np.linspace(0, 0.13818, 60)
    T_M = th.retrieval_temperature(alpha)
    assert np.all(np.diff(T_M) < 0) and np.all(T_M[1:] < th.spin_glass_temperature(alpha[1:]))
    # (just above T* ≈ 0.02287 the line is flat, dα_M/dT ≈ 3e-5 at 0.0229, and Newton may
    # give way to bisection: T is fixed there to about 1e-16 α / 3e-5 ~ 1e-12, not better)
    T = np.array([0.0229, 0.0232, 0.05, 0.3, 0.7, 0.95])
    np.testing.assert_allclose(th.retrieval_temperature(th.retrieval_capacity(T)), T, rtol=1e-8)


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.13])
def test_rs_solution_retrieves_just_below_the_retrieval_line(alpha):
    # 1 % on either side of T_M: near the fold the damped iteration slows down critically
    T_M = th.retrieval_temperature(alpha)
    m_below, _, _, ok = th.rs_solution(alpha, 0.99 * T_M)
    assert ok and m_below > 0.8
    assert th.rs_solution(alpha, 1.01 * T_M)[0] < 1e-6


def test_free_energy_is_stationary_at_solutions_and_has_the_known_limits():
    for alpha, T in [(0.05, 0.3), (0.1, 0.2), (0.02, 0.7)]:
        m, q, _, ok = th.rs_solution(alpha, T)
        assert ok
        f = lambda m, q: th.rs_free_energy(alpha, T, m, q)  # noqa: E731
        h = 1e-5  # central differences: truncation h² f''' ~ 1e-10, rounding 1e-16/h ~ 1e-11
        assert abs(f(m + h, q) - f(m - h, q)) / (2 * h) < 1e-8
        assert abs(f(m, q + h) - f(m, q - h)) / (2 * h) < 1e-8
    # paramagnet above T = 1: the annealed free energy, exact here (up to the quadrature's
    # ∫Dz 1 = 1 + 1.6e-13, times T ln 2)
    alpha, T = 0.1, 1.5
    assert th.rs_free_energy(alpha, T, 0, 0) == pytest.approx(
        alpha / 2 + alpha * T / 2 * np.log(1 - 1 / T) - T * np.log(2), abs=1e-12)
    # T -> 0: f -> the ground-state energy -m²/2 - (α/2) r C (2 - C), with an O(T²) gap
    s = th.ags_solution(0.08)
    E = -s.m**2 / 2 - 0.08 * s.r * s.C * (2 - s.C) / 2
    gaps = [abs(th.rs_free_energy(0.08, T, *th.rs_solution(0.08, T)[:2]) - E) for T in (0.04, 0.02)]
    assert gaps[1] < gaps[0] / 3 and gaps[1] < 1e-5


def _spin_glass_overlap(alpha, T):
    """q of the m = 0 solution at T < 1, by adaptive quadrature (independent of the module)."""
    def excess(u):  # u = 1 - β(1 - q)
        q = 1 - T * (1 - u)
        s = np.sqrt(alpha * q) / u
        return q - quad(lambda z: norm.pdf(z) * np.tanh(s * z / T) ** 2, -np.inf, np.inf, epsabs=1e-13)[0]
    return 1 - T * (1 - brentq(excess, 1e-9, 1.0, xtol=1e-14))


def test_retrieval_states_are_global_minima_below_the_stable_line():
    _, c_c = _landau_constants()
    assert th.retrieval_stable_temperature(0.0) == 1
    # leading order as for T_M (observed next order 1.7 √α in the slope; below α = 1e-10
    # the slope measured there)
    alpha = np.array([1e-12, 1e-8])
    slope = (1 - th.retrieval_stable_temperature(alpha)) / np.sqrt(alpha)
    assert np.all(np.abs(slope - c_c) < 3e-4), slope - c_c
    alpha = np.linspace(0, 0.053, 12)
    T_c = th.retrieval_stable_temperature(alpha)
    assert np.all(np.diff(T_c) < 0) and np.all(T_c[1:] < th.retrieval_temperature(alpha[1:]))
    # at T_c the free energies of the retrieval (rs_solution) and spin-glass states cross
    alpha = 0.03
    T_c = th.retrieval_stable_temperature(alpha)
    for T, sign in ((0.97 * T_c, -1), (1.03 * T_c, 1)):
        m, q, _, ok = th.rs_solution(alpha, T)
        q_sg = _spin_glass_overlap(alpha, T)
        gap = th.rs_free_energy(alpha, T, m, q) - th.rs_free_energy(alpha, T, 0.0, q_sg)
        assert ok and np.sign(gap) == sign
    # at T = 0 the energies cross at α_1 ≈ 0.0519 (AGS: ≈ 0.05), but warming favours
    # retrieval (the spin glass has negative entropy), so T_c > 0 a little beyond α_1
    def energy_gap(a):
        s = th.ags_solution(a)
        sg = np.sqrt(a) + np.sqrt(2 / np.pi)  # √(αr) of the m = 0 solution
        C = np.sqrt(2 / np.pi) / sg
        return -s.m**2 / 2 - a * s.r * s.C * (2 - s.C) / 2 + sg**2 * C * (2 - C) / 2
    alpha_1 = brentq(energy_gap, 0.02, 0.1)
    assert abs(alpha_1 - 0.0519) < 1e-4
    assert th.retrieval_stable_temperature(0.0525) > 0.1 and th.retrieval_stable_temperature(0.054) == 0


@pytest.mark.parametrize("call,error,match", [
    (lambda: th.retrieval_temperature(-0.1), ValueError, r"^alpha must be finite and >= 0"),
    (lambda: th.retrieval_temperature([0.1, np.nan]), ValueError, r"^alpha must be finite"),
    (lambda: th.retrieval_temperature("0.1"), TypeError, r"^alpha must be a real number"),
    (lambda: th.retrieval_stable_temperature(-1), ValueError, r"^alpha must be finite and >= 0"),
    (lambda: th.retrieval_stable_temperature(None), TypeError, r"^alpha must be a real number"),
    (lambda: th.retrieval_capacity(-0.5), ValueError, r"^T must be finite and >= 0"),
    (lambda: th.rs_free_energy(0.0, 1.0, 0.0, 0.5), ValueError, r"^alpha must be finite and > 0"),
    (lambda: th.rs_free_energy(0.1, 0.5, 0.0, 0.2), ValueError, r"^q must lie in \[0, 1\] with"),
], ids=["TM-alpha<0", "TM-nan", "TM-str", "Tc-alpha<0", "Tc-None", "cap-T<0", "f-alpha=0", "f-q"])
def test_phase_diagram_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
