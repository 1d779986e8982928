r"""The streaming retrieval engine: B queries against P patterns, chunk by chunk.

Every modern Hopfield computation in the book reduces to a pass over the patterns
with the scores :math:`s_\mu = \lambda\, \xi^\mu\cdot x` of a query x:

.. math::

   \mathrm{lse}(x) = \ln \sum_{\mu=1}^P e^{s_\mu}, \qquad
   T(x) = \sum_\mu \xi^\mu\, \frac{e^{s_\mu}}{\sum_\nu e^{s_\nu}}, \qquad
   w_\mu(x) = e^{s_\mu - \mathrm{lse}(x)},

the log-partition function, one modern Hopfield update (one attention step) and the
softmax weight of pattern μ. With P = e^{αN} and λN of order 10²–10⁴ the exponents
are huge and P need not fit in memory, so the pass is *online*, as in flash
attention: each chunk of patterns updates a running maximum m, a running sum
:math:`\ell = \sum e^{s_\mu - m}` and a running weighted sum of patterns, rescaled by
:math:`e^{m_\text{old} - m_\text{new}}` when the maximum grows. Nothing of size P is
ever allocated, nothing overflows, and the result equals the direct formula to
rounding.

On NumPy, large passes split the chunks between the machine's cores (each thread
keeps its own running state, merged at the end) and work in place; on other array
namespaces (CuPy, array-API arrays) the same update runs with plain array-API calls.
See the book's "First steps" chapter for examples.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from . import _checks
from .backend import asarray, device, get_namespace, is_numpy, thread_map, threads_for, to_host

__all__ = ["Scan", "scan", "logsumexp", "step", "weight", "top_overlaps"]

Scan = namedtuple("Scan", "lse average weight top_values top_indices")
Scan.__doc__ = """Result of :func:`scan`; fields not asked for are ``None``.

