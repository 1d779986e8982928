r"""Dense associative memories before the REM: polynomial and exponential capacities.

*Krotov & Hopfield (2016)*: ±1 states and patterns,
:math:`E(s) = -\sum_\mu F(\xi^\mu\cdot s)` with :math:`F(x) = x^n`; P grows like
:math:`N^{n-1}` (THEORY.md §6 [L]). *Demircigil et al. (2017)*: :math:`F(x) = e^x` stores
P = e^{αN} patterns, all of them fixed points, for α < (ln 2)/2 [L]. *Ramsauer et al.
(2020)*: continuous states, :math:`E(x) = -\frac1\lambda\ln\sum_\mu e^{\lambda\xi^\mu\cdot x}
+ \frac12|x|^2` and the update :math:`x \leftarrow \sum_\mu \xi^\mu\,
\mathrm{softmax}_\mu(\lambda\,\xi^\mu\cdot x)` (their β is our λ); the energy and the
update are :class:`damlab.ModernHopfield`; here is the one-step retrieval bound for
well-separated patterns. The exponential capacity itself is :mod:`damlab.theory.capacity`.

See the book chapter on dense associative memories and exponential capacity.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc

from .. import _checks

__all__ = ["DEMIRCIGIL_ALPHA", "rescaled_load", "snr_error", "error_free_capacity", "one_step_error_bound"]

DEMIRCIGIL_ALPHA = math.log(2) / 2
"""Demircigil et al. (2017) [L]: with F = e^x, P = e^{αN} random ±1 patterns are all fixed
points w.h.p. for α < (ln 2)/2. It is the birthday scale P² 2^{-N} ~ 1: beyond it some pairs
of patterns are one bit apart, which breaks the sign dynamics (one of the two flips at that
bit; identical pairs are harmless there), and some patterns coincide, which breaks the
softmax dynamics (a duplicated pattern has weight 1/2; see
:func:`damlab.theory.capacity.alpha_c_lower`)."""


def _order(n) -> int:
    n = _checks.positive_int("n", n)
    if n < 2:
        raise ValueError(f"n must be an integer >= 2 (F(x) = x^n), got {n}")
    return n


def _double_factorial_odd(n: int) -> int:
    """(2n - 3)!! = 1·3·5···(2n - 3): the moment E g^{2(n-1)} of a standard Gaussian."""
    return math.prod(range(1, 2 * n - 2, 2))


def rescaled_load(alpha_n, n):
    r"""The rescaled load :math:`\alpha'_n = (2n-3)!!\,\alpha_n`, with :math:`P = \alpha_n N^{n-1}` [D].

    The crosstalk of P patterns in the field of F(x) = x^n has variance
    :math:`(2n-3)!!\,P N^{n-1}` against a signal :math:`N^{n-1}` (below), so α′ plays
    the role of the Hopfield α = P/N: n = 2 gives α′ = α. (The same rescaling as
    Mimura et al.'s α′₃ = 3M/N².)

    Parameters
    ----------
    alpha_n : float or array
        Load :math:`\alpha_n = P/N^{n-1} \ge 0`.
    n : int
        Order of the interaction, >= 2.
    """
    n = _order(n)
    return (_checks.real_array("alpha_n", alpha_n) * _double_factorial_odd(n))[()]


def snr_error(alpha_n, n):
    r"""Probability that a bit of a stored pattern flips in one step, F(x) = x^n [D].

    At :math:`s = \xi^1` the field on site i, times :math:`\xi^1_i`, is
    :math:`b_1^{n-1} + \sum_{\mu>1} \xi_i^\mu\xi_i^1 b_\mu^{n-1}` with
    :math:`b_\mu = \sum_{j\ne i} \xi_j^\mu \xi^1_j`: the signal is
    :math:`\approx N^{n-1}` and the noise, a sum of P independent terms of variance
    :math:`\mathbb E\, b^{2(n-1)} \approx (2n-3)!!\,N^{n-1}`, is Gaussian for large P, so

    .. math::

       P_{\rm err} = \Phi\!\left(-\frac{1}{\sqrt{\alpha'_n}}\right)
       = \tfrac12\,\mathrm{erfc}\!\left(\frac{1}{\sqrt{2\alpha'_n}}\right),
       \qquad \alpha'_n = (2n-3)!!\,\frac{P}{N^{n-1}}.

    n = 2 is :func:`damlab.theory.classical.snr_error`.

    Parameters
    ----------
    alpha_n : float or array
        Load :math:`P/N^{n-1} \ge 0`.
    n : int
        Order, >= 2.
    """
    a = np.asarray(rescaled_load(alpha_n, n), dtype=np.float64)
    with np.errstate(divide="ignore"):  # α = 0: erfc(inf) = 0
        return (erfc(1 / np.sqrt(2 * a)) / 2)[()]


def error_free_capacity(N, n, all_patterns=False):
    r"""Largest P at which retrieval is error-free with probability -> 1, F(x) = x^n.

    .. math::

       P_{\max} \approx \frac{N^{n-1}}{2\,(2n-3)!!\,\ln N}\ \text{(one pattern [L], Krotov \& Hopfield)},
       \qquad \frac{N^{n-1}}{2n\,(2n-3)!!\,\ln N}\ \text{(all patterns [D])}.

    One pattern: N·P_err -> 0 with P_err of :func:`snr_error` needs
    :math:`1/\alpha'_n \approx 2\ln N`. All patterns: N·P·P_err -> 0 needs
    :math:`2\ln(NP) \approx 2n\ln N`. n = 2 gives the classical N/(2 ln N) and
    N/(4 ln N) (:func:`damlab.theory.classical.error_free_capacity`).

    Parameters
    ----------
    N : float or array
        Number of neurons, > 1.
    n : int
        Order, >= 2.
    all_patterns : bool
        All P patterns at once (True) or one (False).
    """
    N = _checks.real_array("N", N, low=1.0, strict=True)
    n = _order(n)
    factor = 2 * (n if all_patterns else 1) * _double_factorial_odd(n)
    return (N ** (n - 1) / (factor * np.log(N)))[()]


def one_step_error_bound(lam, margin, P, radius):
    r"""Bound on the distance from ξ¹ after one update of the modern Hopfield network [D].

    If the state x scores ξ¹ above every other pattern by a margin
    :math:`\Delta = \xi^1\cdot x - \max_{\mu\ne1}\xi^\mu\cdot x`, the other P − 1 weights
    sum to at most :math:`\varepsilon/(1+\varepsilon)`, :math:`\varepsilon = (P-1)e^{-\lambda\Delta}`,
    and since :math:`x' - \xi^1 = \sum_{\mu\ne1} w_\mu(\xi^\mu - \xi^1)`,

    .. math::

       |x' - \xi^1| \le \frac{\varepsilon}{1 + \varepsilon}\; 2M,
       \qquad M = \max_\mu |\xi^\mu|.

    Well-separated patterns (Δ ≫ ln P/λ) are retrieved in one step with exponentially
    small error: a bound of the kind Ramsauer et al. prove (their constants and
    separation conditions are not reproduced here).

    Parameters
    ----------
    lam : float or array
        λ > 0 (Ramsauer's β).
    margin : float or array
        Δ, any real (a bound > 0 needs Δ > ln(P - 1)/λ to be useful).
    P : float or array
        Number of patterns, >= 1.
    radius : float or array
        M, the largest pattern norm, >= 0.
    """
    lam = _checks.real_array("lam", lam, strict=True)
    delta = _checks.real_array("margin", margin, low=-math.inf)
    P = _checks.real_array("P", P, low=1.0)
    M = _checks.real_array("radius", radius)
    # ε/(1 + ε) = 1/(1 + 1/ε) with ln ε = ln(P - 1) - λΔ, stable for any ln ε; P = 1
    # (no other pattern): ln 0 = -inf and the bound is 0
    with np.errstate(divide="ignore", over="ignore"):
        log_eps = np.log(P - 1) - lam * delta
        return (2 * M / (1 + np.exp(-log_eps)))[()]
