"""Tests of damlab.diffusion: the empirical score, Tweedie's denoiser = one modern Hopfield
step at λ = 1/t, the energy identity, the VP ↔ VE map, and the reverse-time samplers."""

import math

import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from damlab import Gaussian, ModernHopfield, Spherical
from damlab import diffusion as dm


def mixture_reference(x, xi, t):
    """Direct float64 formulas for p_t = (1/P) Σ N(ξ^μ, tI): log-density and posterior weights."""
    N = xi.shape[1]
    L = -np.sum((x[:, None, :] - xi[None]) ** 2, axis=2) / (2 * t)  # (B, P)
    logp = logsumexp(L, axis=1) - math.log(xi.shape[0]) - 0.5 * N * math.log(2 * math.pi * t)
    return logp, softmax(L, axis=1)


def test_denoiser_is_one_modern_hopfield_step_for_spherical_patterns():
    N, P = 64, 300
    xi = Spherical().sample(P, N, seed=1)
    rng = np.random.default_rng(1)
    # states between patterns, so that many softmax weights are non-negligible
    x = 0.5 * (xi[:6] + xi[6:12]) + 0.5 * rng.standard_normal((6, N))
    for t in (0.05, 1.0, 20.0):
        D, H = dm.denoiser(x, xi, t), ModernHopfield(xi, lam=1 / t).step(x)
        # the bias -|ξ|²/2t = -N/2t is the same for every μ up to float64 rounding of |ξ|²
        # (~1e-14 N/t in the exponent): the two agree to rounding of states of size O(1)
        np.testing.assert_allclose(D, H, rtol=0, atol=1e-12)
        assert D.shape == x.shape and dm.denoiser(x[0], xi, t).shape == (N,)
    # the check is not vacuous: at t = 20 the posterior is spread over many patterns
    _, w = mixture_reference(x, xi, 20.0)
    assert np.all(w.max(axis=1) < 0.5)


def test_denoiser_and_log_density_match_the_direct_mixture_for_any_norms():
    # Gaussian patterns: norms |ξ|² = N ± O(√N), so the bias -|ξ|²/2t matters
    N, P, t = 20, 400, 0.8
    xi = Gaussian().sample(P, N, seed=2)
    rng = np.random.default_rng(2)
    x = xi[:5] + math.sqrt(t) * rng.standard_normal((5, N))
    logp, w = mixture_reference(x, xi, t)
    # the engine's online log-sum-exp vs scipy on the expanded squares: float64 rounding
    np.testing.assert_allclose(dm.log_density(x, xi, t), logp, rtol=1e-12)
    np.testing.assert_allclose(dm.denoiser(x, xi, t), w @ xi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dm.score(x, xi, t), (w @ xi - x) / t, rtol=0, atol=1e-11)
    # dropping the bias (a plain Hopfield step) would be wrong by far more than rounding
    assert np.abs(ModernHopfield(xi, 1 / t).step(x) - w @ xi).max() > 1e-2


def test_streamed_patterns_give_the_same_numbers():
    N, P, t = 16, 5000, 1.5
    stream = Gaussian().stream(P, N, seed=3, chunk=700, dtype="float64")
    xi = Gaussian().sample(P, N, seed=3)
    x = np.random.default_rng(3).standard_normal((3, N)) * 2
    # the same sums in other chunks: float64 rounding
    np.testing.assert_allclose(dm.denoiser(x, stream, t), dm.denoiser(x, xi, t), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dm.log_density(x, stream, t), dm.log_density(x, xi, t), rtol=1e-12)
    a, b = dm.forward_sample(stream, t, 4, seed=5), dm.forward_sample(xi, t, 4, seed=5)
    assert np.array_equal(a.mu, b.mu)
    np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-14)


