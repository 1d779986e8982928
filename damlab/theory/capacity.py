r"""Exponential capacity of modern Hopfield networks: retrieval thresholds and phase diagrams.

The energy :math:`E(x) = -\frac1\lambda\ln\sum_\mu e^{\lambda\,\xi^\mu\cdot x}` with
P = e^{αN} patterns (Lucibello & Mézard 2024; THEORY.md §3). At x = ξ¹ the pattern's own
term, :math:`e^{\lambda N |\xi^1|^2/N}`, competes with the REM of the others,
:math:`e^{N\varphi(\alpha,\lambda)}` (:func:`damlab.theory.rem.phi`), so ξ¹ carries the
softmax weight (w₁ → 1) iff

.. math:: \lambda\, q > \varphi(\alpha, \lambda), \qquad q = \lim |\xi^1|^2/N,

the ensemble's ``q_self``: 1 for Gaussian, spherical, binary and linear hidden-manifold
patterns, E σ(h)² for the nonlinear hidden manifold (relu 1/2, tanh ≈ 0.394; THEORY.md §4).
Everything in this module follows from that criterion and the ensemble's overlap
statistics ψ, I [D]; the functions take an ensemble object (``damlab.Gaussian()``,
``Spherical()``, ``Binary()``, ``HiddenManifold(d, activation)``) and broadcast over arrays
of α and λ.

The (λ, α) phase diagram (:func:`phase`): *retrieval* below α₁(λ); above it the REM
of the other patterns is *liquid* (exponentially many patterns share the weight;
λ <= λ_c(α)) or *condensed* (a few random patterns take it; λ > λ_c(α)).

Lucibello & Mézard state [P]: that α₁ is exact; that spherical and Gaussian patterns
have qualitatively different phase diagrams; spherical: the all-pattern lower bound is
sharp and the capacity grows without bound with λ; Gaussian: α₁ and the bound do not
match, and above a limit capacity the system is liquid or condensed. The formulas
here are the book's derivations [D] consistent with those statements.

See the book chapter on the Gaussian and spherical phase diagrams.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import lambertw

from .. import _checks
from ..ensembles import Gaussian, HiddenManifold
from .rem import _arrays, _ensemble, _tilted_rate, _u_max, condensation_lambda

__all__ = [
    "RETRIEVAL", "LIQUID", "CONDENSED", "PHASES",
    "alpha_1", "lambda_1", "lambda_c", "phase", "triple_point", "alpha_c_lower", "basin_edge",
    "attention_log_capacity",
]

RETRIEVAL, LIQUID, CONDENSED = 0, 1, 2
"""Codes returned by :func:`phase`."""
PHASES = ("retrieval", "liquid", "condensed")
"""Names of the phases, indexed by their codes: ``PHASES[phase(...)]``."""

_LN2 = math.log(2)


def _rate_at_q(ens) -> float:
    """I(q): the cost of one other pattern as close to x = ξ¹ as ξ¹ itself (inf for spherical)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(ens.rate(ens.q_self))


