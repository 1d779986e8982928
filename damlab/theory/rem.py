r"""The random energy model: Derrida's REM and the generalised REM of an ensemble's overlaps.

**Derrida's REM** [L] (Derrida 1980, 1981): :math:`2^N` independent energy levels
:math:`E_i \sim \mathcal N(0, NJ^2/2)`. With ε = E/N the number of levels near ε is
:math:`e^{N s(\varepsilon)}`, :math:`s(\varepsilon) = \ln 2 - \varepsilon^2/J^2`, and the
free energy per spin freezes at :math:`T_c = J/(2\sqrt{\ln 2})`.

**The generalised REM** [D/L] (THEORY.md §2): fix a state x independent of P = e^{αN}
patterns and let their overlaps :math:`u_\mu = \xi^\mu\cdot x/N` have scaled cumulant
generating function ψ(λ) and rate function I(u) (the ensemble object gives both). Then

.. math::

   \varphi(\alpha, \lambda) = \lim_{N\to\infty} \frac1N \ln \sum_\mu e^{\lambda N u_\mu}
   = \begin{cases} \alpha + \psi(\lambda) & I(\psi'(\lambda)) \le \alpha \quad\text{(liquid)}\\
   \lambda\, u_{\max}(\alpha) & \text{otherwise (condensed)} \end{cases}

with :math:`u_{\max}(\alpha) = I^{-1}(\alpha)` the largest of the e^{αN} overlaps. Derrida's
REM is the Gaussian case at α = ln 2, with :math:`-E_i/T = \lambda N u_i`, i.e.
:math:`\lambda = J/(\sqrt2\,T)`: then :math:`\varphi = -f/T` and the condensation point is
:data:`LAMBDA_C` :math:`= \sqrt{2\ln 2}`.

See the book chapter on the random energy model.
"""

from __future__ import annotations

import math

import numpy as np
from .. import _checks

__all__ = [
    "LAMBDA_C", "critical_temperature", "entropy", "free_energy", "free_energy_enumerated",
    "phi", "condensation_lambda", "is_liquid",
]

LAMBDA_C = math.sqrt(2 * math.log(2))
"""Derrida's condensation point in the book's notation: λ_c = √(2 ln 2) (Gaussian, α = ln 2)."""

_LN2 = math.log(2)


# ----------------------------------------------------------------------------- Derrida's REM

def critical_temperature(J=1.0):
    r"""Freezing temperature of Derrida's REM, :math:`T_c = J/(2\sqrt{\ln 2})` [L].

    Parameters
    ----------
    J : float or array
        Energy scale, > 0 (levels :math:`E \sim \mathcal N(0, NJ^2/2)`).
    """
    J = _checks.real_array("J", J, strict=True)
    return (J / (2 * math.sqrt(_LN2)))[()]


def entropy(eps, J=1.0, annealed=False):
    r"""Entropy per spin of Derrida's REM at energy per spin ε [L].

    .. math::

       s(\varepsilon) = \ln 2 - \frac{\varepsilon^2}{J^2},
       \qquad |\varepsilon| \le \varepsilon_0 = J\sqrt{\ln 2}.

    Beyond ε₀ the expected number of levels, :math:`e^{Ns}`, is exponentially small, so
    a typical sample has none there: the (quenched) entropy is −inf. With
    ``annealed=True`` the parabola is returned everywhere (negative beyond ε₀): its
    sign change is where the REM freezes.

    Parameters
    ----------
    eps : float or array
        Energy per spin ε = E/N (any real).
    J : float
        Energy scale, > 0.
    annealed : bool
        Return ln 2 − ε²/J² also where it is negative.
    """
    e = _checks.real_array("eps", eps, low=-math.inf)
    J = float(_checks.real_array("J", J, strict=True))
    s = _LN2 - (e / J) ** 2
    if not annealed:
        s = np.where(s >= 0, s, -math.inf)
    return s[()]


