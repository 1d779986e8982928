r"""Pattern ensembles: the random patterns ξ^μ that a memory stores.

An ensemble is one object that both sides of the book use. It *samples* patterns,
reproducibly and chunk by chunk so that P = e^{αN} patterns need never be held in
memory, and it *describes* their overlap statistics (ψ, I, the law of the norms),
which the theory modules ask for, so that every threshold is computed and measured
for the very same ensemble.

Overlap statistics (THEORY.md §2). For a state x independent of a pattern ξ (with
|x|² = N; x = ±1 for binary patterns) the overlap u = ξ·x/N has the scaled cumulant
generating function and rate function

.. math::

   \psi(\lambda) = \lim_{N\to\infty} \frac1N \ln \mathbb E\, e^{\lambda N u},
   \qquad I(u) = \sup_\lambda\, [\lambda u - \psi(\lambda)],

so that among e^{αN} patterns about e^{N(α - I(u))} have overlap u, and the largest is
u_max(α) = I⁻¹(α). Each ensemble gives ψ, ψ′, (ψ′)⁻¹, I, I⁻¹ in closed form where one
exists; the base class has the numerical Legendre route (``rate_numeric``,
``rate_inverse_numeric``) that the tests compare them with.

Reproducibility. Patterns are generated in blocks of :data:`BLOCK` rows. Block k is
drawn from its own generator, seeded by ``SeedSequence(seed).spawn``-style keys
``(k,)``, so pattern μ depends only on (seed, μ): the same seed gives the same
patterns whatever the chunk size, whichever chunk is asked for first, and on every
backend (numbers are drawn on the host in float64, then cast and moved).
"""

from __future__ import annotations

import functools
import math
import threading

import numpy as np
from scipy import integrate, optimize, stats
from scipy.special import gammaln

from . import _checks
from . import _teacher_student as _ts
from .backend import asarray, get_namespace

__all__ = ["BLOCK", "Ensemble", "Gaussian", "Spherical", "Binary", "HiddenManifold", "Chunks", "PatternStream", "get",
           "log_mgf"]

BLOCK = 4096
"""Rows per independently seeded block: the unit of reproducibility."""