def alpha_1(ensemble, lam):
    r"""Single-pattern threshold α₁(λ): the largest load at which a given pattern is retrieved [D].

    From :math:`\lambda q > \varphi(\alpha,\lambda)` (self-overlap q = ``ensemble.q_self``)
    with φ of :func:`damlab.theory.rem.phi`:

    .. math::

       \alpha_1(\lambda) = \begin{cases} \lambda q - \psi(\lambda) & \psi'(\lambda) \le q
       \quad\text{(lost into the liquid)},\\
       I(q) & \psi'(\lambda) > q \quad\text{(lost into the condensed phase)}, \end{cases}

    equivalently :math:`\alpha_1(\lambda) = \min_{u\le q}\,[I(u) + \lambda(q-u)]`. It is
    non-decreasing in λ, and :math:`\lambda - \lambda^2/2 + O(\lambda^3)` at small λ for
    every ensemble with mean-zero overlaps of N·Var(u) = 1 (:math:`O(\lambda^4)` when ψ is
    even, as for Gaussian, spherical and binary patterns). Gaussian: λ − λ²/2 up to λ = 1, then 1/2.
    Spherical: :math:`\lambda(1-u^*) - \tfrac12\ln(1-u^{*2}) \approx \tfrac12 + \tfrac12\ln\lambda`,
    unbounded. Binary: λ − ln cosh λ → ln 2. Linear hidden manifold (THEORY.md §4):
    λ − vλ²/2 up to λ = 1/v, then 1/(2v), v = 1 + 1/d. Nonlinear hidden manifold: q = E σ(h)²
    and ψ the teacher–student free entropy (THEORY.md §4); relu and tanh saturate at
    I(q) beyond ψ′(λ*) = q, sign (q = 1 = sup u) only as λ → ∞. (Lucibello & Mézard and
    Achilli et al. state that α₁ is exact [P]; the formulas here are derived [D].)

    Parameters
    ----------
    ensemble : Ensemble
        Pattern ensemble with overlap statistics.
    lam : float or array
        Inverse temperature λ >= 0.

    Returns
    -------
    float or array, shaped like ``lam``
    """
    ens = _ensemble(ensemble)
    lam = _checks.real_array("lam", lam)
    q = ens.q_self  # (1.0 where |ξ|²/N -> 1: then λq is λ, bit for bit)
    return np.where(np.asarray(ens.psi_prime(lam)) <= q, lam * q - np.asarray(ens.psi(lam)), _rate_at_q(ens))[()]