lse : (B,) log-sum-exp of the scores
average : (B, N) softmax-weighted pattern average (one modern Hopfield step)
weight : (B,) softmax weight of the chosen pattern(s) ``mu``
top_values, top_indices : (B, top) largest overlaps u = ξ·x/N and their pattern indices
"""

# Chunk sizes, in bytes: the (B, c) score block and the (c, N) patterns of a chunk
# a few MiB each, so that they stay in cache between the two matrix products that
# read them, yet few chunks pay the per-chunk bookkeeping. (Measured on 2 cores with
# 1 MiB L2 each and 32 MiB L3: 4 MiB score blocks beat 1 MiB ones by 3-5 % at
# B = 256; 3 MiB chunks beat 1 and 12 MiB ones at B = 1; benchmarks/README.md.)
_SCORE_BYTES = 4 << 20
_CHUNK_BYTES = 3 << 20
# Patterns and score blocks up to this size are done in one piece (the direct formula,
# with the BLAS's own threads): in small passes the streaming bookkeeping would
# dominate. (Large patterns are streamed even for one query: a chunk is then read from
# memory once, for both products.)
_DIRECT_BYTES = 4 << 20


def _default_rows(B, N, P, itemsize):
    """Default chunk: all P patterns if they and the (B, P) scores are small (P None:
    a stream)."""
    if P is not None and max(B, N) * P * itemsize <= _DIRECT_BYTES:
        return max(1, P)
    return max(64, min(_SCORE_BYTES // (itemsize * B), _CHUNK_BYTES // (itemsize * N)))


def _is_float32(dtype, xp) -> bool:
    # the comparison first: str(dtype) costs microseconds
    return dtype == xp.float32 or str(dtype) == "float32"


def _is_array(xi) -> bool:
    return hasattr(xi, "shape") and not hasattr(xi, "rows")  # a PatternStream has both


class _Source:
    """Patterns as a sequence of chunks ``(start, xi[start:start + c])``.

    Arrays and streams allow random access to their chunks, so a pass can be split
    between threads; any other iterable of chunks is read once, in order.
    """

    def __init__(self, xi, N, rows):
        self.P = None
        if hasattr(xi, "rows"):  # a PatternStream
            if xi.N != N:
                raise ValueError(f"patterns xi have N={xi.N} but the states x have N={N}")
            self.P, self.n, self.chunk, self._get = xi.P, len(xi), xi.chunk, xi.__getitem__
        elif hasattr(xi, "shape"):
            if len(xi.shape) != 2 or xi.shape[1] != N:
                raise ValueError(f"patterns xi must have shape (P, N={N}), got {tuple(xi.shape)}")
            if xi.shape[0] < 1:
                raise ValueError("patterns xi must hold P >= 1 patterns")
            self.P, self.chunk = xi.shape[0], rows
            self.n = -(-self.P // rows)
            self._get = lambda k: xi[k * rows: min((k + 1) * rows, self.P), :]
        elif hasattr(xi, "__iter__"):
            self.n, self._iterable = None, xi
        else:
            raise TypeError(f"patterns xi must be a (P, N) array or a stream of chunks, got {type(xi).__name__}")

    def chunks(self, t=0, T=1):
        """``(start, chunk)`` pairs: chunks t, t + T, t + 2T, ... (thread t of T)."""
        if self.n is None:
            start = 0
            for c in self._iterable:
                yield start, c
                start += c.shape[0]
        else:
            for k in range(t, self.n, T):
                yield k * self.chunk, self._get(k)


class _Pass:
    """One pass's running state: reference m, sum l = Σ e^{s-m}, weighted sum acc.

    The plain array-API update (any namespace): per chunk, the scores, their row
    maximum, the rescaling of the old sums when the maximum grows, and the new terms.
    """

    def __init__(self, xp, xs, use_lse, average, top, mu):
        B, N = xs.shape
        self.xp, self.xs, self.use_lse, self.top, self.mu = xp, xs, use_lse, top, mu
        self.device = dev = device(xs)
        self.m = xp.full((B,), -math.inf, dtype=xs.dtype, device=dev)
        self.l = xp.zeros((B,), dtype=xs.dtype, device=dev)
        self.acc = xp.zeros((B, N), dtype=xs.dtype, device=dev) if average else None
        self.top_s = self.top_i = None
        self.s_mu = {}  # query b -> score of its chosen pattern mu_b
        self.P = 0

    def run(self, chunks, rows):
        """Fold ``(start, chunk)`` pairs into the state, ``rows`` patterns at a time."""
        xp = self.xp
        for start, Xc in chunks:
            Xc = asarray(Xc, xp, dtype=self.xs.dtype, device=self.device)
            c = Xc.shape[0]
            for a in range(0, c, rows):
                self.update(start + a, Xc[a: min(a + rows, c), :])
            self.P += Xc.shape[0]
        return self

    def update(self, start, Xc):
        S = self.xs @ Xc.T  # (B, c) scores
        self.record(S, start)
        if self.use_lse:
            self.m, self.l, self.acc = _fold(self.xp, S, Xc, self.m, self.l, self.acc)

    def record(self, S, start, shift=None):
        """Keep the scores of the chosen patterns and the best candidates (S = scores - shift)."""
        xp, c = self.xp, S.shape[1]
        if self.mu is not None:
            for b in np.nonzero((self.mu >= start) & (self.mu < start + c))[0]:
                b = int(b)
                self.s_mu[b] = float(S[b, int(self.mu[b]) - start]) + (0.0 if shift is None else float(shift[b]))
        if self.top:
            k = min(self.top, c)
            if is_numpy(xp):  # partial sort: O(c), not O(c log c)
                idx = np.argpartition(S, c - k, axis=1)[:, c - k:]
            else:
                idx = xp.argsort(S, axis=1, descending=True)[:, :k]
            vals = xp.take_along_axis(S, idx, axis=1)
            if shift is not None:
                vals = vals + shift[:, None]
            self.top_s, self.top_i = _top_merge(xp, self.top, (self.top_s, self.top_i), (vals, idx + start))

    def merge(self, other):
        """Combine with a pass over a disjoint set of patterns."""
        xp = self.xp
        if self.use_lse:
            m = xp.maximum(self.m, other.m)
            a, b = xp.exp(self.m - m), xp.exp(other.m - m)
            self.l = self.l * a + other.l * b
            if self.acc is not None:
                self.acc = self.acc * a[:, None] + other.acc * b[:, None]
            self.m = m
        if self.top:
            self.top_s, self.top_i = _top_merge(xp, self.top, (self.top_s, self.top_i), (other.top_s, other.top_i))
        self.s_mu.update(other.s_mu)
        self.P += other.P
        return self


class _NumpyPass(_Pass):
    """The same pass on NumPy, with fewer passes over the (B, c) scores.

    The reference m is shifted lazily: it is the running log-sum-exp (not the running
    maximum), so a chunk needs no maximum pass: its scores are taken as s - m, exp'd
    in place, and summed. When B is large the chunk is also augmented with a column of
    ones (and the queries with a column -m): the first product then gives s - m
    directly and the second gives the weighted sum and the sum of weights together,
    leaving exp as the only pass over the scores. Scores more than ~88 (float32)
    above m overflow; those rare rows are detected and redone with an explicit
    maximum, and m is re-centred whenever l grows large.

    Log-weights s - m below a floor, ½ ln of the smallest normal float (-43.7 in
    float32), are raised to it. Without it, at low temperature (λN ≳ 90 in float32)
    most weights are subnormal floats, which x86 processes about 10× slower in exp
    and 100× slower in the matrix product. The raised weights, e^-43.7 ≈ 1e-19 each
    against a total of at least 1, change the result by less than P·1e-19: below
    rounding for any P a pass can reach.
    """

    _RENORM = 2.0**32  # re-centre m when l grows past this (far from overflow)

    def __init__(self, xp, xs, use_lse, average, top, mu):
        super().__init__(xp, xs, use_lse, average, top, mu)
        B, N = xs.shape
        # augmenting copies the (c, N) chunk and saves two passes over the (c, B) scores
        self.augment = 2 * B > N + 1
        if self.augment:
            self.xs_aug = np.empty((B, N + 1), dtype=xs.dtype)
            self.xs_aug[:, :N] = xs
            self.buf = np.empty((0, N + 1), dtype=xs.dtype)
        self.started = False
        self.ones = np.ones(0, dtype=xs.dtype)
        self.floor = _floor(np, xs.dtype)

    def run(self, chunks, rows):
        # NaN or inf in the patterns is reported as a ValueError once the pass is done
        with np.errstate(invalid="ignore", over="ignore"):
            return super().run(chunks, rows)

    def update(self, start, Xc):
        if not self.use_lse:
            return super().update(start, Xc)  # top only
        c, N = Xc.shape
        first, self.started = not self.started, True  # first chunk: m is still -inf
        if self.augment:
            if self.buf.shape[0] < c:
                self.buf = np.ones((c, N + 1), dtype=Xc.dtype)
            aug = self.buf[:c]
            aug[:, :N] = Xc
            self.xs_aug[:, N] = 0 if first else -self.m
            ST = aug @ self.xs_aug.T  # (c, B): s - m
        else:
            ST = Xc @ self.xs.T
            if not first:
                _subtract_columns(ST, self.m)
        if first:  # the reference starts at the maximum score
            self.m = _column_max(ST)
            _subtract_columns(ST, self.m)
        self.record(ST.T, start, shift=self.m)
        if ST.min() < self.floor:  # a fast reduction; the clamp is a slow pass
            np.maximum(ST, self.floor, out=ST)
        np.exp(ST, out=ST)  # may overflow: detected below
        # R: (B, N + 1), the new weighted sum and, in the last column, the new sum of
        # weights. Computed as (N + 1, B): OpenBLAS splits that shape between its
        # threads, not (B, N + 1) (1.6x faster at (N, c, B) = (64, 10⁴, 16)).
        if self.augment and self.acc is not None:
            R = (aug.T @ ST).T
        else:  # column sums by BLAS: NumPy sums axis 0 of a narrow array slowly
            if self.ones.shape[0] < c:
                self.ones = np.ones(c, dtype=ST.dtype)
            R = (self.ones[:c] @ ST)[:, None]
            if self.acc is not None:
                R = np.concatenate([(Xc.T @ ST).T, R], axis=1)
        ok = np.isfinite(R).all(axis=1)
        if ok.all():
            self.l += R[:, -1]
            if self.acc is not None:
                self.acc += R[:, :N]
        else:
            self._redo(~ok, Xc, R, ok)
        big = self.l > self._RENORM
        if big.any():
            self.m[big] += np.log(self.l[big])
            if self.acc is not None:
                self.acc[big] /= self.l[big, None]
            self.l[big] = 1.0

    def _redo(self, bad, Xc, R, ok):
        """Rows whose scores jumped far above m: the explicit maximum-shift update."""
        self.l[ok] += R[ok, -1]
        if self.acc is not None:
            self.acc[ok] += R[ok, :-1]
        acc = None if self.acc is None else self.acc[bad]
        self.m[bad], self.l[bad], acc = _fold(self.xp, self.xs[bad] @ Xc.T, Xc, self.m[bad], self.l[bad], acc)
        if acc is not None:
            self.acc[bad] = acc


def _wide(ST):
    """A C-ordered (c, B) array as k rows at a time, (c // k, k·B), and the rest.

    NumPy runs a reduction over axis 0, or a (B,) vector broadcast over the rows,
    one row of B at a time: slow when B is small. Folded k rows together, its inner
    loops are at least 1024 long.
    """
    c, B = ST.shape
    # (B = 1 needs no folding; the reshape must be a view)
    k = 1024 // B if 1 < B <= 1024 and ST.flags.c_contiguous else 1
    n = c - c % k
    return k, ST[:n].reshape(n // k, k * B), ST[n:]


def _column_max(ST):
    """The maximum of each column of a C-ordered (c, B) array."""
    k, wide, rest = _wide(ST)
    m = rest.max(axis=0, initial=-math.inf)
    if wide.shape[0]:
        m = np.maximum(m, wide.max(axis=0).reshape(k, -1).max(axis=0))
    return m


def _subtract_columns(ST, m):
    """``ST -= m`` for a C-ordered (c, B) array and a (B,) vector, in place."""
    k, wide, rest = _wide(ST)
    mk = np.empty((k, m.shape[0]), dtype=m.dtype)
    mk[...] = m  # m tiled k times (np.tile is slow for a small vector)
    wide -= mk.reshape(-1)
    rest -= m


def _floor(xp, dtype):
    """Lowest log-weight kept: half the log of the smallest normal float, -43.7 in
    float32 and -354 in float64."""
    return 0.5 * math.log(xp.finfo(dtype).smallest_normal)


def _fold(xp, S, Xc, m, l, acc):
    """Fold the scores S (B, c) of the patterns Xc into (m, l, acc), m the running maximum.

    Log-weights below the floor are raised to it (see :class:`_NumpyPass`).
    """
    m_new = xp.maximum(m, xp.max(S, axis=1))
    E = xp.exp(xp.clip(S - m_new[:, None], min=_floor(xp, S.dtype)))
    scale = xp.exp(m - m_new)
    l = l * scale + xp.sum(E, axis=1)
    if acc is not None:
        acc = acc * scale[:, None] + E @ Xc
    return m_new, l, acc


def _top_merge(xp, k, old, new):
    """The k largest of two candidate lists of scores (B, k1), (B, k2), with indices."""
    s, i = new
    if old[0] is not None:
        s, i = xp.concat([old[0], s], axis=1), xp.concat([old[1], i], axis=1)
    order = xp.argsort(s, axis=1, descending=True, stable=True)[:, :k]
    return xp.take_along_axis(s, order, axis=1), xp.take_along_axis(i, order, axis=1)


def scan(x, xi, lam=None, *, average=False, mu=None, top=0, chunk=None):
    r"""One pass of queries over patterns: log-sum-exp, softmax average, weights, top overlaps.

    .. math::

       \mathrm{lse}_b = \ln\sum_\mu e^{\lambda\,\xi^\mu\cdot x_b},\qquad
       \mathrm{average}_b = \sum_\mu \xi^\mu\,\mathrm{softmax}_\mu(\lambda\,\xi^\mu\cdot x_b),\qquad
       \mathrm{weight}_b = \mathrm{softmax}_{\mu_b}(\lambda\,\xi^\mu\cdot x_b).

    Parameters
    ----------
    x : array, shape (B, N) or (N,)
        Queries (states). The work is done in float32 if both ``x`` and the patterns
        are float32, in float64 otherwise.
    xi : array of shape (P, N), :class:`~damlab.ensembles.PatternStream`, or iterable of (c, N) chunks
        The stored patterns. A stream is generated chunk by chunk and never stored.
    lam : float, optional
        Inverse temperature λ > 0; needed for everything but ``top``.
    average : bool
        Also compute the softmax-weighted pattern average (one modern Hopfield step).
    mu : int or sequence of B ints, optional
        Pattern whose softmax weight to return: one for all queries, or one per query.
    top : int
        Also return the ``top`` largest overlaps u = ξ·x/N of each query and their indices.
    chunk : int, optional
        Patterns scored at a time (default: the (B, chunk) score block fits in a
        core's L2 cache; small arrays of patterns in one piece).

    Returns
    -------
    Scan
        ``(lse, average, weight, top_values, top_indices)``; fields not asked for are
        ``None``. A 1-d ``x`` gives results without the B axis.
    """
    xp = get_namespace(x, xi if _is_array(xi) else None)
    if is_numpy(xp) or not hasattr(x, "shape"):
        x = asarray(x, xp)
    if len(x.shape) not in (1, 2) or min(x.shape) < 1:
        raise ValueError(f"states x must have shape (B, N) or (N,) with B, N >= 1, got {tuple(x.shape)}")
    single = len(x.shape) == 1
    X = xp.reshape(x, (1, x.shape[0])) if single else x
    B, N = X.shape
    _checks.all_finite("states x", X, xp)
    if lam is None and (average or mu is not None):
        raise ValueError("lam is required for the softmax average and the weight")
    use_lse = lam is not None
    lam = _checks.positive_float("lam", lam) if use_lse else 1.0
    top = 0 if top is None else int(top)
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}")

    # float32 only when both sides are float32: never promote silently, never demote
    f32 = _is_float32(X.dtype, xp) and _is_float32(getattr(xi, "dtype", xp.float32), xp)
    dtype, itemsize = (xp.float32, 4) if f32 else (xp.float64, 8)
    if chunk is None:
        chunk = _default_rows(B, N, xi.shape[0] if _is_array(xi) else None, itemsize)
    rows = _checks.positive_int("chunk", chunk)
    source = _Source(xi, N, rows)
    if mu is not None:
        mu = np.broadcast_to(np.asarray(to_host(mu)), (B,))
        if not np.issubdtype(mu.dtype, np.integer):
            raise TypeError(f"mu must be an integer pattern index, got dtype {mu.dtype}")
        if np.any(mu < 0) or (source.P is not None and np.any(mu >= source.P)):
            raise ValueError(f"mu must lie in [0, P={source.P}), got {mu.min()}..{mu.max()}")

    xs = xp.astype(X, dtype) * lam  # scale the B queries once, not every (B, c) block
    Pass = _NumpyPass if is_numpy(xp) else _Pass
    new = lambda: Pass(xp, xs, use_lse, average, top, mu)
    # a stream of unknown length is read in order; otherwise thread t folds chunks t, t + T, ...
    T = threads_for(xp, source.P * N * B, source.n) if source.n else 1
    state, *others = thread_map(lambda t, T: new().run(source.chunks(t, T), rows), T)
    for other in others:
        state.merge(other)

    lse = avg = w = top_v = top_i = None
    if use_lse:
        lse = state.m + xp.log(state.l)
        # the states are finite, so a non-finite result can only come from the patterns
        if not bool(xp.all(xp.isfinite(lse))):
            raise ValueError("patterns xi contain NaN or inf (the log-sum-exp is not finite)")
        if average:
            avg = state.acc / state.l[:, None]
        if mu is not None:
            if len(state.s_mu) < B:
                raise ValueError(f"mu must lie in [0, P={state.P}), got {mu.max()}")
            s_mu = asarray(np.array([state.s_mu[b] for b in range(B)]), xp, dtype=dtype, device=device(X))
            w = xp.exp(s_mu - lse)
    if top:
        top_v, top_i = state.top_s / (lam * N), state.top_i
    out = Scan(lse, avg, w, top_v, top_i)
    return Scan(*(None if a is None else a[0] for a in out)) if single else out


def logsumexp(x, xi, lam, *, chunk=None):
    r"""Log-partition function :math:`\ln\sum_\mu e^{\lambda\,\xi^\mu\cdot x}` of each query (see :func:`scan`)."""
    return scan(x, xi, lam, chunk=chunk).lse


def step(x, xi, lam, *, chunk=None):
    r"""One modern Hopfield update :math:`x \leftarrow \sum_\mu \xi^\mu\,\mathrm{softmax}_\mu(\lambda\,\xi^\mu\cdot x)` (see :func:`scan`)."""
    return scan(x, xi, lam, average=True, chunk=chunk).average


def weight(x, xi, lam, mu, *, chunk=None):
    r"""Softmax weight :math:`w_\mu = e^{\lambda\,\xi^\mu\cdot x}/\sum_\nu e^{\lambda\,\xi^\nu\cdot x}` of pattern ``mu`` (see :func:`scan`)."""
    return scan(x, xi, lam, mu=mu, chunk=chunk).weight


def top_overlaps(x, xi, k=1, *, chunk=None):
    """The ``k`` largest overlaps u = ξ·x/N of each query and the patterns' indices (see :func:`scan`)."""
    k = _checks.positive_int("k", k)
    res = scan(x, xi, top=k, chunk=chunk)
    return res.top_values, res.top_indices
