"""Tests of damlab.models.Hopfield: couplings, dynamics at T = 0 and T > 0, bad input."""

import numpy as np
import pytest

from damlab import Binary, Gaussian, Hopfield


def spins(rng, B, N):
    return np.where(rng.random((B, N)) < 0.5, 1.0, -1.0)


def hebb(xi):
    """The explicit Hebb sum J_ij = (1/N) Σ_μ ξ_i^μ ξ_j^μ, J_ii = 0, pattern by pattern."""
    P, N = xi.shape
    J = sum(np.outer(x, x) for x in xi) / N
    np.fill_diagonal(J, 0)
    return J


def test_couplings_are_the_hebb_sum_symmetric_with_zero_diagonal():
    xi = Gaussian().sample(7, 40, seed=1)
    J = Hopfield(xi).J
    assert np.array_equal(J, J.T)
    assert np.all(np.diag(J) == 0)
    # a matmul and a sum of outer products differ by float64 rounding of 7 terms of O(1)
    np.testing.assert_allclose(J, hebb(xi), rtol=0, atol=1e-14)


def test_fields_and_energy_use_the_couplings():
    rng = np.random.default_rng(2)
    xi = Gaussian().sample(12, 60, seed=2)
    net, s = Hopfield(xi), spins(rng, 5, 60)
    J = hebb(xi)
    # the factored form ξᵀ(ξs)/N - diag and J s agree to float64 rounding of O(1) sums
    np.testing.assert_allclose(net.fields(s), s @ J, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.energy(s), -0.5 * np.einsum("bi,ij,bj->b", s, J, s), rtol=1e-12)
    np.testing.assert_allclose(net.overlaps(s), s @ xi.T / 60, rtol=1e-12)
    assert net.energy(s[0]).shape == () and net.overlaps(s[0]).shape == (12,)


def test_sync_step_is_sign_of_explicit_fields():
    rng = np.random.default_rng(3)
    xi = Gaussian().sample(30, 100, seed=3)
    s = spins(rng, 8, 100)
    # Gaussian patterns: no field is exactly zero, so sign(J s) is unambiguous
    expected = np.sign(s @ hebb(xi))
    assert np.array_equal(Hopfield(xi).step(s), expected)
    assert not np.array_equal(expected, s)  # the step does something


def test_zero_field_keeps_the_spin():
    # Two binary patterns: N h_i = Σ_μ ξ_i^μ Σ_{j≠i} ξ_j^μ s_j is an even integer, often 0.
    rng = np.random.default_rng(4)
    xi, N = Binary().sample(2, 9, seed=4), 9
    s = spins(rng, 50, N)
    Nh = (s @ xi.T) @ xi - 2 * s  # exact integers (Σ_μ (ξ_i^μ)² = 2)
    assert np.any(Nh == 0)  # ties do occur here
    expected = np.where(Nh == 0, s, np.sign(Nh))
    net = Hopfield(xi)
    assert np.array_equal(net.step(s), expected)
    # an asynchronous single-site update follows the same rule
    i = 3
    assert np.array_equal(net.sweep(s, sites=[i])[:, i], expected[:, i])


def test_patterns_are_fixed_points_at_small_load():
    # N = 500, P = 10: crosstalk std sqrt(P/N) = 0.14 against a signal of 1, a flip is a 7σ event
    xi = Binary().sample(10, 500, seed=5)
    net = Hopfield(xi)
    assert np.array_equal(net.step(xi), xi)
    assert np.array_equal(net.sweep(xi, seed=0), xi)
    res = net.run(xi, seed=0)
    assert res.converged and res.steps == 1 and np.array_equal(res.x, xi)


def test_energy_never_increases_along_sweeps():
    rng = np.random.default_rng(6)
    xi = Binary().sample(30, 200, seed=6)
    net, s = Hopfield(xi), spins(rng, 6, 200)
    E = [net.energy(s)]
    gen = np.random.default_rng(7)
    for _ in range(8):
        s = net.sweep(s, seed=gen)
        E.append(net.energy(s))
    E = np.array(E)
    # fields of ±1 patterns are multiples of 1/N: energies are exact to ~1e-12 at this size
    assert np.all(np.diff(E, axis=0) <= 1e-9)
    assert np.all(E[-1] < E[0] - 10)  # and it does go down


