r"""Diffusion models with the empirical score: denoising is modern Hopfield retrieval.

The variance-exploding (VE) process adds Gaussian noise of variance t to a stored
pattern, x_t = ξ^μ + √t ε with μ uniform and ε ~ N(0, I_N). Its law is the
empirical data distribution blurred by the noise (THEORY.md §4),

.. math::

   p_t(x) = \frac1P \sum_{\mu=1}^P \mathcal N(x;\, \xi^\mu,\, t\, I_N),
   \qquad
   \ln p_t(x) = -\ln P - \frac N2 \ln(2\pi t) - \frac{|x|^2}{2t}
     + \ln\sum_\mu e^{(\xi^\mu\cdot x - |\xi^\mu|^2/2)/t},

its score is :math:`\nabla\ln p_t(x) = (D_t(x) - x)/t`, and Tweedie's denoiser, the
posterior mean of the clean pattern,

.. math::

   D_t(x) = \mathbb E[\xi \mid x_t = x] = x + t\,\nabla \ln p_t(x)
   = \sum_\mu \xi^\mu\, \mathrm{softmax}_\mu\!\Big(\frac{\xi^\mu\cdot x - |\xi^\mu|^2/2}{t}\Big),

is one modern Hopfield step at λ = 1/t, with a bias :math:`-|\xi^\mu|^2/2t` per
pattern. For patterns of equal norm, :math:`|\xi^\mu|^2 = N` (the spherical
ensemble), the bias is the same for all μ and drops out of the softmax: the denoiser
is *exactly* ``ModernHopfield(xi, lam=1/t).step(x)``, and

.. math::

   -t \ln p_t(x) = E_\mathrm{MHN}(x;\, \lambda = 1/t) + t\ln P + \frac{Nt}2 \ln(2\pi t) + \frac N2,
   \qquad E_\mathrm{MHN}(x) = -\frac1\lambda\ln\sum_\mu e^{\lambda\,\xi^\mu\cdot x} + \frac12|x|^2,

the modern Hopfield energy (with its quadratic term, as
:meth:`~damlab.models.ModernHopfield.energy` computes it) up to a constant in x.

The variance-preserving (VP) process :math:`x = \sqrt{\bar\alpha}\,\xi + \sqrt{1-\bar\alpha}\,\varepsilon`
is the VE one rescaled: :math:`x/\sqrt{\bar\alpha}` is a VE state at time
:math:`t = (1-\bar\alpha)/\bar\alpha` (:func:`ve_time`, :func:`vp_denoiser`, :func:`vp_score`,
:func:`vp_log_density`).

Every pass over the patterns goes through :mod:`damlab.engine` (online log-sum-exp),
for patterns of any norms: each chunk of patterns is given one more column,
:math:`-|\xi^\mu|^2/2`, and the states one more component, 1, so that the engine's
scores are :math:`\lambda(\xi^\mu\cdot x - |\xi^\mu|^2/2)`. Patterns may therefore be
an array or a :class:`~damlab.ensembles.PatternStream`, and memory does not grow with
P beyond the patterns themselves.

The reverse-time samplers :func:`probability_flow` (ODE) and :func:`reverse_sde`
(stochastic) are driven by this empirical score: with few patterns their samples
collapse onto stored patterns (memorisation).

See the book chapter "Attention and diffusion".
"""

from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np

from . import _checks, engine
from .backend import asarray, default_rng, device, get_namespace, is_numpy
from .ensembles import Chunks
from .models._common import is_stream as _is_stream, states

__all__ = [
    "log_density", "denoiser", "score",
    "ve_time", "vp_log_density", "vp_denoiser", "vp_score",
    "forward_sample", "time_grid", "probability_flow", "reverse_sde",
    "Trajectory", "NoisySample",
]

Trajectory = namedtuple("Trajectory", "t x")
Trajectory.__doc__ = """Result of a reverse-time sampler.

t : (S,) NumPy array, the saved times (decreasing)
x : (S, B, N) array (or (S, N) for one state), the states at those times
"""

NoisySample = namedtuple("NoisySample", "x mu")
NoisySample.__doc__ = """Result of :func:`forward_sample`.

x : (B, N) array, the noisy states x_t = ξ^μ + √t ε
mu : (B,) NumPy int array, the pattern each state was drawn from
"""

