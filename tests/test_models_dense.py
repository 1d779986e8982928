"""Tests of damlab.models.DenseMemory: exact asynchronous update, self-excluded parallel update."""

import numpy as np
import pytest
from scipy.special import logsumexp

from damlab import Binary, DenseMemory, Gaussian, Hopfield, backend, engine

MODELS = [dict(F="power", n=3), dict(F="power", n=4), dict(F="exp", lam=0.5)]
IDS = ["n=3", "n=4", "exp"]


def spins(rng, B, N):
    return np.where(rng.random((B, N)) < 0.5, 1.0, -1.0)


def F(x, F="power", n=3, lam=1.0):
    return x**n if F == "power" else np.exp(lam * x)


def brute_energy(xi, s, F="power", n=3, lam=1.0):
    """E = -Σ_μ F(ξ^μ·s), or -(1/λ) ln Σ_μ e^{λ ξ^μ·s}, state by state."""
    a = np.array([xi @ x for x in np.atleast_2d(s)])
    return -logsumexp(lam * a, axis=1) / lam if F == "exp" else -np.sum(a**n, axis=1)


def brute_parallel(xi, s, F="power", n=3, lam=1.0):
    """s_i <- sgn Σ_μ ξ_i^μ F'(Σ_{j≠i} ξ_j^μ s_j), neuron by neuron (zero field: keep s_i)."""
    out, fields = s.copy(), np.zeros_like(s)
    for b in range(s.shape[0]):
        for i in range(s.shape[1]):
            excl = xi @ s[b] - xi[:, i] * s[b, i]
            fields[b, i] = xi[:, i] @ (excl ** (n - 1) if F == "power" else np.exp(lam * excl))
            out[b, i] = s[b, i] if fields[b, i] == 0 else np.sign(fields[b, i])
    return out, fields


def brute_sweep(xi, s, sites, **kw):
    """Sequential exact update: each visited spin takes the value of lower energy."""
    s = s.copy()
    for b in range(s.shape[0]):
        for i in sites[b]:
            up, down = s[b].copy(), s[b].copy()
            up[i], down[i] = 1.0, -1.0
            gain = brute_energy(xi, down, **kw)[0] - brute_energy(xi, up, **kw)[0]
            s[b, i] = s[b, i] if gain == 0 else np.sign(gain)
    return s


@pytest.mark.parametrize("kw", MODELS, ids=IDS)
@pytest.mark.parametrize("ens", [Binary(), Gaussian()], ids=["binary", "gaussian"])
def test_parallel_update_equals_a_loop_over_neurons(kw, ens):
    rng = np.random.default_rng(1)
    N = 30
    xi = ens.sample(40, N, seed=2)
    s = spins(rng, 6, N)
    net = DenseMemory(xi, **kw)
    expected, fields = brute_parallel(xi, s, **kw)
    assert np.array_equal(net.step(s), expected)
    assert not np.array_equal(expected, s)
    if kw["F"] == "power":
        # the binomial expansion of (a - ξ_i s_i)^{n-1} sums terms of size <= P N^{n-1};
        # float64 rounding of that is < 1e-9 relative to the largest field here
        np.testing.assert_allclose(net.fields(s), fields, rtol=0, atol=1e-9 * np.abs(fields).max())
    else:
        # exp fields are reported up to a positive factor per state: compare them scaled
        # to a unit maximum per state; float64 rounding of sums of P terms is far below 1e-10
        def unit(h):
            return h / np.abs(h).max(axis=1, keepdims=True)
        np.testing.assert_allclose(unit(net.fields(s)), unit(fields), rtol=0, atol=1e-10)


def test_parallel_ties_keep_the_spin():
    # binary patterns and states: the fields are exact integers, and with P even some are 0
    rng = np.random.default_rng(3)
    xi = Binary().sample(4, 12, seed=3)
    s = spins(rng, 40, 12)
    expected, fields = brute_parallel(xi, s, F="power", n=3)
    assert np.any(fields == 0)
    assert np.array_equal(DenseMemory(xi, n=3).step(s), expected)


@pytest.mark.parametrize("n", [3, 4])
@pytest.mark.parametrize("ens", [Binary(), Gaussian()], ids=["binary", "gaussian"])
def test_large_parallel_update_split_between_threads_is_the_same(n, ens, monkeypatch):
    # B N P = 2^24 reaches the threshold for splitting a pass between threads
    rng = np.random.default_rng(14)
    xi = ens.sample(4096, 64, seed=14)
    s = spins(rng, 64, 64)
    net = DenseMemory(xi, n=n)
    threaded = net.fields(s)
    monkeypatch.setattr(backend, "THREAD_WORK", 2**62)
    # the same sums in another order: float64 rounding relative to the largest field
    np.testing.assert_allclose(threaded, net.fields(s), rtol=0, atol=1e-12 * np.abs(threaded).max())