def test_energy_never_increases_at_each_single_flip():
    rng = np.random.default_rng(8)
    xi = Gaussian().sample(6, 40, seed=8)
    net, s = Hopfield(xi), spins(rng, 3, 40)
    E, flips = net.energy(s), 0
    for i in rng.permutation(40):
        new = net.sweep(s, sites=[i])
        flips += int(np.sum(new != s))
        E_new = net.energy(new)
        # a flip lowers E by 2|h_i| exactly; 1e-12 allows float64 rounding of O(10) energies
        assert np.all(E_new <= E + 1e-12)
        np.testing.assert_allclose(E - E_new, np.abs(2 * net.fields(s)[:, i]) * (new[:, i] != s[:, i]),
                                   atol=1e-12)
        s, E = new, E_new
    assert flips > 10


def test_incremental_fields_equal_fields_from_scratch():
    rng = np.random.default_rng(9)
    xi = Gaussian().sample(25, 150, seed=9)
    net, s0 = Hopfield(xi), spins(rng, 4, 150)
    s, h = net._sweep(s0, 0.0, np.random.default_rng(10))
    assert np.sum(s != s0) > 50  # many flips, each an incremental update of h
    # ~100 incremental float64 updates of O(1) fields: rounding well below 1e-12
    # (the sweep carries N·h)
    np.testing.assert_allclose(h / 150, s @ hebb(xi), rtol=0, atol=1e-12)
    # the same at T > 0, where flips go both ways
    s, h = net._sweep(s0, 1.0, np.random.default_rng(11))
    np.testing.assert_allclose(h / 150, s @ hebb(xi), rtol=0, atol=1e-12)


def reference_sweep(xi, s, order, theta):
    """The sweep by its definition, site after site, each field from scratch in float64:
    s_i <- sgn(2 h_i - θ), kept where that is exactly 0. Also returns how many were 0."""
    N = xi.shape[1]
    NJ = xi.T.astype(np.float64) @ xi
    np.fill_diagonal(NJ, 0)
    s, ties = s.astype(np.float64), 0
    for b in range(s.shape[0]):
        for k, i in enumerate(order[b]):
            gain = 2 * (NJ[i] @ s[b]) / N - theta[b, k]
            if gain != 0:
                s[b, i] = np.sign(gain)
            ties += gain == 0
    return s, ties


@pytest.mark.parametrize("ensemble,dtype", [(Binary(), "float64"), (Binary(), "float32"),
                                            (Gaussian(), "float64")])
@pytest.mark.parametrize("T", [0.0, 0.8])
def test_sweep_equals_the_site_by_site_definition(ensemble, dtype, T):
    # Binary patterns with P and N even: many exactly zero fields, which must keep their
    # spins (the sweep's integer-valued N·h makes them exact); the NumPy sweep jumps from
    # flip to flip, the reference visits every site. Gaussian: the fields are rounded,
    # but no gain is within rounding of 0 for this seed, so the states are identical.
    N, B = 120, 3
    xi = ensemble.sample(40, N, seed=30, dtype=dtype)
    net, s0 = Hopfield(xi), spins(np.random.default_rng(31), B, N).astype(dtype)
    order, theta = net._plan(B, T, np.random.default_rng(32), None)
    # the same thresholds as the sweep, which draws them in the patterns' dtype
    theta = np.zeros(order.shape) if theta is None else theta.astype(dtype).astype(np.float64)
    expected, ties = reference_sweep(xi, s0, order, theta)
    got = net.sweep(s0, T=T, seed=np.random.default_rng(32))
    assert np.sum(got != s0) > 50
    assert np.array_equal(got, expected)
    if isinstance(ensemble, Binary) and T == 0:
        # ties were met (with J = ξᵀξ/N and incremental fields, 5 of them came out
        # as ±1e-16 and flipped their spins)
        assert ties > 0


