r"""All patterns retrieved: is every one of P = e^{αN} stored patterns a fixed point?

The single-pattern test (:func:`damlab.experiments.retrieval_fraction`) asks about ξ¹
alone; here every pattern must pass it. That needs the scores of all P² pairs, computed
block by block (memory O(PN + block²), never O(P²)), and a run stops at the first
pattern that fails."""

from __future__ import annotations

import math
import threading

import numpy as np

from .. import _checks
from ..backend import thread_map, threads_for, to_host
from ._common import Estimate, counts, ensemble_arg, grid, run_grid
from .one_step import patterns_for

__all__ = ["all_retrieved", "all_retrieved_fraction"]

# Patterns per block: a (b, b) block of pair scores of ~4 MiB, as the engine's score
# blocks; not a power of two: OpenBLAS computes X Xᵀ for the diagonal blocks 3-4x slower
# at b = 1024 or 2048 than at b = 1000 (cache aliasing).
_BLOCK_ROWS = {4: 1000, 8: 700}


def _lam_array(lam) -> np.ndarray:
    """λ > 0 as a float64 array; inf (the zero-temperature limit) is allowed."""
    a = np.asarray(lam)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"lam must be a real number > 0 (or inf) or an array of them, got {lam!r}")
    a = a.astype(np.float64)
    bad = np.isnan(a) | (a <= 0)
    if bad.any():
        raise ValueError(f"lam must be > 0 (inf: the zero-temperature limit), got {a[bad].flat[0]}")
    return a


