"""What the three model families share: input checks, batched states, run results,
and the random-sequential sweep of the two binary models."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import _checks
from ..backend import asarray, default_rng, get_namespace, to_host


class Run(NamedTuple):
    """Result of ``run``: the final states, the number of steps (or sweeps) taken, and
    whether the dynamics stopped at a fixed point (within the tolerance)."""

    x: Any
    steps: int
    converged: bool


def is_stream(xi) -> bool:
    """Whether ``xi`` is a :class:`~damlab.ensembles.PatternStream` (duck-typed)."""
    return hasattr(xi, "rows") and hasattr(xi, "P") and hasattr(xi, "N")


def patterns(xi):
    """Checked ``(P, N)`` floating patterns ``xi`` and their namespace ``xp``.

    A stream is read into one array (the binary models need random access to the
    pattern columns), after checking that it fits in memory.
    """
    if is_stream(xi):
        P, N = _checks.positive_int("P", xi.P), _checks.positive_int("N", xi.N)
        _checks.dense_fits("patterns xi", (P, N), np.dtype(xi.dtype).itemsize,
                           "store fewer patterns, or use ModernHopfield, which streams them")
        xi = xi.rows(0, P)
    xp = get_namespace(xi)
    xi = asarray(xi, xp)
    if len(xi.shape) != 2:
        raise ValueError(f"patterns xi must be a 2-d (P, N) array, got shape {tuple(xi.shape)}")
    _checks.positive_int("P", xi.shape[0])
    _checks.positive_int("N", xi.shape[1])
    if not xp.isdtype(xi.dtype, "real floating"):
        xi = xp.astype(xi, xp.float64)
    _checks.all_finite("patterns xi", xi, xp)
    return xi, xp


def states(name, s, N, xp, dtype=None, device=None):
    """``s`` as a checked ``(B, N)`` array of ``xp`` (cast to ``dtype``, moved to
    ``device`` if given), and whether it was a single ``(N,)`` state (then results
    drop the B axis)."""
    s = asarray(s, xp, device=device)
    if len(s.shape) not in (1, 2) or s.shape[-1] != N or s.shape[0] < 1:
        raise ValueError(f"states {name} must have shape (B, N) or (N,) with N = {N} "
                         f"(the patterns' N), got shape {tuple(s.shape)}")
    if dtype is not None:
        if s.dtype != dtype:
            s = xp.astype(s, dtype)
    elif not xp.isdtype(s.dtype, "real floating"):
        s = xp.astype(s, xp.float64)
    _checks.all_finite(f"states {name}", s, xp)
    single = len(s.shape) == 1
    return (xp.reshape(s, (1, N)) if single else s), single


def temperature(T) -> float:
    """``T`` as a Python float >= 0 (T = 0 is the deterministic limit)."""
    if not isinstance(T, bool) and isinstance(T, (int, float, np.integer, np.floating)) and T == 0:
        return 0.0
    return _checks.positive_float("T", T)


def sign_keep(field, s, xp):
    """sign(field), keeping the current spin where the field is exactly zero."""
    return xp.where(field == 0, s, xp.sign(field))


class BinaryModel:
    """Batched ±1 dynamics shared by :class:`Hopfield` and :class:`DenseMemory`.

    A subclass provides

    - ``_energy(s)``: the (B,) energies of (B, N) states;
    - ``_fields(s)``: the (B, N) fields whose signs are the parallel update;
    - ``_carry(s)``: the (B, K) running quantity of a sweep (local fields or overlaps);
    - ``_column(i)``: the (B, K) change of the carry per unit change of spin i_b;
    - ``_gain(carry, col, si, flat)``: the (B,) energy cost E(s_i=-1) - E(s_i=+1) of site i_b.

    The sweep updates the carry incrementally, ``carry += (s_new - s_old) * col``:
    O(K) array work per site and no per-spin Python objects.
    """

    xi: Any
    N: int
    P: int
    _xp: Any

    def _states(self, s):
        return states("s", s, self.N, self._xp, self.xi.dtype, self.xi.device)

    def energy(self, s):
        """Energy of each state, shape (B,) (see the class docstring)."""
        s, single = self._states(s)
        E = self._energy(s)
        return E[0] if single else E

    def fields(self, s):
        """The (B, N) fields whose signs are the parallel update (see the class docstring)."""
        s, single = self._states(s)
        h = self._fields(s)
        return h[0] if single else h

    def overlaps(self, s):
        r"""Overlaps :math:`m_\mu = \xi^\mu\cdot s/N` with the stored patterns, shape (B, P)."""
        s, single = self._states(s)
        m = (s @ self.xi.T) / self.N
        return m[0] if single else m

    def step(self, s):
        """One synchronous (parallel) zero-temperature update of every spin.

        A spin whose field is exactly zero keeps its value.
        """
        s, single = self._states(s)
        s = sign_keep(self._fields(s), s, self._xp)
        return s[0] if single else s

    def sweep(self, s, T=0.0, seed=None, sites=None):
        """One asynchronous sweep: each site updated in turn, in random order.

        Each replica (row of ``s``) visits the N sites in its own random order. At
        T = 0 each spin aligns with its field (a zero field keeps the spin); at T > 0
        it takes the heat-bath (Glauber) value, +1 with probability
        :math:`1/(1 + e^{-\\Delta E/T})`, where ΔE = E(s_i = -1) - E(s_i = +1).

        Parameters
        ----------
        s : array, shape (B, N) or (N,)
            ±1 states; not modified.
        T : float
            Temperature, >= 0.
        seed : int or numpy Generator, optional
            Seeds the site orders and the heat-bath draws (drawn on the host, so the
            same seed gives the same sweep on every backend).
        sites : array of ints, shape (L,) or (B, L), optional
            Update these sites, in this order, instead of a random permutation of all
            N (e.g. ``sites=[i]`` updates one spin).

        Returns
        -------
        array
            The new states, shaped like ``s``.
        """
        s, single = self._states(s)
        s, _ = self._sweep(s, temperature(T), default_rng(seed), sites)
        return s[0] if single else s

    def _plan(self, B, T, rng, sites):
        """The host-side randomness of one sweep of B replicas: the (B, L) visiting
        orders, and the (B, L) heat-bath thresholds (None at T = 0)."""
        N = self.N
        if sites is None:
            order = rng.permuted(np.tile(np.arange(N), (B, 1)), axis=1)
        else:
            order = np.asarray(to_host(sites))
            if (order.ndim not in (1, 2) or not np.issubdtype(order.dtype, np.integer)
                    or np.any(order < 0) or np.any(order >= N)):
                raise ValueError(f"sites must be integers in [0, N={N}) of shape (L,) or (B, L)")
            order = np.broadcast_to(order, (B, order.shape[-1]))
        # Heat bath: s_i = +1 iff ΔE > T·logit(u), u uniform, which has probability
        # 1/(1 + e^{-ΔE/T}); written as a threshold it cannot overflow. T = 0: threshold 0.
        thresholds = None
        if T > 0:
            u = rng.random(order.shape)
            thresholds = T * (np.log(u) - np.log1p(-u))
        return order, thresholds

    def _sweep(self, s, T, rng, sites=None):
        """Sweep the (B, N) states ``s``; returns the new states and the final carry."""
        xp, (B, N) = self._xp, s.shape
        order, thresholds = self._plan(B, T, rng, sites)
        if thresholds is not None:
            thresholds = asarray(thresholds, xp, dtype=s.dtype, device=s.device)
        idx = asarray(order, xp, device=s.device)
        flat = asarray(order + N * np.arange(B)[:, None], xp, device=s.device)  # into the flattened (B*N,) states
        cols = xp.reshape(xp.arange(N, device=s.device), (1, N))
        carry = self._carry(s)
        for k in range(order.shape[1]):
            i = idx[:, k]
            si = xp.take(xp.reshape(s, (-1,)), flat[:, k])
            col = self._column(i)
            gain = self._gain(carry, col, si, flat[:, k])
            if thresholds is not None:
                gain = gain - thresholds[:, k]
            new = sign_keep(gain, si, xp)
            carry += (new - si)[:, None] * col
            s = xp.where(cols == i[:, None], new[:, None], s)
        return s, carry

    def run(self, s, dynamics="async", T=0.0, max_sweeps=100, seed=None):
        """Iterate the dynamics from ``s`` until a fixed point, or ``max_sweeps``.

        Parameters
        ----------
        s : array, shape (B, N) or (N,)
            Initial ±1 states.
        dynamics : {"async", "sync"}
            Random-sequential sweeps (:meth:`sweep`) or parallel steps (:meth:`step`).
        T : float
            Temperature (``"async"`` only). At T > 0 there is no fixed point: the run
            does exactly ``max_sweeps`` sweeps.
        max_sweeps : int
            Largest number of sweeps (or parallel steps).
        seed : int or numpy Generator, optional
            Seeds the site orders and heat-bath draws of all sweeps.

        Returns
        -------
        Run
            ``(x, steps, converged)``: the final states, the number of sweeps done
            (the last one, at a fixed point, changes nothing), and whether every
            replica reached a fixed point. A parallel run may end in a 2-cycle: then
            ``converged`` is False.
        """
        if dynamics not in ("async", "sync"):
            raise ValueError(f"dynamics must be 'async' or 'sync', got {dynamics!r}")
        T = temperature(T)
        if T > 0 and dynamics == "sync":
            raise ValueError("T > 0 needs dynamics='async' (Glauber sweeps)")
        max_sweeps = _checks.positive_int("max_sweeps", max_sweeps)
        s, single = self._states(s)
        xp, rng = self._xp, default_rng(seed)
        converged, k = False, 0
        while k < max_sweeps and not converged:
            new = self._sweep(s, T, rng)[0] if dynamics == "async" else sign_keep(self._fields(s), s, xp)
            converged = T == 0 and bool(xp.all(new == s))
            s, k = new, k + 1
        return Run(s[0] if single else s, k, converged)
