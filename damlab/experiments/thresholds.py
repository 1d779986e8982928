r"""Finite-N thresholds: where a simulated curve crosses a level, with an error bar."""

from __future__ import annotations

import numpy as np

__all__ = ["crossing"]


def crossing(x, estimate, level=0.5):
    r"""Where the curve of ``estimate.mean`` over ``x`` first crosses ``level``.

    Linear interpolation between the two grid points that bracket the crossing,
    :math:`x^* = x_a + w\,(x_b - x_a)` with :math:`w = (\ell - y_a)/(y_b - y_a)`,
    and the standard error propagated from the two means (independent points):

    .. math::

       \mathrm{se}(x^*) = \left|\frac{x_b - x_a}{y_b - y_a}\right|
       \sqrt{(1 - w)^2\,\mathrm{se}_a^2 + w^2\,\mathrm{se}_b^2} .

    This is the finite-N threshold of a sigmoidal curve (e.g. the load at which half
    the runs retrieve); its error bar assumes the curve is locally linear there. Where
    neither point has any spread (a step between two grid points: all runs succeed at
    one, all fail at the other) the crossing is only known to lie in the bracket, and
    its error is the bracket's, :math:`(x_b - x_a)/\sqrt{12}`.

    Parameters
    ----------
    x : array, shape (n,)
        Increasing grid.
    estimate : Estimate
        Over the same grid (its ``mean`` and ``se`` have shape (n,)).
    level : float

    Returns
    -------
    (float, float)
        The crossing and its standard error.
    """
    x = np.asarray(x, dtype=np.float64)
    y, se = estimate.mean, estimate.se
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError(f"x must be 1-D and match the estimate's grid, got shapes {x.shape} and {y.shape}")
    if np.any(np.diff(x) <= 0):
        raise ValueError("x must be strictly increasing")
    d = y - level
    # a segment brackets the level if its ends are on either side (or one is on it)
    brackets = np.flatnonzero((d[:-1] * d[1:] <= 0) & (y[:-1] != y[1:]))
    if brackets.size == 0:
        raise ValueError(f"the curve does not cross level={level} on this grid "
                         f"(from {y[0]:.3g} to {y[-1]:.3g}): extend x")
    a, b = brackets[0], brackets[0] + 1
    w = (level - y[a]) / (y[b] - y[a])
    slope = (x[b] - x[a]) / (y[b] - y[a])
    err = abs(slope) * np.hypot((1 - w) * se[a], w * se[b])
    if err == 0:
        err = (x[b] - x[a]) / np.sqrt(12)
    return float(x[a] + w * (x[b] - x[a])), float(err)
