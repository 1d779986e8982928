r"""The classical Hopfield model in theory: signal-to-noise, AGS equations, phase diagram, error-free storage.

Hebbian couplings :math:`J_{ij} = \frac1N\sum_\mu \xi_i^\mu\xi_j^\mu` with P = αN random ±1
patterns (THEORY.md §6). Pure functions of α and T; nothing here samples.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq, fsolve, minimize_scalar
from scipy.special import erf, erfc, erfcinv

from .. import _checks

__all__ = [
    "AGS", "snr_error", "snr_capacity", "ags_capacity", "ags_solution", "ags_overlap",
    "ags_residual", "rs_solution", "spin_glass_temperature", "retrieval_temperature",
    "retrieval_capacity", "rs_free_energy", "retrieval_stable_temperature", "error_free_capacity",
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

    with β = 1/T. From m0 = 0 it is the m = 0 solution (spin glass below
    T_g = 1 + √α, paramagnet q = 0 above), solved for q by bisection; otherwise the
    solution reached by damped iteration from ``(m0, q0)`` (m0 = 1: the retrieval
    branch where it exists). The Gaussian integrals use Simpson's rule on a fine grid
    (accurate to T ≈ 0.01). The iteration is slow near a transition; it stops after
    ``max_iter`` steps.

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
    if m == 0:  # m stays 0 (tanh is odd): only q is left to solve for
        q = _spin_glass_q(alpha, beta)
        return 0.0, q, q / (1 - beta * (1 - q)) ** 2, True
    for _ in range(max_iter):
        # β(1 - q) < 1 on every physical solution; clipped so that r stays finite on the way
        r = q / max(1 - beta * (1 - q), 1e-6) ** 2
        m_new, q_new = _moments(m, math.sqrt(alpha * r), beta)
        if abs(m_new - m) < tol and abs(q_new - q) < tol:
            return m_new, q_new, q_new / (1 - beta * (1 - q_new)) ** 2, True
        m, q = 0.5 * (m + m_new), 0.5 * (q + q_new)
    return m, q, r, False


def _spin_glass_q(alpha, beta):
    """q of the m = 0 solution: 0 (paramagnet) at T >= T_g = 1 + √α, else the spin glass."""
    if 1 / beta >= 1 + math.sqrt(alpha):
        return 0.0
    # In u = 1 - β(1 - q) > max(0, 1 - β) the excess q - ⟨tanh²⟩ is < 0 at the lower end
    # (below T_g the noise √(αq)/u outgrows q there) and > 0 at u = 1 (q = 1): one root.
    # (The damped iteration of rs_solution is unstable here when u is small.)
    def excess(u):
        q = (u + beta - 1) / beta
        return q - _moments(0.0, math.sqrt(alpha * q) / u, beta)[1]
    u0 = max(0.0, 1 - beta)
    return (brentq(excess, u0 + 1e-12 * (1 + u0), 1.0, xtol=1e-15) + beta - 1) / beta


def spin_glass_temperature(alpha):
    r"""The spin-glass transition T_g(α) = 1 + √α, where the paramagnetic solution
    q = 0 of the replica-symmetric equations becomes unstable."""
    return (1 + np.sqrt(_checks.real_array("alpha", alpha)))[()]


# The (α, T) phase diagram (Amit, Gutfreund & Sompolinsky 1987). At fixed β the retrieval
# solutions form one branch, parametrised by its overlap m in (0, m*), m* = tanh(βm*): for
# each m one noise level s = √(αr) makes m self-consistent, and that fixes q and the load α.
# Its largest load α_M(T) (a fold: there the stable and the unstable retrieval solutions
# merge) is the retrieval line; read at fixed α it is T_M(α).

_T_MIN = 0.01  # below this the Simpson rule on _Z (see above) is not accurate
_ALPHA_MIN = 1e-10  # below this T_M - 1 is too small for the equations in float64
# small-α slope of the retrieval line, T_M ≈ 1 - _C_M √α (see retrieval_temperature)
_C_M = math.sqrt((5 + math.sqrt(33)) / 2) * (9 + math.sqrt(33)) / (2 * (3 + math.sqrt(33)))


def _moments(m, s, beta):
    """⟨tanh βh⟩ and ⟨tanh² βh⟩ over the local field h = m + s z, z standard normal."""
    t = np.tanh(beta * (m + s * _Z))
    return float(_W @ t), float(_W @ (t * t))


def _curie_weiss(beta):
    """The overlap m* = tanh(βm*) > 0 at α = 0 (β > 1): the m = m* end of the branch."""
    # tanh x >= x - x³/3, so tanh(βm) > m below m = √(3(β - 1)/β³)
    return brentq(lambda m: math.tanh(beta * m) - m, 0.5 * math.sqrt(3 * (beta - 1) / beta**3), 1.0,
                  xtol=1e-16)


def _branch(m, beta):
    """(s, q, α) of the retrieval branch at overlap m in (0, m*)."""
    # ⟨tanh β(m + sz)⟩ falls from tanh βm > m at s = 0 to below erf(m/(s√2)) <= 0.8 m at s = 1
    s = brentq(lambda s: _moments(m, s, beta)[0] - m, 0.0, 1.0, xtol=1e-15)
    q = _moments(m, s, beta)[1]
    return s, q, (s * (1 - beta * (1 - q))) ** 2 / q


def _fold(beta, xtol=1e-10):
    """(α_M, m) at the largest load of the retrieval branch at β > 1 (m to xtol · m*)."""
    m_star = _curie_weiss(beta)
    # the fold lies at m/m* from 0.770 (T -> 1) to 0.967 (T -> 0); α(m) has one peak there
    res = minimize_scalar(lambda m: -_branch(m, beta)[2], bounds=(0.7 * m_star, m_star), method="bounded",
                          options={"xatol": xtol * m_star})
    return -res.fun, res.x


def _fold_equations(x, log_alpha):
    """The fold at load α in the unknowns x = (ln m, ln s, ln(β - 1)): m self-consistent,
    α(m, s) = α, and α stationary along the branch (∇α parallel to ∇(⟨tanh⟩ - m))."""
    m, s, d = np.exp(x)
    beta = 1 + d
    t = np.tanh(beta * (m + s * _Z))
    k = 1 - t * t
    M, Q = _W @ t, _W @ (t * t)
    G_m, G_s = beta * (_W @ k) - 1, beta * (_W @ (_Z * k))  # derivatives of ⟨tanh⟩ - m
    Q_m, Q_s = 2 * beta * (_W @ (t * k)), 2 * beta * (_W @ (_Z * t * k))
    u = beta * Q - d  # 1 - β(1 - q), without the cancellation near β = 1
    dlog_alpha = 2 * beta / u - 1 / Q  # ∂ ln α / ∂q, with ln α = 2 ln(su) - ln q
    return [M / m - 1,
            (s * dlog_alpha * (Q_m * G_s - Q_s * G_m) - 2 * G_m) / m,
            2 * math.log(abs(s * u)) - math.log(Q) - log_alpha]


@functools.cache
def _reentrance():
    """(α_max, T*): the largest load with retrieval at any temperature, and where."""
    res = minimize_scalar(lambda T: -_fold(1 / T)[0], bounds=(_T_MIN, 0.1), method="bounded",
                          options={"xatol": 1e-9})
    return -res.fun, res.x


@functools.cache
def _fold_table():
    """The retrieval line at 33 temperatures from T* to 1 - 1.9e-5 (α from α_max down to
    about _ALPHA_MIN), ordered by increasing α: ln α, T, and (ln m, ln s, ln(β - 1))."""
    _, T_star = _reentrance()
    T = 1 - np.geomspace(_C_M * math.sqrt(_ALPHA_MIN) * 0.99, 1 - T_star, 33)
    rows = []
    for Tk in T:
        alpha, m = _fold(1 / Tk)
        rows.append((math.log(alpha), math.log(m), math.log(_branch(m, 1 / Tk)[0]), math.log(1 / Tk - 1)))
    rows = np.array(rows)
    return rows[:, 0], T, rows[:, 1:]


def _fold_temperature(alpha):
    """T_M(α) for _ALPHA_MIN <= α <= α_max: Newton on the fold from the tabulated line."""
    log_a, T, x = _fold_table()
    k = int(np.clip(np.searchsorted(log_a, math.log(alpha)), 1, log_a.size - 1))
    w = (math.log(alpha) - log_a[k - 1]) / (log_a[k] - log_a[k - 1])
    x, info, _, _ = fsolve(_fold_equations, (1 - w) * x[k - 1] + w * x[k], args=(math.log(alpha),),
                           full_output=True, xtol=1e-13)
    T_fold = 1 / (1 + math.exp(x[2]))
    if np.max(np.abs(info["fvec"])) < 1e-10 and T[k] - 1e-12 <= T_fold <= T[k - 1] + 1e-12:
        return T_fold
    # next to α_max the line turns back (dα/dT = 0) and Newton can fail: bisect in T
    return brentq(lambda t: _fold(1 / t)[0] - alpha, T[k], T[k - 1], xtol=1e-13)


def retrieval_temperature(alpha):
    r"""The retrieval line T_M(α): the highest temperature with a retrieval solution.

    The retrieval solution (m > 0) of the replica-symmetric equations (see
    :func:`rs_solution`) exists below T_M(α) and disappears there at a fold, where it
    merges with an unstable solution: with

    .. math::

       \Phi(m, q) = \Big(\int\!Dz\,\tanh\beta(m + \sqrt{\alpha r}\,z),\
       \int\!Dz\,\tanh^2\beta(m + \sqrt{\alpha r}\,z)\Big),\qquad
       r = \frac{q}{[1 - \beta(1 - q)]^2},

    T_M solves :math:`(m, q) = \Phi(m, q)` together with
    :math:`\det(I - \partial\Phi/\partial(m, q)) = 0`. It falls from T_M(0) = 1 as

    .. math::

       T_M \simeq 1 - c\sqrt\alpha,\qquad
       c = \frac{(9 + \sqrt{33})\sqrt{(5 + \sqrt{33})/2}}{2(3 + \sqrt{33})} \approx 1.954

    (Amit, Gutfreund & Sompolinsky 1987; expanding the equations in
    :math:`\beta - 1 \sim m^2 \sim q \sim \sqrt\alpha`, the m-equation reads
    :math:`\beta - 1 = m^2/3 + \alpha r` with :math:`r = q/(q - \beta + 1)^2` and
    :math:`q = m^2 + \alpha r`; c√α is the smallest β - 1 this allows).

    Near α_c the replica-symmetric line is reentrant: thermal noise first *raises* the
    largest load, :math:`\alpha_M(T) = \alpha_c(1 + C_c T) + O(T^2)` (see
    :func:`retrieval_capacity`), up to α_max ≈ 0.13819 at T* ≈ 0.023. So T_M(α) > 0 up
    to α_max, not α_c: T_M(α_c) ≈ 0.046, and for α_c < α < α_max retrieval exists only
    between two temperatures, of which this is the upper one. Above α_max it returns 0
    (no retrieval at any T), so that a grid of α can be plotted as is; the whole line,
    with its lower part, is :func:`retrieval_capacity` plotted against T. (Whether
    the reentrance survives replica-symmetry breaking is not addressed here.)

    Parameters
    ----------
    alpha : float or array
        Load α >= 0.

    Returns
    -------
    float or array
        T_M, shaped like ``alpha``; 1 at α = 0, 0 above α_max.

    Notes
    -----
    The fold equations are solved by Newton's method (``scipy.optimize.fsolve``) from
    the retrieval line tabulated once at 33 temperatures (each point the maximum of α
    along the branch); next to α_max, where the line turns, by bisection in T. Below
    α = 1e-10 it returns 1 - c√α (error < α).
    """
    a = _checks.real_array("alpha", alpha)
    alpha_max, _ = _reentrance()
    T_M = np.zeros_like(a)
    for k, ak in np.ndenumerate(a):
        if ak < _ALPHA_MIN:
            T_M[k] = 1 - _C_M * math.sqrt(ak)
        elif ak <= alpha_max:
            T_M[k] = _fold_temperature(ak)
    return T_M[()]


@functools.cache
def _low_temperature_fold():
    """(a1, a2) of α_M(T) = α_c + a1 T + a2 T² on [0, _T_MIN]: a1 exact, a2 matched at _T_MIN."""
    alpha_c, m_c = ags_capacity()
    s = m_c / (math.sqrt(2) * _critical_y())  # √(α r) at the T = 0 fold
    a1 = alpha_c * math.sqrt(2 / math.pi) * math.exp(-_critical_y() ** 2) / s  # α_c C_c
    return a1, (_fold(1 / _T_MIN)[0] - alpha_c - a1 * _T_MIN) / _T_MIN**2


def retrieval_capacity(T):
    r"""The largest load α_M(T) at which a retrieval solution exists at temperature T.

    The retrieval line read the other way (see :func:`retrieval_temperature`): the
    maximum of α along the branch of retrieval solutions at fixed T. α_M(0) = α_c of
    :func:`ags_capacity`, α_M(T) = 0 for T >= 1. At low temperature

    .. math::

       \alpha_M(T) = \alpha_c\,(1 + C_c T) + O(T^2),\qquad C_c \approx 0.180,

    with C_c the zero-temperature C at α_c: the spins' thermal fluctuations lower q to
    :math:`1 - C T`, hence the noise :math:`\alpha r = \alpha q/(1 - C)^2` from the other
    patterns. So α_M first rises, to α_max ≈ 0.13819 at T* ≈ 0.023 (the reentrance of
    the replica-symmetric line), then falls, as :math:`(1 - T)^2/c^2` near T = 1.

    Parameters
    ----------
    T : float or array
        Temperature T >= 0.

    Returns
    -------
    float or array
        α_M, shaped like ``T``.

    Notes
    -----
    Below T = 0.01, where the quadrature is not accurate, α_M is the quadratic in T with
    the exact slope α_c C_c at T = 0 and the computed value at T = 0.01 (off by less
    than 1e-8); within 2e-5 of T = 1 it is (1 - T)²/c².
    """
    T = _checks.real_array("T", T)
    alpha_c, _ = ags_capacity()
    alpha_M = np.zeros_like(T)
    for k, Tk in np.ndenumerate(T):
        if Tk < _T_MIN:
            a1, a2 = _low_temperature_fold()
            alpha_M[k] = alpha_c + a1 * Tk + a2 * Tk**2
        elif 1 - Tk < _C_M * math.sqrt(_ALPHA_MIN):
            alpha_M[k] = ((1 - Tk) / _C_M) ** 2 if Tk < 1 else 0.0
        else:
            alpha_M[k] = _fold(1 / Tk)[0]
    return alpha_M[()]


def rs_free_energy(alpha, T, m, q):
    r"""The replica-symmetric free energy per spin of a solution (m, q) at load α and T.

    .. math::

       f = \frac\alpha2 + \frac{m^2}2
         + \frac{\alpha}{2\beta}\Big[\ln\big(1 - \beta(1 - q)\big)
           - \frac{\beta q}{1 - \beta(1 - q)}\Big]
         + \frac{\alpha\beta r}2\,(1 - q)
         - \frac1\beta\int\!Dz\,\ln 2\cosh\beta\big(m + \sqrt{\alpha r}\,z\big),

    with :math:`r = q/[1 - \beta(1 - q)]^2` (Amit, Gutfreund & Sompolinsky 1987). Its
    stationary points in m, q (and r) are the equations of :func:`rs_solution`.
    Conventions: the energy is :math:`E = -\frac12\sum_{i \ne j} J_{ij} s_i s_j` as in
    :class:`damlab.Hopfield` (no self-couplings, hence the α/2: each of the P patterns
    would add 1/2 to the energy per spin), and f includes the entropy, so the
    paramagnet (m = q = 0, T > 1) has
    :math:`f = \frac\alpha2 + \frac{\alpha T}2\ln(1 - \beta) - T\ln 2`, and at T -> 0
    a solution has :math:`f \to -\frac{m^2}2 - \frac\alpha2\,rC(2 - C)` in the
    variables of :func:`ags_solution`.

    Parameters
    ----------
    alpha : float
        Load α > 0.
    T : float
        Temperature T > 0.
    m : float
        Overlap with the retrieved pattern (0 for the spin-glass and paramagnetic states).
    q : float
        Edwards–Anderson order parameter, with β(1 - q) < 1.

    Returns
    -------
    float
    """
    alpha = _checks.positive_float("alpha", alpha)
    beta = 1 / _checks.positive_float("T", T)
    m = float(_checks.real_array("m", m, low=-math.inf))
    q = float(_checks.real_array("q", q))
    u = 1 - beta * (1 - q)
    if q > 1 + 1e-12 or u <= 0:  # (1e-12: q = 1 + 1.6e-13 from the quadrature at low T)
        raise ValueError(f"q must lie in [0, 1] with β(1 - q) < 1, got q = {q} at T = {1 / beta}")
    r = q / u**2
    h = beta * (m + math.sqrt(alpha * r) * _Z)
    log_2cosh = np.logaddexp(h, -h)
    return (alpha / 2 + m * m / 2 + alpha / (2 * beta) * (math.log(u) - beta * q / u)
            + alpha * beta * r * (1 - q) / 2 - float(_W @ log_2cosh) / beta)


def _retrieval_state(alpha, beta):
    """(m, q) of the stable retrieval solution at α < α_M(T), by bisection in the noise
    s = √(αr). Along the branch s falls as m rises (from the fold to m* at s = 0), so each
    s below the fold's has one solution above m_fold, and on this part α rises with s."""
    # a coarse fold: it only ends the brackets, and lowers α there by ~1e-6 α, well within
    # the margin of the callers, T < T_M(α) - 1e-3 (1 - T_M) (~2e-3 α at small α)
    _, m_fold = _fold(beta, xtol=1e-3)
    s_fold = _branch(m_fold, beta)[0]

    def solution(s):  # (1 + 1e-9: the rule's ∫Dz 1 exceeds 1 by 1.6e-13)
        m = brentq(lambda m: _moments(m, s, beta)[0] - m, m_fold, 1 + 1e-9, xtol=1e-15)
        return m, _moments(m, s, beta)[1]

    def load(s):
        _, q = solution(s)
        return (s * (1 - beta * (1 - q))) ** 2 / q

    # (m is ill-determined by α near m*, where α hardly depends on m: hence s, not m)
    return solution(brentq(lambda s: load(s) - alpha, 0.0, s_fold * (1 - 1e-9), xtol=1e-16))


