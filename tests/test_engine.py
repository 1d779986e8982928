import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from damlab import backend, engine
from damlab.ensembles import Binary, Gaussian, HiddenManifold, Spherical

ENSEMBLES = [Gaussian(), Spherical(), Binary(), HiddenManifold(0.5, "relu"), HiddenManifold(2.0, "tanh")]


def reference(x, xi, lam):
    """The direct float64 formulas: all (B, P) scores in memory."""
    S = lam * (np.asarray(x, np.float64) @ np.asarray(xi, np.float64).T)
    return logsumexp(S, axis=1), softmax(S, axis=1)


def queries(xi, B, rng, noise=0.5):
    """States near the first B patterns, normalised to |x|^2 = N."""
    x = xi[:B] + noise * rng.standard_normal((B, xi.shape[1]))
    return x * np.sqrt(xi.shape[1]) / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("ens", ENSEMBLES, ids=repr)
@pytest.mark.parametrize("chunk", [1, 100, 4096, None])
def test_matches_float64_reference(ens, chunk):
    rng = np.random.default_rng(0)
    P, N, B, lam = 3000, 24, 6, 1.3
    xi = ens.sample(P, N, seed=1)
    x = queries(xi, B, rng)
    lse, w = reference(x, xi, lam)
    mu = np.arange(B)
    res = engine.scan(x, xi, lam, average=True, mu=mu, top=5, chunk=chunk)
    # float64 throughout: only summation order differs from the reference (|lse| ~ 30)
    np.testing.assert_allclose(res.lse, lse, rtol=1e-12)
    np.testing.assert_allclose(res.average, w @ xi, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.weight, w[mu, mu], rtol=1e-10, atol=1e-300)
    u = x @ xi.T / N
    order = np.argsort(-u, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(res.top_indices, order)
    np.testing.assert_allclose(res.top_values, np.take_along_axis(u, order, 1), rtol=1e-12)


@pytest.mark.parametrize("ens", ENSEMBLES, ids=repr)
@pytest.mark.parametrize("chunk", [None, 1000, 4096])
def test_stream_float32_matches_float64_reference(ens, chunk):
    rng = np.random.default_rng(2)
    P, N, B, lam = 20000, 32, 4, 2.0
    stream = ens.stream(P, N, seed=3, chunk=chunk)
    xi = ens.sample(P, N, seed=3)  # the same patterns, float64
    x = queries(xi, B, rng).astype(np.float32)
    lse, w = reference(x, stream.rows(0, P), lam)
    res = engine.scan(x, stream, lam, average=True, mu=0)
    assert res.lse.dtype == res.average.dtype == np.float32
    # float32 scores carry an absolute error ~ eps32 * lam * sum_i |xi_i x_i| <~ 1e-7 * 2 * 32 * 4;
    # the log-sum-exp inherits it, and the weights get it as a relative error
    tol = 64 * np.finfo(np.float32).eps * lam * N
    np.testing.assert_allclose(res.lse, lse, rtol=0, atol=tol)
    scale = np.abs(xi).max()
    np.testing.assert_allclose(res.average, w @ xi, rtol=0, atol=tol * scale)
    np.testing.assert_allclose(res.weight, w[:, 0], rtol=tol, atol=1e-30)


def test_stable_for_huge_lambda_N():
    # lam * N = 1e4: exponents far beyond float32 and float64 range
    rng = np.random.default_rng(4)
    N, lam = 100, 100.0
    for dtype in (np.float32, np.float64):
        xi = Spherical().sample(5000, N, seed=5, dtype=dtype)
        x = np.concatenate([xi[:3], -xi[3:6], queries(xi, 3, rng, noise=3.0).astype(dtype)])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow or invalid-value warnings either
            res = engine.scan(x, xi, lam, average=True, mu=np.arange(9))
        lse, w = reference(x, xi, lam)
        assert np.all(np.isfinite(res.lse)) and np.all(np.isfinite(res.average))
        eps = np.finfo(dtype).eps
        np.testing.assert_allclose(res.lse, lse, rtol=100 * eps)
        # a stored pattern as the query carries essentially all the weight
        np.testing.assert_allclose(res.weight[:3], 1.0, rtol=100 * eps)
        np.testing.assert_allclose(res.average, w @ xi, atol=1e-3 if dtype == np.float32 else 1e-9)


def test_low_temperature_float32_matches_reference():
    # lam * N = 128: most weights e^{s - lse} lie far below the smallest normal float32
    # (e^-87), where the engine raises them to e^-43.7 (to keep x86 off its slow path
    # for subnormals); that adds at most P e^-43.7 ~ 2e-15 to sums of order 1.
    rng = np.random.default_rng(10)
    P, N, B, lam = 20000, 64, 40, 2.0  # 2B > N + 1: the augmented product
    xi = Gaussian().sample(P, N, seed=11)
    x = queries(xi, B, rng, noise=0.3)
    lse, w = reference(x, xi, lam)
    for chunk in (None, 1000):
        res = engine.scan(x.astype(np.float32), xi.astype(np.float32), lam, average=True, mu=np.arange(B), chunk=chunk)
        # float32 scores s ~ lam N = 128 carry a few roundings each (the cast, the
        # scaling by lam, the N-term dot product): absolute error ~ a few eps32 * lam N
        tol = 16 * np.finfo(np.float32).eps * lam * N
        np.testing.assert_allclose(res.lse, lse, rtol=0, atol=tol)
        np.testing.assert_allclose(res.weight, w[np.arange(B), np.arange(B)], rtol=tol)
        np.testing.assert_allclose(res.average, w @ xi, atol=tol * np.abs(xi).max())


@pytest.mark.parametrize("P", [1, 7, 13, 1003])
@pytest.mark.parametrize("B", [1, 3, 40])
def test_direct_path_any_shape(P, B):
    # small pattern arrays are scored in one piece: P not a multiple of the rows the
    # engine folds together for its reductions (1024 // B), and P = 1, included
    rng = np.random.default_rng(P + B)
    xi = Spherical().sample(P, 24, seed=P)
    x = rng.standard_normal((B, 24))
    lse, w = reference(x, xi, 0.8)
    res = engine.scan(x, xi, 0.8, average=True)
    np.testing.assert_allclose(res.lse, lse, rtol=1e-13)
    np.testing.assert_allclose(res.average, w @ xi, atol=1e-12)


def test_late_jump_in_the_scores():
    # the pattern equal to the query comes last, in its own chunk: its score lies
    # ~ 1e4 above everything before, far beyond exp's range, and must still win exactly
    rng = np.random.default_rng(6)
    N, lam = 100, 100.0
    xi = Spherical().sample(3001, N, seed=7)
    x = xi[[3000, 3000, 5]].copy()
    x[1] = -x[1] + 1e-3 * rng.standard_normal(N)
    for dtype in (np.float64, np.float32):
        res = engine.scan(x.astype(dtype), xi.astype(dtype), lam, average=True, mu=3000, chunk=500)
        lse, w = reference(x, xi, lam)
        np.testing.assert_allclose(res.lse, lse, rtol=100 * np.finfo(dtype).eps)
        np.testing.assert_allclose(res.average, w @ xi, atol=1e-9 if dtype == np.float64 else 1e-4)
        np.testing.assert_allclose(res.weight, w[:, 3000], atol=1e-6)


def test_threaded_pass_matches_reference():
    # large enough for the NumPy pass to be split between threads
    rng = np.random.default_rng(8)
    P, N, B, lam = 60000, 40, 300, 0.7
    xi = Gaussian().sample(P, N, seed=9)
    x = queries(xi, B, rng)
    assert P * N * B >= backend.THREAD_WORK
    lse, w = reference(x, xi, lam)
    res = engine.scan(x, xi, lam, average=True, mu=np.arange(B), top=2)
    np.testing.assert_allclose(res.lse, lse, rtol=1e-12)
    np.testing.assert_allclose(res.average, w @ xi, atol=1e-10)
    np.testing.assert_allclose(res.weight, w[np.arange(B), np.arange(B)], rtol=1e-9)
    np.testing.assert_array_equal(res.top_indices[:, 0], np.argmax(x @ xi.T, axis=1))


def test_any_iterable_of_chunks():
    xi = Binary().sample(1000, 16, seed=0)
    x = xi[:2]
    chunks = [xi[i: i + 300] for i in range(0, 1000, 300)]
    a = engine.scan(x, chunks, 0.5, average=True, mu=[999, 0], top=1)
    b = engine.scan(x, xi, 0.5, average=True, mu=[999, 0], top=1)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-13)
    with pytest.raises(ValueError, match="mu"):
        engine.weight(x, iter(chunks), 0.5, mu=1000)


