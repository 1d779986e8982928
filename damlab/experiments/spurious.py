r"""Spurious states: do symmetric mixtures of stored patterns survive the dynamics?"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _checks
from ..backend import to_host
from ._common import Estimate, counts, grid, run_grid

__all__ = ["Mixture", "mixture_overlap"]


class Mixture(NamedTuple):
    """The two overlaps of :func:`mixture_overlap`, each an :class:`Estimate`."""

    m: Estimate
    """Mean overlap of the final state with the k mixed patterns (1/2 for a 3-mixture at α = 0)."""
    q: Estimate
    """Overlap of the final state with the initial mixture (1: the mixture is a fixed point)."""


def mixture_overlap(model, ensemble, N, P, *, k=3, trials=8, starts=8, dynamics="async",
                    T=0.0, max_sweeps=100, dtype="float32", seed=None, progress=None):
    r"""Run the dynamics from a symmetric mixture of k stored patterns.

    For each P of the grid and each trial: draw P patterns, build ``model(xi)``; for
    each start pick k distinct patterns and start from

    .. math::

       s^0_i = \mathrm{sgn}\Big(\sum_{a=1}^{k} \xi_i^{\mu_a}\Big) \qquad (k \text{ odd}),

    run to a fixed point and record the mean overlap with the k patterns,
    :math:`m = \frac1k \sum_a \xi^{\mu_a}\cdot s/N`, and the overlap with the start,
    :math:`q = s^0\cdot s/N`. For ±1 patterns at α → 0 a 3-mixture has m = 1/2 and is
    a fixed point (q = 1); AGS find it stable at T = 0 up to α ≈ 0.03.

    Parameters
    ----------
    model, ensemble, N, trials, starts, dynamics, T, max_sweeps, dtype, seed, progress
        As in :func:`damlab.experiments.final_overlap`.
    P : int or array of ints
        Number of patterns, >= k.
    k : int
        Patterns in the mixture, odd (so that the sum is never zero), >= 3.

    Returns
    -------
    Mixture
        ``(m, q)``, two :class:`Estimate` with samples of shape ``grid + (trials, starts)``.
    """
    N = _checks.positive_int("N", N)
    k = _checks.positive_int("k", k)
    if k < 3 or k % 2 == 0:
        raise ValueError(f"k must be odd and >= 3, got {k}")
    trials, starts = counts(trials, starts)
    shape, g = grid(P=P)
    points = [(int(_checks.positive_int("P", p)),) for p in g["P"].ravel()]
    if min(p for p, in points) < k:
        raise ValueError(f"P must be >= k = {k} (a mixture of k distinct patterns)")

    def draw(P, rng):
        xi = ensemble.sample(P, N, seed=rng, dtype=dtype)
        mu = np.array([rng.choice(P, size=k, replace=False) for _ in range(starts)])
        xs = to_host(xi)[mu]                     # (starts, k, N)
        s0 = np.sign(xs.sum(axis=1))
        s = to_host(model(xi).run(s0, dynamics=dynamics, T=T, max_sweeps=max_sweeps, seed=rng).x)
        return np.stack([(xs @ s[:, :, None])[..., 0].mean(axis=1) / N, (s0 * s).sum(axis=1) / N], axis=-1)

    out = run_grid(draw, points, trials, seed, progress, "mixture")
    out = out.reshape(shape + (trials, starts, 2))
    return Mixture(Estimate(out[..., 0]), Estimate(out[..., 1]))