def _free_energy_gap(alpha, T):
    """f(retrieval) - f(spin glass) at α and T < T_M(α)."""
    beta = 1 / T
    return (rs_free_energy(alpha, T, *_retrieval_state(alpha, beta))
            - rs_free_energy(alpha, T, 0.0, _spin_glass_q(alpha, beta)))


@functools.cache
def _stable_reentrance():
    """(α_1', T**): the largest load at which retrieval states are global minima at some
    temperature, and that temperature (the T_c line turns back to T = 0 there)."""
    def load(T):  # the load where the free energies cross: 0.046 (T = 0.25) to 0.0531
        return brentq(lambda a: _free_energy_gap(a, T), 0.04, 0.06, xtol=1e-13)
    res = minimize_scalar(lambda T: -load(T), bounds=(0.02, 0.25), method="bounded", options={"xatol": 1e-4})
    return -res.fun, res.x


def _stable_temperature(alpha):
    """T_c(α) for _ALPHA_MIN <= α <= α_1': the upper crossing of the free energies."""
    _, T_turn = _stable_reentrance()
    T_M = retrieval_temperature(alpha)
    gap = functools.partial(_free_energy_gap, alpha)
    if gap(T_turn) >= 0:  # α within about 1e-8 of α_1', where T_c = T**
        return T_turn
    # just below T_M the retrieval state is metastable, gap > 0 (and the fold is avoided)
    return brentq(gap, T_turn, T_M - 1e-3 * (1 - T_M), xtol=1e-13)