@pytest.mark.parametrize("ens", [Binary(), Gaussian()], ids=["binary", "gaussian"])
def test_n2_parallel_update_is_the_parallel_hopfield_update(ens):
    rng = np.random.default_rng(4)
    xi = ens.sample(6, 50, seed=4)  # even P: binary fields can be exactly zero (ties)
    s = spins(rng, 30, 50)
    dense, hop = DenseMemory(xi, n=2), Hopfield(xi)
    assert np.array_equal(dense.step(s), hop.step(s))
    # the n = 2 field is N times the Hopfield field h = J s; rounding of O(N P) sums
    np.testing.assert_allclose(dense.fields(s), 50 * hop.fields(s), rtol=0, atol=1e-10)


@pytest.mark.parametrize("kw", MODELS, ids=IDS)
def test_sweep_is_the_exact_sequential_energy_update(kw):
    rng = np.random.default_rng(5)
    N = 30
    xi = Gaussian().sample(40, N, seed=5)
    s = spins(rng, 4, N)
    sites = np.array([rng.permutation(N) for _ in range(4)])
    out = DenseMemory(xi, **kw).sweep(s, sites=sites)
    assert np.array_equal(out, brute_sweep(xi, s, sites, **kw))
    assert not np.array_equal(out, s)


@pytest.mark.parametrize("kw", MODELS, ids=IDS)
def test_asynchronous_update_decreases_the_energy(kw):
    rng = np.random.default_rng(6)
    N = 40
    xi = Gaussian().sample(60, N, seed=6)
    net, s = DenseMemory(xi, **kw), spins(rng, 3, N)
    E0 = E = net.energy(s)
    np.testing.assert_allclose(E, brute_energy(xi, s, **kw), rtol=1e-12)
    for i in rng.permutation(N):  # single flips: the energy never goes up
        s = net.sweep(s, sites=[i])
        E_new = net.energy(s)
        # relative float64 rounding of energies that are sums of P terms
        assert np.all(E_new <= E + 1e-12 * np.abs(E))
        E = E_new
    res = net.run(s, seed=7)  # whole sweeps, to a fixed point
    assert res.converged and np.all(net.energy(res.x) <= E + 1e-12 * np.abs(E))
    assert np.all(net.energy(res.x) < E0)  # it does go down


@pytest.mark.parametrize("kw", MODELS, ids=IDS)
def test_glauber_single_site_follows_the_heat_bath_probability(kw):
    rng = np.random.default_rng(15)
    N, B = 30, 20000
    xi = Gaussian().sample(20, N, seed=15)
    s = spins(rng, 1, N)
    gains = []
    for i in range(N):
        up, down = s[0].copy(), s[0].copy()
        up[i], down[i] = 1.0, -1.0
        gains.append(brute_energy(xi, down, **kw)[0] - brute_energy(xi, up, **kw)[0])
    gains = np.array(gains)
    T = np.median(np.abs(gains))  # a temperature at which some sites are undecided
    net = DenseMemory(xi, **kw)
    for i in np.argsort(np.abs(gains))[[5, 15, 25]]:
        new = net.sweep(np.tile(s, (B, 1)), T=T, seed=int(i), sites=[i])[:, i]
        # P(s_i = +1) = 1/(1 + e^{-ΔE/T}), so <s_i> = tanh(ΔE/2T); the mean of B ±1
        # draws has std <= 1/sqrt(B) = 0.007: 5σ
        assert abs(new.mean() - np.tanh(gains[i] / (2 * T))) < 5 / np.sqrt(B)


def test_patterns_are_fixed_points_far_above_hopfield_capacity():
    # n = 3, N = 200, P = 400 = 2N (Hopfield's capacity is 0.138 N). Rescaled load
    # alpha'_3 = 3P/N^2 = 0.03, far below 0.252; at a pattern the field is N^2 against
    # crosstalk of std sqrt(3P) N: a single error is a 5.8σ event, ~3e-4 over all 8e4 sites
    xi = Binary().sample(400, 200, seed=8)
    net = DenseMemory(xi, n=3)
    assert np.array_equal(net.step(xi), xi)
    assert np.array_equal(net.sweep(xi[:50], seed=9), xi[:50])
    # and Hopfield does not hold them at this load
    assert not np.array_equal(Hopfield(xi).step(xi), xi)


