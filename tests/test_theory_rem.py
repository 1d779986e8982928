"""Tests of damlab.theory.rem: Derrida's REM (closed forms, exact enumeration) and the
generalised REM of an ensemble's overlaps (closed forms against the variational formula)."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from damlab import Binary, Gaussian, HiddenManifold, Spherical
from damlab.theory import rem

ENSEMBLES = [Gaussian(), Spherical(), Binary(), HiddenManifold(0.5)]
IDS = ["gaussian", "spherical", "binary", "hmm-linear"]
LN2 = math.log(2)


# ----------------------------------------------------------------------------- Derrida's REM

def test_derrida_values():
    J = 1.7
    T_c = rem.critical_temperature(J)
    assert T_c == pytest.approx(J / (2 * math.sqrt(LN2)), rel=1e-15)
    # both branches give the ground-state energy -J√ln2 at T_c, and the entropy
    # -df/dT = ln 2 - J²/(4T²) of the hot branch vanishes there: a continuous transition
    assert rem.free_energy(T_c, J) == pytest.approx(-J * math.sqrt(LN2), rel=1e-14)
    assert rem.free_energy(T_c * (1 + 1e-9), J) == pytest.approx(-J * math.sqrt(LN2), rel=1e-12)
    h = 1e-5
    slope = (rem.free_energy(T_c + 2 * h, J) - rem.free_energy(T_c + h, J)) / h
    assert abs(slope) < 1e-4  # = O(h) from the curvature
    assert rem.free_energy(0.5 * T_c, J) == -J * math.sqrt(LN2)  # frozen: flat
    # λ_c = √(2 ln 2) in the book's notation is Derrida's T_c under λ = J/(√2 T)
    assert rem.LAMBDA_C == pytest.approx(math.sqrt(2 * LN2), rel=1e-15)
    assert J / (math.sqrt(2) * T_c) == pytest.approx(rem.LAMBDA_C, rel=1e-14)
    assert rem.condensation_lambda(Gaussian(), LN2) == pytest.approx(rem.LAMBDA_C, rel=1e-14)


def test_phi_of_gaussian_overlaps_at_ln2_is_derridas_free_energy():
    # -E/T = λNu with E ~ N(0, NJ²/2) and u ~ N(0, 1/N): λ = J/(√2 T); then φ = -f/T
    J = 1.0
    T = np.linspace(0.2, 3.0, 57)
    lam = J / (math.sqrt(2) * T)
    np.testing.assert_allclose(rem.phi(Gaussian(), LN2, lam), -rem.free_energy(T, J) / T, rtol=1e-13)


def test_entropy_is_the_legendre_transform_of_the_free_energy():
    J = 1.3
    eps0 = J * math.sqrt(LN2)
    assert rem.entropy(0.0, J) == pytest.approx(LN2)
    np.testing.assert_allclose(rem.entropy([-eps0, eps0], J), 0, atol=1e-15)
    assert rem.entropy(1.01 * eps0, J) == -math.inf
    assert rem.entropy(1.01 * eps0, J, annealed=True) < 0
    # f(T) = min over ε of [ε - T s(ε)] (on a grid of step 1e-5 J: error O(step²))
    eps = np.linspace(-eps0, eps0, 200_001)
    for T in (0.3, 0.6, rem.critical_temperature(J), 1.0, 2.5):
        f = np.min(eps - T * rem.entropy(eps, J))
        assert f == pytest.approx(rem.free_energy(T, J), abs=1e-9)


def test_enumeration_matches_the_annealed_free_energy_at_high_temperature():
    # At T = 2 T_c (β = β_c/2 < β_c/√2) Z concentrates on its mean: Var Z/(E Z)² =
    # 2^-N (e^{Nβ²J²/2} - 1) ≈ 2^{-N/2}, so E ln Z = ln E Z - O(2^{-N/2}) and the
    # enumerated f_N is the theory up to sampling error: allowed 4 standard errors
    # (plus 1e-3 for the exponentially small bias at N = 8).
    rng = np.random.default_rng(1)
    T = 2 * rem.critical_temperature()
    for N, samples in [(8, 200), (12, 50), (16, 10)]:
        E = rng.standard_normal((samples, 2**N)) * math.sqrt(N / 2)
        f = rem.free_energy_enumerated(E, T)
        se = f.std(ddof=1) / math.sqrt(samples)
        assert abs(f.mean() - rem.free_energy(T)) < 4 * se + 1e-3, (N, f.mean(), se)


def test_enumerated_free_energy_converges_to_theory_in_the_frozen_phase():
    # Below T_c the sum is dominated by the lowest levels: f_N - f = (E_min/N + J√ln2)
    # minus a thermal term (T/N) E ln Σ_k e^{-(E_k - E_min)/T} >= 0. Extreme-value
    # statistics of M = 2^N Gaussians of variance N/2 (J = 1) give the first part as
    #     ev(N) = T_c [ln(4πN ln 2)/2 - γ] / N   (0.116 at N = 8, 0.060 at N = 20),
    # up to relative corrections O(ln ln M / ln M); at T = T_c/2 the thermal term is
    # ≈ (T/N)·0.5 (about 10 % of ev). So the gap decays like ln N / N, and it must
    # track ev(N) within 25 % (those corrections) plus 3 standard errors of the mean
    # (the samples fluctuate by O(1/N), like the gap itself). At T = T_c it is smaller
    # than ev(N) and positive.
    rng = np.random.default_rng(2)
    T_c = rem.critical_temperature()
    T = np.array([0.5 * T_c, T_c])
    for N, samples in [(8, 200), (14, 60), (20, 16)]:
        E = rng.standard_normal((samples, 2**N)) * math.sqrt(N / 2)
        f = rem.free_energy_enumerated(E, T)  # (samples, 2)
        gap = f.mean(axis=0) - rem.free_energy(T)
        se = f.std(axis=0, ddof=1) / math.sqrt(samples)
        ev = T_c * (math.log(4 * math.pi * N * LN2) / 2 - np.euler_gamma) / N
        assert abs(gap[0] - ev) < 0.25 * ev + 3 * se[0], (N, gap, se, ev)
        assert -3 * se[1] < gap[1] < ev + 3 * se[1], (N, gap, se, ev)


def test_enumeration_shapes_and_a_hand_example():
    # 2 levels (N = 1): f = -T ln(e^{-E1/T} + e^{-E2/T})
    E = np.array([[0.0, 1.0], [2.0, -1.0]])
    f = rem.free_energy_enumerated(E, [0.5, 2.0])
    assert f.shape == (2, 2)
    assert f[0, 1] == pytest.approx(-2.0 * math.log(1 + math.exp(-0.5)))
    assert f[1, 0] == pytest.approx(-0.5 * math.log(math.exp(-4) + math.exp(2)))
    assert np.ndim(rem.free_energy_enumerated(E[0], 1.0)) == 0


# ------------------------------------------------------------------- the generalised REM

def _legendre(ens, u):
    """I(u) = sup_λ [λu - ψ(λ)] by numerical maximisation, from ψ alone."""
    res = minimize_scalar(lambda lam: float(ens.psi(lam)) - lam * u, bounds=(0, 200), method="bounded",
                          options={"xatol": 1e-12})
    return -res.fun


def _phi_variational(ens, alpha, lam):
    """φ = max over u with I(u) <= α of [α - I(u) + λu], with I from :func:`_legendre`."""
    u_lo = float(ens.psi_prime(0.0))
    u_hi = u_lo + 0.5
    while _legendre(ens, u_hi) < alpha and u_hi < ens.u_sup:
        u_hi = min(u_lo + 2 * (u_hi - u_lo), ens.u_sup)
    # the constraint's edge u_max by bisection on the numerical I
    lo, hi = u_lo, u_hi
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _legendre(ens, mid) < alpha else (lo, mid)
    res = minimize_scalar(lambda u: _legendre(ens, u) - lam * u, bounds=(u_lo, lo), method="bounded",
                          options={"xatol": 1e-10})
    return alpha - res.fun


@pytest.mark.parametrize("ens", ENSEMBLES[:3] + [HiddenManifold(2.0)], ids=IDS)
def test_phi_closed_forms_match_the_variational_formula(ens):
    # The closed-form branches (ψ, u_max) against a maximisation in which I is the
    # numerical Legendre transform of ψ. Both optimisations are accurate to ~1e-9
    # (bounded Brent with tolerance 1e-10 on a smooth function, flat at the optimum).
    for alpha in (0.05, 0.3, 0.6):
        for lam in (0.2, 0.8, 1.5, 4.0):
            assert rem.phi(ens, alpha, lam) == pytest.approx(_phi_variational(ens, alpha, lam), abs=1e-7)


@pytest.mark.parametrize("ens", ENSEMBLES, ids=IDS)
def test_condensation_line_and_the_two_branches(ens):
    alpha = np.array([0.0, 0.01, 0.1, 0.3, 0.6])
    lam_c = rem.condensation_lambda(ens, alpha)
    finite = np.isfinite(lam_c)
    # I(ψ'(λ_c)) = α, I by the numerical Legendre transform
    for a, l in zip(alpha[finite], lam_c[finite]):
        assert _legendre(ens, float(ens.psi_prime(l))) == pytest.approx(a, abs=1e-9)
    # the branches meet at λ_c: φ is continuous, liquid on the left, condensed on the right
    for a, l in zip(alpha[finite & (alpha > 0)], lam_c[finite & (alpha > 0)]):
        below, above = rem.phi(ens, a, l * (1 - 1e-9)), rem.phi(ens, a, l * (1 + 1e-9))
        assert above == pytest.approx(below, rel=1e-7)
        assert rem.is_liquid(ens, a, l * (1 - 1e-6)) and not rem.is_liquid(ens, a, l * (1 + 1e-6))
    # α + ψ(λ) >= λ u_max(α) everywhere: φ is the smaller one only when condensed
    lam = np.linspace(0, 6, 61)
    p = rem.phi(ens, alpha[:, None], lam[None, :])
    liquid_value = alpha[:, None] + ens.psi(lam)[None, :]
    assert np.all(p <= liquid_value + 1e-12)


def test_condensation_line_closed_forms():
    alpha = np.linspace(0, 2, 21)
    np.testing.assert_allclose(rem.condensation_lambda(Gaussian(), alpha), np.sqrt(2 * alpha), rtol=1e-14)
    v = 1 + 1 / 0.5
    np.testing.assert_allclose(rem.condensation_lambda(HiddenManifold(0.5), alpha), np.sqrt(2 * alpha / v),
                               rtol=1e-14)
    # binary: for α >= ln 2 there are more patterns than states; every state is repeated
    # and the sum never condenses
    lam_c = rem.condensation_lambda(Binary(), [0.6, LN2, 1.0])
    assert np.isfinite(lam_c[0]) and np.all(np.isinf(lam_c[1:]))
    assert rem.phi(Binary(), 1.0, 50.0) == pytest.approx(1.0 + 50 - LN2)
    # spherical: u_max = √(1 - e^{-2α}) < 1 always, λ_c = u/(1 - u²) = sinh(2α)... finite
    u = np.sqrt(-np.expm1(-2 * alpha))
    np.testing.assert_allclose(rem.condensation_lambda(Spherical(), alpha), u / (1 - u * u), rtol=1e-12)


@pytest.mark.parametrize("ens", ENSEMBLES, ids=IDS)
def test_phi_is_convex_and_increasing(ens):
    # a limit of log-partition functions: convex in λ, and non-decreasing in both α and λ
    lam = np.linspace(0, 5, 401)
    alpha = np.array([0.02, 0.2, 0.5, 0.9])
    p = rem.phi(ens, alpha[:, None], lam[None, :])
    assert np.all(np.diff(p, axis=1) >= -1e-12)
    assert np.all(np.diff(p, axis=0) >= -1e-12)
    assert np.all(np.diff(p, 2, axis=1) >= -1e-10)


def test_phi_broadcasts_and_scalars_stay_scalars():
    p = rem.phi(Spherical(), np.linspace(0, 1, 5)[:, None], np.linspace(0, 3, 7))
    assert p.shape == (5, 7)
    assert p[2, 3] == rem.phi(Spherical(), 0.5, 1.5)
    assert np.ndim(rem.phi(Gaussian(), 0.2, 1.0)) == 0
    assert rem.phi(Gaussian(), 0.0, 2.0) == 0  # α = 0: u_max = 0


@pytest.mark.parametrize("call, exc, match", [
    (lambda: rem.phi(Gaussian(), -0.1, 1.0), ValueError, r"^alpha must be finite and >= 0"),
    (lambda: rem.phi(Gaussian(), 0.1, -1.0), ValueError, r"^lam must be finite and >= 0"),
    (lambda: rem.phi(Gaussian(), [0.1, 0.2], [1.0, 2.0, 3.0]), ValueError, r"^alpha and lam must broadcast"),
    (lambda: rem.phi("gaussian", 0.1, 1.0), TypeError, r"^ensemble must be a pattern ensemble"),
    (lambda: rem.phi(HiddenManifold(0.5, "relu"), 0.1, np.nan), ValueError, r"^lam must be finite"),
    (lambda: rem.condensation_lambda(Spherical(), np.nan), ValueError, r"^alpha must be finite"),
    (lambda: rem.free_energy(0.0), ValueError, r"^T must be finite and > 0"),
    (lambda: rem.critical_temperature(-1), ValueError, r"^J must be finite and > 0"),
    (lambda: rem.entropy("x"), TypeError, r"^eps must be a real number"),
    (lambda: rem.free_energy_enumerated(np.zeros(6), 1.0), ValueError, r"^E must have 2\*\*N levels"),
    (lambda: rem.free_energy_enumerated([0.0, np.inf], 1.0), ValueError, r"^E contains NaN or inf"),
    (lambda: rem.free_energy_enumerated(np.zeros(4), -1.0), ValueError, r"^T must be finite and > 0"),
], ids=["alpha<0", "lam<0", "shapes", "not-an-ensemble", "relu", "alpha-nan", "T=0", "J<0", "eps-str",
        "E-not-2^N", "E-inf", "T<0"])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