def _seed_entropy(seed) -> np.random.SeedSequence:
    """The root ``SeedSequence`` of a stream; a ``Generator`` is consumed once."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int, a SeedSequence or a Generator, got {type(seed).__name__}")
    return np.random.SeedSequence(None if seed is None else int(seed))


def _block_rng(root: np.random.SeedSequence, k: int) -> np.random.Generator:
    child = np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (k,))
    return np.random.Generator(np.random.PCG64(child))


class Ensemble:
    """Base class of pattern ensembles.

    A subclass implements :meth:`_draw`, which returns ``n`` patterns of dimension
    ``N`` as a float64 NumPy array from a given generator. Everything else (dense
    samples, streams, dtype and backend) is shared.
    """

    name = "ensemble"

    def _draw(self, rng: np.random.Generator, n: int, N: int) -> np.ndarray:
        raise NotImplementedError

    def sample(self, P, N, seed=None, dtype="float64"):
        """Draw P patterns of dimension N as a dense ``(P, N)`` array.

        Parameters
        ----------
        P, N : int
            Number of patterns and their dimension (both >= 1).
        seed : int, SeedSequence or Generator, optional
            Same seed, same patterns (and the same as :meth:`stream` gives).
        dtype : {"float64", "float32"}
            Floating type of the result.

        Returns
        -------
        xi : array of shape (P, N) on the current backend
        """
        P, N = _checks.positive_int("P", P), _checks.positive_int("N", N)
        dtype = _checks.floating_dtype("dtype", dtype)
        _checks.dense_fits(
            "patterns", (P, N), np.dtype(dtype).itemsize,
            f"stream them instead: {type(self).__name__}(...).stream(P, N, seed=...)",
        )
        return self.stream(P, N, seed=seed, chunk=P, dtype=dtype)[0]

    def stream(self, P, N, seed=None, chunk=None, dtype="float32"):
        """The same P patterns as :meth:`sample`, generated chunk by chunk.

        Parameters
        ----------
        P, N : int
            Number of patterns (any size: they are never all in memory) and dimension.
        seed : int, SeedSequence or Generator, optional
        chunk : int, optional
            Rows per chunk; default :data:`BLOCK`. The patterns do not depend on it.
        dtype : {"float32", "float64"}

        Returns
        -------
        PatternStream
        """
        return PatternStream(self, P, N, seed=seed, chunk=chunk, dtype=dtype)

    def __repr__(self):
        return f"{type(self).__name__}()"

    def score_law(self, x):
        r"""The law of the score :math:`\xi\cdot x` of a pattern independent of the state x,
        as a frozen :mod:`scipy.stats` distribution, where the ensemble knows it in closed
        form (None otherwise).

        It lets the one-step tests of retrieval draw the scores of e^{αN} patterns without
        the patterns (:meth:`sample_scores`), and the largest of them by inverse survival
        (``route="tail"`` of :func:`damlab.experiments.retrieval_fraction`).

        Parameters
        ----------
        x : ndarray, shape (N,)
            The state (on the host).
        """
        return None

    def sample_scores(self, x, n, seed=None):
        r"""n draws of the score :math:`\xi\cdot x` of patterns independent of the state x.

        The one-step tests of retrieval need only these, not the patterns. Where the
        ensemble knows the law (:meth:`score_law`) they are drawn from it, exactly and
        about N times faster (e.g. spherical: :math:`(\hat\xi\cdot\hat x + 1)/2 \sim
        \mathrm{Beta}(\frac{N-1}2, \frac{N-1}2)`); otherwise the patterns are drawn (in
        blocks of :data:`BLOCK`) and the products taken (:meth:`scores_of_patterns`).

        Parameters
        ----------
        x : ndarray, shape (N,)
            The state (on the host).
        n : int
            Number of scores.
        seed : int, SeedSequence or Generator, optional

        Returns
        -------
        ndarray, shape (n,), float64
        """
        law = self.score_law(np.asarray(x, dtype=np.float64))
        if law is None:
            return self.scores_of_patterns(x, n, seed)
        return law.rvs(size=_checks.positive_int("n", n), random_state=np.random.default_rng(seed))

    def scores_of_patterns(self, x, n, seed=None):
        """n scores ξ·x of freshly drawn patterns: the route that needs no law (same arguments
        as :meth:`sample_scores`)."""
        x = np.asarray(x, dtype=np.float64)
        rng = np.random.default_rng(seed)
        out = np.empty(_checks.positive_int("n", n))
        for start in range(0, out.size, BLOCK):
            stop = min(start + BLOCK, out.size)
            out[start:stop] = self._draw(rng, stop - start, x.size) @ x
        return out

    # ----------------------------------------------------------- overlap statistics
    u_sup = math.inf
    """Supremum of the overlap's support (1 where |ξ|, |x| are both √N)."""
    q_self = 1.0
    """The signal q = lim |ξ¹|²/N, the pattern's overlap with itself: 1 here (the
    hidden manifold's E σ(h)² differs)."""

    def psi(self, lam):
        r"""ψ(λ) = lim (1/N) ln E exp(λNu): the overlaps' scaled cumulant generating function."""
        raise NotImplementedError(f"{self!r} does not give its overlap statistics")

    def psi_prime(self, lam):
        """ψ′(λ): the typical overlap of the patterns that dominate at tilt λ."""
        raise NotImplementedError(f"{self!r} does not give its overlap statistics")

    def psi_prime_inverse(self, u):
        """The λ at which ψ′(λ) = u (the conjugate variable of the Legendre transform)."""
        u = _checks.real_array("u", u, low=-math.inf)
        return _vectorised(lambda x: _solve_increasing(lambda lam: float(self.psi_prime(lam)) - x), u)

    def rate(self, u):
        r"""The rate function :math:`I(u) = \sup_\lambda [\lambda u - \psi(\lambda)]`
        (+inf outside the support)."""
        return self.rate_numeric(u)

    def rate_inverse(self, alpha):
        """u_max(α): the overlap u >= ψ′(0) with I(u) = α, the largest of e^{αN} overlaps
        (``u_sup`` once α >= I(u_sup))."""
        return self.rate_inverse_numeric(alpha)

    def norm_rate(self, s):
        """Rate function of s = |ξ|²/N: 0 at s = 1 and +inf elsewhere (fixed norm)."""
        s = _checks.real_array("s", s, low=-math.inf)
        return np.where(s == 1, 0.0, math.inf)[()]

    def rate_numeric(self, u):
        """I(u) by the numerical Legendre transform of :meth:`psi` (scipy), for checking
        the closed forms."""
        u = _checks.real_array("u", u, low=-math.inf)

        def one(x):
            if abs(x) >= self.u_sup:
                return math.inf if abs(x) > self.u_sup else float(self.rate(x))
            lam = float(self.psi_prime_inverse(x))
            return lam * x - float(self.psi(lam))
        return _vectorised(one, u)

    def rate_inverse_numeric(self, alpha):
        """u_max(α) by root finding on :meth:`rate`."""
        a = _checks.real_array("alpha", alpha)
        u0 = float(self.psi_prime(0.0))
        top = float(self.rate(self.u_sup)) if math.isfinite(self.u_sup) else math.inf

        def one(x):
            if x >= top:
                return self.u_sup
            if x == 0:
                return u0
            hi = min(u0 + 1.0, self.u_sup)
            while float(self.rate(hi)) < x and hi < self.u_sup:  # unbounded support: grow
                hi = min(u0 + 2 * (hi - u0), self.u_sup)
            return optimize.brentq(lambda v: float(self.rate(v)) - x, u0, hi, xtol=1e-15)
        return _vectorised(one, a)