def lambda_1(ensemble, alpha):
    r"""Retrieval onset λ₁(α): the smallest λ at which a pattern is retrieved at load α [D].

    The inverse of :func:`alpha_1`: the root of :math:`\lambda q - \psi(\lambda) = \alpha`
    on the branch ψ′(λ) <= q (there λq − ψ(λ) increases). Retrieval needs λ > λ₁(α);
    for α >= sup α₁ = I(q) there is none, and λ₁ = inf. Gaussian:
    :math:`1 - \sqrt{1 - 2\alpha}` for α < 1/2. (Spherical: λ₁ ≈ e^{2α−1} grows
    without bound; in float64 ψ′ rounds to 1 beyond λ ≈ 1e15, i.e. α ≈ 17, and the result
    is not meaningful there.)

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
    top, q = _rate_at_q(ens), ens.q_self
    out = np.full(a.shape, math.inf)
    out[a == 0] = 0.0  # (bisection would only approach it)
    todo = (a > 0) & (a < top)
    if not todo.any():
        return out[()]
    target = a[todo]

    def gain(lam):  # α₁ on the branch, and -inf past ψ′ = q so that bisection stays on it
        with np.errstate(divide="ignore"):  # (ψ at λ so large that ψ′ rounds to 1)
            return np.where(np.asarray(ens.psi_prime(lam)) <= q, lam * q - np.asarray(ens.psi(lam)), -math.inf)

    # upper end of the bracket: ψ′ reaches q there, or (ψ′ < q throughout) grow until past α
    if ens.u_sup > q:
        hi = np.full(target.shape, float(ens.psi_prime_inverse(q)))
    else:
        hi = np.ones(target.shape)
        while np.any(grow := gain(hi) < target) and hi.max() < 1e300:  # (spherical: λ₁ ~ e^{2α-1})
            hi[grow] *= 2
    lo = np.zeros(target.shape)
    # bisection: λ − ψ(λ) is increasing but flat where ψ′ → 1, where Newton would crawl
    for _ in range(200):
        mid = (lo + hi) / 2
        below = gain(mid) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        if np.all(hi - lo <= 4 * np.finfo(float).eps * hi):
            break
    out[todo] = hi
    return out[()]


def lambda_c(ensemble, alpha):
    r"""Condensation line λ_c(α), where the REM of the other patterns freezes [D/L].

    :math:`I(\psi'(\lambda_c)) = \alpha`; the same as
    :func:`damlab.theory.rem.condensation_lambda`. Gaussian: :math:`\sqrt{2\alpha}`.
    For spherical and binary patterns :math:`\lambda_c(\alpha) > \lambda_1(\alpha)`
    (ψ′ < 1), so condensation happens only inside the retrieval phase.

    Parameters
    ----------
    ensemble : Ensemble
    alpha : float or array
        Load α >= 0.
    """
    return condensation_lambda(ensemble, alpha)


def phase(ensemble, alpha, lam):
    r"""The phase at (α, λ): :data:`RETRIEVAL`, :data:`LIQUID` or :data:`CONDENSED` [D].

    .. math::

       \text{retrieval: } \alpha < \alpha_1(\lambda);\quad\text{else liquid if }
       I(\psi'(\lambda)) \le \alpha,\ \text{condensed otherwise.}

    Gaussian: liquid for α >= α₁ and λ <= √(2α) (the only attractor is x ≈ 0),
    condensed for α >= 1/2 and λ > √(2α); the three meet at the triple point
    (λ, α) = (1, 1/2). When ψ′ < q for all λ (spherical, binary, sign hidden manifold),
    :math:`I(\psi'(\lambda)) = \lambda\psi' - \psi < \lambda q - \psi = \alpha_1`: the
    condensed region lies inside retrieval and this function never returns CONDENSED.

    Parameters
    ----------
    ensemble : Ensemble
    alpha, lam : float or array
        Load α >= 0 and inverse temperature λ >= 0, broadcast together (for a grid,
        ``alpha[:, None]`` and ``lam[None, :]``).

    Returns
    -------
    int8 array of the broadcast shape (an int for scalars); names in :data:`PHASES`
    """
    ens = _ensemble(ensemble)
    a, lam = _arrays(alpha, lam)
    retrieved = a < alpha_1(ens, lam)
    liquid = _tilted_rate(ens, lam) <= a
    out = np.where(retrieved, RETRIEVAL, np.where(liquid, LIQUID, CONDENSED)).astype(np.int8)
    return int(out) if out.ndim == 0 else out


def triple_point(ensemble):
    r"""Where retrieval, liquid and condensed phases meet: (λ*, α*) with ψ′(λ*) = q, α* = I(q) [D].

    q is the ensemble's ``q_self`` (1 but for the nonlinear hidden manifold). There α₁
    changes branch and the condensation line crosses it. Gaussian (1, 1/2); linear hidden
    manifold (1/v, 1/(2v)). When ψ′ < q for all λ (spherical, binary, sign hidden manifold)
    the point is at λ* = inf, with α* = I(q) (inf for spherical, ln 2 for binary).

    Returns
    -------
    (lam, alpha) : (float, float)
    """
    ens = _ensemble(ensemble)
    q = ens.q_self
    lam = float(ens.psi_prime_inverse(q)) if ens.u_sup > q else math.inf
    return lam, _rate_at_q(ens)


def _equal_norms(ens) -> bool:
    """Whether |ξ|²/N = 1 for every pattern (its rate function is inf off s = 1)."""
    return bool(np.all(np.isinf(ens.norm_rate(np.array([0.5, 2.0])))))


def _gaussian_bound(a1):
    r"""α_A of :func:`alpha_c_lower`: a₁ s with s ∈ (0, 1] the root of s(1 − 2a₁) = 1 + ln s.

    With c = 1 − 2a₁, :math:`s = -W_0(-c/e)/c` (Lambert W, principal branch); near a₁ = 0
    the argument sits on the branch point −1/e and the series s = 1 − 2√a₁ + (10/3)a₁
    (error O(a₁^{3/2})) is used instead."""
    c = 1 - 2 * a1
    with np.errstate(all="ignore"):
        s = np.where(c > 0, -lambertw(-c / math.e).real / np.where(c > 0, c, 1.0), 1 / math.e)
    small = a1 < 1e-10
    s = np.where(small, 1 - 2 * np.sqrt(a1) + 10 / 3 * a1, s)
    return a1 * s


def alpha_c_lower(ensemble, lam):
    r"""First-moment lower bound on α_c, the load up to which *all* patterns are retrieved [D].

    Union bound: all e^{αN} patterns are retrieved w.h.p. if the probability that one
    fails is :math:`e^{-N\,\Sigma}` with Σ > α. A pattern fails either *typically*
    (its load is above its own α₁) or because *one other pattern* comes as close to it
    as it is to itself, :math:`u_\mu \ge q`, which costs I(q) − α for the expected number
    of such patterns.

    *Equal norms* (spherical, binary): q = 1, so Σ = I(1) − α for α < α₁, and

    .. math:: \alpha_c \ge \min\!\big(\alpha_1(\lambda),\ I(1)/2\big).

    Spherical: I(1) = inf, the bound is α₁ (sharp, as Lucibello & Mézard state [P]).
    Binary: I(1)/2 = (ln 2)/2, the birthday bound on two patterns coinciding (a
    duplicated pattern gets weight 1/2); it is below α₁ for λ > ½ ln(1 + √2) ≈ 0.441,
    and at λ = 1 (F = e^x) it is Demircigil et al.'s (ln 2)/2.

    *Gaussian*: the norm s = |ξ¹|²/N fluctuates at rate R(s) = (s − 1 − ln s)/2, and
    given s the other overlaps with ξ¹ are N(0, s/N). A pattern of norm s fails
    typically iff :math:`\varphi_s(\alpha,\lambda) \ge \lambda s`, which works out to
    s <= α/α₁(λ); otherwise one other pattern must reach u >= s, at cost s/2 − α. Then
    :math:`\min_s [R(s) + \text{cost}] > \alpha` gives

    .. math::

       \alpha_c \ge \min\!\big(\alpha_1(\lambda)\, s_A,\ \tfrac{\ln 2}{4}\big),\qquad
       s_A(1 - 2\alpha_1) = 1 + \ln s_A,\ s_A \in (0, 1],

    the first term from patterns of small norm (s = s_A), the second from pairs
    (min over s of R(s) + s/2 is at s = 1/2). At small λ it is
    :math:`\lambda - 2\lambda^{3/2} + O(\lambda^2)`; it reaches ln 2/4 ≈ 0.173 at
    λ ≈ 0.701 and stays there, clearly below α₁ = 1/2 (THEORY.md §3 says "saturates at
    ln 2/4 as λ → ∞": it does so already at finite λ).

    Parameters
    ----------
    ensemble : Ensemble
        Spherical, Binary (equal norms) or Gaussian; others raise NotImplementedError.
    lam : float or array
        Inverse temperature λ >= 0.

    Returns
    -------
    float or array, shaped like ``lam``
    """
    ens = _ensemble(ensemble)
    a1 = np.asarray(alpha_1(ens, lam), dtype=np.float64)
    if isinstance(ens, Gaussian):
        return np.minimum(_gaussian_bound(a1), _LN2 / 4)[()]
    if not hasattr(ens, "norm_rate"):
        raise TypeError(f"ensemble must give the law of its norms (norm_rate), got {ens!r}")
    if _equal_norms(ens):
        return np.minimum(a1, _rate_at_q(ens) / 2)[()]
    raise NotImplementedError(f"the all-pattern bound is derived for equal norms and for Gaussian patterns, "
                              f"not for {ens!r}")


def basin_edge(ensemble, alpha, lam):
    r"""One-step basin: the smallest overlap ρ = ξ¹·x/N from which one update lands on ξ¹ [D].

    From a state x with |x|² = N (±1 for binary patterns) independent of the other
    patterns, the update is dominated by ξ¹ iff :math:`\lambda\rho > \varphi(\alpha,\lambda)`:

    .. math::

       \rho_{\min}(\alpha,\lambda) = \begin{cases} (\alpha + \psi(\lambda))/\lambda & \lambda \le \lambda_c(\alpha)
       \quad\text{(liquid)},\\ u_{\max}(\alpha) & \lambda > \lambda_c(\alpha)
       \quad\text{(condensed)}. \end{cases}

    It decreases with λ up to λ_c(α) and is constant, u_max(α), beyond: the basin
    cannot be wider than the largest chance overlap. ρ_min >= 1 means that not even
    x = ξ¹ is retrieved (α >= α₁(λ)).

    Parameters
    ----------
    ensemble : Ensemble
        Gaussian, Spherical or Binary. (The hidden manifold raises NotImplementedError:
        its overlap statistics are those at x = ξ¹ on the manifold, and a state off the
        manifold sees a different variance.)
    alpha : float or array
        Load α >= 0.
    lam : float or array
        Inverse temperature λ > 0.

    Returns
    -------
    float or array of the broadcast shape
    """
    ens = _ensemble(ensemble)
    if isinstance(ens, HiddenManifold):
        raise NotImplementedError(f"basin_edge needs the overlap statistics at states off the manifold, "
                                  f"which {ens!r} does not give")
    _checks.real_array("lam", lam, strict=True)
    a, lam = _arrays(alpha, lam)
    liquid = _tilted_rate(ens, lam) <= a
    out = np.array((a + np.asarray(ens.psi(lam))) / lam, dtype=np.float64)
    condensed = ~liquid
    if condensed.any():
        A = np.broadcast_to(a, out.shape)
        out[condensed] = _u_max(ens, A[condensed])
    return out[()]


def attention_log_capacity(ensemble, lam_tilde, N, all_patterns=False):
    r"""Capacity in the attention scaling λ = λ̃/√N: the largest ln P at finite N [D].

    Attention uses β = 1/√d_k on patterns of norm ~√N, i.e. λ = λ̃/√N with λ̃ = 1
    (THEORY.md §3). With λ → 0 the REM of the other patterns is liquid (λ_c(α) ≈ √(2α)
    ≫ λ), and the single-pattern criterion gives

    .. math::

       \ln P_1 = N\,\alpha_1\!\left(\tilde\lambda/\sqrt N\right)
       = \tilde\lambda\sqrt N - \tfrac12\tilde\lambda^2 + O(\tilde\lambda^4/N)

    (exactly :math:`\tilde\lambda\sqrt N - v\tilde\lambda^2/2` for Gaussian overlaps of
    N·Var = v): the capacity is only :math:`e^{O(\sqrt N)}`. With ``all_patterns`` the
    bound :func:`alpha_c_lower` is used instead; for spherical and binary patterns it is
    the same, for Gaussian patterns :math:`\tilde\lambda\sqrt N - 2\tilde\lambda^{3/2}N^{1/4}
    + O(1)` (the smallest of P norms): the two thresholds merge, ln P_c/ln P_1 → 1.
    The large-deviation formulas are used at λ → 0, where they need the liquid sum to
    self-average (P ≫ e^{λ̃²}); their finite-N accuracy is not established here.

    Parameters
    ----------
    ensemble : Ensemble
    lam_tilde : float or array
        λ̃ = λ√N >= 0.
    N : float or array
        Dimension, >= 1; broadcast with ``lam_tilde``.
    all_patterns : bool
        Lower bound for all patterns (True) or the threshold for one (False).

    Returns
    -------
    float or array: ln P at the threshold
    """
    ens = _ensemble(ensemble)
    lt = _checks.real_array("lam_tilde", lam_tilde)
    n = _checks.real_array("N", N, low=1.0)
    lam = lt / np.sqrt(n)
    alpha = alpha_c_lower(ens, lam) if all_patterns else alpha_1(ens, lam)
    return (n * alpha)[()]
