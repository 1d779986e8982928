"""Tests of damlab.models.ModernHopfield: energy descent, retrieval, convergence, streams."""

import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from damlab import Binary, Gaussian, ModernHopfield, Spherical


def to_sphere(x):
    return x * np.sqrt(x.shape[-1]) / np.linalg.norm(x, axis=-1, keepdims=True)


def test_step_and_energy_match_a_float64_reference():
    rng = np.random.default_rng(1)
    xi, x, lam = Gaussian().sample(300, 20, seed=1), rng.standard_normal((4, 20)), 0.7
    net = ModernHopfield(xi, lam)
    scores = lam * x @ xi.T
    # the engine's online log-sum-exp equals the direct formula to float64 rounding
    np.testing.assert_allclose(net.step(x), softmax(scores, axis=1) @ xi, rtol=1e-10, atol=1e-12)
    E = -logsumexp(scores, axis=1) / lam
    np.testing.assert_allclose(net.energy(x, quadratic=False), E, rtol=1e-12)
    np.testing.assert_allclose(net.energy(x), E + 0.5 * np.sum(x * x, axis=1), rtol=1e-12)
    np.testing.assert_allclose(net.overlaps(x), x @ xi.T / 20, rtol=1e-12)
    assert net.step(x[0]).shape == (20,) and net.energy(x[0]).shape == ()


def test_energy_decreases_along_run():
    rng = np.random.default_rng(2)
    # λ small enough that the state wanders through mixtures for several steps
    xi = Gaussian().sample(200, 32, seed=2)
    net, x = ModernHopfield(xi, 0.08), rng.standard_normal((8, 32))
    E = [net.energy(x)]
    for _ in range(15):  # run one step at a time: the trajectory of run(max_steps=15)
        x = net.run(x, max_steps=1).x
        E.append(net.energy(x))
    E = np.array(E)
    # CCCP descent; 1e-12 relative allows float64 rounding once the state has converged
    assert np.all(np.diff(E, axis=0) <= 1e-12 * np.abs(E[1:]))
    assert np.all(E[-1] < E[0] - 1.0)  # it does go down


def test_lse_energy_decreases_along_run_on_the_sphere():
    rng = np.random.default_rng(3)
    xi = Spherical().sample(500, 32, seed=3)
    net, x = ModernHopfield(xi, 0.1), to_sphere(rng.standard_normal((8, 32)))
    E = [net.energy(x, quadratic=False)]
    for _ in range(15):
        x = net.run(x, max_steps=1, sphere=True).x
        # renormalised to |x|^2 = N to float64 rounding
        np.testing.assert_allclose(np.sum(x * x, axis=1), 32, rtol=1e-12)
        E.append(net.energy(x, quadratic=False))
    E = np.array(E)
    # on the sphere the step maximises the linearised lse, so the lse part alone descends
    assert np.all(np.diff(E, axis=0) <= 1e-12 * np.abs(E[1:]))
    assert np.all(E[-1] < E[0] - 1.0)


def test_one_step_from_a_pattern_returns_it_at_small_load():
    # N = 64, P = 100 (alpha = ln P / N = 0.07), λ = 1: another pattern's weight is
    # e^{λ(ξ^ν·ξ^μ - N)} with ξ^ν·ξ^μ <~ 4 sqrt(N) = 32, so below e^{-32} ~ 1e-14
    xi = Spherical().sample(100, 64, seed=4)
    net = ModernHopfield(xi, 1.0)
    np.testing.assert_allclose(net.step(xi), xi, rtol=0, atol=1e-10)
    assert np.array_equal(net.readout(net.step(np.sign(xi))), np.sign(xi))


def test_run_respects_the_tolerance():
    rng = np.random.default_rng(5)
    xi = Gaussian().sample(200, 32, seed=5)
    net, x = ModernHopfield(xi, 0.3), rng.standard_normal((4, 32))
    res = net.run(x, tol=1e-10, max_steps=500)
    assert res.converged and 1 < res.steps < 500
    # run stops at the first step that moves every component by less than tol
    moves, y = [], x
    for _ in range(res.steps):
        y, prev = net.step(y), y
        moves.append(np.max(np.abs(y - prev)))
    assert min(moves[:-1]) >= 1e-10 > moves[-1]
    assert np.array_equal(res.x, y)
    short = net.run(x, tol=1e-10, max_steps=res.steps - 1)
    assert not short.converged and short.steps == res.steps - 1
    loose = net.run(x, tol=1e3)  # any first step moves less than 1000
    assert loose.converged and loose.steps == 1
    # default tolerance: sqrt(float64 eps) = 1.5e-8
    default = net.run(x)
    assert default.converged and np.max(np.abs(net.step(default.x) - default.x)) < 1.5e-8


def test_readout_is_sign_with_zero_to_plus_one():
    net = ModernHopfield(np.eye(3), 1.0)
    assert np.array_equal(net.readout(np.array([-0.5, 0.0, 2.0])), [-1.0, 1.0, 1.0])