@functools.cache
def _stable_slope():
    """c of T_c ≈ 1 - c√α, measured at α = _ALPHA_MIN."""
    return (1 - _stable_temperature(_ALPHA_MIN)) / math.sqrt(_ALPHA_MIN)


def retrieval_stable_temperature(alpha):
    r"""The temperature T_c(α) below which the retrieval states are the global minima.

    Below T_c the free energy (see :func:`rs_free_energy`) of the retrieval solution is
    lower than that of the spin-glass solution (m = 0, q > 0); between T_c and
    T_M (:func:`retrieval_temperature`) the retrieval states are only metastable.
    T_c(0) = 1, and for small α

    .. math::

       T_c \simeq 1 - 2.596\sqrt\alpha

    (the expansion of :func:`retrieval_temperature`, comparing the two free energies).
    At T = 0 the energies :math:`-\frac{m^2}2 - \frac\alpha2 rC(2 - C)` of the two
    solutions of :func:`ags_solution` cross at α_1 ≈ 0.0519 (Amit, Gutfreund &
    Sompolinsky: α ≈ 0.05). Like the retrieval line, this line is reentrant in
    replica symmetry: the spin-glass solution's entropy is negative at low T, so
    warming favours retrieval, and T_c(α) > 0 up to α_1' ≈ 0.0531, reached at
    T ≈ 0.085; for α_1 < α < α_1' the retrieval states are global minima only between
    two temperatures, of which this is the upper one. Above α_1' it returns 0.

    Parameters
    ----------
    alpha : float or array
        Load α >= 0.

    Returns
    -------
    float or array
        T_c, shaped like ``alpha``.

    Notes
    -----
    Bisection in T on the free-energy gap, between the turning point T ≈ 0.085 of the
    line and T_M; each step solves for the retrieval solution (by bisection in
    :math:`\sqrt{\alpha r}` along its branch) and the spin-glass one (by bisection in
    q). About 45 ms per α. Below α = 1e-10 T_c follows the √α law from α = 1e-10.
    """
    a = _checks.real_array("alpha", alpha)
    T_c = np.zeros_like(a)
    for k, ak in np.ndenumerate(a):
        if ak < _ALPHA_MIN:
            T_c[k] = 1 - _stable_slope() * math.sqrt(ak)
        elif ak <= _stable_reentrance()[0]:
            T_c[k] = _stable_temperature(ak)
    return T_c[()]


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