def test_single_query_and_shortcuts():
    xi = Spherical().sample(500, 10, seed=0)
    x = xi[3]
    res = engine.scan(x, xi, 4.0, average=True, mu=3, top=2)
    assert res.lse.shape == () and res.average.shape == (10,) and res.top_indices.shape == (2,)
    assert res.top_indices[0] == 3 and res.top_values[0] == pytest.approx(1.0)
    assert engine.logsumexp(x, xi, 4.0) == pytest.approx(float(res.lse))
    np.testing.assert_allclose(engine.step(x, xi, 4.0), res.average)
    assert engine.weight(x, xi, 4.0, 3) == pytest.approx(float(res.weight))
    vals, idx = engine.top_overlaps(x, xi, k=2)
    np.testing.assert_array_equal(idx, res.top_indices)


def test_numpy_float64_lambda_keeps_float32():
    # under NumPy 2 promotion, np.float64 * float32 array -> float64: the engine must not let that happen
    xi = Gaussian().sample(2000, 64, seed=0, dtype="float32")
    x = xi[:4]
    lam = 1 / np.sqrt(np.float64(64))
    assert isinstance(lam, np.float64)
    res = engine.scan(x, xi, lam, average=True, mu=0)
    assert res.lse.dtype == res.average.dtype == res.weight.dtype == np.float32


