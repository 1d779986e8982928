r"""The classical Hopfield model in theory: signal-to-noise, the AGS equations, error-free storage.

Hebbian couplings :math:`J_{ij} = \frac1N\sum_\mu \xi_i^\mu\xi_j^\mu` with P = αN random ±1
patterns (THEORY.md §6). Pure functions of α and T; nothing here samples.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq
from scipy.special import erf, erfc, erfcinv

from .. import _checks

__all__ = [
    "AGS", "snr_error", "snr_capacity", "ags_capacity", "ags_solution", "ags_overlap",
    "ags_residual", "rs_solution", "spin_glass_temperature", "error_free_capacity",
]

_C0 = 2 / math.sqrt(math.pi)
# ∫Dz f(z), Dz the standard Gaussian measure, by Simpson's rule on [-12, 12] with step
# 0.005: fine enough for tanh(β(m + s z)) down to T ≈ 0.01 (a Gauss–Hermite rule is not:
# at low T the integrand is nearly a step)
_Z = np.linspace(-12.0, 12.0, 4801)
_W = np.exp(-_Z**2 / 2) / math.sqrt(2 * math.pi) * (_Z[1] - _Z[0]) / 3
_W[1:-1:2] *= 4
_W[2:-1:2] *= 2


def snr_error(alpha):
    r"""Probability that a bit of a stored pattern flips in one synchronous step.

    Starting from :math:`s = \xi^1`, the field on site i splits into signal and noise,

    .. math::

       h_i \xi_i^1 = 1 + \frac1N \sum_{\mu > 1} \sum_{j \ne i}
       \xi_i^1 \xi_i^\mu \xi_j^\mu \xi_j^1,

    and for large N the noise is Gaussian with variance α, so the bit flips with
    probability :math:`\Phi(-1/\sqrt\alpha) = \tfrac12\,\mathrm{erfc}(1/\sqrt{2\alpha})`.

    Parameters
    ----------
    alpha : float or array
        Load α = P/N >= 0.

    Returns
    -------
    float or array
        The error probability per bit, shaped like ``alpha``.
    """
    a = _checks.real_array("alpha", alpha)
    with np.errstate(divide="ignore"):  # α = 0: 1/0 = inf, erfc(inf) = 0
        return erfc(1 / np.sqrt(2 * a))[()] / 2


def snr_capacity(p_error):
    r"""The load at which one synchronous step flips a fraction ``p_error`` of the bits.

    The inverse of :func:`snr_error`: :math:`\alpha = 1 / (2\,\mathrm{erfcinv}(2 p)^2)`.
    The "naive capacity" of the signal-to-noise argument, e.g. α ≈ 0.185 for p = 1 %;
    it ignores that the flipped bits change the next step's fields.

    Parameters
    ----------
    p_error : float or array
        Error probability per bit, in (0, 1/2).
    """
    p = _checks.real_array("p_error", p_error, strict=True)
    if np.any(p >= 0.5):
        raise ValueError(f"p_error must lie in (0, 1/2), got {p.max()}")
    return (1 / (2 * erfcinv(2 * p) ** 2))[()]


class AGS(NamedTuple):
    """A solution of the zero-temperature replica-symmetric equations (see :func:`ags_solution`)."""

    m: np.ndarray  # retrieval overlap
    C: np.ndarray  # susceptibility β(1 - q) in the limit T -> 0
    r: np.ndarray  # variance of the noise from the other patterns, in units of α


def _alpha_of_y(y):
    """α on the branch parametrised by y = m / √(2αr) (then m = erf y)."""
    g = erf(y) - _C0 * y * np.exp(-y * y)
    return g * g / (2 * y * y)


@functools.cache
def _critical_y() -> float:
    # α(y) is largest where y g'(y) = g(y), g' = (4/√π) y² e^{-y²}
    return brentq(lambda y: 2 * _C0 * y**3 * math.exp(-y * y) - (erf(y) - _C0 * y * math.exp(-y * y)),
                  1.0, 3.0, xtol=1e-15)


def ags_capacity():
    r"""The storage capacity α_c of the Hopfield model and the overlap there.

    The end of the retrieval branch of the zero-temperature equations (see
    :func:`ags_solution`): with :math:`y = m/\sqrt{2\alpha r}` they reduce to
    :math:`m = \mathrm{erf}(y)` and

    .. math::

       \alpha(y) = \frac{\left[\mathrm{erf}(y) - \frac{2}{\sqrt\pi}\, y\, e^{-y^2}\right]^2}{2y^2},

    whose maximum is α_c ≈ 0.138, where m_c ≈ 0.967 (Amit, Gutfreund & Sompolinsky 1985).

    Returns
    -------
    (alpha_c, m_c) : (float, float)
    """
    y = _critical_y()
    return float(_alpha_of_y(y)), float(erf(y))


def ags_solution(alpha):
    r"""The stable zero-temperature replica-symmetric solution at load α.

    .. math::

       m = \mathrm{erf}\!\left(\frac{m}{\sqrt{2\alpha r}}\right),\qquad
       C = \sqrt{\frac{2}{\pi\alpha r}}\; e^{-m^2/(2\alpha r)},\qquad
       r = (1 - C)^{-2}.

    For α <= α_c the retrieval solution (the branch with the larger m, continuous
    with m = 1 at α = 0); above α_c the only solution, m = 0, with
    :math:`\sqrt{\alpha r} = \sqrt\alpha + \sqrt{2/\pi}`.

    Parameters
    ----------
    alpha : float or array
        Load α = P/N >= 0.

    Returns
    -------
    AGS
        ``(m, C, r)``, each shaped like ``alpha``.
    """
    a = _checks.real_array("alpha", alpha)
    alpha_c, _ = ags_capacity()
    y_c = _critical_y()
    m, C, r = np.zeros_like(a), np.zeros_like(a), np.ones_like(a)
    for k, ak in np.ndenumerate(a):
        if ak == 0:  # y = ∞: perfect retrieval, no noise
            m[k] = 1.0
            continue
        if ak > alpha_c:
            s = math.sqrt(ak) + math.sqrt(2 / math.pi)  # √(αr) of the m = 0 solution
            C[k], r[k] = math.sqrt(2 / math.pi) / s, s * s / ak
            continue
        # α(y) falls from α_c at y_c to below α at 1/√α (α(y) < 1/(2y²)): one root there
        y = y_c if ak >= _alpha_of_y(y_c) else brentq(lambda y: _alpha_of_y(y) - ak, y_c, 1 / math.sqrt(ak),
                                                      xtol=1e-14, rtol=4 * np.finfo(float).eps)
        m[k] = erf(y)
        r[k] = (m[k] / y) ** 2 / (2 * ak)
        C[k] = 1 - 1 / math.sqrt(r[k])
    return AGS(m[()], C[()], r[()])


def ags_overlap(alpha):
    """Retrieval overlap m(α) at zero temperature: ``ags_solution(alpha).m`` (0 above α_c)."""
    return ags_solution(alpha).m


def ags_residual(alpha, m, C, r):
    """The three zero-temperature equations of :func:`ags_solution`, as differences
    (left minus right side); zero at a solution. For checking solutions."""
    a = _checks.real_array("alpha", alpha, strict=True)
    m, C, r = (np.asarray(v, dtype=np.float64) for v in (m, C, r))
    ar = a * r
    return (m - erf(m / np.sqrt(2 * ar)),
            C - np.sqrt(2 / (np.pi * ar)) * np.exp(-m * m / (2 * ar)),
            r - (1 - C) ** -2.0)


def rs_solution(alpha, T, m0=1.0, q0=1.0, *, tol=1e-12, max_iter=20_000):
    r"""A solution of the finite-temperature replica-symmetric (AGS) equations.

    .. math::

       m = \int\!Dz\, \tanh\beta(m + \sqrt{\alpha r}\,z),\quad
       q = \int\!Dz\, \tanh^2\beta(m + \sqrt{\alpha r}\,z),\quad
       r = \frac{q}{[1 - \beta(1 - q)]^2},

    with β = 1/T, found by damped iteration from ``(m0, q0)`` (m0 = 1: the retrieval
    branch where it exists; m0 = 0: the spin-glass or paramagnetic solution). The
    Gaussian integrals use Simpson's rule on a fine grid (accurate to T ≈ 0.01).
    Convergence is slow near a transition; it stops after ``max_iter`` steps.

    Parameters
    ----------
    alpha : float
        Load α > 0.
    T : float
        Temperature T > 0.

    Returns
    -------
    (m, q, r, converged) : (float, float, float, bool)
    """
    alpha = _checks.positive_float("alpha", alpha)
    beta = 1 / _checks.positive_float("T", T)
    m, q = float(m0), float(q0)
    for _ in range(max_iter):
        # β(1 - q) < 1 on every physical solution; clipped so that r stays finite on the way
        r = q / max(1 - beta * (1 - q), 1e-6) ** 2
        t = np.tanh(beta * (m + math.sqrt(alpha * r) * _Z))
        m_new, q_new = float(_W @ t), float(_W @ (t * t))
        if abs(m_new - m) < tol and abs(q_new - q) < tol:
            return m_new, q_new, q_new / (1 - beta * (1 - q_new)) ** 2, True
        m, q = 0.5 * (m + m_new), 0.5 * (q + q_new)
    return m, q, r, False


def spin_glass_temperature(alpha):
    r"""The spin-glass transition T_g(α) = 1 + √α, where the paramagnetic solution
    q = 0 of the replica-symmetric equations becomes unstable."""
    return (1 + np.sqrt(_checks.real_array("alpha", alpha)))[()]


def error_free_capacity(N, all_patterns=False):
    r"""Largest P for which retrieval is error-free with probability -> 1 as N -> ∞.

    :math:`P = N / (2 \ln N)` for one given pattern to be a fixed point (every one of
    its N bits stable), :math:`N / (4 \ln N)` for all P patterns at once.

    Parameters
    ----------
    N : float or array
        Number of neurons, > 1.
    all_patterns : bool
        All patterns (True) or one (False).
    """
    n = _checks.real_array("N", N, low=1.0, strict=True)
    return (n / ((4 if all_patterns else 2) * np.log(n)))[()]