def test_score_is_the_gradient_of_the_log_density():
    N, P = 12, 50
    xi = Gaussian().sample(P, N, seed=4)
    rng = np.random.default_rng(4)
    h = 1e-4
    for t in (0.5, 2.0):
        x = 0.5 * (xi[:3] + xi[3:6]) + math.sqrt(t) * rng.standard_normal((3, N))
        E = h * np.eye(N)
        up = dm.log_density((x[:, None, :] + E).reshape(-1, N), xi, t).reshape(3, N)
        down = dm.log_density((x[:, None, :] - E).reshape(-1, N), xi, t).reshape(3, N)
        fd = (up - down) / (2 * h)
        # central difference, step h = 1e-4: truncation h²|∂³ln p|/6 ~ 2e-8 at t = 0.5
        # (measured; it scales as h²), rounding eps·|ln p|/h ~ 1e-10; the score is O(1)
        np.testing.assert_allclose(dm.score(x, xi, t), fd, rtol=0, atol=1e-6)


def test_energy_identity_for_spherical_patterns():
    # -t ln p_t(x) = E_MHN(x; λ = 1/t) + t ln P + (N t/2) ln(2π t) + N/2, where E_MHN includes
    # |x|²/2 (ModernHopfield.energy); equivalently |x|²/2 + lse part (quadratic=False)
    N, P = 32, 500
    xi = Spherical().sample(P, N, seed=6)
    rng = np.random.default_rng(6)
    x = np.concatenate([xi[:3] + 0.3 * rng.standard_normal((3, N)), 3 * rng.standard_normal((3, N))])
    for t in (0.1, 1.0, 10.0):
        net = ModernHopfield(xi, lam=1 / t)
        const = t * math.log(P) + 0.5 * N * t * math.log(2 * math.pi * t) + 0.5 * N
        lhs = -t * dm.log_density(x, xi, t)
        # rounding: each side is a sum of terms up to ~|x|²/2 ~ 150; 1e-12 of that
        np.testing.assert_allclose(lhs, net.energy(x) + const, rtol=0, atol=1e-10)
        np.testing.assert_allclose(lhs, 0.5 * np.sum(x * x, axis=1) + net.energy(x, quadratic=False) + const,
                                   rtol=0, atol=1e-10)
        # the constant does not depend on x, and without it the identity fails
        assert np.all(np.abs(lhs - net.energy(x)) > 1.0)


def test_vp_is_the_rescaled_ve_process():
    N, P = 10, 200
    xi = Gaussian().sample(P, N, seed=7)  # any norms
    rng = np.random.default_rng(7)
    for ab in (0.05, 0.5, 0.95):
        x = math.sqrt(ab) * xi[:4] + math.sqrt(1 - ab) * rng.standard_normal((4, N))
        # direct formulas for p(x) = (1/P) Σ N(x; √ᾱ ξ, (1 - ᾱ) I)
        L = -np.sum((x[:, None, :] - math.sqrt(ab) * xi[None]) ** 2, axis=2) / (2 * (1 - ab))
        w = softmax(L, axis=1)
        logp = logsumexp(L, axis=1) - math.log(P) - 0.5 * N * math.log(2 * math.pi * (1 - ab))
        score = (math.sqrt(ab) * (w @ xi) - x) / (1 - ab)
        # float64 rounding, amplified at most by 1/(1-ᾱ) = 20 in the score
        np.testing.assert_allclose(dm.vp_log_density(x, xi, ab), logp, rtol=1e-12)
        np.testing.assert_allclose(dm.vp_denoiser(x, xi, ab), w @ xi, rtol=0, atol=1e-12)
        np.testing.assert_allclose(dm.vp_score(x, xi, ab), score, rtol=0, atol=1e-10)
        t = dm.ve_time(ab)
        assert t == pytest.approx((1 - ab) / ab, rel=1e-15)
        np.testing.assert_allclose(dm.vp_denoiser(x, xi, ab), dm.denoiser(x / math.sqrt(ab), xi, t), atol=1e-14)
    np.testing.assert_allclose(dm.ve_time(np.array([0.2, 0.5])), [4.0, 1.0], rtol=1e-15)


