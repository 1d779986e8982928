r"""One-step basins of attraction: from a state at overlap ρ with ξ¹, does one modern
Hopfield update land on ξ¹?"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from ..backend import default_rng, to_host
from ..ensembles import Binary
from ._common import Estimate, counts, ensemble_arg, grid, run_grid
from .one_step import _others_win, check_route, patterns_for
from .retrieval import corrupt

__all__ = ["state_at_overlap", "basin_fraction"]


def state_at_overlap(xi, rho, seed=None):
    r"""A random state on the sphere :math:`|x|^2 = N` at overlap ρ with the direction of ξ.

    .. math::

       x = \sqrt N\left(\rho\,\hat\xi + \sqrt{1 - \rho^2}\;\hat e\right),
       \qquad \hat\xi = \xi/|\xi|,

    with ê a uniformly random unit vector orthogonal to ξ (one per row). Then
    :math:`\hat\xi\cdot x/\sqrt N = \rho` exactly, i.e. :math:`\xi\cdot x/N = \rho` for
    patterns with :math:`|\xi|^2 = N` (spherical, binary); Gaussian patterns give
    :math:`\rho\,|\xi|/\sqrt N`.

    Parameters
    ----------
    xi : array, shape (B, N) or (N,)
        Patterns (host or device; the result is a float64 NumPy array). N >= 2.
    rho : float
        Overlap, in [-1, 1].
    seed : int or numpy Generator, optional

    Returns
    -------
    ndarray, shaped like ``xi``
    """
    rho = float(_checks.real_array("rho", rho, low=-1.0))
    if rho > 1:
        raise ValueError(f"rho must be an overlap in [-1, 1], got {rho}")
    xi = np.asarray(to_host(xi), dtype=np.float64)
    rows = np.atleast_2d(xi)
    B, N = rows.shape
    if N < 2:
        raise ValueError(f"states need N >= 2 (a direction orthogonal to xi), got N = {N}")
    norm = np.linalg.norm(rows, axis=1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("xi must have no zero rows (no direction to be at an overlap with)")
    u = rows / norm
    g = default_rng(seed).standard_normal((B, N))
    g -= np.sum(g * u, axis=1, keepdims=True) * u  # the component orthogonal to ξ
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    x = math.sqrt(N) * (rho * u + math.sqrt(max(0.0, 1 - rho * rho)) * g)
    return x.reshape(xi.shape)


def basin_fraction(ensemble, N, alpha, lam, rho, *, trials=100, norm=None, route="scores",
                   dtype="float32", seed=None, progress=None):
    r"""Fraction of instances in which one update from overlap ρ with ξ¹ lands on ξ¹.

    Start from a state x at overlap ρ with ξ¹ and independent of the other P - 1 = e^{αN} - 1
    patterns: on the sphere, :func:`state_at_overlap` (ξ¹·x/N = ρ for |ξ¹|² = N); for
    :class:`~damlab.ensembles.Binary` patterns a ±1 state, ξ¹ with round(N(1 - ρ)/2)
    entries flipped (:func:`corrupt`). The update
    :math:`x \leftarrow \sum_\mu \xi^\mu\,\mathrm{softmax}_\mu(\lambda\,\xi^\mu\cdot x)`
    lands on ξ¹ (its weight w₁ > 1/2) iff

    .. math::

       \lambda\,\xi^1\cdot x > \ln \sum_{\mu \ge 2} e^{\lambda\,\xi^\mu\cdot x}.

    At large N the right side is N φ(α, λ) (THEORY.md §2), so the basin is
    ρ > ρ_min = (α + ψ(λ))/λ in the liquid phase and ρ > u_max(α) when the REM of the
    others is condensed (:func:`damlab.theory.capacity.basin_edge`, THEORY.md §3).
    The others' scores ξ^μ·x depend on x only through |x| (and on ±1 states not at
    all), so the "scores" route draws them exactly in law, as in
    :func:`retrieval_fraction`.

    Parameters
    ----------
    ensemble : Ensemble
        Where ξ¹ and the others come from.
    N : int
        Dimension (>= 2).
    alpha, lam, rho : float or array
        Load α >= 0 (P = round(e^{αN}), :func:`patterns_for`), λ > 0 and the initial
        overlap ρ in [-1, 1], broadcast to one grid.
    trials : int
        Independent instances (ξ¹, x and the others) per grid point (>= 2).
    norm : float, optional
        Condition on |ξ¹|² = norm·N (ξ¹ rescaled; sphere states only), as in
        :func:`retrieval_fraction`.
    route : {"scores", "tail", "vectors"}
        "scores": the others' scores drawn directly (:meth:`Ensemble.sample_scores`, or
        one histogram for binary patterns and ±1 states); "tail": only the largest
        drawn one by one, for P up to ~10¹⁸; "vectors": P - 1 sampled patterns streamed
        through :func:`damlab.engine.logsumexp` (all as in :func:`retrieval_fraction`).
    dtype : {"float32", "float64"}
        Of the patterns and scores on the "vectors" route.
    seed, progress
        As in :func:`damlab.experiments.final_overlap`.

    Returns
    -------
    Estimate
        Indicators of w₁ > 1/2 after the step, samples of shape ``grid + (trials, 1)``:
        ``.mean`` is the success probability, ``.se`` its binomial standard error.
    """
    ensemble = ensemble_arg(ensemble)
    N = _checks.positive_int("N", N)
    if N < 2:
        raise ValueError(f"N must be >= 2, got {N}")
    trials, _ = counts(trials, 1)
    check_route(route)
    binary = isinstance(ensemble, Binary)
    if norm is not None:
        norm = _checks.positive_float("norm", norm)
        if binary:
            raise ValueError("norm conditions a pattern's norm; binary patterns have |xi|^2 = N already")
    rho = _checks.overlap_array("rho", rho)
    shape, g = grid(alpha=_checks.real_array("alpha", alpha), lam=_checks.real_array("lam", lam, strict=True),
                    rho=rho)
    points = list(zip(g["alpha"].ravel(), g["lam"].ravel(), g["rho"].ravel()))
    dtype = _checks.floating_dtype("dtype", dtype)

    def draw(alpha, lam, rho, rng):
        xi1 = np.asarray(to_host(ensemble.sample(1, N, seed=rng)[0]), dtype=np.float64)
        if norm is not None:
            xi1 *= math.sqrt(norm * N) / np.linalg.norm(xi1)
        x = corrupt(xi1, rho, rng) if binary else state_at_overlap(xi1, rho, rng)
        own = lam * float(xi1 @ x)
        return [float(not _others_win(ensemble, x, own, patterns_for(N, alpha) - 1, lam, rng, route, dtype))]

    out = run_grid(draw, points, trials, seed, progress, "one-step basin")
    return Estimate(out.reshape(shape + (trials, 1)))
