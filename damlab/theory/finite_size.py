r"""The single-pattern threshold at finite N: where the simulated crossings should sit.

The one-step test (:func:`damlab.experiments.retrieval_fraction`) asks whether, at
x = ξ¹ with |ξ¹|² = N, the pattern's own term beats the others,

.. math:: e^{\lambda N} > Z = \sum_{\mu=2}^{P} e^{\lambda s_\mu},
   \qquad s_\mu = \xi^\mu\cdot\xi^1 \ \text{i.i.d.},

whose large-N threshold is α₁(λ) (:func:`damlab.theory.capacity.alpha_1`). Two exact
statements at finite N bracket the crossing [D]:

- *Liquid side* (:func:`alpha_1_annealed`): when Z is a sum of exponentially many
  comparable terms it is self-averaging, Z ≈ (P - 1)·E e^{λs}, and the crossing sits at
  :math:`\alpha_N = \lambda - \psi_N(\lambda)` with the finite-N cumulant generating
  function :math:`\psi_N(\lambda) = \frac1N \ln \mathbb E\, e^{\lambda s}` of the exact
  score law. Gaussian (|ξ¹|² = N) and binary: ψ_N = ψ, no shift. Spherical: ψ_N - ψ
  = O(1/N) > 0 (the saddle point's prefactor), so the crossing lies O(1/N) below α₁.
- *λ = ∞* (:func:`alpha_1_argmax`): Z >= e^{λ max s}, so w₁ > 1/2 requires
  max_μ s_μ < N. The load at which that happens with probability 1/2,
  :math:`(1 - S)^{P-1} = 1/2` with S = Pr(s >= N), is the λ → ∞ limit of the finite-N
  threshold and an upper bound on the crossing at every λ. Gaussian: S = Φ̄(√N) and
  α → 1/2 + (½ ln(2πN) + ln ln 2)/N, a ln N / N approach; binary: ln 2 + (ln ln 2)/N;
  spherical: S = 0, no bound.
- *Condensed side* (:func:`alpha_1_condensed`, Gaussian patterns beyond the triple point
  λ = 1): near s = N the scores of the others are a Poisson process of intensity
  n S β e^{-β(s - N)} (β = 1, the slope of s²/2N there; n = P - 1), so
  :math:`W = Z e^{-\lambda N}` is a one-sided stable variable of index m = β/λ < 1,
  :math:`\mathbb E\, e^{-tW} = e^{-nS\,\Gamma(1 - m)\,t^m}`. The crossing is where
  Pr(W < 1) = 1/2: nS = K(m), with K(0) = ln 2 (the argmax limit).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, special, stats

from .. import _checks
from ..ensembles import Binary, Gaussian, Spherical, log_mgf
from .capacity import alpha_1, triple_point
from .rem import _ensemble

__all__ = ["alpha_1_annealed", "alpha_1_argmax", "alpha_1_condensed", "stable_median_load"]


def _isotropic(ens, name):
    """Gaussian, spherical or binary: the score law at x = ξ¹ depends on |ξ¹|² = N only."""
    if not isinstance(ens, (Gaussian, Spherical, Binary)):
        raise NotImplementedError(f"{name} is written for Gaussian, Spherical and Binary patterns, "
                                  f"whose score law depends on |x| only; got {ens!r}")


def alpha_1_annealed(ensemble, lam, N):
    r"""Finite-N single-pattern threshold on the liquid side: λ - ψ_N(λ).

    .. math:: \alpha_N(\lambda) = \lambda - \frac1N \ln \mathbb E\, e^{\lambda\,\xi\cdot x},
       \qquad |x|^2 = N,

    the load at which the mean of the others' sum, (P - 1) E e^{λs} ≈ e^{N(α + ψ_N)},
    equals the own term e^{λN} [D]. Exact to the extent that the sum self-averages
    (the liquid phase; its fluctuations shift the median crossing by a further
    o(1/N)). Tends to α₁(λ) as N → ∞.

    Parameters
    ----------
    ensemble : Gaussian, Spherical or Binary
        Gaussian scores are taken with |ξ¹|² = N (``norm=1`` in the simulation).
    lam : float or array
        λ > 0, below the triple point (beyond it α₁ is condensed: see
        :func:`alpha_1_argmax`).
    N : int
        Dimension (>= 2).

    Returns
    -------
    float or ndarray
        α_N, shaped like ``lam``.
    """
    ens = _ensemble(ensemble)
    _isotropic(ens, "alpha_1_annealed")
    lam = _checks.real_array("lam", lam, strict=True)
    N = _checks.positive_int("N", N)
    if N < 2:
        raise ValueError(f"N must be >= 2, got {N}")
    lam_t = triple_point(ens)[0]
    if np.any(lam >= lam_t):
        raise ValueError(f"lam must be below the triple point λ = {lam_t:.4g}, where α₁ is condensed and the "
                         f"annealed sum fails (see alpha_1_argmax); got {lam.max():.4g}")
    if not isinstance(ens, Spherical):  # Gaussian (E e^{λs} = e^{Nλ²/2}) and binary (cosh^N λ): ψ_N = ψ
        return alpha_1(ens, lam)
    law = ens.score_law(np.ones(N))
    return np.vectorize(lambda l: l - log_mgf(law, l) / N, otypes=[float])(lam)[()]


def alpha_1_argmax(ensemble, N):
    r"""Finite-N threshold at λ = ∞, an upper bound on the crossing at every λ.

    w₁ > 1/2 requires that no other score reach the own one, max_μ ξ^μ·ξ¹ < |ξ¹|² = N,
    which holds with probability (1 - S)^{P-1}, S = Pr(ξ·ξ¹ >= N); it is the whole
    condition as λ → ∞. This returns the load ln P / N at which the probability is 1/2 [D]:

    .. math:: P - 1 = \frac{\ln 2}{-\ln(1 - S)}.

    Parameters
    ----------
    ensemble : Gaussian, Spherical or Binary
        Gaussian with |ξ¹|² = N (S = Φ̄(√N)); binary S = 2^{-N}; spherical S = 0 (inf).
    N : int or array of int
        Dimension (>= 1).

    Returns
    -------
    float or ndarray
        The load, shaped like ``N``.
    """
    ens = _ensemble(ensemble)
    _isotropic(ens, "alpha_1_argmax")
    N = np.asarray(N)
    if N.dtype.kind not in "iu" or np.any(N < 1):
        raise ValueError(f"N must be integers >= 1, got {N}")
    N = N.astype(float)
    if isinstance(ens, Spherical):
        return np.full(N.shape, math.inf)[()]
    log_S = stats.norm.logsf(np.sqrt(N)) if isinstance(ens, Gaussian) else -N * math.log(2)
    S = np.exp(log_S)
    with np.errstate(divide="ignore"):  # ln(-ln(1 - S)) is ln S to double precision once S < 1e-9
        log_rate = np.where(S < 1e-9, log_S, np.log(-np.log1p(-S)))
    return (np.logaddexp(0, math.log(math.log(2)) - log_rate) / N)[()]


def stable_median_load(m):
    r"""The mean number K of Poisson points above the own score at which the others win
    half the time, for points of intensity :math:`K\beta e^{-\beta x}` (x the excess over
    the own score) and softmax weights e^{λx}, m = β/λ in [0, 1).

    :math:`W = \sum_k e^{\lambda x_k}` has :math:`\mathbb E\, e^{-tW} = e^{-K\Gamma(1-m)t^m}`,
    a one-sided stable law; by Kanter's representation :math:`W = (K\Gamma(1-m))^{1/m}
    (A(U)/E)^{(1-m)/m}` with U uniform on (0, π), E ~ Exp(1) and
    :math:`A(u) = \sin(mu)^{m/(1-m)}\sin((1-m)u)/\sin(u)^{1/(1-m)}`, so

    .. math:: \Pr(W < 1) = \frac1\pi \int_0^\pi e^{-A(u)\,y}\,du, \qquad
       y = (K\Gamma(1-m))^{1/(1-m)},

    solved here for Pr = 1/2. K(0) = ln 2 (only the largest point counts); K falls as m
    grows (the points below the largest add up).

    Parameters
    ----------
    m : float
        Index 0 <= m < 1.
    """
    m = float(_checks.real_array("m", m))
    if m >= 1:
        raise ValueError(f"m must be in [0, 1) (m >= 1: the sum diverges, the liquid phase), got {m}")
    if m == 0:
        return math.log(2)

    def log_A(u):
        return (m * math.log(math.sin(m * u)) + (1 - m) * math.log(math.sin((1 - m) * u))
                - math.log(math.sin(u))) / (1 - m)

    def below(log_y):  # Pr(W < 1) - 1/2
        f = lambda u: math.exp(-math.exp(log_A(u) + log_y)) if u < math.pi else 0.0  # noqa: E731
        return integrate.quad(f, 0, math.pi, limit=200, epsabs=1e-13)[0] / math.pi - 0.5

    log_y = optimize.brentq(below, -60.0, 60.0, xtol=1e-13)
    return math.exp((1 - m) * log_y - special.gammaln(1 - m))


def alpha_1_condensed(ensemble, lam, N):
    r"""Finite-N single-pattern threshold on the condensed side (Gaussian patterns, λ > 1).

    With |ξ¹|² = N, the other scores s ~ N(0, N) near s = N form a Poisson process of
    intensity n φ(s) ≈ nS e^{-(s - N)} (S = Φ̄(√N), n = P - 1): the density falls by
    e^{-s²/2N}, whose slope at s = N is β = 1. Their softmax weights relative to the own
    term, W = Σ e^{λ(s - N)}, are then one-sided stable of index m = 1/λ, and w₁ > 1/2 iff
    W < 1. The crossing [D]:

    .. math:: \alpha_N = \frac1N \ln\Big(1 + \frac{K(1/\lambda)}{S}\Big),

    K from :func:`stable_median_load`; λ = ∞ gives :func:`alpha_1_argmax` (K = ln 2). The
    neglected curvature of the density changes ln n by O(1/N), α_N by O(1/N²).

    Parameters
    ----------
    ensemble : Gaussian
    lam : float or array
        λ > 1 (np.inf allowed).
    N : int
        Dimension (>= 1).

    Returns
    -------
    float or ndarray
        α_N, shaped like ``lam``.
    """
    ens = _ensemble(ensemble)
    if not isinstance(ens, Gaussian):
        raise NotImplementedError(f"alpha_1_condensed is written for Gaussian patterns, got {ens!r} "
                                  "(spherical and binary patterns are not condensed at α₁)")
    lam = np.asarray(lam, dtype=float)
    if not np.all(lam > 1):  # inf allowed (the argmax limit); nan refused
        raise ValueError(f"lam must be > 1 (beyond the triple point), got {lam[~(lam > 1)].flat[0]}")
    N = _checks.positive_int("N", N)
    K = np.vectorize(lambda l: stable_median_load(1 / l), otypes=[float])(lam)
    return (np.logaddexp(0, np.log(K) - stats.norm.logsf(math.sqrt(N))) / N)[()]  # logs: S underflows at large N
