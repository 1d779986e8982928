r"""The modern (continuous, softmax) Hopfield network, on the streaming engine."""

from __future__ import annotations

import math

from .. import _checks, engine
from ..backend import asarray, get_namespace
from ._common import Run, is_stream, patterns, sign_keep, states

__all__ = ["ModernHopfield"]


class ModernHopfield:
    r"""Modern Hopfield network (Ramsauer et al. 2020) with continuous states.

    .. math::

       E(x) = -\frac1\lambda \ln\sum_{\mu=1}^P e^{\lambda\,\xi^\mu\cdot x} + \frac12 |x|^2,
       \qquad
       x \leftarrow \sum_\mu \xi^\mu\,\mathrm{softmax}_\mu(\lambda\,\xi^\mu\cdot x).

    The update is one attention step; it never raises E (it is the concave-convex
    procedure for E). On the sphere :math:`|x|^2 = N` (renormalising after each step,
    ``run(..., sphere=True)``) it never raises the log-sum-exp part alone either.
    With P = e^{αN} patterns, λ = O(1) is the interesting regime. Every pass over the
    patterns goes through :mod:`damlab.engine` (online log-sum-exp), so P may be far
    larger than memory when the patterns are a stream.

    See the book chapter on modern Hopfield networks.

    Parameters
    ----------
    xi : array of shape (P, N), or a PatternStream
        The stored patterns, one per row. A stream (``ensemble.stream(P, N, seed=...)``)
        is generated chunk by chunk at each pass and never stored; its values are
        not checked for NaN (an array's are).
    lam : float
        Inverse temperature λ > 0.

    Examples
    --------
    >>> from damlab import ModernHopfield, Spherical
    >>> xi = Spherical().sample(1000, 64, seed=0)
    >>> net = ModernHopfield(xi, lam=1.0)
    >>> bool(abs(net.step(xi[0]) - xi[0]).max() < 1e-6)
    True
    """

    def __init__(self, xi, lam):
        self.lam = _checks.positive_float("lam", lam)
        if is_stream(xi):
            self.xi, self._xp = xi, None
            self.P, self.N = _checks.positive_int("P", xi.P), _checks.positive_int("N", xi.N)
        else:
            self.xi, self._xp = patterns(xi)
            self.P, self.N = self.xi.shape

    @property
    def alpha(self) -> float:
        """Load α = ln(P)/N (P = e^{αN})."""
        return math.log(self.P) / self.N

    def _states(self, x):
        if self._xp is None:  # streamed patterns: the states decide namespace and device
            xp, device = get_namespace(x), None
        else:
            xp, device = self._xp, self.xi.device
        x, single = states("x", x, self.N, xp, device=device)
        return x, single, xp

    def step(self, x):
        """One update :math:`x \\leftarrow \\sum_\\mu \\xi^\\mu \\mathrm{softmax}_\\mu(\\lambda \\xi^\\mu\\cdot x)`.

        ``x`` has shape (B, N) or (N,); the result has the same shape.
        """
        x, single, _ = self._states(x)
        x = engine.step(x, self.xi, self.lam)
        return x[0] if single else x

    def energy(self, x, quadratic=True):
        r"""Energy of each state, shape (B,) (or a scalar for one state).

        :math:`E = -\frac1\lambda \mathrm{lse}(\lambda\,\xi\cdot x) + \frac12|x|^2`;
        ``quadratic=False`` drops :math:`\frac12|x|^2` (the energy on the sphere).
        """
        x, single, xp = self._states(x)
        E = -engine.logsumexp(x, self.xi, self.lam) / self.lam
        if quadratic:
            E = E + 0.5 * xp.sum(x * x, axis=1)
        return E[0] if single else E

    def run(self, x, tol=None, max_steps=100, sphere=False):
        """Iterate :meth:`step` from ``x`` until it moves less than ``tol``.

        Parameters
        ----------
        x : array, shape (B, N) or (N,)
            Initial states.
        tol : float, optional
            Stop when :math:`\\max_{b,i} |x^{new}_{bi} - x_{bi}| <` ``tol``. Default: the
            square root of the working dtype's machine epsilon (1.5e-8 in float64,
            3.5e-4 in float32), about the best a fixed-point iteration can resolve.
        max_steps : int
            Largest number of steps.
        sphere : bool
            Renormalise each state to :math:`|x|^2 = N` after each step.

        Returns
        -------
        Run
            ``(x, steps, converged)``: the final states, the number of steps, and
            whether the last step moved less than ``tol``.
        """
        x, single, xp = self._states(x)
        if tol is not None:
            tol = _checks.positive_float("tol", tol)
        max_steps = _checks.positive_int("max_steps", max_steps)
        converged, k = False, 0
        while k < max_steps and not converged:
            new = engine.step(x, self.xi, self.lam)
            if sphere:
                new = new * (math.sqrt(self.N) / xp.sqrt(xp.sum(new * new, axis=1, keepdims=True)))
            if tol is None:
                tol = math.sqrt(xp.finfo(new.dtype).eps)
            converged = float(xp.max(xp.abs(new - x))) < tol
            x, k = new, k + 1
        return Run(x[0] if single else x, k, converged)

    def readout(self, x):
        """Binary readout sign(x), with sign(0) = +1."""
        x, single, xp = self._states(x)
        s = sign_keep(x, xp.ones_like(x), xp)
        return s[0] if single else s

    def overlaps(self, x):
        r"""Overlaps :math:`u_\mu = \xi^\mu\cdot x/N` with every stored pattern, shape (B, P).

        With a stream this is a pass over the patterns that stores the (B, P) result;
        for P too large for that, use :meth:`top_overlaps`.
        """
        x, single, xp = self._states(x)
        if self._xp is not None:
            u = x @ self.xi.T / self.N
        else:
            _checks.dense_fits("overlaps", (x.shape[0], self.P), xp.finfo(x.dtype).bits // 8,
                               "use top_overlaps(x, k), which streams")
            u = xp.concat([x @ asarray(c, xp, dtype=x.dtype, device=x.device).T for c in self.xi], axis=1) / self.N
        return u[0] if single else u

    def top_overlaps(self, x, k=1):
        """The ``k`` largest overlaps u = ξ·x/N of each state and their pattern indices.

        Returns ``(values, indices)``, each of shape (B, k) (or (k,) for one state).
        """
        x, single, _ = self._states(x)
        values, indices = engine.top_overlaps(x, self.xi, k)
        return (values[0], indices[0]) if single else (values, indices)

    def weight(self, x, mu):
        r"""Softmax weight :math:`w_\mu(x)` of pattern ``mu`` (an int, or one per state), shape (B,)."""
        x, single, _ = self._states(x)
        w = engine.weight(x, self.xi, self.lam, mu)
        return w[0] if single else w