def free_energy(T, J=1.0):
    r"""Quenched free energy per spin of Derrida's REM [L].

    .. math::

       f(T) = \begin{cases} -T\ln 2 - \dfrac{J^2}{4T} & T \ge T_c\\[4pt]
       -J\sqrt{\ln 2} & T \le T_c \end{cases}
       \qquad T_c = \frac{J}{2\sqrt{\ln 2}}.

    Above T_c it is the annealed value :math:`-(T/N)\ln \mathbb E Z`; below, the
    system is frozen in the lowest levels, at :math:`\varepsilon_0 = -J\sqrt{\ln 2}`
    with zero entropy. The transition is continuous with its first derivative (the
    entropy vanishes at T_c).

    Parameters
    ----------
    T : float or array
        Temperature, > 0.
    J : float
        Energy scale, > 0.
    """
    T = _checks.real_array("T", T, strict=True)
    J = float(_checks.real_array("J", J, strict=True))
    T_c = J / (2 * math.sqrt(_LN2))
    return np.where(T >= T_c, -T * _LN2 - J * J / (4 * T), -J * math.sqrt(_LN2))[()]


def free_energy_enumerated(E, T):
    r"""Exact free energy per spin of one sample of :math:`2^N` energy levels, by enumeration.

    .. math:: f_N = -\frac TN \ln \sum_{i=1}^{2^N} e^{-E_i/T},

    computed with a log-sum-exp (the exponents are O(N/T)). For levels drawn as
    :math:`E_i \sim \mathcal N(0, NJ^2/2)` this tends to :func:`free_energy` as N grows
    (self-averaging), with corrections O(ln N / N) in the frozen phase.

    Parameters
    ----------
    E : array, shape (..., 2**N)
        Energy levels, one sample per row; the last axis has length :math:`2^N`, N >= 1.
    T : float or array
        Temperature(s), > 0.

    Returns
    -------
    array, shape ``E.shape[:-1] + T.shape``
        f_N of each sample at each temperature.
    """
    E = np.asarray(E)
    if E.dtype.kind not in "iuf" or E.ndim == 0:
        raise TypeError(f"E must be a real array whose last axis holds 2**N levels, got {E!r}")
    M = E.shape[-1]
    if M < 2 or M & (M - 1):
        raise ValueError(f"E must have 2**N levels (N >= 1) along its last axis, got {M}")
    E = E.astype(np.float64)
    _checks.all_finite("E", E, np)
    T = _checks.real_array("T", T, strict=True)
    N = M.bit_length() - 1
    # ln Σ exp(-E/T) = -E_min/T + ln Σ exp(-(E - E_min)/T), one temperature at a time (a
    # (..., len(T), 2**N) array could be large); by hand, in place: scipy's logsumexp is
    # ~40x slower on 2**20 levels
    E_min = E.min(axis=-1, keepdims=True)
    gap = E - E_min
    work = np.empty_like(gap)
    out = []
    for t in T.ravel():
        np.exp(np.multiply(gap, -1 / t, out=work), out=work)
        out.append(E_min[..., 0] / N - t / N * np.log(work.sum(axis=-1)))
    return np.stack(out, axis=-1).reshape(E.shape[:-1] + T.shape)[()]


# ------------------------------------------------------------------- the generalised REM

_STATS = ("psi", "psi_prime", "psi_prime_inverse", "rate", "rate_inverse", "u_sup")


def _ensemble(ensemble):
    """``ensemble`` if it carries overlap statistics, else a TypeError naming the parameter."""
    if not all(hasattr(ensemble, name) for name in _STATS):
        raise TypeError("ensemble must be a pattern ensemble with overlap statistics "
                        f"(e.g. damlab.Gaussian()), got {ensemble!r}")
    return ensemble


def _arrays(alpha, lam):
    """α >= 0 and λ >= 0 as float arrays (not yet broadcast), each checked by name."""
    a = _checks.real_array("alpha", alpha)
    lam = _checks.real_array("lam", lam)
    try:
        np.broadcast_shapes(a.shape, lam.shape)
    except ValueError:
        raise ValueError(f"alpha and lam must broadcast together, got shapes {a.shape} and {lam.shape}") from None
    return a, lam


def _u_max(ens, a):
    """u_max(α) of the array a; the ensemble is asked once per distinct value (its inverse
    may be a scalar root-finder, and grids repeat each α along a whole row)."""
    a = np.asarray(a, dtype=np.float64)
    values, inverse = np.unique(a, return_inverse=True)
    return np.asarray(ens.rate_inverse(values), dtype=np.float64).reshape(-1)[inverse].reshape(a.shape)


def _tilted_rate(ens, lam):
    r"""I(ψ′(λ)), the cost of the overlap u* = ψ′(λ) that dominates at tilt λ.

    By the Legendre identity :math:`I(\psi'(\lambda)) = \lambda\psi'(\lambda) - \psi(\lambda)`:
    no inverse is needed, and it stays finite where ψ′ approaches the edge of the support
    (binary: → ln 2 as λ → ∞; spherical: ≈ ½ ln λ)."""
    return lam * np.asarray(ens.psi_prime(lam)) - np.asarray(ens.psi(lam))