# Rows per chunk of an array of patterns handed to the engine (with their bias
# column): the chunks are copies, so a few MiB each; arrays up to this size are one
# chunk (the engine then does them in one piece).
_CHUNK_BYTES = 4 << 20


# ---- input checks ------------------------------------------------------------------


def _time(name, t) -> float:
    return _checks.positive_float(name, t)


def _alpha_bar(alpha_bar) -> float:
    if isinstance(alpha_bar, bool) or not isinstance(alpha_bar, numbers.Real):
        raise TypeError(f"alpha_bar must be a real number in (0, 1), got {alpha_bar!r}")
    a = float(alpha_bar)
    if not (0 < a < 1):
        raise ValueError(f"alpha_bar must lie in (0, 1), got {a}")
    return a


def _patterns(xi):
    """``(xi, xp, P, N)``: a checked floating (P, N) array and its namespace, or a stream
    (then ``xp`` is None: the states decide)."""
    if _is_stream(xi):
        return xi, None, _checks.positive_int("P", xi.P), _checks.positive_int("N", xi.N)
    if not hasattr(xi, "shape"):
        if not isinstance(xi, (list, tuple)):
            raise TypeError(f"xi must be a (P, N) array or a PatternStream, got {type(xi).__name__}")
        xi = np.asarray(xi)
    xp = get_namespace(xi)
    xi = asarray(xi, xp)
    if len(xi.shape) != 2 or xi.shape[0] < 1 or xi.shape[1] < 1:
        raise ValueError(f"xi must have shape (P, N) with P, N >= 1, got {tuple(xi.shape)}")
    if not xp.isdtype(xi.dtype, "real floating"):
        xi = xp.astype(xi, xp.float64)
    _checks.all_finite("xi", xi, xp)
    return xi, xp, xi.shape[0], xi.shape[1]


def _prepare(x, xi):
    """Checked states and patterns: ``(x2, single, xi, xp, P, N)``."""
    xi, xp, P, N = _patterns(xi)
    if xp is None:  # streamed patterns: the states decide the namespace
        xp = get_namespace(x)
    x, single = states("x", x, N, xp, device=None if _is_stream(xi) else device(xi))
    return x, single, xi, xp, P, N


# ---- the pass over the patterns ---------------------------------------------------


