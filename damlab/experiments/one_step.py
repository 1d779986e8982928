r"""The one-step retrieval test of modern Hopfield networks with P = e^{αN} patterns:
does a stored pattern carry most of the softmax weight at itself?"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import logsumexp

from .. import _checks, engine
from ..backend import asarray, get_namespace, to_host
from ..ensembles import log_mgf
from ._common import Estimate, counts, ensemble_arg, grid, run_grid

__all__ = ["retrieval_fraction", "patterns_for"]

_CHUNK = 1 << 18  # scores drawn per pass: 2 MiB of float64
_TOP = 1 << 12  # "tail" route: about this many of the largest scores are drawn one by one


def patterns_for(N, alpha) -> int:
    """P = round(e^{αN}), at least 2 (ξ¹ and one other)."""
    return max(2, round(math.exp(alpha * N)))


def check_route(route):
    if route not in ("scores", "tail", "vectors"):
        raise ValueError(f"route must be 'scores', 'tail' or 'vectors', got {route!r}")


def _others_win(ensemble, x, own, n, lam, rng, route, dtype) -> bool:
    r"""Whether :math:`\ln\sum_{\mu=2}^{n+1} e^{\lambda\,\xi^\mu\cdot x} \ge` ``own`` for n
    fresh patterns, independent of the state x (host, float64)."""
    if route == "vectors":  # the others as a pattern stream through the retrieval engine
        others = ensemble.stream(n, x.size, seed=rng, dtype=dtype)
        xp = get_namespace()
        return own <= float(engine.logsumexp(asarray(x, xp, dtype=dtype), others, lam))
    if n >= 2**62:
        raise ValueError(f"P = e^(αN) = {n + 1:.3g} is too large to count in 64-bit integers: lower alpha or N")
    if hasattr(ensemble, "sample_score_counts") and np.all(np.abs(x) == 1):  # a discrete law: one histogram
        values, counts = ensemble.sample_score_counts(x, n, rng)
        return own <= logsumexp(lam * values, b=counts)
    if route == "tail" and n > 4 * _TOP:
        law = ensemble.score_law(x)
        if law is None:
            raise ValueError(f"route='tail' needs an ensemble whose scores have a known law "
                             f"(Ensemble.score_law); {ensemble!r} has none: use route='vectors'")
        return own <= _tail_logsumexp(law, n, lam, own, rng)
    lse, left = -math.inf, n
    while left > 0 and lse < own:  # online log-sum-exp; stop once the others have won
        scores = lam * ensemble.sample_scores(x, min(left, _CHUNK), rng)
        top = max(lse, float(scores.max()))
        lse = top + math.log(math.exp(lse - top) + float(np.exp(scores - top).sum()))
        left -= scores.size
    return own <= lse


def _tail_logsumexp(law, n, lam, own, rng) -> float:
    r""":math:`\ln\sum_{k=1}^n e^{\lambda s_k}` for n i.i.d. scores s_k of law ``law``, in
    O(_TOP) work whatever n (or any value >= ``own`` once that is certain).

    Split at the level t that about _TOP scores exceed, Pr(s > t) = q = _TOP/n. How many
    exceed it is Binomial(n, q), and their values are t's conditional law, drawn exactly by
    inverse survival, s = S⁻¹(qU). The m scores below t are i.i.d. in the law truncated
    to s < t; their sum of e^{λs} is replaced by its mean m·E[e^{λs} | s < t] plus a
    Gaussian fluctuation of the exact variance (central limit theorem over m >= 3·_TOP
    terms none of which exceeds e^{λt}, the size of one of the exactly drawn terms).
    """
    q = _TOP / n
    top = lam * law.isf(q * rng.random(rng.binomial(n, q)))
    lse_top = logsumexp(top) if top.size else -math.inf
    if lse_top >= own:
        return lse_top
    m = n - top.size
    log_m1, log_m2 = _truncated_moments(law, lam, q)
    cv = math.sqrt(max(math.expm1(log_m2 - 2 * log_m1), 0.0) / m)  # std/mean of the bulk sum
    z = max(1 + cv * rng.standard_normal(), 1e-300)  # cv << 1: the clip is never reached in practice
    return float(np.logaddexp(lse_top, math.log(m) + log_m1 + math.log(z)))


@functools.lru_cache(maxsize=1024)
def _truncated_moments(law, lam, q):
    """ln E[e^{λs} | s < t] and ln E[e^{2λs} | s < t] with Pr(s > t) = q: the same for every
    instance of a grid point (Ensemble.score_law returns one cached law per |x|)."""
    t = float(law.isf(q))
    return log_mgf(law, lam, t) - math.log1p(-q), log_mgf(law, 2 * lam, t) - math.log1p(-q)


def retrieval_fraction(ensemble, N, alpha, lam, *, trials=100, norm=None, route="scores",
                       dtype="float32", seed=None, progress=None):
    r"""Fraction of instances in which ξ¹ carries softmax weight w₁ > 1/2 at x = ξ¹.

    With P = e^{αN} patterns and inverse temperature λ, the weight of ξ¹ in the update
    :math:`x \leftarrow \sum_\mu \xi^\mu\,\mathrm{softmax}_\mu(\lambda\,\xi^\mu\cdot x)`
    at :math:`x = \xi^1` exceeds 1/2 exactly when

    .. math::

       \lambda\,|\xi^1|^2 > \ln \sum_{\mu \ge 2} e^{\lambda\, \xi^\mu\cdot\xi^1},

    the criterion whose large-N threshold is α₁(λ) (THEORY.md §3: the observable that
    matches it at finite N). The right side is accumulated chunk by chunk (online
    log-sum-exp), so P need not fit in memory; on the "scores" route a run stops as
    soon as it exceeds the left side (a failure is certain then).

    Parameters
    ----------
    ensemble : Ensemble
        Where ξ¹ and the other P - 1 patterns come from.
    N : int
        Dimension.
    alpha, lam : float or array
        Load α (P = round(e^{αN}), see :func:`patterns_for`) and λ > 0, broadcast to one grid.
    trials : int
        Independent instances per grid point (>= 2).
    norm : float, optional
        Condition on |ξ¹|² = norm·N (ξ¹ rescaled): e.g. ``norm=1`` for Gaussian patterns,
        whose random norm broadens the transition at finite N.
    route : {"scores", "tail", "vectors"}
        "scores": the scores ξ^μ·ξ¹ of the others drawn directly by
        :meth:`Ensemble.sample_scores` (exact in law; N times cheaper where the
        ensemble knows the law), or as one histogram where the law is discrete
        (``sample_score_counts``: binary patterns, O(N) work for any P);
        "tail": as "scores" while P <= 16 384; beyond, only the ~4096 largest scores are
        drawn (exactly, from :meth:`Ensemble.score_law`) and the sum over the rest is
        their exact conditional mean with a Gaussian fluctuation (central limit theorem),
        so that an instance costs about a millisecond at any P up to 4·10¹⁸: the route to
        N = 40–60;
        "vectors": P - 1 sampled patterns streamed through :func:`damlab.engine.logsumexp`
        (any ensemble, on the current backend; no early exit).
    dtype : {"float32", "float64"}
        Of the patterns and scores on the "vectors" route.
    seed, progress
        As in :func:`damlab.experiments.final_overlap`.

    Returns
    -------
    Estimate
        Indicators of w₁ > 1/2, samples of shape ``grid + (trials, 1)``: ``.mean`` is
        the fraction, ``.se`` its binomial standard error.
    """
    ensemble = ensemble_arg(ensemble)
    N = _checks.positive_int("N", N)
    trials, _ = counts(trials, 1)
    check_route(route)
    if norm is not None:
        norm = _checks.positive_float("norm", norm)
    shape, g = grid(alpha=_checks.real_array("alpha", alpha), lam=_checks.real_array("lam", lam, strict=True))
    points = list(zip(g["alpha"].ravel(), g["lam"].ravel()))
    dtype = _checks.floating_dtype("dtype", dtype)

    def draw(alpha, lam, rng):
        x = to_host(ensemble.sample(1, N, seed=rng)[0])
        if norm is not None:
            x *= math.sqrt(norm * N) / np.linalg.norm(x)
        own = lam * float(x @ x)
        return [float(not _others_win(ensemble, x, own, patterns_for(N, alpha) - 1, lam, rng, route, dtype))]

    out = run_grid(draw, points, trials, seed, progress, "w1 > 1/2")
    return Estimate(out.reshape(shape + (trials, 1)))
