import os
import subprocess
import sys

import numpy as np
import pytest

import damlab
from damlab import backend


def _run(code, **env):
    """Run ``code`` in a fresh interpreter (the backend is read once per process)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True,
        env={**os.environ, **env}, timeout=120,
    )


def test_import_does_not_import_cupy():
    out = _run("import sys, damlab; damlab.engine, damlab.ensembles; print('cupy' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_default_backend_is_numpy():
    out = _run("import damlab; print(damlab.get_backend())", DAMLAB_BACKEND="numpy")
    assert out.stdout.strip() == "numpy"
    xi = damlab.Binary().sample(3, 4, seed=0)
    assert isinstance(xi, np.ndarray)


def test_environment_variable_rejects_unknown_backend():
    out = _run("import damlab; damlab.Gaussian().sample(2, 2)", DAMLAB_BACKEND="torch")
    assert out.returncode != 0 and "backend must be one of" in out.stderr


def test_set_backend_rejects_unknown_name():
    with pytest.raises(ValueError, match="backend"):
        damlab.set_backend("jax")


@pytest.mark.skipif(
    _run("import cupy, sys; sys.exit(0 if cupy.cuda.is_available() else 1)").returncode == 0,
    reason="a GPU is present",
)
def test_cupy_without_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="cupy"):
        damlab.set_backend("cupy")
    assert damlab.get_backend() == "numpy"
    out = _run("import damlab; damlab.Gaussian().sample(2, 2)", DAMLAB_BACKEND="cupy")
    assert out.returncode != 0 and "cupy" in out.stderr.lower()


def test_namespace_follows_foreign_arrays(device):
    a = device.put(np.ones(3))
    assert backend.get_namespace(a, None, 1.0) is device.xp
    assert backend.is_numpy(backend.get_namespace(np.ones(3), 2.0))
    np.testing.assert_array_equal(backend.to_host(np.arange(3)), np.arange(3))


def test_default_rng_checks_seed_type():
    g = np.random.default_rng(1)
    assert backend.default_rng(g) is g
    with pytest.raises(TypeError, match="seed"):
        backend.default_rng("one")


@pytest.mark.gpu
def test_engine_on_cupy_matches_numpy():
    cp = pytest.importorskip("cupy")
    xi = damlab.Spherical().sample(5000, 32, seed=0)
    x = xi[:8] + 0.5
    ref = damlab.engine.step(x, xi, 2.0)
    out = damlab.engine.step(cp.asarray(x), cp.asarray(xi), 2.0)
    assert isinstance(out, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(out), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.gpu
def test_set_backend_cupy_samples_on_gpu():
    cp = pytest.importorskip("cupy")
    damlab.set_backend("cupy")
    try:
        xi = damlab.Gaussian().sample(10, 4, seed=3)
        assert isinstance(xi, cp.ndarray)
        damlab.set_backend("numpy")
        np.testing.assert_array_equal(cp.asnumpy(xi), damlab.Gaussian().sample(10, 4, seed=3))
    finally:
        damlab.set_backend("numpy")