def test_exponential_energy_is_finite_at_large_N():
    N = 2000
    xi = Binary().sample(50, N, seed=10)
    net = DenseMemory(xi, F="exp", lam=1.0)
    E = net.energy(xi[:4])
    # e^{λN} = e^{2000} overflows; the log-sum-exp does not. At a pattern E = -N minus
    # (1/λ) ln(1 + Σ_ν e^{λ(ξ^ν·ξ^μ - N)}), and ξ^ν·ξ^μ <= ~5 sqrt(N): the correction underflows
    assert np.all(np.isfinite(E))
    np.testing.assert_allclose(E, -N, rtol=1e-15)
    assert np.array_equal(net.step(xi[:4]), xi[:4])
    assert np.all(np.isfinite(net.fields(xi[:4])))
    assert np.array_equal(net.sweep(xi[:2], seed=0), xi[:2])


def test_exp_retrieves_from_a_noisy_pattern():
    rng = np.random.default_rng(11)
    N, P = 100, 2000  # P = e^{alpha N} with alpha = 0.076 < ln(2)/2 (Demircigil et al.)
    xi = Binary().sample(P, N, seed=11)
    s = xi[:4] * np.where(rng.random((4, N)) < 0.15, -1.0, 1.0)
    res = DenseMemory(xi, F="exp", lam=1.0).run(s, dynamics="sync")
    # at 15% noise the target's overlap 0.7 N beats the others' (<= ~0.4 N) by e^{30}
    assert res.converged and np.array_equal(res.x, xi[:4])


@pytest.mark.parametrize("kw", MODELS, ids=IDS)
@pytest.mark.parametrize("ens", [Binary(), Gaussian()], ids=["binary", "gaussian"])
def test_same_numbers_on_a_foreign_device(kw, ens, device):
    # array_api_strict arrays on a simulated device (conftest): a hidden NumPy call raises
    rng = np.random.default_rng(12)
    xi, s = ens.sample(30, 40, seed=12), spins(rng, 3, 40)
    net, strict = DenseMemory(xi, **kw), DenseMemory(device.put(xi), **kw)
    S = device.put(s)
    for name in ("step", "energy", "fields", "overlaps"):
        # float64 rounding: the same sums, possibly in another order
        np.testing.assert_allclose(device.get(getattr(strict, name)(S)), getattr(net, name)(s),
                                   rtol=1e-12, atol=1e-12)
    for T in (0.0, 0.5):
        assert np.array_equal(device.get(strict.sweep(S, T=T, seed=13)), net.sweep(s, T=T, seed=13))
    a, b = strict.run(S, dynamics="sync"), net.run(s, dynamics="sync")
    assert a.steps == b.steps and np.array_equal(device.get(a.x), b.x)


# ---- bad input: one case each, the message names the parameter -------------------

XI = Binary().sample(5, 10, seed=0)


@pytest.mark.parametrize("make, error, match", [
    (lambda: DenseMemory(XI, F="cubic"), ValueError, r"^F must be 'power' or 'exp'"),
    (lambda: DenseMemory(XI, n=1), ValueError, r"^n must be an integer >= 2"),
    (lambda: DenseMemory(XI, n=2.5), TypeError, r"^n must be an integer"),
    (lambda: DenseMemory(XI, F="exp", lam=0.0), ValueError, r"^lam must"),
    (lambda: DenseMemory(XI, F="exp", lam=-1.0), ValueError, r"^lam must"),
    (lambda: DenseMemory(XI, F="exp", lam=np.inf), ValueError, r"^lam must"),
    (lambda: DenseMemory(XI, F="exp", lam="1"), TypeError, r"^lam must"),
    (lambda: DenseMemory(np.zeros((0, 10))), ValueError, r"^P must"),
    (lambda: DenseMemory(np.zeros((5, 0))), ValueError, r"^N must"),
    (lambda: DenseMemory(np.where(np.eye(5, 10) > 0, np.inf, XI)), ValueError, r"patterns xi contains NaN or inf"),
    (lambda: DenseMemory(XI).step(np.ones((2, 11))), ValueError, r"states s must have shape .* N = 10"),
    (lambda: DenseMemory(XI).sweep(np.full(10, np.nan)), ValueError, r"states s contains NaN"),
], ids=["F", "n<2", "n-float", "lam=0", "lam<0", "lam-inf", "lam-str", "P<=0", "N<=0",
        "xi-inf", "s-shape", "s-nan"])
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_load_is_in_the_units_of_each_capacity():
    xi = Binary().sample(500, 20, seed=1)
    assert DenseMemory(xi, n=2).alpha == 25.0  # P/N, the Hopfield load
    assert DenseMemory(xi, n=3).alpha == 500 / 20**2  # P/N^{n-1}: capacity ∝ N^{n-1}
    assert DenseMemory(xi, F="exp").alpha == pytest.approx(np.log(500) / 20)  # P = e^{αN}