def _vectorised(f, a):
    """Apply the scalar function f to every element of the float array a."""
    out = np.empty_like(a)
    for k, x in np.ndenumerate(a):
        out[k] = f(float(x))
    return out[()]


def _solve_increasing(g):
    """The root of an increasing function g on the real line (bracket grown from [-1, 1])."""
    lo, hi = -1.0, 1.0
    while g(lo) > 0:
        lo *= 2
    while g(hi) < 0:
        hi *= 2
    return optimize.brentq(g, lo, hi, xtol=1e-14)


class Gaussian(Ensemble):
    r"""Standard Gaussian patterns.

    .. math:: \xi^\mu_i \sim \mathcal N(0, 1) \ \text{i.i.d.}, \qquad |\xi^\mu|^2/N \to 1.

    The norm fluctuates: :math:`|\xi|^2 \sim \chi^2_N`, which matters for the
    all-pattern capacity (see the chapter on the Gaussian and spherical phase diagrams).
    """

    name = "gaussian"

    def _draw(self, rng, n, N):
        return rng.standard_normal((n, N))

    def score_law(self, x):
        # ξ·x ~ N(0, |x|²) exactly
        return _law("norm", scale=float(np.linalg.norm(x)))

    # u = ξ·x/N is N(0, 1/N) for any x with |x|² = N
    def psi(self, lam):
        return (_checks.real_array("lam", lam, low=-math.inf) ** 2 / 2)[()]

    def psi_prime(self, lam):
        return _checks.real_array("lam", lam, low=-math.inf)[()]

    def psi_prime_inverse(self, u):
        return _checks.real_array("u", u, low=-math.inf)[()]

    def rate(self, u):
        return (_checks.real_array("u", u, low=-math.inf) ** 2 / 2)[()]

    def rate_inverse(self, alpha):
        return np.sqrt(2 * _checks.real_array("alpha", alpha))[()]

    def norm_rate(self, s):
        """Rate function of s = |ξ|²/N ~ χ²_N/N: (s - 1 - ln s)/2 for s > 0."""
        s = _checks.real_array("s", s, low=-math.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s > 0, (s - 1 - np.log(np.where(s > 0, s, 1.0))) / 2, math.inf)[()]


