"""What every estimator shares: the result type, per-run seeds, the parameter grid,
the progress bar."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .. import _checks
from ..ensembles import _seed_entropy


@dataclass(frozen=True)
class Estimate:
    r"""Monte Carlo samples of a quantity over a parameter grid, with their mean and error.

    ``samples`` has shape ``grid + (trials, starts)``: each trial is an independent
    draw of the patterns (the quenched disorder), each start one run on that draw.
    Runs on one draw are correlated, so the standard error is taken over trials,

    .. math::

       \bar x = \frac1{n_t} \sum_t \bar x_t, \qquad
       \mathrm{se} = \frac{\mathrm{sd}_t(\bar x_t)}{\sqrt{n_t}},

    with :math:`\bar x_t` the mean over the starts of trial t.
    """

    samples: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """Mean over trials and starts, shape ``grid``."""
        return self.samples.mean(axis=(-2, -1))

    @property
    def se(self) -> np.ndarray:
        """Standard error of :attr:`mean` over the trials, shape ``grid``."""
        per_trial = self.samples.mean(axis=-1)
        return per_trial.std(axis=-1, ddof=1) / np.sqrt(per_trial.shape[-1])

    def above(self, level: float) -> "Estimate":
        """The indicator ``samples > level``: its mean is the fraction of runs above ``level``."""
        return Estimate((self.samples > level).astype(np.float64))


def grid(**params) -> tuple[tuple[int, ...], dict[str, np.ndarray]]:
    """Broadcast the parameters (numbers or arrays) to one grid; returns its shape and them."""
    arrays = np.broadcast_arrays(*(np.asarray(v) for v in params.values()))
    return arrays[0].shape, dict(zip(params, arrays))


def trial_seeds(seed, n_points: int, trials: int):
    """One independent ``SeedSequence`` per (grid point, trial).

    Each run's randomness depends only on ``seed`` and its own indices, not on the
    order in which runs are done: appending grid points or trials keeps the values
    of the runs before them.
    """
    root = _seed_entropy(seed)
    return [[np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (g, t))
             for t in range(trials)] for g in range(n_points)]


def ensemble_arg(ensemble):
    """``ensemble`` if it is a damlab Ensemble, else a TypeError naming it."""
    from ..ensembles import Ensemble

    if not isinstance(ensemble, Ensemble):
        raise TypeError(f"ensemble must be a damlab Ensemble, got {ensemble!r}")
    return ensemble


def counts(trials, starts) -> tuple[int, int]:
    trials = _checks.positive_int("trials", trials)
    if trials < 2:
        raise ValueError(f"trials must be >= 2 (the standard error is taken over trials), got {trials}")
    return trials, _checks.positive_int("starts", starts)


def run_grid(draw, points, trials: int, seed, progress, desc: str) -> np.ndarray:
    """``draw(*point, rng)`` for every grid point and trial, stacked to shape
    ``(len(points), trials) + draw's shape``.

    Each call gets its own generator from :func:`trial_seeds`; ``progress`` as in
    :func:`progress_bar`.
    """
    seeds = trial_seeds(seed, len(points), trials)
    out = []
    with progress_bar(len(points) * trials, progress, desc) as bar:
        for point, point_seeds in zip(points, seeds):
            for ss in point_seeds:
                out.append(draw(*point, np.random.default_rng(ss)))
                bar.update()
    return np.reshape(out, (len(points), trials) + np.shape(out[0]))


def progress_bar(total: int, progress, desc: str, initial: int = 0):
    """A tqdm bar over ``total`` steps. ``progress=True`` shows it (a widget in a
    notebook), False never; None shows a text bar in a terminal only, never in a
    notebook or a book build, where it would be written into the page."""
    if progress is None:
        progress = sys.stderr.isatty() and "ipykernel" not in sys.modules
    if progress:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=desc, leave=False, disable=not progress)
