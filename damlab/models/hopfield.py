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
        The coupling matrix, built on first use (only sweeps need it: :meth:`step`,
        :meth:`fields` and :meth:`energy` use the factored form
        :math:`h = \xi^\top(\xi s)/N - \mathrm{diag}` and never build it).

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
        self._J = None
        # N·J_ii before zeroing: Σ_μ (ξ_i^μ)², removed from the factored fields
        self._D = self._xp.sum(self.xi * self.xi, axis=0)

    @property
    def alpha(self) -> float:
        """Load α = P/N."""
        return self.P / self.N

    @property
    def J(self):
        """The (N, N) Hebbian coupling matrix with zero diagonal (built once, then cached)."""
        if self._J is None:
            xp, N = self._xp, self.N
            _checks.dense_fits(
                "the coupling matrix J", (N, N), xp.finfo(self.xi.dtype).bits // 8,
                "step(), fields(), energy() and run(dynamics='sync') use the factored "
                "form ξᵀ(ξs)/N and need no J",
            )
            J = (self.xi.T @ self.xi) / N
            if is_numpy(xp):  # in place, no second N x N array
                np.fill_diagonal(J, 0)
            else:
                J = xp.where(xp.eye(N, dtype=xp.bool, device=J.device), 0.0, J)
            self._J = J
        return self._J

    def _fields(self, s):
        # h = J s without J: ξᵀ(ξ s) counts the self-coupling Σ_μ (ξ_i^μ)² s_i, remove it.
        # Subtracting before dividing keeps the fields of integer patterns exact, so
        # zero fields (ties) are exactly zero.
        return ((s @ self.xi.T) @ self.xi - self._D * s) / self.N

    def _energy(self, s):
        return -0.5 * self._xp.sum(s * self._fields(s), axis=1)

    # sweep machinery: the carry is the local field h (B, N); flipping s_i by ds
    # changes it by ds * J[i]; the energy cost of s_i = -1 over s_i = +1 is 2 h_i.
    _carry = _fields

    def _column(self, i):
        return self._xp.take(self.J, i, axis=0)

    def _gain(self, h, col, si, flat):
        return 2 * self._xp.take(self._xp.reshape(h, (-1,)), flat)
