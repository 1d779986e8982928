r"""When a diffusion model with the empirical score commits to one stored pattern [D].

The variance-exploding process with P = e^{αN} stored patterns (:mod:`damlab.diffusion`)
has the noisy states :math:`x_t = \xi^1 + \sqrt t\,\varepsilon`, and Tweedie's denoiser
at :math:`x_t` is one modern Hopfield step at λ = 1/t (THEORY.md §4). The denoiser points
to ξ¹, the pattern the state came from, when ξ¹ carries the softmax weight,
w₁ > 1/2. With the REM toolkit of THEORY.md §2 this happens at large N iff

.. math::

   \frac1t > \varphi\!\left(\alpha,\ \frac{\sqrt{1 + t}}{t}\right),

because the own score is :math:`\xi^1\cdot x_t/t = N/t + O(\sqrt{N/t})`, while the
noise has lengthened the state, :math:`|x_t|^2 = N(1 + t)(1 + O(N^{-1/2}))`, so that
the others' scores :math:`\xi^\mu\cdot x_t/t = N\lambda' u_\mu`, with u_μ the overlap of
ξ^μ with the direction of x_t, form a REM at the inverse temperature
:math:`\lambda' = \sqrt{1+t}/t`, not 1/t. This holds for patterns whose overlap with a
fixed direction has a law that does not depend on that direction (Gaussian and
spherical patterns).

For spherical patterns (equal norms) the modern Hopfield step at λ = 1/t *is* the
denoiser, and then :math:`t_c = 1/(e^{2\alpha} - 1)` in closed form: the load equals
the capacity ½ ln(1 + 1/t) of a Gaussian channel. For Gaussian patterns the functions
here describe the plain Hopfield step at λ = 1/t (:math:`t_c = 1/(2\alpha) - 1`); the
denoiser of Gaussian data keeps a bias :math:`-|\xi^\mu|^2/2t` per pattern, which
changes the answer (to the spherical value; see the book chapter's exercise).
Biroli, Bonnaire, de Bortoli & Mézard (2024) obtain a collapse time for Gaussian data
from an excess-entropy criterion; in this time variable it appears to coincide with
1/(e^{2α} − 1), which remains to be checked against their text.

The *collapse time* t_c(α) is the root: for t < t_c the noisy state commits to its own
pattern. It is smaller than the *memorisation time* t₁(α) = 1/λ₁(α), the largest t at
which the stored pattern itself is a fixed point of the denoiser (x = ξ¹, |x|² = N,
λ′ = 1/t): running the process backwards from large t, the stored patterns become fixed
points first (at t₁), and the noisy trajectories commit to them only later (at t_c),
because the extra length of a noisy state makes the others compete harder.

See the book chapter "Attention and diffusion".
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from .. import _checks
from ..ensembles import Gaussian, Spherical
from .capacity import lambda_1
from .rem import _ensemble, phi

__all__ = ["memorization_time", "collapse_time"]


def _rotation_invariant(ensemble):
    ens = _ensemble(ensemble)
    if not isinstance(ens, (Gaussian, Spherical)):
        raise ValueError(f"ensemble must be Gaussian or Spherical (overlaps with a direction that do not "
                         f"depend on it), got {ens!r}")
    return ens


def memorization_time(ensemble, alpha):
    r"""The largest VE time at which a stored pattern is a fixed point of the denoiser [D]:

    .. math:: t_1(\alpha) = 1/\lambda_1(\alpha)

    (:func:`damlab.theory.capacity.lambda_1`; THEORY.md §4), 0 where no λ retrieves.

    Parameters
    ----------
    ensemble : Ensemble
        ``Gaussian()`` or ``Spherical()``.
    alpha : float or array
        Load α > 0 (P = e^{αN}).
    """
    ens = _rotation_invariant(ensemble)
    a = _checks.real_array("alpha", alpha, strict=True)
    return (1 / lambda_1(ens, a))[()]


def collapse_time(ensemble, alpha):
    r"""The VE time below which a noisy state commits to the pattern it came from [D].

    The root t_c of

    .. math::

       \frac1t = \varphi\!\left(\alpha,\ \frac{\sqrt{1+t}}{t}\right)

    (module docstring), with φ the REM free entropy of the others
    (:func:`damlab.theory.rem.phi`). On the condensed branch, where the others' weight
    sits on the largest overlap :math:`u_{\max}(\alpha)`, the condition reads
    :math:`u_{\max}\sqrt{1+t} < 1`, so :math:`t_c = 1/u_{\max}^2 - 1` (Gaussian patterns:
    :math:`1/(2\alpha) - 1`). Always :math:`t_c(\alpha) < t_1(\alpha)` (:func:`memorization_time`).

    Parameters
    ----------
    ensemble : Ensemble
        ``Gaussian()`` or ``Spherical()``.
    alpha : float or array
        Load α > 0.

    Returns
    -------
    float or array, shaped like ``alpha``
    """
    ens = _rotation_invariant(ensemble)
    a = _checks.real_array("alpha", alpha, strict=True)
    out = np.empty(a.shape)
    for k, ak in np.ndenumerate(a):
        def gap(log_t):  # own minus others, per N: decreasing in t, -α at t -> inf
            t = math.exp(log_t)
            with np.errstate(divide="ignore"):  # (spherical ψ where ψ′ rounds to 1)
                return 1 / t - float(phi(ens, ak, math.sqrt(1 + t) / t))
        # no root when the others' largest overlap reaches 1 (Gaussian α >= 1/2): never commits
        out[k] = math.exp(brentq(gap, -30.0, 30.0, xtol=1e-13)) if gap(-30.0) > 0 else 0.0
    return out[()]
