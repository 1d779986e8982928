r"""Retrieval from a corrupted pattern: the final overlap as a function of the load and
of the initial overlap (the retrieval curve m(α) and the basins of attraction)."""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..backend import default_rng, to_host
from ._common import Estimate, counts, grid, run_grid

__all__ = ["final_overlap", "corrupt"]


def corrupt(s, m0, seed=None):
    r"""Flip :math:`n = \mathrm{round}(N(1 - m_0)/2)` distinct, randomly chosen spins in
    each row of the ±1 states ``s``.

    The result is at overlap exactly :math:`1 - 2n/N \approx m_0` with ``s`` (rather
    than m₀ on average, as with independent flips), so a basin curve has a sharp
    abscissa.

    Parameters
    ----------
    s : array, shape (B, N) or (N,)
        ±1 states (host or device; the result is a NumPy array).
    m0 : float
        Overlap to reach, in [-1, 1].
    seed : int or numpy Generator, optional

    Returns
    -------
    ndarray
        A corrupted copy of ``s``.
    """
    m0 = float(_checks.real_array("m0", m0, low=-1.0))
    if m0 > 1:
        raise ValueError(f"m0 must be an overlap in [-1, 1], got {m0}")
    s = np.array(to_host(s), dtype=np.float64)
    rows = s.reshape(-1, s.shape[-1])  # a view: flips land in s
    B, N = rows.shape
    n = int(round(N * (1 - m0) / 2))
    flips = np.argsort(default_rng(seed).random((B, N)), axis=1)[:, :n]
    rows[np.arange(B)[:, None], flips] *= -1
    return s


def final_overlap(model, ensemble, N, P, *, m0=1.0, trials=8, starts=8, dynamics="async",
                  T=0.0, max_sweeps=100, dtype="float32", seed=None, progress=None):
    r"""Overlap with a stored pattern after the dynamics, starting at overlap m₀ with it.

    For each point of the grid (P, m₀, T) and each trial: draw P patterns of dimension N
    from ``ensemble``, build ``model(xi)``, pick ``starts`` patterns :math:`\xi^\mu`,
    start from :math:`\mathrm{sgn}(\xi^\mu)` with a fraction (1 - m₀)/2 of its spins
    flipped (:func:`corrupt`), run the dynamics to a fixed point (at T > 0, for
    ``max_sweeps`` Glauber sweeps) and record

    .. math::

       m = \frac1N \sum_i \xi_i^\mu s_i^{\mathrm{final}} .

    With m₀ = 1 and P = αN this is the retrieval curve of the classical model (to set
    beside the AGS overlap, THEORY.md §6); over m₀ at fixed P it is the basin of
    attraction; over T, a thermal snapshot of the retrieval state.

    Parameters
    ----------
    model : callable
        ``model(xi)`` returns a binary model with ``run(s, dynamics, T, max_sweeps, seed)``,
        e.g. :class:`damlab.Hopfield` or ``functools.partial(DenseMemory, n=3)``.
    ensemble : Ensemble
        Where the patterns come from, e.g. ``damlab.Binary()``.
    N : int
        Number of neurons.
    P : int or array of ints
        Number of patterns (for the classical model P = round(αN)).
    m0 : float or array
        Initial overlap(s), in [-1, 1].
    T : float or array
        Temperature(s), >= 0 (T > 0 needs ``dynamics="async"``). ``P``, ``m0`` and
        ``T`` are broadcast together to the grid.
    trials : int
        Independent draws of the patterns per grid point (>= 2: the standard error is
        taken over them).
    starts : int
        Runs per draw, from different patterns (from the same pattern again if
        ``starts > P``).
    dynamics, max_sweeps
        Passed to ``model(xi).run``: "async" (random sequential sweeps) or "sync". A
        run still moving after ``max_sweeps`` (above capacity the state can drift
        away from the pattern for tens of sweeps) is recorded where it is.
    dtype : {"float32", "float64"}
        Of the patterns and states. float32 is exact for ±1 patterns (every field
        N·h is an integer below 2²⁴ while N·P < 2²⁴) and twice as fast.
    seed : int, SeedSequence or Generator, optional
        Every run's patterns, initial state and dynamics derive from it and from the
        run's indices (grid point, trial): points appended to a grid keep the values
        of the points before them.
    progress : bool, optional
        Show a progress bar (None: in a terminal only, not in a notebook).

    Returns
    -------
    Estimate
        ``samples`` of shape ``grid + (trials, starts)``; ``.mean`` and ``.se``.
    """
    N = _checks.positive_int("N", N)
    trials, starts = counts(trials, starts)
    shape, g = grid(P=P, m0=m0, T=T)
    points = list(zip(g["P"].ravel(), g["m0"].ravel(), g["T"].ravel()))
    for p, m, temp in points:
        _checks.positive_int("P", p)
        if not -1 <= m <= 1:
            raise ValueError(f"m0 must be overlaps in [-1, 1], got {m}")
        if not temp >= 0:
            raise ValueError(f"T must be temperatures >= 0, got {temp}")

    def draw(P, m0, T, rng):
        xi = ensemble.sample(int(P), N, seed=rng, dtype=dtype)
        mu = rng.choice(int(P), size=starts, replace=starts > P)
        s0 = corrupt(np.sign(to_host(xi[mu])), m0, rng)
        s = model(xi).run(s0, dynamics=dynamics, T=float(T), max_sweeps=max_sweeps, seed=rng).x
        return to_host(xi[mu] * s).sum(axis=1) / N

    out = run_grid(draw, points, trials, seed, progress, "final overlap")
    return Estimate(out.reshape(shape + (trials, starts)))