def test_forward_sample_draws_from_p_t():
    N, P, t, B = 8, 4, 0.3, 4000
    xi = Spherical().sample(P, N, seed=8)
    x, mu = dm.forward_sample(xi, t, B, seed=8)
    assert x.shape == (B, N) and mu.shape == (B,)
    # μ uniform: each count is Binomial(4000, 1/4), std 27; 5 std
    assert np.all(np.abs(np.bincount(mu, minlength=P) - B / P) < 5 * 27)
    # x - ξ^μ has variance t per component: relative std of the estimate sqrt(2/(B N)) = 0.8 %; 5 std
    assert np.var(x - xi[mu]) == pytest.approx(t, rel=0.04)
    same = dm.forward_sample(xi, t, B, seed=8)
    assert np.array_equal(same.x, x) and np.array_equal(same.mu, mu)


def test_time_grid():
    g = dm.time_grid(100.0, 1e-3, 50)
    assert g.shape == (51,) and g[0] == 100.0 and g[-1] == 1e-3
    np.testing.assert_allclose(g[1:] / g[:-1], (1e-5) ** (1 / 50), rtol=1e-12)  # geometric
    np.testing.assert_allclose(dm.time_grid(2.0, 1.0, 4, spacing="linear"), [2, 1.75, 1.5, 1.25, 1])


def test_probability_flow_matches_the_exact_single_pattern_flow():
    # P = 1: the score is (ξ - x)/t and the ODE dx/dt = (x - ξ)/2t is solved exactly by
    # x_t - ξ = (x_0 - ξ) sqrt(t/t_0)
    N = 8
    xi = Spherical().sample(1, N, seed=9)
    x0 = xi + math.sqrt(10) * np.random.default_rng(9).standard_normal((3, N))
    errors = {}
    for method in ("euler", "heun"):
        for K in (40, 80):
            times = dm.time_grid(10.0, 0.01, K)
            tr = dm.probability_flow(x0, xi, times, method=method)
            exact = xi + (x0 - xi) * np.sqrt(times[:, None, None] / 10.0)
            assert tr.x.shape == (K + 1, 3, N) and np.array_equal(tr.t, times)
            errors[method, K] = np.abs(tr.x - exact).max() / np.abs(x0 - xi).max()
    # global orders: halving the step divides the error by 2 (Euler) and by 4 (Heun); the
    # measured ratios are 2.02 and 4.13 (higher-order terms), hence the margins
    assert 1.8 < errors["euler", 40] / errors["euler", 80] < 2.2
    assert 3.6 < errors["heun", 40] / errors["heun", 80] < 4.6
    assert errors["heun", 80] < 1e-3


def test_reverse_sde_matches_the_euler_maruyama_variance_for_one_pattern():
    # P = 1: e = x - ξ follows e_{k+1} = (1 - h_k/t_k) e_k + sqrt(h_k) z_k, so from
    # Var e_0 = t_0 the variance per component is v_{k+1} = (1 - h_k/t_k)² v_k + h_k exactly
    N, B = 8, 4000
    xi = Spherical().sample(1, N, seed=10)
    times = dm.time_grid(10.0, 0.01, 60)
    x0 = dm.forward_sample(xi, times[0], B, seed=10).x
    tr = dm.reverse_sde(x0, xi, times, seed=11, save=[-1])
    assert tr.x.shape == (1, B, N) and tr.t.tolist() == [0.01]
    v = times[0]
    for t, t_next in zip(times[:-1], times[1:]):
        h = t - t_next
        v = (1 - h / t) ** 2 * v + h
    e = tr.x[-1] - xi
    # B N = 32000 components: the variance estimate has relative std sqrt(2/32000) = 0.8 %; 5 std
    assert np.var(e) == pytest.approx(v, rel=0.04)
    # the mean: 5 std of the mean of 32000 components
    assert abs(np.mean(e)) < 5 * math.sqrt(v / (B * N))
    # the exact reverse process ends at variance t_min; Euler-Maruyama exceeds it by a
    # relative δ with δ' = (1-ρ)δ + ρ²/(1-ρ), ρ = h/t fixed on a geometric grid (0.109 here),
    # whose fixed point δ = ρ/(1-ρ) = 0.122 is reached after 60 steps (contraction 0.89^60 ~ 1e-3)
    rho = 1 - times[1] / times[0]
    assert v / times[-1] - 1 == pytest.approx(rho / (1 - rho), rel=1e-2)


