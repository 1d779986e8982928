r"""Finite-N thresholds: where a simulated curve crosses a level, with an error bar."""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

__all__ = ["crossing"]


def crossing(x, estimate, level=0.5, method="linear"):
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

    ``method="probit"`` uses every point instead: the curve is fitted by maximum
    likelihood (each point a binomial fraction over the estimate's trials) to
    :math:`\Phi(\pm(x - x^*)/\sigma + \Phi^{-1}(\ell))`, which crosses ℓ at x*, and the error
    comes from the inverse Hessian of the log-likelihood in (x*, ln σ). It is the
    honest error where the transition is a few grid steps wide or less, where two
    points far from ℓ on either side (say 0.9 and 0.1) make the linear error tiny
    although the curve between them is not linear. A transition narrower than a grid
    step has at most the bracket's error, as above.

    Parameters
    ----------
    x : array, shape (n,)
        Increasing grid.
    estimate : Estimate
        Over the same grid (its ``mean`` and ``se`` have shape (n,)).
    level : float
    method : {"linear", "probit"}

    Returns
    -------
    (float, float)
        The crossing and its standard error.
    """
    if method not in ("linear", "probit"):
        raise ValueError(f"method must be 'linear' or 'probit', got {method!r}")
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
    x_star = float(x[a] + w * (x[b] - x[a]))
    if err == 0:
        return x_star, float((x[b] - x[a]) / np.sqrt(12))
    if method == "linear":
        return x_star, float(err)
    return _probit(x, y, estimate.samples.shape[-2], level, x_star, x[b] - x[a], np.sign(y[b] - y[a]))


def _probit(x, y, n, level, x0, step, sign):
    """Maximum-likelihood probit crossing and its error; y are fractions over n trials."""
    z = stats.norm.ppf(level)

    def nll(theta):  # binomial log-likelihood, fractions y of n trials
        c, log_sigma = theta
        p = np.clip(stats.norm.cdf(sign * (x - c) / np.exp(log_sigma) + z), 1e-300, 1 - 1e-16)
        return -n * np.sum(y * np.log(p) + (1 - y) * np.log1p(-p))

    fit = optimize.minimize(nll, [x0, np.log(step)], method="Nelder-Mead",
                            options={"xatol": 1e-6 * step, "fatol": 1e-9, "maxiter": 4000})
    c, log_sigma = fit.x
    h = np.array([step * 1e-3, 1e-3])  # central differences for the Hessian
    H = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            H[i, j] = (nll(fit.x + ei + ej) - nll(fit.x + ei - ej) - nll(fit.x - ei + ej)
                       + nll(fit.x - ei - ej)) / (4 * h[i] * h[j])
    bracket = step / np.sqrt(12)
    if not np.all(np.linalg.eigvalsh(H) > 0):  # flat likelihood: a step somewhere in the bracket
        return x0, float(bracket)
    err = np.sqrt(np.linalg.inv(H)[0, 0])
    # narrower than a grid step: the crossing is in the bracket, whatever the fitted shape
    return float(c), float(min(err, bracket) if np.exp(log_sigma) < step else err)
