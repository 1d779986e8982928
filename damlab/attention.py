r"""Attention, and why one modern Hopfield step is one attention layer.

Attention (Vaswani et al. 2017) maps B queries (rows of Q), P keys (rows of K) and
P values (rows of V) to

.. math::

   \mathrm{Attention}(Q, K, V) = \mathrm{softmax}(\beta\, Q K^\top)\, V, \qquad
   \beta = 1/\sqrt{d} \text{ in transformers},

the softmax taken along each row (over the P keys). One modern Hopfield step with
stored patterns ξ (rows of a (P, N) array), states x (rows of a (B, N) array) and
inverse temperature λ,

.. math::

   x \leftarrow \sum_{\mu=1}^P \xi^\mu\,\mathrm{softmax}_\mu(\lambda\,\xi^\mu\cdot x),

is exactly attention with **Q = x, K = V = ξ and β = λ** (:func:`hopfield_step`;
Ramsauer et al. 2021). The transformer's β = 1/√d is the *attention scaling*
λ = λ̃/√N with λ̃ = 1: for patterns of norm √N the REM of the other patterns stays
liquid and only P = e^{O(√N)} patterns can be retrieved, against e^{O(N)} at λ = O(1)
(THEORY.md §3; :func:`damlab.theory.capacity.attention_log_capacity`).

A Hopfield layer (:class:`HopfieldLayer`) adds projections: each head is one Hopfield
step on the projected patterns ξ = Y W_K from the projected state x = R W_Q, followed
by a value map W_V; the heads are concatenated and mapped by W_O.

This module computes the explicit formula, all P scores at once (the (B, P) score
matrix must fit in memory), with the maximum of each row subtracted before the
exponential so that nothing overflows however large β is. For P too large for that,
:class:`~damlab.models.ModernHopfield` runs the same step on the streaming engine;
the two agree to rounding (tests/test_attention.py). Arrays may be NumPy, CuPy or
any array-API namespace; the work is done in float32 if every input is float32, in
float64 otherwise.

See the book chapter *Attention and diffusion*.
"""

from __future__ import annotations

import math

import numpy as np
from array_api_compat import is_numpy_array

from . import _checks
from .backend import asarray, default_rng, device, get_namespace

__all__ = ["attention", "hopfield_step", "HopfieldLayer"]


def _arrays(named):
    """``[(name, value), ...]`` as arrays of one namespace, device and floating dtype.

    Foreign arrays (CuPy, array-API) decide the namespace and the device; NumPy
    arrays and lists follow. The dtype is float32 if every input is float32, float64
    otherwise (never a silent demotion).
    """
    values = [v for _, v in named]
    xp = get_namespace(*values)
    foreign = [v for v in values if hasattr(v, "shape") and not is_numpy_array(v)]
    dev = device(foreign[0]) if foreign else None
    out = []
    for name, v in named:
        a = asarray(v, xp, device=dev)
        if not (xp.isdtype(a.dtype, "real floating") or xp.isdtype(a.dtype, "integral")):
            raise TypeError(f"{name} must be an array of real numbers, got dtype {a.dtype}")
        out.append(a)
    dtype = xp.float32 if all(a.dtype == xp.float32 for a in out) else xp.float64
    return xp, [a if a.dtype == dtype else xp.astype(a, dtype) for a in out]


def _matrix(name, a, shape, xp, allow_vector=False):
    """Check that ``a`` has ``shape`` (ints fixed, strings free but >= 1) and is finite.

    ``allow_vector``: a 1-d array stands for one row; it is returned as (1, n).
    """
    got = tuple(a.shape)
    ok = len(got) == len(shape) or (allow_vector and len(got) == 1)
    if ok:
        want = shape[-len(got):]
        ok = all(g >= 1 and (not isinstance(w, int) or g == w) for g, w in zip(got, want))
    if not ok:
        labels = [str(w) for w in shape]
        vector = f" or ({labels[-1]},)" if allow_vector else ""
        raise ValueError(f"{name} must have shape ({', '.join(labels)}){vector}, got {got}")
    _checks.all_finite(name, a, xp)
    return xp.reshape(a, (1, got[0])) if len(got) == 1 and len(shape) == 2 else a


def _softmax_average(Q, K, V, beta, xp, beta_name="beta", v_name="V"):
    r"""softmax(β Q Kᵀ) V for checked (B, d), (P, d), (P, d_v) arrays, with the row maximum shifted out."""
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is detected and reported below
        S = (Q * beta) @ K.T  # (B, P) scores; β is a Python float, so float32 stays float32
    m = xp.max(S, axis=1, keepdims=True)
    if not bool(xp.all(xp.isfinite(m))):
        raise ValueError(f"{beta_name}={beta:g} is too large for these inputs: the scores "
                         f"{beta_name}·Q·Kᵀ overflow {S.dtype}")
    E = xp.exp(S - m)  # in (0, 1], and 1 at each row's maximum: no overflow, sum >= 1
    out = (E @ V) / xp.sum(E, axis=1, keepdims=True)
    if not bool(xp.all(xp.isfinite(out))):
        raise ValueError(f"{v_name} is too large: the weighted sums of its rows overflow {out.dtype}")
    return out