class _Biased(Chunks):
    """Patterns with one more column, :math:`-|\\xi^\\mu|^2/2`, made chunk by chunk.

    A :class:`~damlab.ensembles.Chunks` like a PatternStream, so the engine reads it
    like one (random access to its chunks: a pass may be split between threads).
    """

    def __init__(self, xi, P, N):
        self.P, self.N = P, N + 1
        self.dtype = xi.dtype
        if _is_stream(xi):
            self.chunk = xi.chunk
            self._rows = xi.rows
        else:
            itemsize = 4 if "float32" in str(xi.dtype) else 8
            self.chunk = P if P * (N + 1) * itemsize <= _CHUNK_BYTES else max(64, _CHUNK_BYTES // (itemsize * (N + 1)))
            self._rows = lambda start, stop: xi[start:stop, :]

    def rows(self, start, stop):
        c = self._rows(start, stop)
        xp = get_namespace(c)
        bias = xp.reshape(-0.5 * xp.sum(c * c, axis=1), (c.shape[0], 1))
        return xp.concat([c, bias], axis=1)


def _pass(x, xi, P, N, t, xp, average):
    """The engine's pass with scores (ξ·x − |ξ|²/2)/t: ``(lse, D)`` (D None unless ``average``)."""
    ones = xp.ones((x.shape[0], 1), dtype=x.dtype, device=device(x))
    res = engine.scan(xp.concat([x, ones], axis=1), _Biased(xi, P, N), 1.0 / t, average=average)
    return res.lse, (None if res.average is None else res.average[:, :N])


def _log_density(x, xi, P, N, t, xp):
    lse, _ = _pass(x, xi, P, N, t, xp, False)
    sq = xp.sum(x * x, axis=1)
    return lse - sq / (2 * t) - (math.log(P) + 0.5 * N * math.log(2 * math.pi * t))


def _denoiser(x, xi, P, N, t, xp):
    return _pass(x, xi, P, N, t, xp, True)[1]


def _score(x, xi, P, N, t, xp):
    return (_denoiser(x, xi, P, N, t, xp) - x) / t


def _out(a, single):
    return a[0] if single else a


# ---- variance exploding -----------------------------------------------------------


def log_density(x, xi, t):
    r"""Log-density of the VE process with the empirical data distribution.

    .. math::

       \ln p_t(x) = \ln \frac1P\sum_{\mu=1}^P \mathcal N(x;\,\xi^\mu,\,tI_N)
       = -\ln P - \frac N2\ln(2\pi t) - \frac{|x|^2}{2t}
         + \ln\sum_\mu e^{(\xi^\mu\cdot x - |\xi^\mu|^2/2)/t}.

    For :math:`|\xi^\mu|^2 = N`,
    :math:`-t\ln p_t(x) = E_\mathrm{MHN}(x;\,\lambda=1/t) + t\ln P + \frac{Nt}2\ln(2\pi t) + \frac N2`
    with the modern Hopfield energy including its :math:`|x|^2/2` (module docstring).

    Parameters
    ----------
    x : array, shape (B, N) or (N,)
        States.
    xi : array of shape (P, N), or a PatternStream
        Patterns (the data points), one per row, of any norms.
    t : float
        Noise variance t > 0.

    Returns
    -------
    array, shape (B,) (a scalar for one state)
    """
    t = _time("t", t)
    x, single, xi, xp, P, N = _prepare(x, xi)
    return _out(_log_density(x, xi, P, N, t, xp), single)


def denoiser(x, xi, t):
    r"""Tweedie's denoiser of the VE process: the posterior mean of the clean pattern.

    .. math::

       D_t(x) = \mathbb E[\xi \mid \xi + \sqrt t\,\varepsilon = x]
       = \sum_\mu \xi^\mu\,\mathrm{softmax}_\mu\!\Big(\frac{\xi^\mu\cdot x - |\xi^\mu|^2/2}{t}\Big)
       = x + t\,\nabla\ln p_t(x).

    For patterns of equal norm the bias :math:`-|\xi^\mu|^2/2t` cancels and this is one
    modern Hopfield step at λ = 1/t, ``ModernHopfield(xi, lam=1/t).step(x)``.

    Parameters
    ----------
    x : array, shape (B, N) or (N,)
        Noisy states.
    xi : array of shape (P, N), or a PatternStream
        Patterns, of any norms.
    t : float
        Noise variance t > 0.

    Returns
    -------
    array, the shape of ``x``
    """
    t = _time("t", t)
    x, single, xi, xp, P, N = _prepare(x, xi)
    return _out(_denoiser(x, xi, P, N, t, xp), single)


def score(x, xi, t):
    r"""The empirical score of the VE process, :math:`\nabla\ln p_t(x) = (D_t(x) - x)/t`.

    .. math::

       \nabla\ln p_t(x) = \frac1t\sum_\mu (\xi^\mu - x)\,
       \mathrm{softmax}_\mu\!\Big(\frac{\xi^\mu\cdot x - |\xi^\mu|^2/2}{t}\Big).

    Parameters as in :func:`denoiser`; the result has the shape of ``x``.
    """
    t = _time("t", t)
    x, single, xi, xp, P, N = _prepare(x, xi)
    return _out(_score(x, xi, P, N, t, xp), single)


# ---- variance preserving ----------------------------------------------------------


def ve_time(alpha_bar):
    r"""The VE time of a VP noise level: :math:`t = (1-\bar\alpha)/\bar\alpha`.

    .. math::

       x = \sqrt{\bar\alpha}\,\xi + \sqrt{1-\bar\alpha}\,\varepsilon
       \iff \frac{x}{\sqrt{\bar\alpha}} = \xi + \sqrt t\,\varepsilon .

    ``alpha_bar`` is a number or an array of numbers in (0, 1); the result has its shape.
    """
    a = np.asarray(alpha_bar)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"alpha_bar must be a real number in (0, 1) or an array of them, got {alpha_bar!r}")
    a = a.astype(np.float64)
    bad = ~((a > 0) & (a < 1))
    if bad.any():
        raise ValueError(f"alpha_bar must lie in (0, 1), got {a[bad].flat[0]}")
    t = (1 - a) / a
    return float(t) if t.ndim == 0 else t