def test_sweep_of_states_that_are_not_spins():
    # the first visit of each site sets it to ±1, as the definition says
    xi = Gaussian().sample(20, 60, seed=33)
    net, s0 = Hopfield(xi), np.random.default_rng(34).uniform(-1, 1, (2, 60))
    order, _ = net._plan(2, 0.0, np.random.default_rng(35), None)
    expected, _ = reference_sweep(xi, s0, order, np.zeros(order.shape))
    got = net.sweep(s0, seed=35)
    assert np.all(np.abs(got) == 1)
    np.testing.assert_array_equal(got, expected)


def test_sweep_visits_each_site_once_in_a_random_order_per_replica():
    rng = np.random.default_rng(12)
    xi = Gaussian().sample(5, 30, seed=12)
    net, s = Hopfield(xi), np.tile(spins(rng, 1, 30), (2, 1))
    # identical replicas, different site orders: asynchronous results differ
    out = net.sweep(s, seed=13)
    assert not np.array_equal(out[0], out[1])
    # each replica equals a sweep of that replica alone with its own order
    order = np.random.default_rng(13).permuted(np.tile(np.arange(30), (2, 1)), axis=1)
    for b in range(2):
        assert np.array_equal(out[b], net.sweep(s[b], sites=order[b]))


def test_glauber_at_very_low_temperature_is_zero_temperature():
    rng = np.random.default_rng(14)
    xi = Gaussian().sample(20, 200, seed=14)
    net, s = Hopfield(xi), spins(rng, 4, 200)
    # same seed, same site orders; at T = 1e-9 a spin disagrees with sign(h) with
    # probability e^{-2|h|/T}, negligible unless |h| < 1e-7 (Gaussian fields: never here)
    assert np.array_equal(net.sweep(s, T=1e-9, seed=15), net.sweep(s, T=0, seed=15))


def test_glauber_single_site_follows_the_heat_bath_probability():
    rng = np.random.default_rng(16)
    xi = Gaussian().sample(10, 50, seed=16)
    net, T, B = Hopfield(xi), 1.0, 20000
    s = np.tile(spins(rng, 1, 50), (B, 1))
    h = net.fields(s[0])
    for i in np.argsort(np.abs(h))[[10, 25, 40]]:  # small, medium and large fields
        new = net.sweep(s, T=T, seed=int(i), sites=[i])[:, i]
        # <s_i> = tanh(h_i/T); the mean of B ±1 draws has std <= 1/sqrt(B) = 0.007: 5σ
        assert abs(new.mean() - np.tanh(h[i] / T)) < 5 / np.sqrt(B)


def test_glauber_at_high_temperature_demagnetises():
    xi = Binary().sample(10, 500, seed=17)
    net, T = Hopfield(xi), 1000.0
    s = np.tile(xi[0], (20, 1))
    res = net.run(s, T=T, max_sweeps=3, seed=18)
    assert res.steps == 3 and not res.converged  # no fixed point at T > 0
    m = res.x @ xi[0] / 500
    # <s_i> = tanh(h_i/T) with |h_i| <~ 2 gives a bias < 0.002; the mean of 10^4 ±1
    # spins has std 0.01: 5σ = 0.05, against the initial overlap 1
    assert abs(m.mean()) < 0.05


def test_retrieval_from_a_noisy_pattern():
    rng = np.random.default_rng(19)
    N, P = 1000, 50  # alpha = 0.05, well inside the retrieval phase (alpha_c = 0.138)
    xi = Binary().sample(P, N, seed=19)
    net = Hopfield(xi)
    s = xi[:5] * np.where(rng.random((5, N)) < 0.1, -1.0, 1.0)  # 10% of spins flipped
    for dynamics in ("async", "sync"):
        res = net.run(s, dynamics=dynamics, seed=20)
        m = np.einsum("bi,bi->b", res.x, xi[:5]) / N
        # AGS at alpha = 0.05: m = 1 - O(1e-5); finite N adds O(1/N) errors: 0.99 is safe
        assert res.converged and np.all(m > 0.99)


def test_patterns_from_a_stream_are_read_into_memory():
    ens = Binary()
    a = Hopfield(ens.sample(20, 64, seed=21))
    b = Hopfield(ens.stream(20, 64, seed=21, chunk=7, dtype="float64"))
    assert np.array_equal(a.J, b.J)


