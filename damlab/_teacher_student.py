r"""Overlap statistics of hidden-manifold patterns: a teacher–student free entropy (THEORY.md §4).

Patterns :math:`\xi = \sigma(Fz/\sqrt D)` with a fixed Gaussian :math:`F \in \mathbb R^{N\times D}`,
:math:`z \sim \mathcal N(0, I_D)` and d = D/N. At the retrieval point x = ξ¹ the overlap
:math:`u = \xi\cdot\xi^1/N` of another pattern has the scaled cumulant generating function

.. math::

   \psi(\lambda) = \lim_{N\to\infty} \frac1N \ln \int \mathcal Dz \prod_{i=1}^N
   e^{\lambda\,\sigma(h^0_i)\,\sigma(h_i)},
   \qquad h^0_i = \frac{F_i\cdot z^1}{\sqrt D},\quad h_i = \frac{F_i\cdot z}{\sqrt D},

quenched over (F, z¹): the free entropy of a "student" z fitting N "samples" (F_i, σ(h⁰_i))
of a "teacher" z¹ in D = dN dimensions with the unnormalised channel
:math:`e^{\lambda y\sigma(h)}`, y = σ(h⁰). Because F is Gaussian the replica-symmetric (RS)
formula applies. With the order parameters m = z·z¹/D (teacher overlap),
Δ = Q − q₀ (student variance) and r = q₀ − m²,

.. math::

   \Phi = d\Big[\tfrac12 + \tfrac12\ln\Delta + \frac{r}{2\Delta} - \frac{\Delta + r + m^2}2\Big]
   + \mathbb E_{h_0,\xi}\ln Z_{\rm out}\big(\sigma(h_0),\ \omega = m h_0 + \sqrt r\,\xi,\ \Delta\big),

   Z_{\rm out}(y, \omega, \Delta) = \mathbb E_\eta\, e^{\lambda y \sigma(\omega + \sqrt\Delta\,\eta)},
   \qquad g = \partial_\omega \ln Z_{\rm out},

with h₀, ξ, η independent standard Gaussians. Its stationary point,

.. math::

   \frac1\Delta = 1 - \frac{\mathbb E[g']}{d},\qquad r = \frac{\Delta^2\,\mathbb E[g^2]}{d},
   \qquad m = \frac{\mathbb E[h_0\, g]}{d},

gives ψ(λ) = Φ, and (envelope theorem) ψ′(λ) = ∂_λΦ =
:math:`\mathbb E_{h_0,\xi}\langle\sigma(h_0)\sigma(h)\rangle`, the average under the tilted
channel measure, :math:`h = \omega + \sqrt\Delta\eta`. Linear σ gives back (1 + 1/d)λ²/2.
For sign σ the limit λ → ∞ is the noiseless teacher–student perceptron, and
:math:`I(1) = \lim_{\lambda\to\infty}[\lambda - \psi(\lambda)]` is minus its free entropy
(the log-volume of students that reproduce every sign of the teacher).

Numerics. Z_out, g, g′ in closed form for linear, relu and sign σ, and by Gauss–Hermite
quadrature over η for tanh. The outer expectation: h₀ by Gauss–Legendre on [0, 10], so
that the kink or jump of σ(h₀) at 0 is an end point (the half h₀ < 0 is the mirror image
for odd σ, and has Z_out = 1 for relu); ξ by Gauss–Hermite, except for relu, whose ln Z_out has a near-kink of width
1/(λy) in ω at ω = −λyΔ/2 (the student's field switching sign): there the ξ nodes are
Gauss–Legendre in u with ξ = ξ* + s sinh u, which crowds them into the kink. Node counts
were chosen by doubling them: ψ and ψ′ are accurate to ~1e-10 for |λ| <= 8 (relu: ~1e-8
at λ = 16). The stationary point is found by Powell's hybrid method (scipy ``root``) on
(m, ln Δ, √r), warm-started from the nearest λ already solved (and reached from it in
steps of at most 1 in λ).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss
from scipy import optimize
from scipy.special import log_ndtr

__all__ = ["ACTIVATIONS", "Saddle", "saddle", "psi", "q_self", "u_sup", "mean"]

ACTIVATIONS = ("linear", "relu", "tanh", "sign")
_ODD = ("linear", "tanh", "sign")  # ψ(-λ) = ψ(λ): z -> -z flips every other pattern
_L = 10.0  # Gaussian integrals cut at ±10: the weight beyond is e^{-50}
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _gauss_hermite(n):
    """Nodes and weights of E f(η), η ~ N(0, 1)."""
    x, w = hermegauss(n)
    return x, w / w.sum()


def _half_line(n):
    """Nodes in [0, L] and weights of ∫_0^L φ(h) f(h) dh (Gauss–Legendre)."""
    t, w = leggauss(n)
    h = (t + 1) * _L / 2
    return h, w * _L / 2 * np.exp(-h * h / 2 - _LOG_SQRT_2PI)


_H_HALF = _half_line(60)   # relu: h0 > 0 only
_H_ODD = _half_line(40)    # sign, tanh, linear: h0 > 0 stands for both halves
_XI = _gauss_hermite(40)
_ETA = _gauss_hermite(80)  # tanh's inner integral
_U = leggauss(160)         # relu: ξ in the sinh variable


def q_self(activation) -> float:
    """The signal q = E σ(h)², h ~ N(0, 1): linear 1, relu 1/2, tanh ≈ 0.394, sign 1."""
    if activation == "tanh":
        x, w = _gauss_hermite(200)
        return float(w @ np.tanh(x) ** 2)
    return {"linear": 1.0, "relu": 0.5, "sign": 1.0}[activation]


def mean(activation) -> float:
    """μ₀ = E σ(h): relu 1/√(2π), 0 for the odd activations."""
    return 1 / math.sqrt(2 * math.pi) if activation == "relu" else 0.0


def u_sup(activation) -> float:
    r"""Supremum of the overlap u = ξ·ξ¹/N as N → ∞: reached by z = c z¹, c → ∞ (tanh:
    :math:`\mathbb E|\tanh h|`), exactly at c = 1 for sign (1), unbounded for linear and relu."""
    if activation == "sign":
        return 1.0
    if activation == "tanh":
        x, w = _gauss_hermite(200)
        return float(w @ np.abs(np.tanh(x)))
    return math.inf


def _sigma(activation, h):
    return {"linear": lambda: h, "relu": lambda: np.maximum(h, 0.0), "tanh": lambda: np.tanh(h),
            "sign": lambda: np.where(h >= 0, 1.0, -1.0)}[activation]()


def _channel(activation, lam, y, omega, Delta):
    r"""ln Z_out, g, g′ and ∂_λ ln Z_out = y⟨σ(h)⟩ at arrays y, ω (λ >= 0 for sign; λ = inf
    allowed for sign, where ln Z_out - λ is returned)."""
    sD = math.sqrt(Delta)
    if activation == "linear":
        return lam * y * omega + (lam * y) ** 2 * Delta / 2, lam * y, 0 * omega, y * omega + lam * y * y * Delta
    if activation == "relu":
        # Z = Φ(-a) + e^A Φ(b): h < 0 contributes 1, h > 0 the tilted Gaussian (A, b below)
        a = omega / sD
        b, A = a + lam * y * sD, lam * y * omega + (lam * y) ** 2 * Delta / 2
        pos = A + log_ndtr(b)
        lnZ = np.logaddexp(log_ndtr(-a), pos)
        p = np.exp(pos - lnZ)  # tilted Pr(h > 0)
        kink = np.exp(-a * a / 2 - _LOG_SQRT_2PI - lnZ) / sD  # φ(a)/(√Δ Z)
        g = lam * y * p
        return lnZ, g, lam * y * (lam * y * p * (1 - p) + kink), y * (p * (omega + lam * y * Delta) + Delta * kink)
    if activation == "sign":
        # with b = y a: Z e^{-λ} = Φ(b) + e^{-2λ} Φ(-b), finite also at λ = inf
        b = y * omega / sD
        damp = math.exp(-2 * lam)
        lnZ = np.logaddexp(log_ndtr(b), -2 * lam + log_ndtr(-b)) if damp > 0 else log_ndtr(b)
        g = y * (1 - damp) * np.exp(-b * b / 2 - _LOG_SQRT_2PI - lnZ) / sD
        agree = np.exp(log_ndtr(b) - lnZ)  # tilted Pr(sign h = y)
        return (lnZ + lam if damp > 0 else lnZ), g, -omega / Delta * g - g * g, 2 * agree - 1
    # tanh: Gauss–Hermite over η, in log space
    eta, w = _ETA
    h = omega[..., None] + sD * eta
    s = np.tanh(h)
    ln = lam * y[..., None] * s + np.log(w)
    top = ln.max(axis=-1, keepdims=True)
    pi = np.exp(ln - top)
    total = pi.sum(axis=-1, keepdims=True)
    lnZ = (top + np.log(total))[..., 0]
    pi /= total
    g = pi @ eta / sD
    return lnZ, g, pi @ (eta * eta - 1) / Delta - g * g, y * np.sum(pi * s, axis=-1)


def _grid(activation, lam, m, Delta, r):
    """h0, ξ and the weights of E_{h0, ξ} as (n_h0, n_ξ) arrays."""
    if activation == "relu":
        h, wh = _H_HALF
        xi, wx = _relu_xi(lam, m, Delta, r, h)
        return h[:, None] * np.ones(xi.shape[1]), xi, wh[:, None] * wx
    # odd σ: the integrand is even under (h0, ξ) -> (-h0, -ξ) (then y, ω, g -> -y, -ω, -g), so
    # the half h0 > 0 with twice the weight is the whole
    h, wh = _H_ODD
    x, wx = _XI
    return h[:, None] * np.ones(x.size), np.broadcast_to(x, (h.size, x.size)), 2 * wh[:, None] * wx


def _relu_xi(lam, m, Delta, r, h):
    """ξ nodes crowded into ln Z_out's kink at ω = m h + √r ξ = -λhΔ/2, of width 1/(λh)."""
    sr = math.sqrt(r)
    if lam <= 0 or lam * sr < 1e-12:  # no kink (λ < 0: ln Z_out is smooth) or ω independent of ξ
        center, width = np.zeros_like(h), np.ones_like(h)
    else:
        center = np.clip((-lam * h * Delta / 2 - m * h) / sr, -_L, _L)
        width = np.minimum(1.0, 1 / (lam * np.maximum(h, 1e-300) * sr))
    lo, hi = np.arcsinh((-_L - center) / width), np.arcsinh((_L - center) / width)
    t, w = _U
    u = lo[:, None] + (t + 1) * (hi - lo)[:, None] / 2
    xi = center[:, None] + width[:, None] * np.sinh(u)
    wx = w * ((hi - lo) / 2 * width)[:, None] * np.cosh(u) * np.exp(-xi * xi / 2 - _LOG_SQRT_2PI)
    return xi, wx