def _vp(x, xi, alpha_bar):
    a = _alpha_bar(alpha_bar)
    x, single, xi, xp, P, N = _prepare(x, xi)
    return x, x / math.sqrt(a), a, (1 - a) / a, single, xi, xp, P, N


def vp_log_density(x, xi, alpha_bar):
    r"""Log-density of the VP process with the empirical data distribution.

    .. math::

       \ln p^\mathrm{VP}_{\bar\alpha}(x)
       = \ln\frac1P\sum_\mu \mathcal N\big(x;\,\sqrt{\bar\alpha}\,\xi^\mu,\,(1-\bar\alpha)I_N\big)
       = \ln p_t\big(x/\sqrt{\bar\alpha}\big) - \frac N2\ln\bar\alpha,
       \qquad t = \frac{1-\bar\alpha}{\bar\alpha}.

    Parameters
    ----------
    x : array, shape (B, N) or (N,)
    xi : array of shape (P, N), or a PatternStream
    alpha_bar : float
        Signal level :math:`\bar\alpha \in (0, 1)`.
    """
    _, y, a, t, single, xi, xp, P, N = _vp(x, xi, alpha_bar)
    return _out(_log_density(y, xi, P, N, t, xp) - 0.5 * N * math.log(a), single)


def vp_denoiser(x, xi, alpha_bar):
    r"""Tweedie's denoiser of the VP process, through the VE one.

    .. math::

       \mathbb E\big[\xi \mid \sqrt{\bar\alpha}\,\xi + \sqrt{1-\bar\alpha}\,\varepsilon = x\big]
       = D_t\big(x/\sqrt{\bar\alpha}\big)
       = \sum_\mu \xi^\mu\,\mathrm{softmax}_\mu\!\Big(-\frac{|x - \sqrt{\bar\alpha}\,\xi^\mu|^2}{2(1-\bar\alpha)}\Big),
       \qquad t = \frac{1-\bar\alpha}{\bar\alpha}.

    Parameters as in :func:`vp_log_density`; the result has the shape of ``x``.
    """
    _, y, a, t, single, xi, xp, P, N = _vp(x, xi, alpha_bar)
    return _out(_denoiser(y, xi, P, N, t, xp), single)


def vp_score(x, xi, alpha_bar):
    r"""The empirical score of the VP process, through the VE one.

    .. math::

       \nabla\ln p^\mathrm{VP}_{\bar\alpha}(x)
       = \frac1{\sqrt{\bar\alpha}}\,\nabla\ln p_t\big(x/\sqrt{\bar\alpha}\big)
       = \frac{\sqrt{\bar\alpha}\,D_t(x/\sqrt{\bar\alpha}) - x}{1-\bar\alpha}.

    Parameters as in :func:`vp_log_density`; the result has the shape of ``x``.
    """
    x, y, a, t, single, xi, xp, P, N = _vp(x, xi, alpha_bar)
    return _out((math.sqrt(a) * _denoiser(y, xi, P, N, t, xp) - x) / (1 - a), single)


# ---- sampling -----------------------------------------------------------------------


def forward_sample(xi, t, B, seed=None):
    r"""Exact draws from :math:`p_t`: :math:`x = \xi^\mu + \sqrt t\,\varepsilon`, μ uniform.

    Parameters
    ----------
    xi : array of shape (P, N), or a PatternStream
    t : float
        Noise variance t > 0.
    B : int
        Number of states.
    seed : int, SeedSequence or Generator, optional
        The pattern indices, then the noise, are drawn on the host with NumPy.

    Returns
    -------
    NoisySample
        ``(x, mu)``: the (B, N) states (in the patterns' namespace and dtype; float64
        for a stream) and the (B,) indices μ.
    """
    t = _time("t", t)
    B = _checks.positive_int("B", B)
    xi, xp, P, N = _patterns(xi)
    rng = default_rng(seed)
    mu = rng.integers(0, P, size=B)
    eps = rng.standard_normal((B, N))
    if xp is None:  # a stream: gather the chosen rows
        rows = {m: np.asarray(xi.rows(int(m), int(m) + 1), dtype=np.float64)[0] for m in np.unique(mu)}
        clean = np.stack([rows[m] for m in mu])
        return NoisySample(clean + math.sqrt(t) * eps, mu)
    dev = device(xi)
    clean = xp.take(xi, asarray(mu, xp, device=dev), axis=0)
    return NoisySample(clean + math.sqrt(t) * asarray(eps, xp, dtype=xi.dtype, device=dev), mu)


