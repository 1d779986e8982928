r"""Sweeps: an estimator over a product grid of parameters, resumable on disk, on any executor."""

from __future__ import annotations

import concurrent.futures
import hashlib
import itertools
import json
import os
from pathlib import Path

import numpy as np

from ._common import Estimate, progress_bar

__all__ = ["sweep"]


def sweep(estimator, grid, path, *, seed=0, executor=None, progress=None, **fixed):
    r"""Run ``estimator`` at every point of a product grid, one result file per point.

    Each point of the grid (e.g. N × α × λ) is one call
    ``estimator(**fixed, **point, seed=..., progress=False)`` returning an
    :class:`Estimate` over its trials. Its samples are written to ``path`` as soon as
    the point is done (atomically: a killed sweep leaves no half-written file), and a
    point whose file exists is not computed again, so a sweep that was stopped resumes
    where it was. The points run on ``executor`` if given (any
    :class:`concurrent.futures.Executor`: a process pool for the cores of one machine,
    or ``dask.distributed.Client(...).get_executor()`` for a cluster), else one after
    the other in this process.

    Every point has its own seed, derived from ``seed`` and the point's values (not its
    position), so a point's result does not depend on the rest of the grid or on the
    order in which points finish.

    Parameters
    ----------
    estimator : callable
        A module-level function (so that it can be sent to other processes) with
        keyword arguments ``seed`` and ``progress`` that returns an Estimate, e.g.
        :func:`damlab.experiments.retrieval_fraction`.
    grid : dict of str -> sequence
        The parameters swept, e.g. ``{"N": [20, 30], "alpha": np.linspace(0.1, 0.4, 7)}``;
        the grid is their product, in this order.
    path : str or Path
        Folder for the results (created if needed). It also holds ``sweep.json``, the
        description of the sweep: resuming with a different estimator, ``fixed``
        arguments or ``seed`` raises instead of mixing results.
    seed : int
        Root seed of the sweep.
    executor : concurrent.futures.Executor, optional
    progress : bool, optional
        A progress bar over the points (None: in a terminal only).
    **fixed
        Arguments passed unchanged to every call (e.g. ``ensemble=Spherical(), trials=100``).

    Returns
    -------
    Estimate
        Samples of shape ``grid shape + (trials, starts)``.
    """
    if not callable(estimator):
        raise TypeError(f"estimator must be callable, got {estimator!r}")
    if not isinstance(grid, dict) or not grid:
        raise TypeError("grid must be a non-empty dict of parameter name -> values")
    axes = {name: [_plain(v) for v in np.atleast_1d(values)] for name, values in grid.items()}
    clash = set(axes) & (set(fixed) | {"seed", "progress"})
    if clash:
        raise ValueError(f"grid and fixed arguments overlap: {sorted(clash)}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _check_description(path, dict(estimator=f"{estimator.__module__}.{estimator.__qualname__}",
                                  seed=int(seed), fixed={k: repr(v) for k, v in sorted(fixed.items())}))

    points = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]
    files = [path / (_name(point) + ".npy") for point in points]
    todo = [(point, file) for point, file in zip(points, files) if not file.exists()]

    with progress_bar(len(points), progress, "sweep", initial=len(points) - len(todo)) as bar:
        if executor is None:
            for point, file in todo:
                _run_point(estimator, point, _point_seed(seed, point), fixed, file)
                bar.update()
        else:
            futures = [executor.submit(_run_point, estimator, point, _point_seed(seed, point), fixed, file)
                       for point, file in todo]
            for future in concurrent.futures.as_completed(futures):
                future.result()  # re-raises a failed point's error here
                bar.update()
    shape = tuple(len(v) for v in axes.values())
    samples = np.stack([np.load(file) for file in files])
    return Estimate(samples.reshape(shape + samples.shape[1:]))


def _run_point(estimator, point, seed, fixed, file):
    """Compute one point and write its samples atomically (to a temporary name, then renamed)."""
    result = estimator(**fixed, **point, seed=seed, progress=False)
    tmp = file.with_name(f".{file.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, np.asarray(result.samples))
    os.replace(tmp, file)


def _plain(v):
    """A grid value as a plain Python number (stable file names, JSON, pickling)."""
    return np.asarray(v).item()


def _name(point) -> str:
    """File stem of a point: 'N=30,alpha=0.25,lam=0.5' (repr keeps floats exact)."""
    return ",".join(f"{k}={v!r}" for k, v in point.items())


def _point_seed(seed, point) -> np.random.SeedSequence:
    """A seed from the root seed and the point's values, independent of the grid."""
    digest = hashlib.sha256(_name(point).encode()).digest()
    return np.random.SeedSequence([int(seed), *np.frombuffer(digest[:16], dtype=np.uint32).tolist()])


def _check_description(path, description):
    file = path / "sweep.json"
    if file.exists():
        stored = json.loads(file.read_text())
        if stored != description:
            raise ValueError(f"{path} holds a different sweep ({stored}); use another path "
                             f"or delete it to start again (this sweep: {description})")
    else:
        file.write_text(json.dumps(description, indent=1))
