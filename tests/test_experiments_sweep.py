"""Tests of damlab.experiments.sweep: grids, seeds, resuming, executors (dask optional)."""

import concurrent.futures

import numpy as np
import pytest

from damlab import Binary
from damlab.experiments import retrieval_fraction, sweep

GRID = {"N": [20, 30], "alpha": [0.3, 0.35, 0.4]}
FIXED = dict(ensemble=Binary(), lam=0.5, trials=20)
FAIL_AT = {"alpha": None}
CALLS = []


def flaky(**kw):
    """retrieval_fraction that records its calls and fails at one load when told to."""
    CALLS.append((kw["N"], kw["alpha"]))
    if kw["alpha"] == FAIL_AT["alpha"]:
        raise RuntimeError("killed")
    return retrieval_fraction(**kw)


def test_sweep_shape_and_independent_points(tmp_path):
    e = sweep(retrieval_fraction, GRID, tmp_path / "s", seed=3, **FIXED)
    assert e.samples.shape == (2, 3, 20, 1)
    # binary, λ = 0.5: α₁ = 0.380, so the fraction falls from 1 to 0 along α at both N
    assert np.all(e.mean[:, 0] > 0.9) and np.all(e.mean[:, -1] < 0.1)
    # a point's result depends on the root seed and its own values only, not on the grid
    alone = sweep(retrieval_fraction, {"N": [30], "alpha": [0.35]}, tmp_path / "t", seed=3, **FIXED)
    assert np.array_equal(alone.samples[0, 0], e.samples[1, 1])
    # and different root seeds differ (at N = 20, α = 0.38 ≈ α₁ about half the instances retrieve)
    near = {"N": [20], "alpha": [0.38]}
    a = sweep(retrieval_fraction, near, tmp_path / "a", seed=3, **FIXED)
    b = sweep(retrieval_fraction, near, tmp_path / "b", seed=4, **FIXED)
    assert 0 < a.mean[0, 0] < 1 and not np.array_equal(a.samples, b.samples)


def test_a_killed_sweep_resumes_without_recomputing(tmp_path):
    CALLS.clear()
    FAIL_AT["alpha"] = 0.4
    with pytest.raises(RuntimeError, match="killed"):
        sweep(flaky, GRID, tmp_path, seed=5, **FIXED)
    # points run in grid order: the first two were done and written, the failed one was not
    assert sorted(p.name for p in tmp_path.glob("*.npy")) == ["N=20,alpha=0.3.npy", "N=20,alpha=0.35.npy"]
    FAIL_AT["alpha"] = None
    CALLS.clear()
    e = sweep(flaky, GRID, tmp_path, seed=5, **FIXED)
    assert CALLS == [(20, 0.4), (30, 0.3), (30, 0.35), (30, 0.4)]
    # and the result equals an uninterrupted sweep
    fresh = sweep(retrieval_fraction, GRID, tmp_path / "fresh", seed=5, **FIXED)
    assert np.array_equal(e.samples, fresh.samples)
    CALLS.clear()
    sweep(flaky, GRID, tmp_path, seed=5, **FIXED)  # all done: nothing runs
    assert CALLS == []


def test_a_different_sweep_in_the_same_folder_is_refused(tmp_path):
    sweep(retrieval_fraction, {"N": [20], "alpha": [0.3]}, tmp_path, seed=1, **FIXED)
    with pytest.raises(ValueError, match="different sweep"):
        sweep(retrieval_fraction, {"N": [20], "alpha": [0.3]}, tmp_path, seed=1, **{**FIXED, "lam": 0.6})
    with pytest.raises(ValueError, match="different sweep"):
        sweep(retrieval_fraction, {"N": [20], "alpha": [0.3]}, tmp_path, seed=2, **FIXED)
    with pytest.raises(ValueError, match="overlap"):
        sweep(retrieval_fraction, {"N": [20], "lam": [0.3]}, tmp_path / "x", **FIXED)
    with pytest.raises(TypeError, match="grid"):
        sweep(retrieval_fraction, [20, 30], tmp_path / "y", **FIXED)


def test_a_process_pool_gives_the_same_results(tmp_path):
    serial = sweep(retrieval_fraction, GRID, tmp_path / "serial", seed=7, **FIXED)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        pooled = sweep(retrieval_fraction, GRID, tmp_path / "pool", seed=7, executor=pool, **FIXED)
    assert np.array_equal(serial.samples, pooled.samples)


def test_a_dask_cluster_runs_a_sweep(tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is an optional extra")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        e = sweep(retrieval_fraction, GRID, tmp_path / "dask", seed=7, executor=client.get_executor(), **FIXED)
    assert np.array_equal(e.samples, sweep(retrieval_fraction, GRID, tmp_path / "local", seed=7, **FIXED).samples)
