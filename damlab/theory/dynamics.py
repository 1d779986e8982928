r"""Parallel retrieval dynamics of the dense associative memory: the first steps, the Γ = 0 map, and the
effective single-site process of the generating functional analysis.

The model (Mimura, Takeuchi, Sumikawa, Kabashima & Coolen 2025; THEORY.md §5): ±1 states
s and M random ±1 patterns ξ^μ, F(x) = xⁿ, and the parallel update with the self-term
excluded,

.. math::

   s_i(t+1) = \mathrm{sgn}\sum_{\mu=1}^M \xi_i^\mu
   \Big(\frac1N\sum_{j\ne i}\xi_j^\mu s_j(t)\Big)^{n-1},
   \qquad M = \alpha_n N^{n-1},\quad \alpha'_n = (2n-3)!!\,\alpha_n,

with :math:`m(t) = \xi^1\cdot s(t)/N` the overlap with the pattern being retrieved. At
large N the crosstalk of the other patterns in the first step is a Gaussian of variance
α′ (it is :math:`\alpha_n\,\mathbb E\,g^{2(n-1)}`, g a standard Gaussian), whence the
exact first step. Beyond it the state is correlated with the crosstalk: the generating
functional analysis adds a retarded self-interaction Γ (THEORY.md §5). Dropping it gives
the naive map, whose fixed points are the replica-symmetric capacity but whose later
steps are wrong; :func:`second_step` keeps the first Γ term.

:func:`effective_process` solves the full effective single-site process of the generating
functional analysis by sampling single-site paths (a Monte Carlo solution of a deterministic
theory, with a seed); everything else here is a closed form in (m₀, α′, n). The simulation
of the network is :func:`damlab.experiments.dense_overlap_trajectory`. See the book chapter
"How retrieval unfolds in time".
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq
from scipy.special import erf

from .. import _checks
from .dense import _double_factorial_odd, _order

__all__ = ["NaiveCapacity", "first_step", "naive_map", "naive_capacity", "second_step", "hermite_kernel",
           "EffectiveProcess", "effective_process"]

_C0 = 2 / math.sqrt(math.pi)  # erf'(0)


def _m0_alpha(m0, alpha_prime):
    """Checked float arrays m₀ in [-1, 1] and α′ > 0."""
    m0 = _checks.overlap_array("m0", m0)
    return m0, _checks.real_array("alpha_prime", alpha_prime, strict=True)


def _map(m, alpha_prime, n):
    return erf(m ** (n - 1) / np.sqrt(2 * alpha_prime))


def first_step(m0, alpha_prime, n):
    r"""The overlap after one parallel update, exact at large N [D; P-summary].

    From a state at overlap m₀ with ξ¹ and independent of the other patterns, the field
    on site i times :math:`\xi_i^1` is the signal :math:`m_0^{n-1}` plus a Gaussian
    crosstalk of variance α′, so

    .. math::

       m(1) = \mathrm{erf}\!\left(\frac{m_0^{\,n-1}}{\sqrt{2\alpha'_n}}\right).

    For n = 2 this is the first step of the parallel Hopfield model with zero diagonal,
    :math:`m(1) = \mathrm{erf}(m_0/\sqrt{2\alpha})`, α = P/N (Amari 1977); at m₀ = 1 it
    is :math:`1 - 2\,P_{\rm err}` with :math:`P_{\rm err}` of
    :func:`damlab.theory.classical.snr_error`. For odd n the signal is even in m₀: a state
    near −ξ¹ is pulled towards +ξ¹.

    Parameters
    ----------
    m0 : float or array
        Initial overlap, in [-1, 1].
    alpha_prime : float or array
        Rescaled load α′ > 0 (:func:`damlab.theory.dense.rescaled_load`).
    n : int
        Order of F(x) = xⁿ, >= 2.

    Returns
    -------
    float or array
        m(1), shaped like ``m0`` and ``alpha_prime`` broadcast together.
    """
    m0, a = _m0_alpha(m0, alpha_prime)
    return _map(m0, a, _order(n))[()]


def naive_map(m0, alpha_prime, n, steps):
    r"""The trajectory of the Γ = 0 map (the first step, iterated) [P-summary].

    .. math::

       m(t+1) = \mathrm{erf}\!\left(\frac{m(t)^{\,n-1}}{\sqrt{2\alpha'_n}}\right),
       \qquad m(0) = m_0 .

    Exact for t = 1 only: it treats every step as if the state were fresh, independent
    of the crosstalk. Its fixed points are the replica-symmetric retrieval states
    (:func:`naive_capacity`); in simulations the approach to them is much slower near and
    above α′ ≈ 0.25 (THEORY.md §5).

    Parameters
    ----------
    m0, alpha_prime, n
        As in :func:`first_step`.
    steps : int
        Number of updates, >= 1.

    Returns
    -------
    ndarray
        Shape ``broadcast(m0, alpha_prime).shape + (steps + 1,)``: time is the last axis
        (as in ``dense_overlap_trajectory(...).mean``), ``[..., 0]`` is m₀.
    """
    m, a = np.broadcast_arrays(*_m0_alpha(m0, alpha_prime))
    n, steps = _order(n), _checks.positive_int("steps", steps)
    out = [m]
    for _ in range(steps):
        out.append(_map(out[-1], a, n))
    return np.stack(out, axis=-1)


class NaiveCapacity(NamedTuple):
    """The end of the retrieval branch of the Γ = 0 map: the load α′_c and the overlap m_c there."""

    alpha_prime: float
    m: float


@functools.cache
def naive_capacity(n):
    r"""The largest α′ at which the Γ = 0 map has a stable fixed point m > 0 [D; P-summary for n = 3].

    With :math:`y = m^{n-1}/\sqrt{2\alpha'}` a fixed point is :math:`m = \mathrm{erf}(y)`
    at the load

    .. math::

       \alpha'(y) = \frac{\mathrm{erf}(y)^{2(n-1)}}{2y^2},

    and the retrieval branch ends where the map touches the diagonal (a saddle-node), at
    the maximum of α′(y):

    .. math::

       \mathrm{erf}(y) = (n-1)\,\frac{2}{\sqrt\pi}\,y\,e^{-y^2}
       \quad\Longleftrightarrow\quad
       \frac{d}{dm}\,\mathrm{erf}\!\left(\frac{m^{n-1}}{\sqrt{2\alpha'}}\right) = 1 .

    For n >= 3 the root y > 0 is unique (erf(y)/(y e^{-y²}) increases from 2/√π) and
    α′_c ≈ 0.252 for n = 3, the replica-symmetric capacity of Mimura et al. For n = 2
    there is no saddle-node: the branch shrinks continuously to m = 0 at the
    pitchfork α′ = 2/π, the slope of the map at m = 0 (the naive map is not the
    Hopfield model's AGS capacity 0.138, which needs the (1 - C)⁻² of the noise).

    Parameters
    ----------
    n : int
        Order of F(x) = xⁿ, >= 2.

    Returns
    -------
    NaiveCapacity
        ``(alpha_prime, m)``: α′_c, and the overlap of the marginal fixed point.
    """
    n = _order(n)
    if n == 2:
        return NaiveCapacity(2 / math.pi, 0.0)
    # near 0 the difference is ≈ -(2/√π)(n - 2) y < 0, at y = 6 it is erf(6) - tiny > 0
    y = brentq(lambda y: math.erf(y) - (n - 1) * _C0 * y * math.exp(-y * y), 1e-6, 6.0, xtol=1e-15)
    m = math.erf(y)
    return NaiveCapacity(m ** (2 * (n - 1)) / (2 * y * y), m)


def hermite_kernel(C, p, derivative=False):
    r"""The noise kernel :math:`\tilde R(C) = \mathbb E[x^p y^p]` of unit Gaussians with correlation C [D].

    Expanding :math:`x^p` in Hermite polynomials,

    .. math::

       \tilde R(C) = \sum_k A(p,k)\, C^k, \qquad
       A(p,k) = \frac{(p!)^2}{k!\,\big(\tfrac{p-k}{2}\big)!^2\, 2^{p-k}}
       \quad (p - k \text{ even}),

    e.g. p = 2: 1 + 2C². With ``derivative=True``, :math:`\tilde R'(C) = \mathbb
    E[f'(x) f'(y)] = p^2\,\mathbb E[x^{p-1}y^{p-1}]` (f(x) = x^p), the kernel of the
    retarded self-interaction. p = n - 1 for F(x) = xⁿ.

    Parameters
    ----------
    C : float or array
        Correlation, in [-1, 1].
    p : int
        Power, >= 1.
    derivative : bool
        Return R̃′ instead of R̃.
    """
    C = _checks.real_array("C", C, low=-1.0)
    if np.any(C > 1):
        raise ValueError(f"C must be a correlation in [-1, 1], got {C[C > 1].flat[0]}")
    p = _checks.positive_int("p", p)
    q, factor = (p - 1, p * p) if derivative else (p, 1)
    A = [math.factorial(q) ** 2 / (math.factorial(k) * math.factorial((q - k) // 2) ** 2 * 2 ** (q - k))
         for k in range(q % 2, q + 1, 2)]
    return (factor * sum(a * C ** k for a, k in zip(A, range(q % 2, q + 1, 2))))[()]


def second_step(m0, alpha_prime, n):
    r"""The overlap after two parallel updates, with the first retarded term [D].

    The effective single-site process of THEORY.md §5 gives, with m₁ = :func:`first_step`,

    .. math::

       m(2) = \sum_\pm \frac{1 \pm m_0}{2}\;
       \mathrm{erf}\!\left(\frac{m_1^{\,n-1} \pm \Gamma_{10}}{\sqrt{2\alpha'}}\right),
       \qquad
       \Gamma_{10} = \alpha_n\,\tilde R'(m_0 m_1)\,
       \frac{2\,e^{-m_0^{2(n-1)}/(2\alpha')}}{\sqrt{2\pi\alpha'}},

    where :math:`\alpha_n = \alpha'/(2n-3)!!`, R̃′ is :func:`hermite_kernel` with
    ``derivative=True`` (for n = 3, :math:`\Gamma_{10} = \tfrac43\alpha' m_0 m_1 G_{10}`), and
    the last factor is the response :math:`G_{10} = \partial m(1)/\partial\theta(0)` of
    the first step to a field θ. The sign ± is that of the spin's initial alignment with
    ξ¹: a spin keeps a memory of where it started. Γ₁₀ = 0 gives back the naive map.

    Only for n >= 3: for n = 2 (the Hopfield model) the retarded term is resummed,
    (1 - G)⁻¹, and this form does not apply.

    Parameters
    ----------
    m0, alpha_prime
        As in :func:`first_step`.
    n : int
        Order of F(x) = xⁿ, >= 3.
    """
    m0, a = _m0_alpha(m0, alpha_prime)
    n = _order(n)
    if n < 3:
        raise ValueError(f"n must be >= 3 for second_step (n = 2 needs the resummed Hopfield theory), got {n}")
    s0 = m0 ** (n - 1)
    m1 = _map(m0, a, n)
    G10 = 2 * np.exp(-s0 * s0 / (2 * a)) / np.sqrt(2 * np.pi * a)
    gamma = a / _double_factorial_odd(n) * hermite_kernel(m0 * m1, n - 1, derivative=True) * G10
    s1, w = m1 ** (n - 1), np.sqrt(2 * a)
    return ((1 + m0) / 2 * erf((s1 + gamma) / w) + (1 - m0) / 2 * erf((s1 - gamma) / w))[()]


class EffectiveProcess(NamedTuple):
    """The order parameters of the generating-functional theory over t = 0, ..., steps.

    ``m[t]`` the overlap, ``C[t, s]`` the correlation ⟨σ(t)σ(s)⟩, ``G[t, s]`` the response
    ∂⟨σ(t)⟩/∂θ(s) (zero unless t - s is odd and positive), ``Gamma[t, s]`` the retarded
    kernel acting on σ(s) in the field that sets σ(t + 1), ``noise[t]`` the variance of the
    crosstalk (the noise plus the retarded term) in that field, and ``m_se[t]`` the Monte
    Carlo standard error of ``m[t]`` (from independent replicas of the solution).
    """

    m: np.ndarray
    m_se: np.ndarray
    C: np.ndarray
    G: np.ndarray
    Gamma: np.ndarray
    noise: np.ndarray


_Z_CUT = 7.0  # paths whose field is > 7 noise s.d. from 0 respond with weight φ(7) ≈ 1e-11


def _mean_sign(mu, sd):
    """E sgn(mu + sd·z) for a standard Gaussian z (sgn(mu) when the noise is frozen, sd = 0)."""
    return erf(mu / (math.sqrt(2) * sd)) if sd > 0 else np.sign(mu)


def effective_process(m0, alpha_prime, n=3, steps=30, *, paths=100_000, replicas=4, seed=None):
    r"""Solve the effective single-site process of the generating-functional analysis [D].

    At large N the parallel dynamics of the dense memory, seen from one site in the gauge
    of the retrieved pattern (σ = ξ¹s), is the process (THEORY.md §5)

    .. math::

       \sigma(t+1) = \mathrm{sgn}\Big(m(t)^{n-1} + \sum_{s<t}\Gamma(t,s)\,\sigma(s)
       + v(t) + \theta(t)\Big), \qquad \sigma(0) = \pm1 \text{ w.p. } \tfrac{1\pm m_0}{2},

    with a Gaussian noise and a retarded self-interaction closed in the order parameters
    :math:`m(t) = \langle\sigma(t)\rangle`, :math:`C(t,s) = \langle\sigma(t)\sigma(s)\rangle`
    and :math:`G(t,s) = \partial\langle\sigma(t)\rangle/\partial\theta(s)` (at θ = 0):

    .. math::

       \langle v(t)v(s)\rangle = \alpha_n \tilde R(C(t,s)), \qquad
       \Gamma(t,s) = \alpha_n \tilde R'(C(t,s))\, G(t,s),

    :math:`\alpha_n = \alpha'/(2n-3)!!` and R̃, R̃′ of :func:`hermite_kernel` (n = 3:
    :math:`\tfrac{\alpha'}{3}(1 + 2C^2)` and :math:`\tfrac{4\alpha'}3 C G`). The noise
    variance stays :math:`\alpha_n\tilde R(1) = \alpha'` at every t: unlike the Hopfield
    model (n = 2) no resummed :math:`(1 - G)^{-1}` feeds the state back into its own noise.

    The process is causal, so one forward sweep solves it: ``paths`` sample paths advance
    together, the order parameters at time t are their averages, and they fix the law of
    the next step. The noise is drawn by a Cholesky factor built one row per step. Three
    choices keep the Monte Carlo error small:

    * the last step of every average is taken exactly: given the past, σ(t + 1) = ±1 with
      mean :math:`\mathrm{erf}(\mu/\sqrt2 L_{tt})` (μ the field without the fresh noise,
      :math:`L_{tt}` the fresh noise's s.d.);
    * the response is exact in law, with no finite difference: a field θ(s) moves the
      spin σ(s + 1) only on the paths whose field sits at 0, so
      :math:`G(t,s) = \langle \varphi(z^*)/L_{ss}\,[\sigma_+(t) - \sigma_-(t)]\rangle`,
      where z* is the fresh noise that puts the field at 0 and σ± continue the path with
      σ(s + 1) = ±1 and the same later noise;
    * the initial spins are stratified: exactly round(K(1 + m₀)/2) of the K paths start at +1.

    Parameters
    ----------
    m0 : float
        Initial overlap, in [-1, 1].
    alpha_prime : float
        Rescaled load α′ > 0.
    n : int
        Order of F(x) = xⁿ, >= 3 (n = 2 is the Hopfield model, whose theory differs).
    steps : int
        Number of parallel updates, >= 1.
    paths : int
        Sample paths in all, at least 100 per replica. The error of m(t) is about
        1/√paths at first and grows over time, because the sampling errors of C and G
        feed into the later steps.
    replicas : int
        Independent solves, each with ``paths // replicas`` paths, >= 2. The order
        parameters are their means; ``m_se`` is the standard error from their spread,
        so it includes the errors fed forward.
    seed : int or numpy.random.Generator, optional
        Fixes the sampled paths.

    Returns
    -------
    EffectiveProcess
        Arrays over t = 0, ..., ``steps``.

    Notes
    -----
    Checked against simulation for n = 3 at N = 512-2048 (the book chapter "How retrieval
    unfolds in time"). For n = 4 the first two steps agree at N = 256, and the later steps
    approach the theory only slowly with N (at α′ = 0.25, m₀ = 0.9 the simulation is 0.12
    below at t = 12 for N = 128 and 0.08 below for N = 256): treat n >= 4 as less tested.

    Time is O(steps³·paths) in the worst case (every path near its threshold) and is
    far less once the overlap is near ±1, because only paths with a field within 7 noise
    s.d. of 0 carry a response. 30 steps with 10⁵ paths take a few seconds.
    """
    m0 = float(_checks.overlap_array("m0", m0))
    a = float(_checks.real_array("alpha_prime", alpha_prime, strict=True))
    n, T = _order(n), _checks.positive_int("steps", steps)
    if n < 3:
        raise ValueError(f"n must be >= 3 for effective_process (n = 2 needs the resummed Hopfield theory), got {n}")
    R = _checks.positive_int("replicas", replicas)
    if R < 2:
        raise ValueError(f"replicas must be >= 2 (their spread is the error), got {R}")
    K = _checks.positive_int("paths", paths) // R
    if K < 100:
        raise ValueError(f"paths must be >= 100 per replica, got {paths} for {R} replicas")
    runs = [_solve(m0, a, n, T, K, rng) for rng in np.random.default_rng(seed).spawn(R)]
    m, C, G, Gamma, noise = (np.mean(x, axis=0) for x in zip(*runs))
    m_se = np.std([run[0] for run in runs], axis=0, ddof=1) / math.sqrt(R)
    return EffectiveProcess(m, m_se, C, G, Gamma, noise)


def _solve(m0, a, n, T, K, rng):
    """One forward sweep over K paths: m, C, G, Γ and the crosstalk variance, for t <= T."""
    a_n, p = a / _double_factorial_odd(n), n - 1

    S = np.empty((T + 1, K))                      # spins σ(t) of the paths
    S[0] = np.where(np.arange(K) < round(K * (1 + m0) / 2), 1.0, -1.0)
    Z = np.empty((T, K))                          # fresh unit noises
    L = np.zeros((T, T))                          # Cholesky factor of the noise covariance
    m = np.empty(T + 1)
    m[0] = S[0].mean()
    C, G, Gamma, noise = np.eye(T + 1), np.zeros((T + 1, T + 1)), np.zeros((T, T)), np.empty(T)
    # continuations for the response to θ(s): the paths that carry it, their weight
    # φ(z*)/L_ss, the change z* - z(s) of their noise, and their spins σ±(s+1), ...
    branches = []

    for t in range(T):
        C[t, :t] = C[:t, t] = S[:t] @ S[t] / K
        Gamma[t, :t] = a_n * hermite_kernel(np.clip(C[t, :t], -1, 1), p, derivative=True) * G[t, :t]
        Q = a_n * hermite_kernel(np.clip(C[t, :t + 1], -1, 1), p)   # ⟨v(t)v(s)⟩, s <= t
        for s in range(t):
            L[t, s] = (Q[s] - L[t, :s] @ L[s, :s]) / L[s, s] if L[s, s] > 0 else 0.0
        # a noise that repeats its past (C -> 1) has conditional variance -> 0; sampling error can push it below
        L[t, t] = math.sqrt(max(Q[t] - L[t, :t] @ L[t, :t], 0.0))
        signal, v = m[t] ** p, L[t, :t] @ Z[:t]
        # the retarded field Σ_{r<s} Γ(t,r)σ(r) for every s at once (the continuations share its
        # start); Γ(t, r) = 0 unless t - r is odd, so only r = t - 1, t - 3, ... enter
        odd = np.arange((t + 1) % 2, t, 2)
        retarded = np.zeros((odd.size + 1, K))
        np.cumsum(Gamma[t, odd, None] * S[odd], axis=0, out=retarded[1:])
        mu = signal + retarded[-1] + v
        noise[t] = np.var(mu - signal) + L[t, t] ** 2
        Z[t] = rng.standard_normal(K)
        S[t + 1] = np.where(mu + L[t, t] * Z[t] > 0, 1.0, -1.0)
        m[t + 1] = _mean_sign(mu, L[t, t]).mean()

        # advance the continuations of earlier θ(s): G(t + 1, s). Γ(t, r) = 0 unless t - r is odd, so
        # the spins at odd lags r - s (the ones θ(s) moves) feed only each other: even lags are skipped
        for s, (idx, w, dz, own) in enumerate(branches):
            if (t - s) % 2:
                continue
            j = (t - s) // 2
            past = signal + retarded[(s + 1) // 2, idx] + v[idx] + L[t, s] * dz   # the odd r < s
            mu_pm = past + Gamma[t, s + 1:t:2] @ own[:, :j]       # (2, paths): σ+ and σ-
            mean_pm = _mean_sign(mu_pm, L[t, t])
            G[t + 1, s] = w @ (mean_pm[0] - mean_pm[1]) / K
            own[:, j] = np.where(mu_pm + L[t, t] * Z[t, idx] > 0, 1.0, -1.0)
        # a new continuation for θ(t), through the paths whose field can sit at 0
        zstar = -mu / L[t, t] if L[t, t] > 0 else np.full(K, np.inf)
        idx = np.flatnonzero(np.abs(zstar) < _Z_CUT)
        w = np.exp(-zstar[idx] ** 2 / 2) / (math.sqrt(2 * math.pi) * L[t, t]) if idx.size else np.empty(0)
        G[t + 1, t] = 2 * w.sum() / K
        own = np.empty((2, (T - t + 1) // 2, idx.size))     # σ±(r), r = t + 1, t + 3, ...
        own[0, 0], own[1, 0] = 1.0, -1.0
        branches.append((idx, w, zstar[idx] - Z[t, idx], own))
    C[T, :T] = C[:T, T] = S[:T] @ S[T] / K
    return m, C, G, Gamma, noise