def time_grid(t_max, t_min, steps, spacing="geometric"):
    r"""Decreasing times :math:`t_0 = t_\max > t_1 > \dots > t_K = t_\min` for the samplers.

    ``"geometric"`` spacing, :math:`t_k = t_\max (t_\min/t_\max)^{k/K}`, takes steps
    :math:`t_k - t_{k+1}` proportional to t, which keeps :math:`(t_k - t_{k+1})/t_k`
    fixed: the explicit schemes stay stable as t → 0, where the score grows like 1/t.
    ``"linear"`` spacing is even in t.

    Parameters
    ----------
    t_max, t_min : float
        Start and end, :math:`t_\max > t_\min > 0`.
    steps : int
        Number of steps K (the grid has K + 1 times).
    spacing : {"geometric", "linear"}

    Returns
    -------
    NumPy array of shape (K + 1,)
    """
    t_max, t_min = _time("t_max", t_max), _time("t_min", t_min)
    if not t_min < t_max:
        raise ValueError(f"t_min must be < t_max, got t_min={t_min}, t_max={t_max}")
    K = _checks.positive_int("steps", steps)
    if spacing == "geometric":
        times = t_max * (t_min / t_max) ** (np.arange(K + 1) / K)
    elif spacing == "linear":
        times = np.linspace(t_max, t_min, K + 1)
    else:
        raise ValueError(f"spacing must be 'geometric' or 'linear', got {spacing!r}")
    times[0], times[-1] = t_max, t_min
    return times