class Spherical(Ensemble):
    r"""Patterns uniform on the sphere of radius :math:`\sqrt N`.

    .. math:: \xi^\mu = \sqrt N\, g^\mu / |g^\mu|, \qquad g^\mu \sim \mathcal N(0, I_N),
       \qquad |\xi^\mu|^2 = N \ \text{exactly}.
    """

    name = "spherical"
    u_sup = 1.0

    def _draw(self, rng, n, N):
        g = rng.standard_normal((n, N))
        g *= math.sqrt(N) / np.linalg.norm(g, axis=1, keepdims=True)
        return g

    def score_law(self, x):
        # ξ·x = c cos θ with c = √N |x| and (cos θ + 1)/2 ~ Beta((N-1)/2, (N-1)/2) exactly
        a, c = (x.size - 1) / 2, math.sqrt(x.size) * float(np.linalg.norm(x))
        return _law("beta", a, a, loc=-c, scale=2 * c)

    # The overlap's density is ∝ (1 - u²)^{(N-3)/2} on [-1, 1] (exactly: (u + 1)/2 is
    # Beta((N-1)/2, (N-1)/2)), whence I(u) = -ln(1 - u²)/2 and I′(u) = u/(1 - u²).
    def psi(self, lam):
        lam = _checks.real_array("lam", lam, low=-math.inf)
        u = self.psi_prime(lam)
        return (lam * u + np.log1p(-u * u) / 2)[()]

    def psi_prime(self, lam):
        lam = _checks.real_array("lam", lam, low=-math.inf)
        # the root of λu² + u - λ = 0 in (-1, 1), written without cancellation at small λ
        return (2 * lam / (1 + np.sqrt(1 + 4 * lam * lam)))[()]

    def psi_prime_inverse(self, u):
        u = _checks.real_array("u", u, low=-math.inf)
        _inside("u", u, 1.0)
        return (u / (1 - u * u))[()]

    def rate(self, u):
        u = _checks.real_array("u", u, low=-math.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.abs(u) < 1, -np.log1p(-np.minimum(u * u, 1.0)) / 2, math.inf)[()]

    def rate_inverse(self, alpha):
        return np.sqrt(-np.expm1(-2 * _checks.real_array("alpha", alpha)))[()]


