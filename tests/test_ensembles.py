import numpy as np
import pytest
from scipy import stats

from damlab import ensembles
from damlab.ensembles import BLOCK, Binary, Ensemble, Gaussian, HiddenManifold, Spherical

ALL = [
    Gaussian(), Spherical(), Binary(),
    HiddenManifold(0.5, "linear"), HiddenManifold(2.0, "relu"),
    HiddenManifold(1.0, "tanh"), HiddenManifold(0.25, "sign"),
]
IDS = [repr(e) for e in ALL]


@pytest.mark.parametrize("ens", ALL, ids=IDS)
def test_same_seed_same_patterns_whatever_the_chunk(ens):
    # P spans three blocks so that chunks straddle block boundaries
    P, N = 2 * BLOCK + 123, 9
    ref = ens.sample(P, N, seed=7)
    assert ref.shape == (P, N) and ref.dtype == np.float64
    for chunk in (1, 7, 1000, BLOCK, BLOCK + 1, P):
        stream = ens.stream(P, N, seed=7, chunk=chunk, dtype="float64")
        assert len(stream) == -(-P // chunk)
        np.testing.assert_array_equal(np.concatenate(list(stream)), ref)
    # chunks are computed independently: any order gives the same rows
    stream = ens.stream(P, N, seed=7, chunk=1000, dtype="float64")
    for k in reversed(range(len(stream))):
        np.testing.assert_array_equal(stream[k], ref[k * 1000: (k + 1) * 1000])
    np.testing.assert_array_equal(stream.rows(BLOCK - 2, BLOCK + 3), ref[BLOCK - 2: BLOCK + 3])


@pytest.mark.parametrize("ens", ALL, ids=IDS)
def test_seeds_and_dtypes(ens):
    a = ens.sample(50, 16, seed=1)
    assert not np.array_equal(a, ens.sample(50, 16, seed=2))
    a32 = ens.sample(50, 16, seed=1, dtype="float32")
    assert a32.dtype == np.float32
    np.testing.assert_array_equal(a32, a.astype(np.float32))  # one draw, two roundings
    g = np.random.default_rng(5)
    b = ens.sample(50, 16, seed=g)
    assert np.all(np.isfinite(b)) and not np.array_equal(b, ens.sample(50, 16, seed=g))


def test_cached_block_is_never_handed_out():
    stream = Gaussian().stream(10, 3, seed=0, dtype="float64")
    first = stream[0]
    first[:] = 0.0
    assert np.all(stream[0] != 0.0)


def test_gaussian_moments():
    xi = Gaussian().sample(2000, 50, seed=0)
    # 1e5 entries: the mean has standard error 1/sqrt(1e5) = 0.003, the variance 0.0045
    assert abs(xi.mean()) < 5 * 0.0032
    assert abs(xi.var() - 1) < 5 * 0.0045


def test_spherical_norm_is_exact():
    N = 37
    xi = Spherical().sample(500, N, seed=0)
    np.testing.assert_allclose((xi**2).sum(axis=1), N, rtol=1e-13)
    # isotropy: the first coordinate has variance |xi|^2/N = 1 (std error sqrt(2/500) = 0.063)
    assert abs(xi[:, 0].var() - 1) < 5 * 0.063


def test_binary_entries():
    xi = Binary().sample(1000, 64, seed=0)
    assert set(np.unique(xi)) == {-1.0, 1.0}
    # 64000 fair signs: the mean has standard deviation 1/sqrt(64000) = 0.004
    assert abs(xi.mean()) < 5 * 0.004


def test_hidden_manifold_structure():
    N, d = 40, 0.5
    ens = HiddenManifold(d, "linear", seed=3)
    assert ens.D(N) == 20 and ens.F(N).shape == (N, 20)
    xi = ens.sample(3000, N, seed=0)
    # the patterns live in the D-dimensional column space of F
    assert np.linalg.matrix_rank(xi) == 20
    # one F per instance and seed: same seed, same patterns; another seed, another manifold
    np.testing.assert_array_equal(xi, HiddenManifold(d, "linear", seed=3).sample(3000, N, seed=0))
    assert not np.allclose(xi, HiddenManifold(d, "linear", seed=4).sample(3000, N, seed=0))
    # E xi_i^2 = |F_i|^2 / D: average over i close to 1 (F has N*D = 800 entries: std error 0.05)
    assert abs((xi**2).mean() - 1) < 0.2


@pytest.mark.parametrize("act,check", [
    ("relu", lambda x: np.all(x >= 0) and np.mean(x == 0) > 0.4),
    ("tanh", lambda x: np.all(np.abs(x) < 1)),
    ("sign", lambda x: set(np.unique(x)) == {-1.0, 1.0}),
])
def test_hidden_manifold_activations(act, check):
    assert check(HiddenManifold(1.0, act).sample(500, 30, seed=1))


def test_get_by_name():
    assert isinstance(ensembles.get("spherical"), Spherical)
    hm = ensembles.get("hidden_manifold", d=2, activation="tanh")
    assert hm.d == 2.0 and hm.activation == "tanh"


@pytest.mark.parametrize("call,param", [
    (lambda: Gaussian().sample(0, 10), "P"),
    (lambda: Gaussian().sample(10, -1), "N"),
    (lambda: Gaussian().stream(-5, 10), "P"),
    (lambda: Gaussian().stream(5, 10, chunk=0), "chunk"),
    (lambda: Gaussian().sample(5, 10, dtype="int32"), "dtype"),
    (lambda: HiddenManifold(0.0), "d"),
    (lambda: HiddenManifold(-1.0), "d"),
    (lambda: HiddenManifold(float("nan")), "d"),
    (lambda: HiddenManifold(1.0, "softplus"), "activation"),
    (lambda: ensembles.get("uniform"), "ensemble"),
])
def test_bad_input_names_the_parameter(call, param):
    with pytest.raises(ValueError, match=param):
        call()


@pytest.mark.parametrize("call,param", [
    (lambda: Gaussian().sample(2.5, 10), "P"),
    (lambda: Gaussian().sample(5, 10, seed="a"), "seed"),
    (lambda: HiddenManifold(1.0, seed=1.5), "seed"),
])
def test_bad_types_name_the_parameter(call, param):
    with pytest.raises(TypeError, match=param):
        call()


def test_dense_request_too_large_points_to_the_stream():
    with pytest.raises(ValueError, match="stream"):
        Spherical().sample(10**12, 64)
    # the same P streams fine: nothing is allocated up front
    stream = Spherical().stream(10**12, 64, seed=0)
    assert stream.shape == (10**12, 64) and stream[len(stream) - 1].shape[1] == 64


# ---------------------------------------------------------------- overlap statistics

STATS = [Gaussian(), Spherical(), Binary(), HiddenManifold(0.5)]


@pytest.mark.parametrize("ens", STATS, ids=repr)
def test_closed_forms_agree_with_the_numerical_legendre_transform(ens):
    u = np.array([0.0, 0.1, 0.4, 0.8, 0.95])
    # the numerical route solves ψ′(λ) = u by bisection (to 1e-14) and evaluates λu - ψ(λ)
    np.testing.assert_allclose(ens.rate(u), Ensemble.rate_numeric(ens, u), rtol=1e-10, atol=1e-14)
    alpha = np.array([0.0, 0.05, 0.2, 0.5])
    np.testing.assert_allclose(ens.rate_inverse(alpha), Ensemble.rate_inverse_numeric(ens, alpha), rtol=1e-10)
    top = ens.rate(ens.u_sup) if np.isfinite(ens.u_sup) else np.inf  # I at the end of the support
    np.testing.assert_allclose(ens.rate(ens.rate_inverse(alpha)), np.minimum(alpha, top), rtol=1e-10, atol=1e-14)
    # ψ′ is the derivative of ψ (central differences, error ~h² ψ‴ ~ 1e-10) and (ψ′)⁻¹ inverts it
    lam, h = np.array([0.1, 0.5, 1.0, 2.0]), 1e-5
    np.testing.assert_allclose(ens.psi_prime(lam), (ens.psi(lam + h) - ens.psi(lam - h)) / (2 * h), rtol=1e-8)
    np.testing.assert_allclose(ens.psi_prime_inverse(ens.psi_prime(lam)), lam, rtol=1e-10)
    # near λ = 0 the overlap has variance ψ″(0)/N: 1 for the i.i.d. ensembles, 1 + 1/d for the manifold
    assert ens.psi(1e-4) / 1e-8 * 2 == pytest.approx(getattr(ens, "v", 1.0), rel=1e-6)


@pytest.mark.parametrize("N", [200, 2000])
def test_rate_functions_are_the_limits_of_the_exact_finite_N_laws(N):
    # Independent routes: the exact law of the overlap of one pattern with a fixed state,
    # spherical (u + 1)/2 ~ Beta((N-1)/2, (N-1)/2) and binary (1 + u)N/2 ~ Binomial(N, 1/2).
    # -(1/N) ln[p(u)/p(0)] -> I(u) with an O(ln N / N) correction (the prefactors of the
    # densities), so the gap must shrink ten-fold-ish from N = 200 to 2000: bound 3 ln N / N.
    u = np.array([0.1, 0.3, 0.6, 0.9])
    sph = -(stats.beta.logpdf((u + 1) / 2, (N - 1) / 2, (N - 1) / 2)
            - stats.beta.logpdf(0.5, (N - 1) / 2, (N - 1) / 2)) / N
    k = np.round((1 + u) * N / 2)
    binom = -(stats.binom.logpmf(k, N, 0.5) - stats.binom.logpmf(N // 2, N, 0.5)) / N
    assert np.all(np.abs(sph - Spherical().rate(u)) < 3 * np.log(N) / N)
    assert np.all(np.abs(binom - Binary().rate(2 * k / N - 1)) < 3 * np.log(N) / N)


def test_spherical_overlaps_follow_the_exact_beta_law():
    # sampled patterns against a fixed unit state: (u + 1)/2 ~ Beta((N-1)/2, (N-1)/2) at N = 30;
    # a Kolmogorov–Smirnov test on 20 000 overlaps (fixed seed; p = 1e-3 would be a real misfit)
    N = 30
    xi = Spherical().sample(20_000, N, seed=3)
    x = np.zeros(N)
    x[0] = np.sqrt(N)
    u = xi @ x / N
    assert stats.kstest((u + 1) / 2, stats.beta((N - 1) / 2, (N - 1) / 2).cdf).pvalue > 1e-3


def test_limits_and_supports():
    assert Binary().rate(1.0) == pytest.approx(np.log(2)) and Binary().rate_inverse(0.8) == 1.0
    assert Spherical().rate(1.0) == np.inf and Spherical().rate_inverse(5.0) < 1.0
    assert Binary().rate(1.5) == np.inf and Spherical().rate(-1.2) == np.inf
    # the Gaussian norm law |ξ|²/N ~ χ²_N/N: zero at s = 1, (s - 1 - ln s)/2 elsewhere
    assert Gaussian().norm_rate(1.0) == 0 and Gaussian().norm_rate(0.0) == np.inf
    assert Gaussian().norm_rate(2.0) == pytest.approx((1 - np.log(2)) / 2)
    assert Spherical().norm_rate(1.0) == 0 and Spherical().norm_rate(1.1) == np.inf
    # large λ: no overflow in ln cosh; the spherical ψ′ stays inside (-1, 1)
    assert Binary().psi(1000.0) == pytest.approx(1000 - np.log(2))
    assert 0 < Spherical().psi_prime(1e8) < 1 and Spherical().psi_prime(-3.0) < 0


def test_overlap_statistics_bad_input():
    with pytest.raises(ValueError, match="u"):
        Spherical().psi_prime_inverse(1.0)
    with pytest.raises(ValueError, match="alpha"):
        Gaussian().rate_inverse(-0.1)
    with pytest.raises(TypeError, match="lam"):
        Binary().psi("big")
    with pytest.raises(NotImplementedError, match="linear"):
        HiddenManifold(0.5, "relu").v  # the Gaussian overlap variance is the linear σ's only
    with pytest.raises(ValueError, match="u"):
        HiddenManifold(0.5, "tanh").psi_prime_inverse(0.6)  # beyond sup u = E|tanh h| ≈ 0.558


@pytest.mark.parametrize("ens", [Gaussian(), Spherical(), Binary(), HiddenManifold(0.5), HiddenManifold(2.0)], ids=repr)
def test_scores_sampled_directly_agree_in_law_with_scores_of_sampled_patterns(ens):
    # the exact-law shortcut against the default route (sample the vectors, take ξ·x), at
    # N = 24 for a state x that is itself a pattern of the ensemble (the retrieval test's
    # x = ξ¹); two-sample KS test on 20 000 draws each (fixed seeds; p < 1e-3 = a misfit)
    N = 24
    x = ens.sample(1, N, seed=5)[0]
    direct = ens.sample_scores(x, 20_000, seed=6)
    vectors = ens.scores_of_patterns(x, 20_000, seed=7)
    assert stats.ks_2samp(direct, vectors).pvalue > 1e-3
    # and the shortcut is not the default route in disguise: its draws differ
    assert not np.array_equal(direct, ens.scores_of_patterns(x, 20_000, seed=6))


def test_binary_score_histogram_keeps_the_far_tail():
    # N = 200, n = 2.35e17 patterns (α = 0.2): the largest score's law is exactly
    # Pr(max <= k) = (1 - S(k))^n ≈ exp(-n S(k)), S the Binomial(N, 1/2) tail (its cdf
    # rounds to 1 in float64 here, so the tail is used). Over 41 histograms the median
    # largest overlap must match the exact median (to the lattice step 2/N = 0.01); a
    # sampler that loses tail probabilities below 1e-16 gave 0.55 instead of 0.59.
    N, n = 200, round(np.exp(0.2 * 200))
    x = np.ones(N)
    tops = []
    for seed in range(41):
        values, counts = Binary().sample_score_counts(x, n, seed=seed)
        assert counts.sum() == n
        tops.append(values[counts > 0].max() / N)
    tail = np.exp(stats.binom.logsf(np.arange(N + 1), N, 0.5))  # S(k) = Pr(K > k)
    exact_median = (2 * np.flatnonzero(n * tail <= np.log(2))[0] - N) / N
    assert abs(np.median(tops) - exact_median) <= 0.01, (np.median(tops), exact_median)