def test_runs_on_a_foreign_device(device):
    # array_api_strict arrays on a simulated device: any hidden NumPy call raises
    rng = np.random.default_rng(1)
    xi = Spherical().sample(3000, 20, seed=1)
    x = queries(xi, 5, rng)
    ref = engine.scan(x, xi, 2.0, average=True, mu=np.arange(5), top=3, chunk=700)
    res = engine.scan(device.put(x), device.put(xi), 2.0, average=True, mu=np.arange(5), top=3, chunk=700)
    for a, b in zip(ref, res):
        np.testing.assert_allclose(device.get(b), a, rtol=1e-12)
    stream = Spherical().stream(3000, 20, seed=1, chunk=700, dtype="float64")
    np.testing.assert_allclose(device.get(engine.step(device.put(x), stream, 2.0)), ref.average, rtol=1e-12)


# Peak resident memory from VmHWM: unlike ru_maxrss it starts afresh at exec,
# instead of inheriting the (large) peak of the pytest process that forked it.
MEMORY_PROBE = """
import re, sys, numpy as np
from damlab import engine, Binary
P = int(sys.argv[1])
x = Binary().sample(1, 64, seed=1).astype(np.float32)
out = engine.step(x, Binary().stream(P, 64, seed=0), 1.0)
assert np.all(np.isfinite(out))
print(int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1]) / 2**10)  # MiB
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_memory_does_not_grow_with_P():
    peak = {}
    for P in (10**5, 10**7):
        out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(P)], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        peak[P] = float(out.stdout)
    # 10^7 patterns would take 2.4 GiB as float32; the stream holds a few chunks per thread
    assert peak[10**7] < 512
    assert peak[10**7] - peak[10**5] < 64


@pytest.mark.parametrize("call,exc,param", [
    (lambda xi, x: engine.step(x[:, :5], xi, 1.0), ValueError, "N="),
    (lambda xi, x: engine.step(x, xi[:, :5], 1.0), ValueError, "xi"),
    (lambda xi, x: engine.step(x, xi, 0.0), ValueError, "lam"),
    (lambda xi, x: engine.step(x, xi, -1.0), ValueError, "lam"),
    (lambda xi, x: engine.step(x, xi, float("inf")), ValueError, "lam"),
    (lambda xi, x: engine.step(x, xi, float("nan")), ValueError, "lam"),
    (lambda xi, x: engine.step(x, xi, "big"), TypeError, "lam"),
    (lambda xi, x: engine.step(np.where(x > 0, np.nan, x), xi, 1.0), ValueError, "states x"),
    (lambda xi, x: engine.step(x, np.where(xi > 2, np.inf, xi), 1.0), ValueError, "patterns xi"),
    (lambda xi, x: engine.step(x, np.where(xi > 2, np.nan, xi), 1.0), ValueError, "patterns xi"),
    (lambda xi, x: engine.step(x, Gaussian().stream(100, 7), 1.0), ValueError, "N="),
    (lambda xi, x: engine.step(x, xi[:0], 1.0), ValueError, "P >= 1"),
    (lambda xi, x: engine.step(x[:0], xi, 1.0), ValueError, "states x"),
    (lambda xi, x: engine.step(x[None], xi, 1.0), ValueError, "states x"),
    (lambda xi, x: engine.weight(x, xi, 1.0, mu=200), ValueError, "mu"),
    (lambda xi, x: engine.weight(x, xi, 1.0, mu=-1), ValueError, "mu"),
    (lambda xi, x: engine.weight(x, xi, 1.0, mu=0.5), TypeError, "mu"),
    (lambda xi, x: engine.scan(x, xi, average=True), ValueError, "lam"),
    (lambda xi, x: engine.step(x, xi, 1.0, chunk=0), ValueError, "chunk"),
    (lambda xi, x: engine.top_overlaps(x, xi, k=0), ValueError, "k"),
    (lambda xi, x: engine.step(x, 3.0, 1.0), TypeError, "xi"),
])
def test_bad_input_names_the_parameter(call, exc, param):
    xi = Gaussian().sample(200, 16, seed=0)
    with pytest.raises(exc, match=param):
        call(xi, xi[:3])
