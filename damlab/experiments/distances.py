r"""How far apart are stored patterns? The mean squared distance between two of them."""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..backend import to_host
from ._common import Estimate, counts, ensemble_arg, grid, run_grid

__all__ = ["pattern_distance"]


def pattern_distance(ensemble, N, *, P=64, trials=16, seed=None, progress=None):
    r"""Mean squared distance between two patterns of an ensemble, per dimension.

    For each N of the grid and each trial, draw P patterns and average over their
    P(P - 1)/2 pairs

    .. math:: d^2 = \frac{|\xi^\mu - \xi^\nu|^2}{N}
       = \frac{|\xi^\mu|^2 + |\xi^\nu|^2 - 2\,\xi^\mu\cdot\xi^\nu}{N}.

    Its expectation is 2(E|ξ|²/N - |Eξ|²/N): 2 for Gaussian, spherical and binary
    patterns; for hidden-manifold patterns σ(Fz/√D) it is 2(E σ(h)² - (E σ(h))²) with
    h ~ N(0, 1), whatever the latent dimension D (the pre-activations of two patterns
    are independent given F). Capacity nevertheless depends on D: the distance is an
    average over pairs, capacity a large deviation of the closest one.

    Parameters
    ----------
    ensemble : Ensemble
    N : int or array of ints
        Dimension, broadcast to a grid.
    P : int
        Patterns per trial (>= 2); the pairs within a trial share F and are correlated,
        so the standard error is taken over trials.
    trials : int
        Independent draws (>= 2; for a hidden-manifold ensemble F is fixed by its seed).
    seed, progress
        As in :func:`damlab.experiments.final_overlap`.

    Returns
    -------
    Estimate
        Samples of shape ``grid + (trials, 1)``: the pair average of d² in each trial.
    """
    ensemble = ensemble_arg(ensemble)
    P = _checks.positive_int("P", P)
    if P < 2:
        raise ValueError(f"P must be >= 2 (a pair of patterns), got {P}")
    trials, _ = counts(trials, 1)
    shape, g = grid(N=np.vectorize(lambda n: _checks.positive_int("N", n), otypes=[int])(N))

    def draw(N, rng):
        xi = np.asarray(to_host(ensemble.sample(P, int(N), seed=rng)), dtype=np.float64)
        sq = np.sum(xi * xi, axis=1)
        d2 = (sq[:, None] + sq[None, :] - 2 * xi @ xi.T) / N
        return [float(d2[np.triu_indices(P, k=1)].mean())]

    out = run_grid(draw, [(n,) for n in g["N"].ravel()], trials, seed, progress, "distances")
    return Estimate(out.reshape(shape + (trials, 1)))
