r"""Multi-step dynamics of modern Hopfield networks with P = e^{αN} patterns: the
overlap with the starting pattern after each update."""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..backend import to_host
from ..ensembles import Binary
from ..models import ModernHopfield
from ._common import Estimate, counts, ensemble_arg, grid, run_grid
from .basins import state_at_overlap
from .one_step import patterns_for
from .retrieval import corrupt

__all__ = ["overlap_trajectory"]

_DENSE_BYTES = 256 << 20  # patterns up to this size are drawn once and held; larger ones streamed


def overlap_trajectory(ensemble, N, alpha, lam, *, rho=1.0, steps=5, sphere=False, trials=8, starts=8,
                       dtype="float32", seed=None, progress=None):
    r"""Overlap with the starting pattern after each of ``steps`` modern Hopfield updates.

    For each (α, λ, ρ) of the grid and each trial, store P = e^{αN} patterns in
    :class:`~damlab.models.ModernHopfield`, start ``starts`` runs at overlap ρ with
    randomly chosen patterns ξ^μ (x = ξ^μ at ρ = 1; otherwise :func:`state_at_overlap`,
    or for :class:`~damlab.ensembles.Binary` patterns ξ^μ with round(N(1 - ρ)/2)
    entries flipped, :func:`corrupt`), iterate

    .. math::

       x^{t+1} = \sum_\nu \xi^\nu\,\mathrm{softmax}_\nu(\lambda\,\xi^\nu\cdot x^t)
       \quad\Big(\text{then } x^{t+1} \leftarrow \sqrt N\,x^{t+1}/|x^{t+1}| \text{ if ``sphere``}\Big),

    and record :math:`m_t = \xi^\mu\cdot x^t/N` for t = 0, ..., ``steps``.

    This is not the observable whose threshold is α₁ (THEORY.md §3, "Finite-N
    behaviour"; the book's phase-diagram chapter derives what follows): after the first
    step x is a softmax average of patterns, no longer independent of the others.
    Without renormalisation and for λ < 1 (Gaussian and spherical patterns alike) the
    state keeps the direction of ξ^μ but loses norm, x ≈ c ξ^μ with c < 1, and the next
    step works at inverse temperature λc; at finite N this feedback drives x to ≈ 0 (the
    mean of the patterns) already at loads α₁ - O(ln N / N) (about 0.1 below α₁ at
    N = 20). For λ > 1, x ≈ 0 is unstable and m_t stays near 1, but Gaussian runs can
    end on another stored pattern of larger norm, which m_t (the unnormalised overlap)
    hardly shows. With ``sphere=True`` the update in the liquid is close to the identity
    on the sphere, so m_t stays high even above α₁. The one-step observables
    (:func:`retrieval_fraction`, :func:`basin_fraction`) are the ones to set beside the
    theory.

    Parameters
    ----------
    ensemble : Ensemble
        Where the patterns come from.
    N : int
        Dimension.
    alpha, lam, rho : float or array
        Load α >= 0 (P = round(e^{αN}), :func:`patterns_for`), λ > 0, initial overlap ρ
        in [-1, 1]; broadcast to one grid.
    steps : int
        Number of updates (>= 1).
    sphere : bool
        Renormalise to |x|² = N after each update (``ModernHopfield.run(..., sphere=True)``):
        the dynamics on the sphere, natural for spherical patterns.
    trials : int
        Independent draws of the patterns per grid point (>= 2).
    starts : int
        Runs per draw, from distinct patterns while starts <= P.
    dtype : {"float32", "float64"}
        Of the patterns and states.
    seed, progress
        As in :func:`damlab.experiments.final_overlap`.

    Returns
    -------
    Estimate
        ``samples`` of shape ``grid + (steps + 1, trials, starts)``: the time is the last
        grid axis, so ``.mean[..., t]`` is the mean overlap after t steps, and
        ``Estimate(e.samples[..., -1, :, :])`` the final one.

    Notes
    -----
    The patterns are held in memory while P·N values take at most 256 MiB (P ≈ 2·10⁶
    at N = 30 in float32); beyond, they are streamed and regenerated at every step.
    """
    ensemble = ensemble_arg(ensemble)
    N = _checks.positive_int("N", N)
    trials, starts = counts(trials, starts)
    steps = _checks.positive_int("steps", steps)
    if not isinstance(sphere, (bool, np.bool_)):
        raise TypeError(f"sphere must be True or False, got {sphere!r}")
    rho = _checks.overlap_array("rho", rho)
    if N < 2 and np.any(rho < 1):
        raise ValueError(f"starting at rho < 1 needs N >= 2, got N = {N}")
    shape, g = grid(alpha=_checks.real_array("alpha", alpha), lam=_checks.real_array("lam", lam, strict=True),
                    rho=rho)
    points = list(zip(g["alpha"].ravel(), g["lam"].ravel(), g["rho"].ravel()))
    dtype = _checks.floating_dtype("dtype", dtype)
    binary = isinstance(ensemble, Binary)

    def draw(alpha, lam, rho, rng):
        P = patterns_for(N, alpha)
        if P * N * np.dtype(dtype).itemsize <= _DENSE_BYTES:
            xi = ensemble.sample(P, N, seed=rng, dtype=dtype)
        else:
            xi = ensemble.stream(P, N, seed=rng, dtype=dtype)
        net = ModernHopfield(xi, lam)
        mu = rng.choice(P, size=starts, replace=starts > P)
        if hasattr(xi, "rows"):  # a stream: one row at a time
            targets = np.concatenate([to_host(xi.rows(int(m), int(m) + 1)) for m in mu])
        else:
            targets = to_host(xi[mu])
        targets = np.asarray(targets, dtype=np.float64)
        if rho == 1:
            x = targets.copy()
        elif binary:
            x = corrupt(targets, rho, rng)
        else:
            x = state_at_overlap(targets, rho, rng)
        x = x.astype(dtype)
        m = [np.sum(targets * x, axis=1) / N]
        for _ in range(steps):
            x = net.run(x, max_steps=1, sphere=sphere).x
            m.append(np.sum(targets * np.asarray(to_host(x), dtype=np.float64), axis=1) / N)
        return np.stack(m)  # (steps + 1, starts)

    out = run_grid(draw, points, trials, seed, progress, "dynamics")  # (points, trials, steps + 1, starts)
    out = np.moveaxis(out, 2, 1)
    return Estimate(out.reshape(shape + (steps + 1, trials, starts)))