def all_retrieved(xi, lam=math.inf, *, chunk=None) -> bool:
    r"""Whether every stored pattern carries softmax weight w_μ > 1/2 at x = ξ^μ.

    With scores :math:`s_{\mu\nu} = \xi^\mu\cdot\xi^\nu` the weight of ξ^μ at itself is
    :math:`w_\mu = 1/(1 + R_\mu)`, so every pattern is retrieved iff

    .. math::

       R_\mu = \sum_{\nu\ne\mu} e^{\lambda\,(s_{\mu\nu} - s_{\mu\mu})} < 1
       \quad\text{for all } \mu, \qquad\text{and at } \lambda = \infty:\quad
       |\xi^\mu|^2 > \max_{\nu\ne\mu}\, \xi^\nu\cdot\xi^\mu \quad\text{for all } \mu,

    the limit in which the update :math:`x \leftarrow \xi^{\arg\max_\nu \xi^\nu\cdot x}`
    has every pattern as a fixed point. Only the pattern's own index is left out of the
    sum, so a duplicated pattern (binary patterns, at P ~ 2^{N/2}) fails: its twin
    contributes a term 1 (weight 1/2; a tie at λ = ∞). Lucibello & Mézard's all-pattern
    threshold α_c is where this stops holding w.h.p. for P = e^{αN} (THEORY.md §3; the
    first-moment bound is :func:`damlab.theory.capacity.alpha_c_lower`).

    The P² scores are computed in (b, b) blocks of pairs μ <= ν, each block serving
    both its rows and its columns (the scores are symmetric), split between the cores;
    R is accumulated in float64 and the pass stops at the first failing pattern. Terms
    :math:`e^{\lambda(s - s_{\mu\mu})}` below :math:`e^{-43.7}` (float32; :math:`e^{-354}`
    in float64) are raised to it, as in :mod:`damlab.engine`: an error below P·1e-19 in R.
    Exact for ±1 patterns in float32 (integer scores, |s| <= N < 2^24).

    Parameters
    ----------
    xi : array, shape (P, N)
        The stored patterns (host or device; the work is done with NumPy on the host).
        float32 or float64 sets the working precision (other types: float64).
    lam : float
        λ > 0, or ``math.inf`` for the zero-temperature criterion.
    chunk : int, optional
        Patterns per block (default: 1000 in float32, 700 in float64, a ~4 MiB block of scores).

    Returns
    -------
    bool
    """
    xi = np.asarray(to_host(xi))
    if xi.ndim != 2 or min(xi.shape) < 1:
        raise ValueError(f"patterns xi must be a (P, N) array with P, N >= 1, got shape {xi.shape}")
    if xi.dtype not in (np.float32, np.float64):
        xi = xi.astype(np.float64)
    _checks.all_finite("patterns xi", xi, np)
    lam = _lam_array(lam)
    if lam.ndim:
        raise ValueError(f"lam must be one number here, got shape {lam.shape}")
    lam = float(lam)
    P, N = xi.shape
    b = min(_BLOCK_ROWS[xi.itemsize] if chunk is None else _checks.positive_int("chunk", chunk), P)
    own = np.einsum("ij,ij->i", xi, xi)  # s_μμ, in the working precision (exact for ±1)
    starts = range(0, P, b)
    pairs = [(i, j) for i in starts for j in starts if j >= i]
    floor = 0.5 * math.log(np.finfo(xi.dtype).smallest_normal)
    failed = threading.Event()

    def block(i, j, R):
        """Fold the pairs (rows i:i+b, columns j:j+b) in; True if a pattern is seen to fail."""
        I, J = slice(i, min(i + b, P)), slice(j, min(j + b, P))
        S = xi[I] @ xi[J].T
        diag = i == j
        if math.isinf(lam):
            if diag:
                np.fill_diagonal(S, -np.inf)  # exactly the own term: a twin still ties
            return bool((S.max(axis=1) >= own[I]).any() or (not diag and (S.max(axis=0) >= own[J]).any()))
        lo = float(min(own[I].min(), own[J].min()))
        hi = float(max(own[I].max(), own[J].max()))
        if lam * (hi - lo) <= 1:
            # near-equal norms (spherical, binary): one exponential for rows and columns,
            # shifted by the smallest norm; the factors e^{λ(lo - s_μμ)} <= 1 are applied
            # to the sums. S - lo first: exact 0 for a binary twin, whose term is then 1.
            S -= lo
            S *= lam
            if S.min() < floor:  # far below the shift: raise to the floor (no subnormals)
                np.maximum(S, floor, out=S)
            np.exp(S, out=S)
            if diag:
                np.fill_diagonal(S, 0)
            R[I] += S.sum(axis=1, dtype=np.float64) * np.exp(lam * (lo - own[I].astype(np.float64)))
            if not diag:
                R[J] += S.sum(axis=0, dtype=np.float64) * np.exp(lam * (lo - own[J].astype(np.float64)))
        else:  # unequal norms (Gaussian): each side with its own shift
            for side, n, axis in ((I, own[I][:, None], 1), (J, own[J][None, :], 0)):
                if axis == 0 and diag:
                    break
                E = np.maximum(lam * (S - n), floor)
                np.exp(E, out=E)
                if diag:
                    np.fill_diagonal(E, 0)
                R[side] += E.sum(axis=axis, dtype=np.float64)
        return bool((R[I] >= 1).any() or (R[J] >= 1).any())

    def work(t, T):
        R = None if math.isinf(lam) else np.zeros(P)
        with np.errstate(over="ignore"):  # an overflowing term is a failure (R = inf >= 1)
            for k in range(t, len(pairs), T):
                if failed.is_set():
                    break
                if block(*pairs[k], R):
                    failed.set()
                    break
        return R

    # At least two workers, even for one block: thread_map then runs the blocks with
    # single-threaded BLAS, and OpenBLAS's own threads cost ~10 ms per product on a busy
    # machine (measured with 2 cores oversubscribed: 12 ms for a 300 x 300 block, 0.04 ms
    # on one thread).
    T = max(2, threads_for(np, N * P * (P + 1) // 2, len(pairs)))
    parts = thread_map(work, T)
    if failed.is_set():
        return False
    if math.isinf(lam):
        return True
    return bool((sum(parts) < 1).all())  # each thread saw part of each R_μ


def all_retrieved_fraction(ensemble, N, alpha, lam=math.inf, *, trials=100, dtype="float32",
                           chunk=None, seed=None, progress=None):
    r"""Fraction of instances in which *all* P = e^{αN} patterns are retrieved.

    For each (α, λ) of the grid and each trial, draw P patterns and test, with
    :func:`all_retrieved`, whether every one carries softmax weight w_μ > 1/2 at itself,

    .. math::

       \lambda\,|\xi^\mu|^2 > \ln \sum_{\nu\ne\mu} e^{\lambda\,\xi^\nu\cdot\xi^\mu}
       \quad\forall \mu
       \qquad\Big(\lambda = \infty:\ |\xi^\mu|^2 > \max_{\nu\ne\mu}\xi^\nu\cdot\xi^\mu\Big).

    Its large-N threshold is the all-pattern capacity α_c (THEORY.md §3), bounded below
    by :func:`damlab.theory.capacity.alpha_c_lower`: α₁ for spherical patterns; for
    binary ones also (ln 2)/2, where duplicates appear (at λ = ∞ the fraction is the
    birthday probability :math:`\prod_{k<P}(1 - k\,2^{-N})`); for Gaussian ones,
    patterns of small norm fail first. The fraction is never above the single-pattern
    one of :func:`retrieval_fraction` (all retrieved implies ξ¹ retrieved), and its
    finite-N crossing converges slowly (THEORY.md: ∝ ln N / N), from either side: at
    λ = 0.3 spherical patterns cross *below* α₁ at every N the tests reach (0.238 at
    N = 20, 0.253 at N = 36, against α₁ = 0.257: P patterns must all pass, so the crossing
    is where one fails with probability ~1/P), binary ones at λ = ∞ above (ln 2)/2 (by
    ln(2 ln 2)/(2N)), Gaussian ones above ln 2/4 (0.218 at N = 20 against 0.173).

    The P² pair scores make this the costly estimator: about 2 ns per pair on one
    core (float32, N = 30), i.e. ~7 s per retrieved instance at P = 10⁵ on 2 cores (3 s
    at λ = ∞); an instance that fails usually stops early. The P patterns are held in memory
    (P·N numbers), the pair scores never are.

    Parameters
    ----------
    ensemble : Ensemble
        Where the patterns come from.
    N : int
        Dimension.
    alpha : float or array
        Load α >= 0, P = round(e^{αN}) (at least 2; :func:`patterns_for`).
    lam : float or array
        λ > 0, or ``math.inf`` (the default): broadcast with ``alpha`` to one grid.
    trials : int
        Independent instances per grid point (>= 2).
    dtype : {"float32", "float64"}
        Of the patterns and scores (float32 is exact for binary patterns).
    chunk : int, optional
        Patterns per block of pair scores (see :func:`all_retrieved`).
    seed, progress
        As in :func:`damlab.experiments.final_overlap`: each instance's patterns depend
        only on the seed and on its (grid point, trial).

    Returns
    -------
    Estimate
        Indicators that all patterns are retrieved, samples of shape ``grid + (trials, 1)``.
    """
    ensemble = ensemble_arg(ensemble)
    N = _checks.positive_int("N", N)
    trials, _ = counts(trials, 1)
    dtype = _checks.floating_dtype("dtype", dtype)
    if chunk is not None:
        chunk = _checks.positive_int("chunk", chunk)
    shape, g = grid(alpha=_checks.real_array("alpha", alpha), lam=_lam_array(lam))
    points = list(zip(g["alpha"].ravel(), g["lam"].ravel()))
    for a, _ in points:
        P = patterns_for(N, a)
        if P * N * np.dtype(dtype).itemsize > _checks.MAX_DENSE_BYTES:
            raise ValueError(f"P = e^(αN) = {P:.3g} (alpha = {a}, N = {N}): all P patterns must be held "
                             f"in memory and P² pairs scored; lower alpha or N")

    def draw(alpha, lam, rng):
        xi = ensemble.sample(patterns_for(N, alpha), N, seed=rng, dtype=dtype)
        return [float(all_retrieved(xi, lam, chunk=chunk))]

    out = run_grid(draw, points, trials, seed, progress, "all retrieved")
    return Estimate(out.reshape(shape + (trials, 1)))