def attention(Q, K, V, beta=None):
    r"""Scaled dot-product attention, softmax(β Q Kᵀ) V, computed exactly.

    .. math::

       \mathrm{Attention}(Q, K, V)_b = \sum_{\mu=1}^P V_\mu\,
       \frac{e^{\beta\, Q_b\cdot K_\mu}}{\sum_{\nu=1}^P e^{\beta\, Q_b\cdot K_\nu}},
       \qquad \beta = \frac{1}{\sqrt d} \text{ by default.}

    The maximum score of each row is subtracted before the exponential, so the result
    is finite and accurate to rounding for any β. With Q = x, K = V = ξ and β = λ this is
    one modern Hopfield step (:func:`hopfield_step`).

    Parameters
    ----------
    Q : array, shape (B, d) or (d,)
        Queries, one per row.
    K : array, shape (P, d)
        Keys.
    V : array, shape (P, d_v)
        Values, one per key.
    beta : float, optional
        Inverse temperature β > 0 (the softmax scale). Default 1/√d, as in
        transformers (and ``torch.nn.functional.scaled_dot_product_attention``).

    Returns
    -------
    array, shape (B, d_v) (or (d_v,) for a 1-d ``Q``)
        In the namespace and on the device of the inputs; float32 if Q, K and V all
        are, float64 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from damlab.attention import attention
    >>> K = np.eye(3)
    >>> attention(10.0 * K[1], K, np.arange(3.0)[:, None], beta=1.0).round(4)
    array([1.])
    """
    xp, (Q, K, V) = _arrays([("Q", Q), ("K", K), ("V", V)])
    single = len(Q.shape) == 1
    Q = _matrix("Q", Q, ("B", "d"), xp, allow_vector=True)
    d = Q.shape[1]
    K = _matrix("K", K, ("P", d), xp)
    V = _matrix("V", V, (K.shape[0], "d_v"), xp)
    beta = 1.0 / math.sqrt(d) if beta is None else _checks.positive_float("beta", beta)
    out = _softmax_average(Q, K, V, beta, xp)
    return out[0] if single else out


def hopfield_step(x, xi, lam):
    r"""One modern Hopfield step, written as attention with Q = x, K = V = ξ, β = λ.

    .. math::

       x \leftarrow \sum_{\mu=1}^P \xi^\mu\,\mathrm{softmax}_\mu(\lambda\,\xi^\mu\cdot x)
       = \mathrm{Attention}(Q = x,\ K = \xi,\ V = \xi;\ \beta = \lambda).

    The same map as :meth:`damlab.models.ModernHopfield.step` (which streams the
    patterns through :mod:`damlab.engine`), here by the explicit formula of
    :func:`attention`: the two agree to rounding, for any λ.

    Parameters
    ----------
    x : array, shape (B, N) or (N,)
        States (the queries).
    xi : array, shape (P, N)
        Stored patterns, one per row (the keys and the values).
    lam : float
        Inverse temperature λ > 0 (required: the Hopfield λ has no 1/√N default).

    Returns
    -------
    array, shaped like ``x``
    """
    xp, (x, xi) = _arrays([("x", x), ("xi", xi)])
    single = len(x.shape) == 1
    x = _matrix("x", x, ("B", "N"), xp, allow_vector=True)
    xi = _matrix("xi", xi, ("P", x.shape[1]), xp)
    lam = _checks.positive_float("lam", lam)
    out = _softmax_average(x, xi, xi, lam, xp, "lam", "xi")
    return out[0] if single else out


def _weights(name, W, xp, shape):
    """h heads' (h, a, b) stack of matrices, or one head's (a, b) matrix, as (h, a, b)."""
    if len(W.shape) == 2 and shape[0] in ("h", 1):
        return xp.reshape(_matrix(name, W, shape[1:], xp), (1, *W.shape))
    return _matrix(name, W, shape, xp)