class Saddle(NamedTuple):
    """The RS stationary point at one λ: order parameters, ψ and ψ′ (sign at λ = inf: ψ − λ)."""
    lam: float
    m: float
    Delta: float
    r: float
    psi: float
    psi_prime: float


def _averages(activation, d, lam, m, Delta, r):
    h0, xi, W = _grid(activation, lam, m, Delta, r)
    y = _sigma(activation, h0)
    lnZ, g, gp, dlam = _channel(activation, lam, y, m * h0 + math.sqrt(r) * xi, Delta)
    return h0, W, lnZ, g, gp, dlam


def _stationary(activation, d, lam, start):
    """Solve the saddle-point equations at λ from ``start`` = (m, Δ, r); None if it fails."""

    def residual(x):
        m, Delta, r = x[0], math.exp(x[1]), x[2] * x[2]
        h0, W, _, g, gp, _ = _averages(activation, d, lam, m, Delta, r)
        # 1 - E g′/d must stay > 0 (Δ > 0); outside, a large residual sends the solver back
        c = min(float(np.sum(W * gp)) / d, 1 - 1e-9)
        return [float(np.sum(W * h0 * g)) / d - m, -math.log1p(-c) - x[1],
                Delta * math.sqrt(float(np.sum(W * g * g)) / d) - abs(x[2])]

    m, Delta, r = start
    sol = optimize.root(residual, [m, math.log(Delta), math.sqrt(r)], method="hybr", options={"xtol": 1e-13})
    if not (sol.success or np.max(np.abs(sol.fun)) < 1e-11) or np.max(np.abs(sol.fun)) > 1e-9:
        return None
    m, Delta, r = float(sol.x[0]), math.exp(sol.x[1]), float(sol.x[2]) ** 2
    h0, W, lnZ, *_, dlam = _averages(activation, d, lam, m, Delta, r)
    Phi = d * (0.5 + 0.5 * math.log(Delta) + r / (2 * Delta) - (Delta + r + m * m) / 2) + float(np.sum(W * lnZ))
    return Saddle(lam, m, Delta, r, Phi, float(np.sum(W * dlam)))


