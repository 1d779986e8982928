r"""Commitment of a noisy state to its own pattern: the finite-N observable of the collapse time."""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from ..backend import to_host
from ._common import Estimate, counts, ensemble_arg, grid, run_grid
from .one_step import _others_win, check_route, patterns_for

__all__ = ["collapse_fraction"]


def collapse_fraction(ensemble, N, alpha, t, *, trials=100, route="scores", dtype="float32", seed=None,
                      progress=None):
    r"""Fraction of noisy states :math:`x_t = \xi^1 + \sqrt t\,\varepsilon` whose denoiser commits to ξ¹.

    With P = e^{αN} patterns of equal norm (spherical), Tweedie's denoiser of the
    variance-exploding process at time t is one modern Hopfield step at λ = 1/t
    (:func:`damlab.diffusion.denoiser`), and it points to the pattern the state came
    from when that pattern carries the softmax weight w₁ > 1/2:

    .. math::

       \frac{\xi^1\cdot x_t}{t} > \ln\sum_{\mu\ge2} e^{\xi^\mu\cdot x_t/t}.

    Each instance draws ξ¹, the noise ε ~ N(0, I_N) and the other P - 1 patterns, whose
    scores against x_t are drawn as in :func:`retrieval_fraction` (``route``). The
    large-N threshold in t is :func:`damlab.theory.diffusion.collapse_time`. For
    patterns of unequal norms (Gaussian) this is the commitment of the plain Hopfield
    step, not of the denoiser, which keeps a bias :math:`-|\xi^\mu|^2/2t` per pattern.

    Parameters
    ----------
    ensemble : Ensemble
        A pattern ensemble whose scores against a state depend only on the state's norm
        (Gaussian, spherical): the others are scored against the direction of x_t.
    N : int
        Dimension.
    alpha, t : float or array
        Load α >= 0 and VE time t > 0; broadcast to one grid.
    trials : int
        Instances per grid point, >= 2.
    route, dtype, seed, progress
        As in :func:`retrieval_fraction`.

    Returns
    -------
    Estimate
        ``samples`` of shape ``grid + (trials, 1)``, 1 where w₁ > 1/2.
    """
    ensemble = ensemble_arg(ensemble)
    N = _checks.positive_int("N", N)
    trials, _ = counts(trials, 1)
    check_route(route)
    shape, g = grid(alpha=_checks.real_array("alpha", alpha), t=_checks.real_array("t", t, strict=True))
    dtype = _checks.floating_dtype("dtype", dtype)

    def draw(alpha, t, rng):
        xi1 = to_host(ensemble.sample(1, N, seed=rng)[0]).astype(np.float64)
        x = xi1 + math.sqrt(t) * rng.standard_normal(N)
        own = float(x @ xi1) / t
        # ξ·x/t = λ′ ξ·x̂ with x̂ = x √N/|x| and λ′ = |x|/(√N t): scored against x̂, every
        # instance shares one score law (and its cached tail moments)
        norm = float(np.linalg.norm(x))
        x_hat, lam = x * (math.sqrt(N) / norm), norm / (math.sqrt(N) * t)
        return [float(not _others_win(ensemble, x_hat, own, patterns_for(N, alpha) - 1, lam, rng, route, dtype))]

    out = run_grid(draw, list(zip(g["alpha"].ravel(), g["t"].ravel())), trials, seed, progress, "collapse")
    return Estimate(out.reshape(shape + (trials, 1)))