def _times(times):
    try:
        a = np.asarray(times, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"times must be a 1-d sequence of real numbers, got {times!r}") from err
    if a.ndim != 1 or a.shape[0] < 2:
        raise ValueError(f"times must be a 1-d sequence of at least 2 times, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError("times must be finite and > 0")
    if np.any(np.diff(a) >= 0):
        raise ValueError("times must be strictly decreasing (from t_max to t_min)")
    return a


def _save(save, K):
    """Sorted unique grid indices to keep (all of the K + 1 if ``save`` is None)."""
    if save is None:
        return np.arange(K + 1)
    s = np.asarray(save)
    if s.ndim == 0:
        s = s.reshape(1)
    if s.ndim != 1 or s.shape[0] < 1 or s.dtype.kind not in "iu":
        raise TypeError(f"save must be None or a sequence of integer indices into times, got {save!r}")
    if np.any(s < -(K + 1)) or np.any(s > K):
        raise ValueError(f"save must hold indices into times, in [-{K + 1}, {K}], got {s.min()}..{s.max()}")
    return np.unique(s % (K + 1))


def _sampler(x, xi, times, save, move):
    times = _times(times)
    keep = _save(save, times.shape[0] - 1)
    x, single, xi, xp, P, N = _prepare(x, xi)
    kept = [x] if keep[0] == 0 else []
    for k in range(times.shape[0] - 1):
        x = move(x, xi, P, N, float(times[k]), float(times[k + 1]), xp)
        if k + 1 in keep:
            kept.append(x)
    X = xp.stack(kept, axis=0)
    return Trajectory(times[keep], X[:, 0, :] if single else X)


def probability_flow(x, xi, times, *, method="heun", save=None):
    r"""Integrate the probability-flow ODE of the VE process backwards in time.

    .. math::

       \frac{dx}{dt} = -\frac12\,\nabla\ln p_t(x) = \frac{x - D_t(x)}{2t},

    from :math:`t_0 = t_\max` down to :math:`t_K = t_\min` on the grid ``times``. Its
    solutions carry :math:`p_{t_\max}` to :math:`p_{t_\min}` deterministically (the
    forward process :math:`dx = dW` has variance t at time t). With the empirical score
    the end points lie next to stored patterns as :math:`t_\min \to 0`.

    Steps, with :math:`h_k = t_k - t_{k+1} > 0` and :math:`f(x, t) = \tfrac12\nabla\ln p_t(x)`:

    - ``"euler"``: :math:`x_{k+1} = x_k + h_k f(x_k, t_k)` (first order, one pass per step);
    - ``"heun"``: :math:`\tilde x = x_k + h_k f(x_k, t_k)`,
      :math:`x_{k+1} = x_k + \tfrac{h_k}2[f(x_k, t_k) + f(\tilde x, t_{k+1})]`
      (second order, two passes per step; as in Karras et al. 2022, without their
      last Euler step, since :math:`t_\min > 0`).

    Parameters
    ----------
    x : array, shape (B, N) or (N,)
        States at :math:`t_\max` (e.g. ``forward_sample(xi, t_max, B)`` or
        :math:`\sqrt{t_\max}` times Gaussian noise).
    xi : array of shape (P, N), or a PatternStream
        Patterns, of any norms.
    times : sequence of floats
        Strictly decreasing positive times, from :math:`t_\max` to :math:`t_\min`
        (see :func:`time_grid`).
    method : {"heun", "euler"}
    save : sequence of ints, optional
        Indices into ``times`` at which to keep the states (default: all; ``[-1]``:
        only the end).

    Returns
    -------
    Trajectory
        ``(t, x)``: the saved times and the states there, shape (S, B, N) (or (S, N)).
    """
    if method not in ("heun", "euler"):
        raise ValueError(f"method must be 'heun' or 'euler', got {method!r}")

    def move(x, xi, P, N, t, t_next, xp):
        h = t - t_next
        f = 0.5 * _score(x, xi, P, N, t, xp)
        if method == "euler":
            return x + h * f
        f_next = 0.5 * _score(x + h * f, xi, P, N, t_next, xp)
        return x + (0.5 * h) * (f + f_next)

    return _sampler(x, xi, times, save, move)


def reverse_sde(x, xi, times, *, seed=None, save=None):
    r"""Sample the reverse-time SDE of the VE process (Euler–Maruyama).

    .. math::

       dx = -\nabla\ln p_t(x)\,dt + d\bar W_t \qquad (t \text{ decreasing}),

    the time reversal (Anderson 1982) of the forward process :math:`dx = dW`, run from
    :math:`t_\max` to :math:`t_\min` on the grid ``times``. One step, with
    :math:`h_k = t_k - t_{k+1} > 0` and :math:`z_k \sim \mathcal N(0, I_N)`:

    .. math::

       x_{k+1} = x_k + h_k\,\nabla\ln p_{t_k}(x_k) + \sqrt{h_k}\, z_k .

    Every step adds noise, the last one too: the end points are draws near
    :math:`p_{t_\min}` (apply :func:`denoiser` at :math:`t_\min` for the posterior
    mean). The step is stable for :math:`h_k < 2t_k`; a geometric grid
    (:func:`time_grid`) keeps :math:`h_k/t_k` fixed below 1.

    Parameters
    ----------
    x : array, shape (B, N) or (N,)
        States at :math:`t_\max`.
    xi : array of shape (P, N), or a PatternStream
        Patterns, of any norms.
    times : sequence of floats
        Strictly decreasing positive times, from :math:`t_\max` to :math:`t_\min`.
    seed : int, SeedSequence or Generator, optional
        The noise is drawn on the host with NumPy, (B, N) numbers per step, so the
        same seed gives the same path on every backend (up to dtype rounding).
    save : sequence of ints, optional
        Indices into ``times`` at which to keep the states (default: all).

    Returns
    -------
    Trajectory
        ``(t, x)``: the saved times and the states there, shape (S, B, N) (or (S, N)).
    """
    rng = default_rng(seed)

    def move(x, xi, P, N, t, t_next, xp):
        h = t - t_next
        z = rng.standard_normal(tuple(x.shape))
        z = asarray(z, xp, dtype=x.dtype, device=device(x)) if not is_numpy(xp) else z.astype(x.dtype, copy=False)
        return x + h * _score(x, xi, P, N, t, xp) + math.sqrt(h) * z

    return _sampler(x, xi, times, save, move)
