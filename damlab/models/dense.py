r"""Dense associative memory (Krotov–Hopfield): binary states, polynomial or exponential F."""

from __future__ import annotations

import math
import numbers
from math import comb

from .. import _checks, engine
from ..backend import thread_map, threads_for
from ._common import BinaryModel, patterns

__all__ = ["DenseMemory"]


# Working set of one chunk of the parallel update, as in the engine: fits a core's L2 cache.
_BLOCK_BYTES = 1 << 20


def _lse(z, xp):
    """Row-wise ln Σ exp(z) of a (B, P) array, shifted by the row maximum."""
    m = xp.max(z, axis=1, keepdims=True)
    return m[:, 0] + xp.log(xp.sum(xp.exp(z - m), axis=1))


def _ipow(x, n):
    """x**n for an integer n >= 1 by repeated squaring (a generic float pow is ~10x slower)."""
    out = None
    while n:
        if n & 1:
            out = x if out is None else out * x
        n >>= 1
        if n:
            x = x * x
    return out


class DenseMemory(BinaryModel):
    r"""Dense associative memory with ±1 states (Krotov & Hopfield 2016).

    .. math::

       E(s) = -\sum_{\mu=1}^P F(a_\mu), \qquad a_\mu = \xi^\mu\cdot s,
       \qquad F(x) = x^n \quad\text{or}\quad F(x) = e^{\lambda x}.

    For the exponential F the reported energy is
    :math:`E(s) = -\frac1\lambda \ln\sum_\mu e^{\lambda\,\xi^\mu\cdot s}`, a monotone
    function of :math:`-\sum_\mu e^{\lambda a_\mu}` (so with the same minima and the
    same update rule), computed with a max-shift so that it stays finite for any N.

    *Asynchronous update* (:meth:`sweep`): spin i takes the value of lower energy
    given the others, exactly,

    .. math::

       s_i \leftarrow \mathrm{sgn}\sum_\mu \left[F(b_\mu + \xi_i^\mu) - F(b_\mu - \xi_i^\mu)\right],
       \qquad b_\mu = a_\mu - \xi_i^\mu s_i

    (for the exponential F, the difference of the two log-sum-exps). The overlaps
    :math:`a_\mu` are kept and updated incrementally as spins flip.

    *Parallel update* (:meth:`step`), with the self-term excluded
    (Mimura et al. 2025; THEORY.md §5):

    .. math::

       s_i \leftarrow \mathrm{sgn}\sum_\mu \xi_i^\mu\, F'(b_\mu^{(i)}), \qquad
       b_\mu^{(i)} = \sum_{j\ne i} \xi_j^\mu s_j,

    that is :math:`\mathrm{sgn}\sum_\mu \xi_i^\mu (b^{(i)}_\mu)^{n-1}` for the power
    and :math:`\mathrm{sgn}\sum_\mu \xi_i^\mu e^{\lambda b^{(i)}_\mu}` for the
    exponential. Positive factors (the paper's :math:`1/(2N^{n-1})` in F, n, λ) do not
    change signs and are dropped, so :meth:`fields` returns the sum above up to a
    positive factor per state (for the power F, exactly the sum). For n = 2 this is
    the parallel Hopfield update with zero diagonal. There is no loop over neurons:
    for general patterns, expanding :math:`(a_\mu - \xi_i^\mu s_i)^{n-1}`
    binomially gives n - 1 matrix products (for the exponential,
    :math:`e^{-\lambda \xi_i^\mu s_i}` takes one of two values per (μ, i), and two
    products suffice). For ±1 patterns :math:`t = \xi_i^\mu s_i = \pm1` and
    :math:`f(a - t) = \tfrac12[f(a+1) + f(a-1)] - \tfrac t2 [f(a+1) - f(a-1)]` need a
    single product; for the exponential the update is
    :math:`\mathrm{sgn}(T(s) - \tanh(\lambda)\, s)` with
    :math:`T(s) = \sum_\mu \xi^\mu \mathrm{softmax}_\mu(\lambda\,\xi^\mu\cdot s)`, one
    modern Hopfield step, computed by the streaming engine. Integer patterns give exact
    integer fields, so exact ties keep the current spin. States must be ±1.

    See the book chapter on dense associative memories.

    Parameters
    ----------
    xi : array of shape (P, N), or a PatternStream (read into memory)
        The stored patterns, one per row.
    F : {"power", "exp"}
        The interaction function.
    n : int
        Degree of the power F, n >= 2 (n = 2 is the Hopfield model).
    lam : float
        λ > 0 of the exponential F.

    Examples
    --------
    >>> from damlab import Binary, DenseMemory
    >>> xi = Binary().sample(400, 200, seed=0)      # P = 2N, far above Hopfield's 0.14 N
    >>> bool((DenseMemory(xi, n=3).step(xi) == xi).all())
    True
    """

    def __init__(self, xi, F="power", n=3, lam=1.0):
        if F not in ("power", "exp"):
            raise ValueError(f"F must be 'power' or 'exp', got {F!r}")
        if F == "power":
            if isinstance(n, bool) or not isinstance(n, numbers.Integral):
                raise TypeError(f"n must be an integer >= 2, got {n!r}")
            if int(n) < 2:
                raise ValueError(f"n must be an integer >= 2, got {n}")
        self.F, self.n = F, (int(n) if F == "power" else None)
        self.lam = _checks.positive_float("lam", lam)
        self.xi, self._xp = patterns(xi)
        self.P, self.N = self.xi.shape
        # ±1 patterns allow a parallel update with a single matrix product per chunk
        self._binary = bool(self._xp.all(self._xp.abs(self.xi) == 1))
        self._powers = self._exp = None  # pattern matrices of the parallel update, built once

    @property
    def alpha(self) -> float:
        """Load in the units of the capacity: α_n = P/N^{n-1} for F = xⁿ (P/N for the
        Hopfield model, n = 2), α = ln(P)/N for F = exp (P = e^{αN})."""
        if self.F == "exp":
            return math.log(self.P) / self.N
        return self.P / self.N ** (self.n - 1)

    def _energy(self, s):
        if self.F == "exp":
            return -engine.logsumexp(s, self.xi, self.lam) / self.lam
        return -self._xp.sum(_ipow(s @ self.xi.T, self.n), axis=1)

    def _fields(self, s):
        xp, xi, lam = self._xp, self.xi, self.lam
        if self.F == "exp" and self._binary:
            # f(a - t) = e^{λa}(cosh λ - t sinh λ) for t = ξ_i^μ s_i = ±1, so the field is
            # cosh(λ) Σ_μ w_μ ξ^μ - sinh(λ) s Σ_μ w_μ with w = e^{λa}: divided by
            # cosh(λ) Σ w, one modern Hopfield step (the engine's softmax average) - tanh(λ) s
            return engine.step(s, xi, lam) - math.tanh(lam) * s
        if self.F == "exp":
            # e^{-λ ξ_i s_i} takes one of two values per (μ, i): one product for each
            if self._exp is None:
                self._exp = (xi * xp.exp(-lam * xi), xi * xp.exp(lam * xi))
            z = lam * (s @ xi.T)
            w = xp.exp(z - xp.max(z, axis=1, keepdims=True))
            return xp.where(s > 0, w @ self._exp[0], w @ self._exp[1])
        return self._power_fields(s)

    def _power_fields(self, s):
        """Self-excluded fields of F(x) = xⁿ: Σ_μ ξ_i^μ (a_μ - ξ_i^μ s_i)^m with m = n - 1.

        Summed chunk by chunk over the patterns, so that the (B, chunk) blocks stay in
        cache; on NumPy, large passes split the chunks between threads as the engine does.
        """
        xp, xi, m, P, (B, N) = self._xp, self.xi, self.n - 1, self.P, s.shape
        chunk = max(64, _BLOCK_BYTES // ((xp.finfo(s.dtype).bits // 8) * max(B, N)))
        if not self._binary and self._powers is None:
            # ξ^{k+1} elementwise for k < m, and the column sums of ξⁿ
            self._powers = [_ipow(xi, k + 1) for k in range(m)], xp.sum(_ipow(xi, self.n), axis=0)

        def fold(starts):
            if self._binary:
                # for t = ±1, f(a - t) = e(a) - t o(a) with e, o = (f(a+1) ± f(a-1))/2, so
                # Σ_μ ξ_i^μ f(a_μ - ξ_i^μ s_i) = (e @ ξ)_i - s_i Σ_μ o_μ: one product per chunk
                acc = [xp.zeros_like(s), xp.zeros((B, 1), dtype=s.dtype, device=s.device)]
                for start in starts:
                    x = xi[start:min(start + chunk, P), :]
                    a = s @ x.T
                    p, q = _ipow(a + 1, m), _ipow(a - 1, m)
                    acc[0] += (p + q) @ x
                    acc[1] += xp.sum(p - q, axis=1, keepdims=True)
                return acc
            # general patterns: Σ_k C(m,k) (-s_i)^k Σ_μ ξ_i^{k+1} a_μ^{m-k}: one product
            # per k < m (the k = m term needs only the column sums of ξⁿ)
            acc = [xp.zeros_like(s) for _ in range(m)]
            for start in starts:
                stop = min(start + chunk, P)
                a = s @ xi[start:stop, :].T
                for k in range(m):
                    acc[k] += _ipow(a, m - k) @ self._powers[0][k][start:stop, :]
            return acc

        starts = range(0, P, chunk)
        T = threads_for(xp, B * N * P, len(starts))
        parts = thread_map(lambda t, T: fold(starts[t::T]), T)
        acc = [sum(part[j] for part in parts) for j in range(len(parts[0]))]
        if self._binary:
            return (acc[0] - s * acc[1]) / 2
        h = self._powers[1] * _ipow(-s, m) + acc[0]
        for k in range(1, m):
            h += comb(m, k) * _ipow(-s, k) * acc[k]
        return h

    # sweep machinery: the carry is a = ξ s (B, P); flipping s_i by ds changes it
    # by ds * ξ_i (column i of the patterns).
    def _carry(self, s):
        return s @ self.xi.T

    def _column(self, i):
        return self._xp.take(self.xi, i, axis=1).T

    def _gain(self, a, col, si, flat):
        xp = self._xp
        rest = a - col * si[:, None]
        if self.F == "exp":
            return (_lse(self.lam * (rest + col), xp) - _lse(self.lam * (rest - col), xp)) / self.lam
        return xp.sum(_ipow(rest + col, self.n) - _ipow(rest - col, self.n), axis=1)
