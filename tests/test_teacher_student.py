"""Tests of damlab._teacher_student and the nonlinear hidden manifold's overlap statistics:
the RS teacher–student free entropy ψ(λ) against the linear closed form, its small-λ
expansion (Hermite coefficients computed here independently), its d → ∞ limit, the
numerical Legendre routes, and bad input."""

import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy import integrate
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from damlab import Binary, HiddenManifold
from damlab import _teacher_student as ts
from damlab.ensembles import Ensemble
from damlab.theory import capacity as cap

NONLINEAR = ["relu", "tanh", "sign"]
SIGMA = {"relu": lambda h: np.maximum(h, 0.0), "tanh": np.tanh, "sign": np.sign}


def _gauss(f):
    """E f(h), h ~ N(0, 1), by adaptive quadrature split at 0 (where relu and sign are not smooth)."""
    g = lambda h: f(h) * math.exp(-h * h / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    return integrate.quad(g, -12, 0, epsabs=1e-14)[0] + integrate.quad(g, 0, 12, epsabs=1e-14)[0]


def _hermite(act, k):
    """μ_k = E[σ(h) He_k(h)]/√(k!), the coefficients of σ in the orthonormal Hermite basis."""
    He = [lambda h: 1.0, lambda h: h, lambda h: h * h - 1][k]
    return _gauss(lambda h: float(SIGMA[act](h)) * He(h)) / math.sqrt(math.factorial(k))


def test_rs_formula_with_linear_sigma_is_the_closed_form():
    # The solver run on σ = id (the package keeps the closed form for linear): the RS
    # saddle must give (1 + 1/d)λ²/2 and ψ′ = (1 + 1/d)λ. The linear channel is exact
    # and the root solver stops at 1e-13: agreement to 1e-11 relative.
    lam = np.array([0.3, 1.0, 2.5])
    for d in (0.25, 1.0, 4.0):
        p, dp = ts.psi("linear", d, lam)
        np.testing.assert_allclose(p, (1 + 1 / d) * lam**2 / 2, rtol=1e-11)
        np.testing.assert_allclose(dp, (1 + 1 / d) * lam, rtol=1e-11)


@pytest.mark.parametrize("act", NONLINEAR)
@pytest.mark.parametrize("d", [0.5, 2.0])
def test_small_lambda_expansion(act, d):
    # ψ(λ) = ψ′(0)λ + N·Var λ²/2 + O(λ³) with ψ′(0) = μ₀² and
    # N·Var = q(q − μ₀²) + (μ₁⁴ + μ₀²μ₂²)/d (THEORY.md §4), μ_k computed here by adaptive
    # quadrature. ψ″(0) by central differences at h = 0.01 and 0.005, Richardson-extrapolated
    # (truncation O(h⁴) ~ 1e-8 relative; ψ accurate to ~1e-12, i.e. 4e-8 after dividing by
    # h²), so rtol 1e-6. (The unnormalised convention μ₂ = E σ He₂ would be off by
    # μ₀²μ₂²/(2d), 1-4 % for relu: caught.)
    e = HiddenManifold(d, act)
    mu0, mu1, mu2 = (_hermite(act, k) for k in range(3))
    q = _gauss(lambda h: float(SIGMA[act](h)) ** 2)
    assert e.q_self == pytest.approx(q, rel=1e-10)
    assert e.psi_prime(0.0) == pytest.approx(mu0**2, abs=1e-14)
    if act == "relu":
        assert mu0**2 == pytest.approx(1 / (2 * math.pi), rel=1e-10)
    c = [(e.psi(h) - 2 * e.psi(0.0) + e.psi(-h)) / h**2 for h in (0.01, 0.005)]
    curvature = (4 * c[1] - c[0]) / 3
    assert curvature == pytest.approx(q * (q - mu0**2) + (mu1**4 + mu0**2 * mu2**2) / d, rel=1e-6)
    # ψ′ is the derivative of ψ: central differences (error ~h²ψ‴ ~ 1e-9)
    lam, dl = np.array([0.3, 1.5]), 1e-4
    np.testing.assert_allclose(e.psi_prime(lam), (e.psi(lam + dl) - e.psi(lam - dl)) / (2 * dl), rtol=1e-7)


@pytest.mark.parametrize("act", NONLINEAR)
def test_large_d_gives_independent_entries(act):
    # d → ∞: F's columns outnumber its rows, the fields h_i decorrelate and the patterns'
    # entries become i.i.d. σ(h); then (m, r) -> 0, Δ -> 1 and ψ -> ψ_∞(λ) =
    # E_{h0} ln E_h e^{λσ(h0)σ(h)} (sign: ln cosh λ, the binary ensemble). The RS
    # corrections are O(1/d): the gap must be below 3/d at d = 100 and shrink ~tenfold by d = 1000.
    lam = 1.5
    if act == "sign":
        limit = float(Binary().psi(lam))
    elif act == "relu":  # E_h e^{λy relu(h)} = 1/2 + e^{λ²y²/2} Φ(λy), and y = 0 for h0 < 0
        limit = _gauss(lambda h: math.log(0.5 + math.exp((lam * h) ** 2 / 2) * ndtr(lam * h)) if h > 0 else 0.0)
    else:  # tanh: smooth, Gauss–Hermite on both integrals
        x, w = hermegauss(120)
        s = np.tanh(x)
        limit = float(w @ np.log(np.exp(lam * np.outer(s, s)) @ w / w.sum()) / w.sum())
    gaps = [abs(float(HiddenManifold(d, act).psi(lam)) - limit) for d in (100.0, 1000.0)]
    assert gaps[0] < 3 / 100 and gaps[1] < gaps[0] / 5, gaps


def test_sign_at_large_d_is_binary():
    # sign patterns with d -> ∞ are i.i.d. ±1: α₁ -> λ − ln cosh λ, and I(1) -> ln 2 (the
    # perceptron's volume, λ = ∞, tends to 2^{-N}); the gaps are O(1/d): below 1/d at d = 1000.
    e = HiddenManifold(1000.0, "sign")
    lam = np.array([0.5, 2.0])
    np.testing.assert_allclose(cap.alpha_1(e, lam), cap.alpha_1(Binary(), lam), atol=1e-3)
    assert abs(float(e.rate(1.0)) - math.log(2)) < 1e-3
    # and the λ → ∞ saddle is the Bayes-optimal (Nishimori) one: Q = 1, q₀ = m, i.e. Δ = 1 − m, r = m − m²
    s = ts.saddle("sign", 1.0, math.inf)
    assert s.Delta == pytest.approx(1 - s.m, abs=1e-9) and s.r == pytest.approx(s.m - s.m**2, abs=1e-9)


def _legendre(e, u):
    """I(u) = sup_λ [λu − ψ(λ)] by bounded Brent on ψ alone (no ψ′, no inverse)."""
    res = minimize_scalar(lambda lam: float(e.psi(lam)) - lam * u, bounds=(-3, 12), method="bounded",
                          options={"xatol": 1e-10})
    return -res.fun


@pytest.mark.parametrize("act, u", [("relu", [0.1, 0.4, 1.0]), ("tanh", [0.05, 0.3, 0.45]),
                                    ("sign", [0.2, 0.7, 0.99])])
def test_rate_agrees_with_the_numerical_legendre_routes(act, u):
    # rate (λ from ψ′(λ) = u by Brent) against sup_λ by Brent on ψ alone (maximum flat: the
    # value is good to ~ψ″ xatol² ~ 1e-20, plus ψ's own 1e-10), and rate_inverse (λ from
    # λψ′ − ψ = α) against the base class's root finding on rate: both to 1e-8.
    e = HiddenManifold(1.0, act)
    u = np.array(u)
    np.testing.assert_allclose(e.rate(u), [_legendre(e, x) for x in u], rtol=1e-8, atol=1e-12)
    alpha = np.array([0.0, 0.05, 0.2])
    np.testing.assert_allclose(e.rate_inverse(alpha), Ensemble.rate_inverse_numeric(e, alpha), rtol=1e-8)
    np.testing.assert_allclose(e.rate(e.rate_inverse(alpha)), alpha, atol=1e-10)
    np.testing.assert_allclose(e.psi_prime_inverse(e.psi_prime([0.2, 1.0])), [0.2, 1.0], rtol=1e-9)


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_alpha_1_saturates_at_I_of_q(act):
    # Beyond λ* (ψ′(λ*) = q) the threshold is flat at I(q) = λ*q − ψ(λ*), continuous at λ*;
    # below, λq − ψ(λ). Also the second characterisation α₁ = min_{u <= q} [I(u) + λ(q − u)]
    # (Brent over u on the numerical Legendre transform, to ~1e-8).
    e = HiddenManifold(0.5, act)
    q = e.q_self
    lam_star, top = cap.triple_point(e)
    assert float(e.psi_prime(lam_star)) == pytest.approx(q, abs=1e-10)
    assert top == pytest.approx(lam_star * q - float(e.psi(lam_star)), abs=1e-10)
    assert cap.alpha_1(e, 1.01 * lam_star) == top and cap.alpha_1(e, 3 * lam_star) == top
    assert cap.alpha_1(e, 0.99 * lam_star) == pytest.approx(top, abs=1e-4)
    lam = 0.6 * lam_star
    res = minimize_scalar(lambda u: _legendre(e, u) + lam * (q - u), bounds=(float(e.psi_prime(0.0)), q),
                          method="bounded", options={"xatol": 1e-9})
    assert cap.alpha_1(e, lam) == pytest.approx(res.fun, abs=1e-8)
    assert cap.lambda_1(e, cap.alpha_1(e, lam)) == pytest.approx(lam, rel=1e-8)


def test_capacity_grows_with_d_and_saturates():
    # the two facts THEORY.md §4 quotes from the paper: at every λ, α₁ increases with the
    # latent dimension d (all activations); and it saturates — relu beyond λ* < 1, tanh at
    # λ* ≈ 1.7-4.4, sign only as λ -> ∞ (q = 1 = sup u) but within 1e-3 of I(1) by λ = 4.
    lam = np.array([0.5, 1.0, 2.0, 4.0])
    for act in NONLINEAR:
        a = np.array([cap.alpha_1(HiddenManifold(d, act), lam) for d in (0.25, 0.5, 1.0, 2.0, 4.0)])
        assert np.all(np.diff(a, axis=0) > 0), act
    assert cap.triple_point(HiddenManifold(1.0, "relu"))[0] < 1
    assert 1.5 < cap.triple_point(HiddenManifold(0.25, "tanh"))[0] < cap.triple_point(HiddenManifold(4.0, "tanh"))[0]
    assert cap.triple_point(HiddenManifold(1.0, "sign")) == (math.inf, pytest.approx(float(HiddenManifold(1.0, "sign").rate(1.0))))
    assert cap.alpha_1(HiddenManifold(1.0, "sign"), 4.0) == pytest.approx(cap.triple_point(HiddenManifold(1.0, "sign"))[1], abs=1e-3)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: HiddenManifold(0.5, "softplus"), ValueError, "activation"),
    (lambda: HiddenManifold(0.0, "tanh"), ValueError, "^d must be finite and > 0"),
    (lambda: HiddenManifold(-1.0, "relu"), ValueError, "^d must be finite and > 0"),
    (lambda: HiddenManifold(1.0, "tanh").psi(np.nan), ValueError, "^lam must be finite"),
    (lambda: HiddenManifold(1.0, "sign").psi_prime_inverse(1.0), ValueError, "^u must lie in"),
    (lambda: HiddenManifold(1.0, "relu").psi_prime_inverse(-0.1), ValueError, "^u must be > 0"),
    (lambda: HiddenManifold(1.0, "relu").rate_inverse(-0.1), ValueError, "^alpha must be finite and >= 0"),
    (lambda: ts.saddle("tanh", 1.0, math.inf), ValueError, "activation='sign'"),
], ids=["activation", "d=0", "d<0", "lam-nan", "u-sign", "u-relu", "alpha<0", "inf-tanh"])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_rates_outside_the_support():
    assert HiddenManifold(1.0, "relu").rate(-0.1) == math.inf
    assert HiddenManifold(1.0, "sign").rate(1.2) == math.inf
    assert HiddenManifold(1.0, "tanh").rate(HiddenManifold(1.0, "tanh").u_sup) == math.inf
