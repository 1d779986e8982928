r"""Parallel retrieval dynamics of the dense associative memory: the first steps and the Γ = 0 map.

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

Pure functions of (m₀, α′, n); nothing here samples. The simulation is
:func:`damlab.experiments.dense_overlap_trajectory`. See the book chapter "How retrieval
unfolds in time".
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

__all__ = ["NaiveCapacity", "first_step", "naive_map", "naive_capacity", "second_step", "hermite_kernel"]

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