def is_liquid(ensemble, alpha, lam):
    r"""Whether the REM of the overlaps is liquid, :math:`I(\psi'(\lambda)) \le \alpha` [D/L].

    Equivalently λ <= λ_c(α) (:func:`condensation_lambda`): the sum over patterns is
    carried by exponentially many overlaps near u* = ψ′(λ). Otherwise it condenses on the
    few largest overlaps.

    Parameters
    ----------
    ensemble : Ensemble
        Pattern ensemble with overlap statistics (ψ, ψ′, I, I⁻¹).
    alpha, lam : float or array
        Load α >= 0 (P = e^{αN}) and inverse temperature λ >= 0; broadcast together.

    Returns
    -------
    bool or array of bool, of the broadcast shape
    """
    ens = _ensemble(ensemble)
    a, lam = _arrays(alpha, lam)
    return (_tilted_rate(ens, lam) <= a)[()]


def phi(ensemble, alpha, lam):
    r"""Free entropy of the REM of the overlaps, φ(α, λ) [D/L] (THEORY.md §2).

    .. math::

       \varphi(\alpha,\lambda) = \lim_{N\to\infty}\frac1N \ln\sum_{\mu=1}^{e^{\alpha N}} e^{\lambda N u_\mu}
       = \max_{u:\, I(u)\le\alpha} \left[\alpha - I(u) + \lambda u\right]
       = \begin{cases} \alpha + \psi(\lambda) & \text{if } I(\psi'(\lambda)) \le \alpha \ \text{(liquid)},\\
       \lambda\, u_{\max}(\alpha) & \text{otherwise (condensed)}, \end{cases}

    where :math:`u_{\max}(\alpha) = I^{-1}(\alpha)`. The two branches meet at λ_c(α)
    (:func:`condensation_lambda`); α + ψ(λ) >= λ u_max(α) everywhere, with equality
    only there. Gaussian overlaps at α = ln 2 give Derrida's REM: :math:`\varphi = -f/T`
    with :math:`\lambda = J/(\sqrt2 T)`.

    Parameters
    ----------
    ensemble : Ensemble
        Pattern ensemble with overlap statistics, e.g. ``damlab.Spherical()``.
    alpha : float or array
        Load α >= 0.
    lam : float or array
        Inverse temperature λ >= 0; broadcast with ``alpha``.

    Returns
    -------
    float or array of the broadcast shape
    """
    ens = _ensemble(ensemble)
    a, lam = _arrays(alpha, lam)
    liquid = _tilted_rate(ens, lam) <= a
    out = np.array(a + np.asarray(ens.psi(lam)), dtype=np.float64)  # broadcast shape
    condensed = ~liquid
    if condensed.any():
        A, L = np.broadcast_arrays(a, lam)
        out[condensed] = L[condensed] * _u_max(ens, A[condensed])
    return out[()]


def condensation_lambda(ensemble, alpha):
    r"""The condensation point λ_c(α) of the REM of the overlaps [D/L].

    .. math:: I(\psi'(\lambda_c)) = \alpha, \qquad\text{i.e.}\qquad
       \lambda_c(\alpha) = (\psi')^{-1}\!\big(u_{\max}(\alpha)\big).

    The REM is liquid for λ <= λ_c and condensed beyond. Gaussian: :math:`\sqrt{2\alpha}`
    (Derrida: :math:`\sqrt{2\ln 2}`). Where :math:`u_{\max}(\alpha)` is the edge of the
    support (binary patterns with α >= ln 2: there are more patterns than states, and
    every state is repeated) there is no condensation: λ_c = inf. (Also where u_max
    rounds to the edge in float64: spherical patterns beyond α ≈ 18, λ_c ≈ e^{2α}/2.)

    Parameters
    ----------
    ensemble : Ensemble
    alpha : float or array
        Load α >= 0.

    Returns
    -------
    float or array, shaped like ``alpha``
    """
    ens = _ensemble(ensemble)
    a = _checks.real_array("alpha", alpha)
    u = _u_max(ens, a)
    inside = u < ens.u_sup
    out = np.full(a.shape, math.inf)
    if inside.any():
        out[inside] = np.asarray(ens.psi_prime_inverse(u[inside]), dtype=np.float64)
    return out[()]
