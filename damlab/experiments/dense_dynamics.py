r"""Parallel dynamics of the dense associative memory F(x) = xⁿ: the overlap with the
retrieved pattern after each step, at M = α′N^{n−1}/(2n−3)!! patterns."""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from ..ensembles import Binary
from ..models import DenseMemory
from ._common import Estimate, counts, grid, progress_bar, trial_seeds
from .retrieval import corrupt

__all__ = ["dense_patterns", "dense_overlap_trajectory"]


def dense_patterns(N, alpha_prime, n):
    r"""The number of patterns at rescaled load α′: :math:`M = \mathrm{round}(\alpha' N^{n-1}/(2n-3)!!)`, at least 1."""
    return max(1, round(alpha_prime * N ** (n - 1) / math.prod(range(1, 2 * n - 2, 2))))


def dense_overlap_trajectory(N, alpha_prime, m0, *, n=3, steps=10, trials=8, starts=1, dtype="float32",
                             seed=None, progress=None):
    r"""Overlap with the retrieved pattern after each parallel update of :class:`~damlab.DenseMemory`.

    For each α′ of the grid and each trial: draw M = :func:`dense_patterns` random ±1
    patterns; for each of the first ``starts`` of them, ξ^k, and each m₀ of the grid at
    that α′, start from ξ^k with round(N(1 - m₀)/2) spins flipped (:func:`corrupt`),
    apply ``steps`` parallel updates with the self-term excluded
    (``DenseMemory(xi, n=n).step``),

    .. math::

       s_i(t+1) = \mathrm{sgn}\sum_\mu \xi_i^\mu \Big(\sum_{j\ne i}\xi_j^\mu s_j(t)\Big)^{n-1},

    and record :math:`m(t) = \xi^k\cdot s(t)/N` for t = 0, ..., ``steps``. This is the
    setting of Mimura et al. (2025), Fig. 1 (THEORY.md §5); the theory is
    :mod:`damlab.theory.dynamics`.

    Parameters
    ----------
    N : int
        Number of neurons, >= 2.
    alpha_prime, m0 : float or array
        Rescaled load α′ >= 0 and initial overlap m₀ in [-1, 1]; broadcast to one grid.
    n : int
        Order of F(x) = xⁿ, >= 2.
    steps : int
        Number of parallel updates, >= 1.
    trials : int
        Independent draws of the patterns per load, >= 2.
    starts : int
        Stored patterns retrieved on each draw, 1 <= starts <= M. All the starts and
        m₀ of a draw are updated as one batch, which costs little more than a single
        state while the batch is small (the M × N patterns are read once per step either
        way; at N = 512, 16 states cost as much as 4). Runs on one draw are correlated,
        so the standard error is taken over the trials (:class:`Estimate`).
    dtype : {"float32", "float64"}
        Of the patterns and states. float32 halves the memory traffic of the update (the
        cost of a step); its rounding of fields of size ~M N^{n-1} can only change spins
        whose field is within rounding of 0, a few in 10⁵ per step at N = 512. float64
        gives exact integer fields (exact ties keep the spin, as
        :class:`~damlab.DenseMemory` documents), at twice the time.
    seed, progress
        As in :func:`damlab.experiments.final_overlap`.

    Returns
    -------
    Estimate
        ``samples`` of shape ``grid + (steps + 1, trials, starts)``, as
        :func:`overlap_trajectory`: ``.mean[..., t]`` is the mean m(t), ``.se`` its
        standard error over the trials.
    """
    N = _checks.positive_int("N", N)
    if N < 2:
        raise ValueError(f"N must be >= 2, got {N}")
    n = _checks.positive_int("n", n)
    if n < 2:
        raise ValueError(f"n must be an integer >= 2 (F(x) = x^n), got {n}")
    steps = _checks.positive_int("steps", steps)
    trials, starts = counts(trials, starts)
    m0 = _checks.overlap_array("m0", m0)
    shape, g = grid(alpha_prime=_checks.real_array("alpha_prime", alpha_prime), m0=m0)
    dtype = _checks.floating_dtype("dtype", dtype)
    # fail before any work if the largest pattern matrix cannot be held
    M_max = dense_patterns(N, float(g["alpha_prime"].max(initial=0.0)), n)
    _checks.dense_fits("patterns xi", (M_max, N), np.dtype(dtype).itemsize, "lower N or alpha_prime")
    M_min = dense_patterns(N, float(g["alpha_prime"].min(initial=np.inf)), n) if g["alpha_prime"].size else starts
    if starts > M_min:
        raise ValueError(f"starts must be <= the number of patterns M = {M_min}, got {starts}")
    # one pattern draw per (α′, trial) serves every m₀ at that α′: the update of a batch of
    # states costs about as much as one (it streams the M x N patterns from memory either way)
    a_flat, m_flat = g["alpha_prime"].ravel(), g["m0"].ravel()
    loads = np.unique(a_flat)
    seeds = trial_seeds(seed, len(loads), trials)
    out = np.empty((a_flat.size, steps + 1, trials, starts))
    with progress_bar(len(loads) * trials, progress, "dense dynamics") as bar:
        for alpha_prime, load_seeds in zip(loads, seeds):
            idx = np.flatnonzero(a_flat == alpha_prime)
            for t, ss in enumerate(load_seeds):
                m = _trajectories(N, float(alpha_prime), m_flat[idx], n, steps, starts, dtype,
                                  np.random.default_rng(ss))
                out[idx, :, t] = m.transpose(2, 0, 1)
                bar.update()
    return Estimate(out.reshape(shape + (steps + 1, trials, starts)))


def _trajectories(N, alpha_prime, m0, n, steps, starts, dtype, rng):
    """m(t), t = 0..steps, shape (steps + 1, starts, len(m0)): one draw of the patterns, one run per (ξ^k, m₀)."""
    xi = Binary().sample(dense_patterns(N, alpha_prime, n), N, seed=rng, dtype=dtype)
    net, targets = DenseMemory(xi, n=n), np.repeat(np.asarray(xi[:starts], dtype=np.float64), len(m0), axis=0)
    s = np.stack([corrupt(target, m, rng) for target, m in zip(targets, np.tile(m0, starts))]).astype(dtype)
    states = [s]
    for t in range(steps):
        states.append(net.step(states[-1]))
        # the dynamics is deterministic: once every state repeats the one two steps back (a
        # fixed point or a 2-cycle), the rest of the trajectory is known without the model
        if t >= 1 and np.array_equal(states[-1], states[-3]):
            states += [states[-2], states[-1]] * ((steps - t) // 2 + 1)
            break
    m = np.einsum("tbi,bi->tb", np.stack(states[:steps + 1]).astype(np.float64), targets) / N
    return m.reshape(steps + 1, starts, len(m0))