class HopfieldLayer:
    r"""Multi-head Hopfield layer (Ramsauer et al. 2021): each head one Hopfield step.

    State patterns R (rows, the queries' source) retrieve from stored patterns Y
    through h heads. Head i projects both,

    .. math::

       x_i = R\,W_Q^{(i)} \ \text{(states)}, \qquad
       \xi_i = Y\,W_K^{(i)} \ \text{(stored patterns)},

    takes **one modern Hopfield step** of :math:`x_i` on the patterns :math:`\xi_i` at
    inverse temperature β, and maps the result through its value matrix:

    .. math::

       Z_i = \Big[\sum_\mu \xi_i^\mu\,\mathrm{softmax}_\mu(\beta\,\xi_i^\mu\cdot x_i)\Big] W_V^{(i)}
           = \mathrm{softmax}\big(\beta\, R W_Q^{(i)} (Y W_K^{(i)})^\top\big)\, Y W_K^{(i)} W_V^{(i)},
       \qquad
       \mathrm{out} = [Z_1, \dots, Z_h]\, W_O .

    This is attention with Q = R W_Q, K = Y W_K and V = Y W_K W_V, Ramsauer et al.'s
    eq. (10), and the code computes it that way: :meth:`states`, :meth:`patterns`,
    one :func:`hopfield_step` per head, then W_V and W_O.

    Parameters
    ----------
    W_Q : array, shape (h, d_r, d_k) or (d_r, d_k)
        Query (state) projections, one per head.
    W_K : array, shape (h, d_y, d_k) or (d_y, d_k)
        Key (pattern) projections.
    W_V : array, shape (h, d_k, d_v) or (d_k, d_v)
        Value maps, applied to the retrieved pattern, in the projected space.
    W_O : array, shape (h·d_v, d_out), optional
        Output projection of the concatenated heads (head i in columns
        i·d_v … (i+1)·d_v − 1, as in PyTorch). Default: none, the output is the
        concatenation.
    beta : float, optional
        Inverse temperature β > 0, shared by the heads. Default 1/√d_k (transformers).

    Notes
    -----
    *The value map.* Following Ramsauer et al., W_V acts on the retrieved pattern
    (values Y W_K W_V, W_V of shape (d_k, d_v)), so each head is exactly a Hopfield
    step followed by a linear map. A transformer's value projection W'_V acts on Y
    directly (values Y W'_V, W'_V of shape (d_y, d_v)); the two agree when
    W'_V = W_K W_V, which any W'_V can be written as when W_K has rank d_y (so
    d_k >= d_y). Otherwise a transformer head is a *hetero-associative* step: the
    softmax weights of the Hopfield step on ξ = Y W_K, applied to other vectors.
    :func:`attention` computes that form directly, with V = Y W'_V.

    *Scale.* With the default β = 1/√d_k and entries of ξ and x of order one, this is
    the attention scaling λ = 1/√N of THEORY.md §3 (N = d_k): a head retrieves single
    patterns only while P = e^{O(√d_k)}.

    Examples
    --------
    >>> import numpy as np
    >>> from damlab.attention import HopfieldLayer
    >>> layer = HopfieldLayer.random(d_in=16, d_k=8, heads=2, seed=0)
    >>> R, Y = np.ones((3, 16)), np.eye(16)
    >>> layer(R, Y).shape, layer.patterns(Y).shape
    ((3, 16), (2, 16, 8))
    """

    def __init__(self, W_Q, W_K, W_V, W_O=None, beta=None):
        named = [("W_Q", W_Q), ("W_K", W_K), ("W_V", W_V)] + ([] if W_O is None else [("W_O", W_O)])
        xp, arrays = _arrays(named)
        W_Q = _weights("W_Q", arrays[0], xp, ("h", "d_r", "d_k"))
        h, _, d_k = W_Q.shape
        self.W_Q = W_Q
        self.W_K = _weights("W_K", arrays[1], xp, (h, "d_y", d_k))
        self.W_V = _weights("W_V", arrays[2], xp, (h, d_k, "d_v"))
        self.W_O = None if W_O is None else _matrix("W_O", arrays[3], (h * self.W_V.shape[2], "d_out"), xp)
        self.beta = 1.0 / math.sqrt(d_k) if beta is None else _checks.positive_float("beta", beta)

    @classmethod
    def random(cls, d_in, d_k, d_v=None, heads=1, d_out=None, beta=None, seed=None, dtype="float64"):
        r"""A layer with random, "learned-looking" weights, for experiments without training.

        Each weight matrix has independent Gaussian entries of variance 1/fan-in,
        :math:`(W)_{ab} \sim \mathcal N(0, 1/\mathrm{rows})` (the usual initialisation),
        so projections keep the scale of their inputs.

        Parameters
        ----------
        d_in : int
            Width d_r = d_y of the state and stored patterns R and Y.
        d_k : int
            Width of the projected patterns and states (the Hopfield N of each head).
        d_v : int, optional
            Width of each head's output; default d_k.
        heads : int
            Number of heads h.
        d_out : int, optional
            Output width (W_O has shape (h·d_v, d_out)); default d_in, as in transformers.
        beta : float, optional
            Inverse temperature; default 1/√d_k.
        seed : int or numpy Generator, optional
            The same seed gives the same weights (drawn on the host with NumPy, in
            the order W_Q, W_K, W_V, W_O).
        dtype : {"float64", "float32"}
        """
        d_in, d_k = _checks.positive_int("d_in", d_in), _checks.positive_int("d_k", d_k)
        d_v = d_k if d_v is None else _checks.positive_int("d_v", d_v)
        h = _checks.positive_int("heads", heads)
        d_out = d_in if d_out is None else _checks.positive_int("d_out", d_out)
        dtype = _checks.floating_dtype("dtype", dtype)
        rng = default_rng(seed)

        def gaussian(*shape):
            return (rng.standard_normal(shape) / math.sqrt(shape[-2])).astype(dtype)

        return cls(gaussian(h, d_in, d_k), gaussian(h, d_in, d_k), gaussian(h, d_k, d_v),
                   gaussian(h * d_v, d_out), beta=beta)

    @property
    def heads(self) -> int:
        """Number of heads h."""
        return self.W_Q.shape[0]

    def _inputs(self, R=None, Y=None, self_attention=False):
        """The given R (B, d_r) and Y (P, d_y), checked, and the weights, in one
        namespace and dtype; and whether R was a single (d_r,) state."""
        given = [(n, v) for n, v in (("R", R), ("Y", Y)) if v is not None]
        weights = [("W_Q", self.W_Q), ("W_K", self.W_K), ("W_V", self.W_V), ("W_O", self.W_O)]
        named = given + [(n, w) for n, w in weights if w is not None]
        xp, arrays = _arrays(named)
        a = dict(zip([n for n, _ in named], arrays))
        single = R is not None and len(a["R"].shape) == 1
        if R is not None:
            a["R"] = _matrix("R", a["R"], ("B", self.W_Q.shape[1]), xp, allow_vector=True)
        if Y is not None:
            a["Y"] = _matrix("Y", a["Y"], ("P", self.W_K.shape[1]), xp)
        elif self_attention:  # the states are the stored patterns too
            if self.W_Q.shape[1] != self.W_K.shape[1]:
                raise ValueError(f"Y must be given: R has width d_r = {self.W_Q.shape[1]}, "
                                 f"the stored patterns need d_y = {self.W_K.shape[1]}")
            a["Y"] = a["R"]
        return xp, a, single

    def states(self, R):
        """The states :math:`x_i = R W_Q^{(i)}` of every head, shape (h, B, d_k) (or (h, d_k))."""
        _, a, single = self._inputs(R=R)
        x = a["R"] @ a["W_Q"]  # (B, d_r) @ (h, d_r, d_k) -> (h, B, d_k)
        return x[:, 0, :] if single else x

    def patterns(self, Y):
        r"""The stored patterns :math:`\xi_i = Y W_K^{(i)}` of every head, shape (h, P, d_k)."""
        _, a, _ = self._inputs(Y=Y)
        return a["Y"] @ a["W_K"]

    def head_outputs(self, R, Y=None):
        """Each head's output :math:`Z_i` before concatenation, shape (h, B, d_v) (or (h, d_v)).

        ``Y`` defaults to ``R`` (self-attention).
        """
        xp, a, single = self._inputs(R, Y, self_attention=True)
        Z = xp.stack([self._head(i, a, xp) for i in range(self.heads)])
        return Z[:, 0, :] if single else Z

    def _head(self, i, a, xp):
        x = a["R"] @ a["W_Q"][i, ...]  # the states of head i, (B, d_k)
        xi = a["Y"] @ a["W_K"][i, ...]  # its stored patterns, (P, d_k)
        # one modern Hopfield step at λ = β (hopfield_step, on arrays already checked) ...
        retrieved = _softmax_average(x, xi, xi, self.beta, xp, "beta", "Y")
        return retrieved @ a["W_V"][i, ...]  # ... then the value map

    def __call__(self, R, Y=None):
        r"""The layer's output :math:`[Z_1, \dots, Z_h]\, W_O`, shape (B, d_out) (or (d_out,) for a 1-d R).

        ``Y``, shape (P, d_y), defaults to ``R`` (self-attention).
        """
        xp, a, single = self._inputs(R, Y, self_attention=True)
        out = xp.concat([self._head(i, a, xp) for i in range(self.heads)], axis=1)  # (B, h·d_v)
        if self.W_O is not None:
            out = out @ a["W_O"]
        return out[0] if single else out

    def __repr__(self):
        h, d_r, d_k = self.W_Q.shape
        d_out = "none" if self.W_O is None else self.W_O.shape[1]
        return (f"HopfieldLayer(heads={h}, d_r={d_r}, d_y={self.W_K.shape[1]}, d_k={d_k}, "
                f"d_v={self.W_V.shape[2]}, d_out={d_out}, beta={self.beta:g})")