def test_patterns_from_a_stream_give_the_same_numbers():
    rng = np.random.default_rng(6)
    ens, P, N, lam = Binary(), 5000, 40, 0.2
    dense = ModernHopfield(ens.sample(P, N, seed=7), lam)
    stream = ModernHopfield(ens.stream(P, N, seed=7, chunk=999, dtype="float64"), lam)
    x = rng.standard_normal((3, N))
    # the same sums, chunked differently: float64 rounding
    np.testing.assert_allclose(stream.step(x), dense.step(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stream.energy(x), dense.energy(x), rtol=1e-12)
    np.testing.assert_allclose(stream.overlaps(x), dense.overlaps(x), rtol=1e-12)
    np.testing.assert_allclose(stream.weight(x, 3), dense.weight(x, 3), rtol=1e-10)
    values, indices = stream.top_overlaps(x, k=2)
    u = dense.overlaps(x)
    assert np.array_equal(indices[:, 0], np.argmax(u, axis=1))
    np.testing.assert_allclose(values[:, 0], np.max(u, axis=1), rtol=1e-12)
    res_s, res_d = stream.run(x), dense.run(x)
    assert res_s.steps == res_d.steps
    np.testing.assert_allclose(res_s.x, res_d.x, rtol=1e-10, atol=1e-12)


def test_same_numbers_on_a_foreign_device(device):
    # array_api_strict arrays on a simulated device (conftest): a hidden NumPy call raises
    rng = np.random.default_rng(8)
    xi, x = Gaussian().sample(300, 24, seed=8), rng.standard_normal((3, 24))
    net, strict = ModernHopfield(xi, 0.5), ModernHopfield(device.put(xi), 0.5)
    X = device.put(x)
    for name in ("step", "energy", "overlaps", "readout"):
        # float64 rounding: the same sums, possibly chunked differently
        np.testing.assert_allclose(device.get(getattr(strict, name)(X)), getattr(net, name)(x),
                                   rtol=1e-12, atol=1e-14)
    values, indices = strict.top_overlaps(X, k=2)
    assert np.array_equal(device.get(indices), net.top_overlaps(x, k=2)[1])
    np.testing.assert_allclose(device.get(strict.weight(X, 1)), net.weight(x, 1), rtol=1e-10)
    for sphere in (False, True):
        a, b = strict.run(X, sphere=sphere), net.run(x, sphere=sphere)
        assert a.steps == b.steps and a.converged == b.converged
        np.testing.assert_allclose(device.get(a.x), b.x, rtol=1e-12, atol=1e-14)


def test_streamed_patterns_with_states_on_a_foreign_device(device):
    rng = np.random.default_rng(10)
    stream = Gaussian().stream(3000, 16, seed=10, chunk=700, dtype="float64")
    net, x = ModernHopfield(stream, 0.5), rng.standard_normal((2, 16))
    dense = ModernHopfield(Gaussian().sample(3000, 16, seed=10), 0.5)
    np.testing.assert_allclose(device.get(net.step(device.put(x))), dense.step(x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(device.get(net.overlaps(device.put(x))), dense.overlaps(x), rtol=1e-12)


def test_float32_patterns_and_states_stay_float32():
    rng = np.random.default_rng(9)
    xi = Gaussian().sample(100, 16, seed=9, dtype="float32")
    net, x = ModernHopfield(xi, np.float64(0.5)), rng.standard_normal((2, 16)).astype(np.float32)
    assert net.step(x).dtype == np.float32 and net.run(x).x.dtype == np.float32
    assert net.energy(x).dtype == np.float32


# ---- bad input: one case each, the message names the parameter -------------------

XI = Gaussian().sample(5, 8, seed=0)


@pytest.mark.parametrize("make, error, match", [
    (lambda: ModernHopfield(XI, 0.0), ValueError, r"^lam must"),
    (lambda: ModernHopfield(XI, -1.0), ValueError, r"^lam must"),
    (lambda: ModernHopfield(XI, np.nan), ValueError, r"^lam must"),
    (lambda: ModernHopfield(XI, np.inf), ValueError, r"^lam must"),
    (lambda: ModernHopfield(XI, None), TypeError, r"^lam must"),
    (lambda: ModernHopfield(np.zeros((0, 8)), 1.0), ValueError, r"^P must"),
    (lambda: ModernHopfield(np.zeros((5, 0)), 1.0), ValueError, r"^N must"),
    (lambda: ModernHopfield(np.where(np.eye(5, 8) > 0, np.nan, XI), 1.0), ValueError, r"patterns xi contains NaN"),
    (lambda: ModernHopfield(XI, 1.0).step(np.ones((2, 9))), ValueError, r"states x must have shape .* N = 8"),
    (lambda: ModernHopfield(XI, 1.0).energy(np.full(8, np.nan)), ValueError, r"states x contains NaN"),
    (lambda: ModernHopfield(XI, 1.0).run(np.ones(8), tol=-1.0), ValueError, r"^tol must"),
    (lambda: ModernHopfield(XI, 1.0).run(np.ones(8), max_steps=0), ValueError, r"^max_steps must"),
], ids=["lam=0", "lam<0", "lam-nan", "lam-inf", "lam-None", "P<=0", "N<=0", "xi-nan", "x-shape",
        "x-nan", "tol", "max_steps"])
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_overlaps_with_too_many_streamed_patterns_point_to_top_overlaps():
    net = ModernHopfield(Gaussian().stream(10**12, 8, seed=0), 1.0)
    with pytest.raises(ValueError, match=r"overlaps .* GiB.*top_overlaps"):
        net.overlaps(np.ones(8))