@pytest.mark.parametrize("sampler", ["ode", "sde"])
def test_samplers_collapse_onto_stored_patterns(sampler):
    # P = 5 spherical patterns in N = 16 (pairwise distances ~ sqrt(2N)), started from pure
    # Gaussian noise of variance t_max = 100 and run to t_min = 1e-3 on 100 geometric steps
    N, P, B = 16, 5, 40
    xi = Spherical().sample(P, N, seed=12)
    times = dm.time_grid(100.0, 1e-3, 100)
    x0 = 10.0 * np.random.default_rng(12).standard_normal((B, N))
    if sampler == "ode":
        tr = dm.probability_flow(x0, xi, times)
    else:
        tr = dm.reverse_sde(x0, xi, times, seed=13)
    end = tr.x[-1]
    dist = np.sqrt(np.sum((end[:, None, :] - xi[None]) ** 2, axis=2) / N)  # (B, P) rms distance
    near = np.sort(dist, axis=1)
    # memorisation: near p_{t_min} each sample is ξ^μ + sqrt(t_min) noise, rms distance
    # sqrt(t_min) = 0.03 (max over 40 samples < 0.06); 0.1 leaves room for the
    # discretisation, and every other pattern stays at rms distance ~ sqrt(2)
    assert np.all(near[:, 0] < 0.1)
    assert np.all(near[:, 1] > 0.7)
    # the samples spread over the stored patterns: each has probability 1/5, and a pattern
    # is missed with probability (4/5)^40 ~ 1e-4
    assert len(np.unique(np.argmin(dist, axis=1))) == P
    # at the start the states were far from every pattern (sqrt(t_max) = 10)
    assert np.all(np.sqrt(np.sum((x0[:, None, :] - xi[None]) ** 2, axis=2) / N) > 3)


def test_samplers_are_reproducible_and_save_selected_times():
    xi = Spherical().sample(3, 6, seed=14)
    times = dm.time_grid(5.0, 0.05, 10)
    x0 = np.random.default_rng(14).standard_normal((2, 6))
    a = dm.reverse_sde(x0, xi, times, seed=1)
    assert np.array_equal(a.x, dm.reverse_sde(x0, xi, times, seed=1).x)
    assert not np.allclose(a.x[-1], dm.reverse_sde(x0, xi, times, seed=2).x[-1])
    part = dm.reverse_sde(x0, xi, times, seed=1, save=[0, 5, -1])
    assert np.array_equal(part.t, times[[0, 5, 10]]) and np.array_equal(part.x, a.x[[0, 5, 10]])
    one = dm.probability_flow(x0[0], xi, times, save=[-1])
    assert one.x.shape == (1, 6)
    np.testing.assert_allclose(one.x[0], dm.probability_flow(x0, xi, times).x[-1, 0], rtol=0, atol=1e-14)


