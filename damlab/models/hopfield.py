r"""The classical Hopfield model: Hebbian couplings, zero- and finite-temperature dynamics."""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..backend import is_numpy
from ._common import BinaryModel, patterns

__all__ = ["Hopfield"]


class Hopfield(BinaryModel):
    r"""Hopfield network with Hebbian couplings.

    .. math::

       J_{ij} = \frac1N \sum_{\mu=1}^P \xi_i^\mu \xi_j^\mu \ (i \ne j), \quad J_{ii} = 0,
       \qquad E(s) = -\frac12 \sum_{ij} J_{ij} s_i s_j, \qquad h_i = \sum_j J_{ij} s_j,

    with P = αN patterns and ±1 spins. The zero-temperature update sets
    :math:`s_i \leftarrow \mathrm{sgn}(h_i)`, all spins at once (:meth:`step`) or one at
    a time in random order (:meth:`sweep`, which never raises the energy); a spin whose
    field is exactly zero keeps its value. Glauber (heat-bath) dynamics at temperature
    T sets :math:`s_i = +1` with probability :math:`1/(1 + e^{-2 h_i/T})`.

    See the book chapter on the classical Hopfield model.

    Parameters
    ----------
    xi : array of shape (P, N), or a PatternStream (read into memory)
        The stored patterns, one per row, e.g. ``Binary().sample(P, N, seed=0)``.
        Integer patterns are converted to float64; states are computed in the
        patterns' dtype and namespace.

    Attributes
    ----------
    xi : array (P, N)
    P, N : int
    J : array (N, N)
        The coupling matrix (see :attr:`J`). The dynamics never need it:
        :meth:`step`, :meth:`fields` and :meth:`energy` use the factored form
        :math:`h = [\xi^\top(\xi s) - \mathrm{diag}]/N`, and sweeps keep the integer-valued
        Hebb matrix :math:`NJ` (for ±1 patterns every field they track is exact, so
        "a zero field keeps the spin" holds exactly).

    Examples
    --------
    >>> from damlab import Binary, Hopfield
    >>> xi = Binary().sample(10, 500, seed=0)
    >>> net = Hopfield(xi)
    >>> bool((net.step(xi) == xi).all())
    True
    """

    def __init__(self, xi):
        self.xi, self._xp = patterns(xi)
        self.P, self.N = self.xi.shape
        self._NJ = None
        # N·J_ii before zeroing: Σ_μ (ξ_i^μ)², removed from the factored fields
        self._D = self._xp.sum(self.xi * self.xi, axis=0)

    @property
    def alpha(self) -> float:
        """Load α = P/N."""
        return self.P / self.N

    @property
    def J(self):
        """The (N, N) Hebbian coupling matrix with zero diagonal.

        A new array on every access, divided out of the cached N·J that the sweeps
        use (so that the model holds one N x N matrix, not two): keep a reference if
        you read it repeatedly.
        """
        return self._hebb() / self.N

    def _hebb(self):
        """N·J: Σ_μ ξ_i^μ ξ_j^μ with zero diagonal (built once, then cached)."""
        if self._NJ is None:
            xp, N = self._xp, self.N
            _checks.dense_fits(
                "the coupling matrix J", (N, N), xp.finfo(self.xi.dtype).bits // 8,
                "step(), fields(), energy() and run(dynamics='sync') use the factored "
                "form ξᵀ(ξs)/N and need no J",
            )
            NJ = self.xi.T @ self.xi
            if is_numpy(xp):  # in place: no second N x N array
                np.fill_diagonal(NJ, 0)
            else:
                NJ = xp.where(xp.eye(N, dtype=xp.bool, device=NJ.device), 0.0, NJ)
            self._NJ = NJ
        return self._NJ

    # The sweep machinery carries N·h (B, N): flipping s_i by ds changes it by
    # ds·(NJ)[i]; the energy cost of s_i = -1 over s_i = +1 is 2 h_i. Subtracting the
    # self-coupling before any division keeps N·h exact for integer patterns.
    def _carry(self, s):
        return (s @ self.xi.T) @ self.xi - self._D * s

    def _fields(self, s):
        return self._carry(s) / self.N

    def _energy(self, s):
        return -0.5 * self._xp.sum(s * self._fields(s), axis=1)

    def _column(self, i):
        return self._xp.take(self._hebb(), i, axis=0)

    def _gain(self, Nh, col, si, flat):
        return 2 * self._xp.take(self._xp.reshape(Nh, (-1,)), flat) / self.N

    def step(self, s):
        if not is_numpy(self._xp):
            return super().step(s)
        # NumPy: the same update without the division by N and the array-API wrappers
        # (the step is two small BLAS calls, and those would add half to its time)
        s, single = self._states(s)
        Nh = self._carry(s)  # the sign of N·h is the sign of h
        new = np.sign(Nh)
        np.copyto(new, s, where=Nh == 0)
        return new[0] if single else new

    step.__doc__ = BinaryModel.step.__doc__

    def _sweep(self, s, T, rng, sites=None):
        if not is_numpy(self._xp):
            return super()._sweep(s, T, rng, sites)
        # NumPy: jump from flip to flip. Between two flips nothing changes, so the next
        # site to change is the first one in the visiting order whose gain 2h_i - θ
        # disagrees with its spin: found by one vectorised test over a block of the
        # order, then N·h += 2 s_i (NJ)[i]. The same arithmetic as the site-by-site
        # loop, hence the same states; O(N) per flip instead of array calls per site.
        order, thresholds = self._plan(s.shape[0], T, rng, sites)
        thresholds = np.zeros(order.shape, s.dtype) if thresholds is None else thresholds.astype(s.dtype)
        s, Nh, NJ = s.copy(), self._carry(s), self._hebb()
        for b in range(s.shape[0]):
            _flip_sweep(NJ, s[b], Nh[b], order[b], thresholds[b])
        return s, Nh


def _flip_sweep(NJ, s, Nh, order, theta, block=32):
    """Visit the sites ``order`` of one state ``s`` (with fields ``Nh / N``), in place."""
    N, pos, L = s.shape[0], 0, order.shape[0]
    while pos < L:
        idx = order[pos:pos + block]
        new = np.sign(2 * Nh[idx] / N - theta[pos:pos + block])
        changes = (new != s[idx]) & (new != 0)  # a zero gain keeps the spin
        k = int(np.argmax(changes))
        if not changes[k]:  # no change in this block: look further ahead next time
            pos, block = pos + idx.shape[0], 2 * block
            continue
        i = idx[k]
        Nh += (new[k] - s[i]) * NJ[i]  # symmetric, zero diagonal: N·h_i itself is unchanged
        s[i] = new[k]
        pos, block = pos + k + 1, max(32, block // 2)