def test_same_numbers_on_a_foreign_device(device):
    # array_api_strict arrays on a simulated device (conftest): a hidden NumPy call raises
    rng = np.random.default_rng(22)
    xi, s = Gaussian().sample(15, 80, seed=22), spins(rng, 3, 80)
    net, strict = Hopfield(xi), Hopfield(device.put(xi))
    S = device.put(s)
    for name in ("step", "energy", "fields", "overlaps"):
        # float64 rounding: the same sums, possibly in another order
        np.testing.assert_allclose(device.get(getattr(strict, name)(S)), getattr(net, name)(s),
                                   rtol=1e-12, atol=1e-12)
    for T in (0.0, 0.7):  # same seed, same host random numbers, same sweep
        assert np.array_equal(device.get(strict.sweep(S, T=T, seed=23)), net.sweep(s, T=T, seed=23))
    assert np.array_equal(device.get(strict.sweep(S, sites=[4, 2])), net.sweep(s, sites=[4, 2]))
    for dynamics in ("async", "sync"):
        a, b = strict.run(S, dynamics=dynamics, seed=24), net.run(s, dynamics=dynamics, seed=24)
        assert (a.steps, a.converged) == (b.steps, b.converged)
        assert np.array_equal(device.get(a.x), b.x)
    np.testing.assert_allclose(device.get(strict.J), net.J, rtol=1e-12)
    # states given as NumPy arrays move to the patterns' device
    assert np.array_equal(device.get(strict.step(s)), net.step(s))


def test_float32_patterns_give_float32_states():
    xi = Binary().sample(10, 100, seed=25, dtype="float32")
    net = Hopfield(xi)
    assert net.sweep(xi[:2], seed=0).dtype == np.float32
    assert net.step(xi[:2]).dtype == np.float32 and net.energy(xi[:2]).dtype == np.float32


# ---- bad input: one case each, the message names the parameter -------------------

XI = Binary().sample(4, 10, seed=0)


@pytest.mark.parametrize("make, error, match", [
    (lambda: Hopfield(np.zeros((0, 10))), ValueError, r"^P must"),
    (lambda: Hopfield(np.zeros((3, 0))), ValueError, r"^N must"),
    (lambda: Hopfield(np.ones(10)), ValueError, r"patterns xi must be a 2-d"),
    (lambda: Hopfield(np.where(np.eye(4, 10) > 0, np.nan, XI)), ValueError, r"patterns xi contains NaN"),
    (lambda: Hopfield(XI).step(np.ones(11)), ValueError, r"states s must have shape .* N = 10"),
    (lambda: Hopfield(XI).sweep(np.ones((2, 9))), ValueError, r"states s must have shape"),
    (lambda: Hopfield(XI).energy(np.full(10, np.inf)), ValueError, r"states s contains NaN or inf"),
    (lambda: Hopfield(XI).sweep(np.ones(10), T=-1.0), ValueError, r"^T must"),
    (lambda: Hopfield(XI).sweep(np.ones(10), T=np.nan), ValueError, r"^T must"),
    (lambda: Hopfield(XI).sweep(np.ones(10), sites=[10]), ValueError, r"^sites must"),
    (lambda: Hopfield(XI).run(np.ones(10), dynamics="glauber"), ValueError, r"^dynamics must"),
    (lambda: Hopfield(XI).run(np.ones(10), dynamics="sync", T=1.0), ValueError, r"T > 0 needs"),
    (lambda: Hopfield(XI).run(np.ones(10), max_sweeps=0), ValueError, r"^max_sweeps must"),
], ids=["P<=0", "N<=0", "xi-1d", "xi-nan", "s-shape", "s-shape-sweep", "s-inf", "T<0",
        "T-nan", "sites", "dynamics", "sync-T", "max_sweeps"])
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_coupling_matrix_too_large_points_to_the_factored_form():
    xi = np.ones((1, 300_000))  # J would need 670 GiB
    net = Hopfield(xi)
    assert np.array_equal(net.step(xi), xi)  # the factored step needs no J
    with pytest.raises(ValueError, match=r"coupling matrix J .* GiB.*factored"):
        net.J
    with pytest.raises(ValueError, match=r"coupling matrix J"):
        net.sweep(xi)