_SOLVED: dict = {}  # (activation, d) -> {λ: Saddle}: cache and warm starts


def saddle(activation, d, lam) -> Saddle:
    r"""The RS stationary point for σ = ``activation``, d = D/N > 0 and real λ (sign: also +inf).

    Odd σ use ψ(−λ) = ψ(λ). Raises RuntimeError if the saddle-point equations cannot be
    solved (not seen for |λ| <= 20)."""
    lam = float(lam)
    if activation in _ODD and lam < 0:
        s = saddle(activation, d, -lam)
        return Saddle(lam, -s.m, s.Delta, s.r, s.psi, -s.psi_prime)
    known = _SOLVED.setdefault((activation, float(d)), {})
    if lam in known:
        return known[lam]
    if not known:
        mu0 = mean(activation)
        known[0.0] = Saddle(0.0, 0.0, 1.0, 0.0, 0.0, mu0 * mu0)  # λ = 0: the student is the prior
        if lam == 0:
            return known[0.0]
    if lam == math.inf:
        if activation != "sign":
            raise ValueError(f"lam = inf is only defined for activation='sign', got {activation!r}")
        base = saddle(activation, d, 20.0)
        out = _stationary(activation, d, lam, (base.m, base.Delta, base.r))
    else:
        finite = [k for k in known if math.isfinite(k)]
        near = known[min(finite, key=lambda k: abs(k - lam))]
        out, step = None, 1.0
        while out is None and step > 1e-3:
            # march from the nearest solved λ in steps <= step, halving the step on failure
            n = max(1, math.ceil(abs(lam - near.lam) / step))
            cur = near
            for k in range(1, n + 1):
                nxt = _stationary(activation, d, near.lam + (lam - near.lam) * k / n, (cur.m, cur.Delta, cur.r))
                if nxt is None:
                    break
                cur = nxt
            else:
                out = cur
            step /= 4
    if out is None:
        raise RuntimeError(f"no RS saddle point found for activation={activation!r}, d={d}, lam={lam}")
    if len(known) > 4096:  # root finders may visit many λ: keep the cache bounded
        known.clear()
        known[0.0] = Saddle(0.0, 0.0, 1.0, 0.0, 0.0, mean(activation) ** 2)
    known[lam] = out._replace(lam=lam)
    return known[lam]


def psi(activation, d, lam):
    """ψ(λ) and ψ′(λ) on an array of λ (solved in order of increasing |λ|, for warm starts).

    Returns
    -------
    (psi, psi_prime) : two float arrays shaped like ``lam``
    """
    lam = np.asarray(lam, dtype=np.float64)
    p, dp = np.empty(lam.shape), np.empty(lam.shape)
    for k in sorted(np.ndindex(lam.shape), key=lambda k: abs(lam[k])):
        s = saddle(activation, d, lam[k])
        p[k], dp[k] = s.psi, s.psi_prime
    return p, dp