def test_same_numbers_on_a_foreign_device(device):
    # array_api_strict arrays on a simulated device (conftest): a hidden NumPy call raises
    xi, t = Gaussian().sample(200, 12, seed=15), 0.7
    x = np.random.default_rng(15).standard_normal((3, 12))
    X, XI = device.put(x), device.put(xi)
    for f in (dm.denoiser, dm.score, dm.log_density):
        # float64 rounding: the same sums in the same chunks
        np.testing.assert_allclose(device.get(f(X, XI, t)), f(x, xi, t), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(device.get(dm.vp_score(X, XI, 0.3)), dm.vp_score(x, xi, 0.3), rtol=1e-12, atol=1e-13)
    times = dm.time_grid(5.0, 0.1, 5)
    np.testing.assert_allclose(device.get(dm.reverse_sde(X, XI, times, seed=3).x),
                               dm.reverse_sde(x, xi, times, seed=3).x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(device.get(dm.probability_flow(X, XI, times).x),
                               dm.probability_flow(x, xi, times).x, rtol=1e-12, atol=1e-12)
    noisy = dm.forward_sample(XI, t, 3, seed=4)
    np.testing.assert_allclose(device.get(noisy.x), dm.forward_sample(xi, t, 3, seed=4).x, rtol=0, atol=1e-15)


def test_float32_stays_float32():
    xi = Spherical().sample(50, 16, seed=16, dtype="float32")
    x = np.random.default_rng(16).standard_normal((2, 16)).astype(np.float32)
    D = dm.denoiser(x, xi, 0.5)
    assert D.dtype == np.float32 and dm.log_density(x, xi, 0.5).dtype == np.float32
    # float32 rounding of scores of size |x||ξ|/t ~ 50: weights to ~1e-5 relative
    np.testing.assert_allclose(D, dm.denoiser(x.astype(np.float64), xi.astype(np.float64), 0.5), atol=1e-4)
    assert dm.reverse_sde(x, xi, dm.time_grid(1.0, 0.1, 3), seed=0).x.dtype == np.float32


# ---- bad input: one case each, the message names the parameter -------------------

XI = Gaussian().sample(5, 8, seed=0)
X = np.ones((2, 8))
TIMES = [1.0, 0.5, 0.1]


@pytest.mark.parametrize("make, error, match", [
    (lambda: dm.denoiser(X, XI, 0.0), ValueError, r"^t must"),
    (lambda: dm.score(X, XI, -1.0), ValueError, r"^t must"),
    (lambda: dm.log_density(X, XI, np.nan), ValueError, r"^t must"),
    (lambda: dm.denoiser(X, XI, None), TypeError, r"^t must"),
    (lambda: dm.denoiser(np.ones((2, 9)), XI, 1.0), ValueError, r"^states x must have shape .* N = 8"),
    (lambda: dm.log_density(np.full(8, np.inf), XI, 1.0), ValueError, r"^states x contains NaN or inf"),
    (lambda: dm.score(X, np.where(np.eye(5, 8) > 0, np.nan, XI), 1.0), ValueError, r"^xi contains NaN"),
    (lambda: dm.denoiser(X, np.ones(8), 1.0), ValueError, r"^xi must have shape"),
    (lambda: dm.vp_denoiser(X, XI, 1.0), ValueError, r"^alpha_bar must"),
    (lambda: dm.vp_score(X, XI, 0.0), ValueError, r"^alpha_bar must"),
    (lambda: dm.ve_time([0.5, 1.5]), ValueError, r"^alpha_bar must"),
    (lambda: dm.probability_flow(X, XI, [0.1, 0.5]), ValueError, r"^times must be strictly decreasing"),
    (lambda: dm.probability_flow(X, XI, [1.0, 0.0]), ValueError, r"^times must be finite and > 0"),
    (lambda: dm.reverse_sde(X, XI, [1.0]), ValueError, r"^times must"),
    (lambda: dm.probability_flow(X, XI, TIMES, method="rk4"), ValueError, r"^method must"),
    (lambda: dm.reverse_sde(X, XI, TIMES, save=[3]), ValueError, r"^save must"),
    (lambda: dm.reverse_sde(np.ones((2, 7)), XI, TIMES), ValueError, r"^states x must have shape"),
    (lambda: dm.time_grid(1.0, 2.0, 10), ValueError, r"^t_min must be < t_max"),
    (lambda: dm.time_grid(1.0, 0.1, 0), ValueError, r"^steps must"),
    (lambda: dm.time_grid(1.0, 0.1, 5, spacing="log"), ValueError, r"^spacing must"),
    (lambda: dm.forward_sample(XI, 1.0, 0), ValueError, r"^B must"),
], ids=["t=0", "t<0", "t-nan", "t-None", "x-shape", "x-inf", "xi-nan", "xi-1d", "alpha_bar=1", "alpha_bar=0",
        "ve_time", "times-up", "times-0", "times-short", "method", "save", "sampler-x-shape", "grid-order",
        "grid-steps", "grid-spacing", "B"])
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()