class Binary(Ensemble):
    r"""Binary patterns with independent unbiased entries.

    .. math:: \xi^\mu_i = \pm 1 \ \text{with probability } 1/2 \text{ each}.
    """

    name = "binary"
    u_sup = 1.0

    def sample_scores(self, x, n, seed=None):
        # for a ±1 state, ξ·x = Σ_i ξ_i x_i is a sum of N fair ±1 coins: 2 Binomial(N, 1/2) - N
        x = np.asarray(x, dtype=np.float64)
        if not np.all(np.abs(x) == 1):
            return self.scores_of_patterns(x, n, seed)
        return 2.0 * np.random.default_rng(seed).binomial(x.size, 0.5, _checks.positive_int("n", n)) - x.size

    def sample_score_counts(self, x, n, seed=None):
        """The scores of n patterns with a ±1 state x as a histogram, exactly in law:
        the values 2k - N (k = 0..N) and how many patterns have each, a Multinomial(n,
        Binomial(N, 1/2)) draw. O(N) work whatever n (e.g. n = e^{αN})."""
        N = np.asarray(x).size
        k = np.arange(N + 1)
        pmf = np.exp(gammaln(N + 1) - gammaln(k + 1) - gammaln(N - k + 1) - N * math.log(2))
        # NumPy draws the categories in turn, each given the probability left, 1 - (sum so
        # far); in the order of increasing probability that difference keeps the relative
        # precision of the tails (in the natural order it loses tails below ~1e-16, which
        # matter once n ~ 1e16)
        order = np.argsort(pmf, kind="stable")
        counts = np.empty(N + 1, dtype=np.int64)
        counts[order] = np.random.default_rng(seed).multinomial(_checks.positive_int("n", n), pmf[order] / pmf.sum())
        return 2.0 * k - N, counts

    # For x = ±1, u = (1/N) Σ_i ξ_i x_i is a mean of N fair ±1 coins: ψ = ln cosh λ, and I is
    # the binary relative entropy, I(1) = ln 2 (one pattern in 2^N is x itself).
    def psi(self, lam):
        lam = np.abs(_checks.real_array("lam", lam, low=-math.inf))
        return (lam + np.log1p(np.exp(-2 * lam)) - math.log(2))[()]  # ln cosh, without overflow

    def psi_prime(self, lam):
        return np.tanh(_checks.real_array("lam", lam, low=-math.inf))[()]

    def psi_prime_inverse(self, u):
        u = _checks.real_array("u", u, low=-math.inf)
        _inside("u", u, 1.0)
        return np.arctanh(u)[()]

    def rate(self, u):
        u = _checks.real_array("u", u, low=-math.inf)
        v = np.clip(np.abs(u), 0.0, 1.0)
        # (1 ± v) ln(1 ± v)/2 with 0 ln 0 = 0
        I = (_xlogx(1 + v) + _xlogx(1 - v)) / 2
        return np.where(np.abs(u) <= 1, I, math.inf)[()]

    def _draw(self, rng, n, N):
        # One random bit per entry: eight entries per random byte.
        bits = np.unpackbits(rng.integers(0, 256, size=(n * N + 7) // 8, dtype=np.uint8))
        return (2.0 * bits[: n * N] - 1.0).reshape(n, N)


_ACTIVATIONS = {
    "linear": lambda h: h,
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
    "sign": lambda h: np.where(h >= 0, 1.0, -1.0),
}


class HiddenManifold(Ensemble):
    r"""Hidden-manifold patterns: a nonlinear image of a D-dimensional latent space.

    .. math:: \xi^\mu = \sigma\!\left(F z^\mu / \sqrt D\right), \qquad
       z^\mu \sim \mathcal N(0, I_D), \qquad F \in \mathbb R^{N\times D},\ F_{ik} \sim \mathcal N(0,1),

    with :math:`D = \mathrm{round}(dN) \ge 1`. One feature matrix F per ensemble
    instance and dimension N, fixed by ``seed``; the patterns' seed draws the z^μ.

    Overlap statistics at the retrieval point x = ξ¹ (THEORY.md §4), quenched over F and ξ¹:
    linear σ, u is Gaussian with N·Var → v = 1 + 1/d, ψ = vλ²/2; relu, tanh and sign,
    ψ(λ) is the replica-symmetric teacher–student free entropy

    .. math:: \psi(\lambda) = \lim_{N\to\infty}\frac1N \ln \int\mathcal Dz\,
       \prod_i e^{\lambda\,\sigma(F_i\cdot z^1/\sqrt D)\,\sigma(F_i\cdot z/\sqrt D)}

    (:mod:`damlab._teacher_student`; its saddle point is solved numerically). The signal is
    ``q_self`` = E σ(h)², not 1: relu 1/2, tanh ≈ 0.394. ψ′(0) = (E σ(h))²: 1/(2π) for relu.

    Parameters
    ----------
    d : float
        Latent dimension per neuron, d = D/N > 0.
    activation : {"linear", "relu", "tanh", "sign"}
        The nonlinearity σ.
    seed : int
        Seed of the feature matrix F.
    """

    name = "hidden_manifold"

    def __init__(self, d, activation="linear", seed=0):
        self.d = _checks.positive_float("d", d)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int, got {seed!r}")
        self.activation = activation
        self.seed = int(seed)
        self._F = {}

    def D(self, N) -> int:
        """Latent dimension D = round(dN), at least 1."""
        return max(1, round(self.d * N))

    def F(self, N) -> np.ndarray:
        """The fixed (N, D) Gaussian feature matrix of this ensemble at dimension N."""
        if N not in self._F:
            rng = np.random.default_rng([self.seed, N])
            self._F[N] = rng.standard_normal((N, self.D(N)))
        return self._F[N]

    def _draw(self, rng, n, N):
        F = self.F(N)
        z = rng.standard_normal((n, F.shape[1]))
        return _ACTIVATIONS[self.activation](z @ F.T / math.sqrt(F.shape[1]))

    def __repr__(self):
        return f"HiddenManifold(d={self.d!r}, activation={self.activation!r}, seed={self.seed})"

    def score_law(self, x):
        if self.activation != "linear":
            return None
        # linear σ: ξ·x = z·(Fᵀx)/√D with z ~ N(0, I_D), exactly N(0, |Fᵀx|²/D)
        F = self.F(x.size)
        return _law("norm", scale=float(np.linalg.norm(F.T @ x)) / math.sqrt(F.shape[1]))

    # Overlap statistics at the retrieval point x = ξ¹ (THEORY.md §4). Linear σ: given F
    # and ξ¹ the overlap of another pattern, z·(Fᵀξ¹)/(N√D), is exactly Gaussian, with
    # N·Var -> v = 1 + 1/d (Marchenko–Pastur second moment). Nonlinear σ: ψ is the
    # replica-symmetric teacher–student free entropy of damlab._teacher_student.
    @property
    def v(self) -> float:
        """N·Var of the overlap u = ξ·ξ¹/N (linear σ): 1 + 1/d."""
        if self.activation != "linear":
            raise NotImplementedError(f"v = 1 + 1/d is the Gaussian overlap variance of activation='linear'; "
                                      f"the overlaps of {self!r} are not Gaussian: use psi")
        return 1 + 1 / self.d

    @property
    def q_self(self) -> float:
        """The signal q = lim |ξ¹|²/N = E σ(h)², h ~ N(0, 1): linear 1, relu 1/2, tanh ≈ 0.394, sign 1."""
        return _ts.q_self(self.activation)

    @property
    def u_sup(self) -> float:
        """Supremum of the overlap: 1 for sign, E|tanh h| ≈ 0.558 for tanh, inf otherwise."""
        return _ts.u_sup(self.activation)

    def _rs(self, lam):
        """ψ and ψ′ of the nonlinear σ on the array lam (the RS saddle point)."""
        return _ts.psi(self.activation, self.d, lam)

    def psi(self, lam):
        lam = _checks.real_array("lam", lam, low=-math.inf)
        if self.activation != "linear":
            return self._rs(lam)[0][()]
        return (self.v * lam ** 2 / 2)[()]

    def psi_prime(self, lam):
        lam = _checks.real_array("lam", lam, low=-math.inf)
        if self.activation != "linear":
            return self._rs(lam)[1][()]
        return (self.v * lam)[()]

    def psi_prime_inverse(self, u):
        u = _checks.real_array("u", u, low=-math.inf)
        if self.activation != "linear":
            _inside("u", u, self.u_sup)
            if self.activation == "relu" and np.any(u <= 0):
                raise ValueError(f"u must be > 0 for activation='relu' (relu overlaps are >= 0), "
                                 f"got {u[u <= 0].ravel()[0]}")
            return _vectorised(self._lambda_at, u)
        return (u / self.v)[()]

    def _lambda_at(self, u):
        """The λ with ψ′(λ) = u (Brent, from a bracket grown around 0)."""
        g = lambda lam: float(self._rs(lam)[1]) - u  # noqa: E731
        lo, hi = (-1.0, 0.0) if g(0.0) > 0 else (0.0, 1.0)
        while g(lo) > 0:
            lo *= 2
        while g(hi) < 0:
            hi *= 2
        return optimize.brentq(g, lo, hi, xtol=1e-13)

    def rate(self, u):
        u = _checks.real_array("u", u, low=-math.inf)
        if self.activation != "linear":
            return _vectorised(self._rate_one, u)
        return (u ** 2 / (2 * self.v))[()]

    def _rate_one(self, u):
        if abs(u) > self.u_sup or (u < 0 and self.activation == "relu"):  # relu overlaps are >= 0
            return math.inf
        if abs(u) == self.u_sup:  # sign: I(±1) = -lim_{λ→∞} (ψ - λ), the perceptron's volume; tanh: inf
            return -_ts.saddle("sign", self.d, math.inf).psi if self.activation == "sign" else math.inf
        lam = self._lambda_at(u)
        return lam * u - float(self._rs(lam)[0])

    def rate_inverse(self, alpha):
        alpha = _checks.real_array("alpha", alpha)
        if self.activation != "linear":
            return _vectorised(self._u_max_one, alpha)
        return np.sqrt(2 * self.v * alpha)[()]

    def _u_max_one(self, alpha):
        """u_max(α) = ψ′(λ) at the λ >= 0 where λψ′ − ψ = I(ψ′(λ)) reaches α (increasing in λ)."""
        u0 = float(self._rs(0.0)[1])
        if alpha == 0:
            return u0
        if alpha >= float(self._rate_one(self.u_sup)):
            return self.u_sup
        cost = lambda lam: float(lam * self._rs(lam)[1] - self._rs(lam)[0]) - alpha  # noqa: E731
        hi = 1.0
        while cost(hi) < 0:
            hi *= 2
        return float(self._rs(optimize.brentq(cost, 0.0, hi, xtol=1e-13))[1])

    def norm_rate(self, s):
        raise NotImplementedError("the large deviations of |ξ|²/N for hidden-manifold patterns are not implemented")


@functools.lru_cache(maxsize=256)
def _law(name, *args, **kwds):
    """A frozen scipy.stats law, cached: freezing costs ~0.3 ms, and the one-step tests ask
    for the same law (e.g. |x|² = N) once per instance."""
    return getattr(stats, name)(*args, **kwds)


def log_mgf(law, lam, upper=math.inf) -> float:
    r""":math:`\ln \mathbb E\,[e^{\lambda s};\ s < t]` for a score s of law ``law`` (a frozen
    continuous :mod:`scipy.stats` distribution, e.g. :meth:`Ensemble.score_law`) and t =
    ``upper``: the log moment generating function, truncated.

    By adaptive quadrature on either side of the peak of the tilted density
    :math:`e^{\lambda s} f(s)`, scaled by its maximum so that nothing overflows (λs may be
    in the hundreds); relative accuracy about 1e-10.
    """
    lo, hi = law.support()
    hi = min(hi, upper)
    # where to look for the peak: an infinite end moved far enough out to hold it
    reach = (40 + abs(lam) * law.std()) * law.std()
    a, b = max(lo, law.mean() - reach), min(hi, law.mean() + reach)
    g = lambda s: lam * s + law.logpdf(s)  # noqa: E731
    peak = optimize.minimize_scalar(lambda s: -g(s), bounds=(a, b), method="bounded",
                                    options={"xatol": 1e-10 * max(1.0, b - a)}).x
    g_max = g(peak)
    mass = sum(integrate.quad(lambda s: math.exp(g(s) - g_max), a, b, limit=200, epsabs=0, epsrel=1e-10)[0]
               for a, b in ((lo, peak), (peak, hi)))
    return float(g_max + math.log(mass))


def _inside(name, a, bound):
    if np.any(np.abs(a) >= bound):
        raise ValueError(f"{name} must lie in (-{bound}, {bound}), got {a[np.abs(a) >= bound].ravel()[0]}")


def _xlogx(x):
    return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)


class Chunks:
    """A (P, N) matrix seen as a sequence of row chunks, as the engine reads patterns.

    Subclasses set ``P``, ``N``, ``chunk`` and ``dtype`` and define ``rows(start, stop)``;
    ``chunks[k]`` is rows ``k*chunk`` to ``(k+1)*chunk``.
    """

    @property
    def shape(self):
        return (self.P, self.N)

    def __len__(self):
        return -(-self.P // self.chunk)

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def __getitem__(self, k):
        if not -len(self) <= k < len(self):
            raise IndexError(f"chunk {k} out of range for {len(self)} chunks")
        k %= len(self)
        return self.rows(k * self.chunk, min((k + 1) * self.chunk, self.P))


class PatternStream(Chunks):
    """P patterns of an ensemble, generated chunk by chunk and never stored whole.

    Re-iterable: every pass gives the same patterns. ``stream[k]`` is chunk k
    (rows ``k*chunk`` to ``(k+1)*chunk``), computed independently of the others, so
    chunks may be generated in any order or in parallel threads.

    Attributes
    ----------
    ensemble : Ensemble
    P, N, chunk : int
    dtype : numpy float type
    """

    def __init__(self, ensemble, P, N, seed=None, chunk=None, dtype="float32"):
        self.ensemble = ensemble
        self.P = _checks.positive_int("P", P)
        self.N = _checks.positive_int("N", N)
        self.chunk = BLOCK if chunk is None else _checks.positive_int("chunk", chunk)
        self.dtype = _checks.floating_dtype("dtype", dtype)
        self._root = _seed_entropy(seed)
        self._cache = threading.local()  # the last block drawn, per thread

    def _block(self, b):
        cache = self._cache
        if getattr(cache, "b", None) != b:
            n = min(BLOCK, self.P - b * BLOCK)
            cache.xi, cache.b = self.ensemble._draw(_block_rng(self._root, b), n, self.N), b
        return cache.xi

    def rows(self, start, stop):
        """Patterns ``start`` to ``stop - 1`` as a ``(stop - start, N)`` array."""
        if not 0 <= start < stop <= self.P:
            raise ValueError(f"rows must satisfy 0 <= start < stop <= P={self.P}, got ({start}, {stop})")
        blocks = range(start // BLOCK, (stop - 1) // BLOCK + 1)
        parts = [self._block(b)[max(start - b * BLOCK, 0): stop - b * BLOCK] for b in blocks]
        # concatenate copies even a single part: the cached block must never be handed out
        xi = np.concatenate(parts, dtype=self.dtype, casting="same_kind")
        return asarray(xi, get_namespace())

    def __repr__(self):
        return f"PatternStream({self.ensemble!r}, P={self.P}, N={self.N}, chunk={self.chunk})"


_BY_NAME = {cls.name: cls for cls in (Gaussian, Spherical, Binary, HiddenManifold)}


def get(name, **params) -> Ensemble:
    """An ensemble by name: ``get("spherical")``, ``get("hidden_manifold", d=0.5, activation="relu")``."""
    if name not in _BY_NAME:
        raise ValueError(f"ensemble must be one of {sorted(_BY_NAME)}, got {name!r}")
    return _BY_NAME[name](**params)
