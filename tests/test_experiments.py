"""Tests of damlab.experiments: the estimators' bookkeeping, and the classical model's
simulations against the AGS theory (the side-by-side the book shows)."""

import functools

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from damlab import Binary, DenseMemory, Gaussian, HiddenManifold, Hopfield, Spherical
from damlab.experiments import one_step
from damlab.experiments import (Estimate, corrupt, crossing, final_overlap, mixture_overlap,
                                retrieval_fraction)
from damlab.theory import classical as th
from damlab.theory import finite_size


def test_estimate_mean_and_error_over_trials():
    # two trials of two starts: trial means 2 and 6, so mean 4 and se = sd(2, 6)/√2 = 2
    e = Estimate(np.array([[[1.0, 3.0], [5.0, 7.0]]]))
    assert e.mean.tolist() == [4.0]
    np.testing.assert_allclose(e.se, [2.0])
    assert e.above(4.0).mean.tolist() == [0.5] and e.above(4.0).samples.dtype == np.float64


def test_corrupt_reaches_the_overlap_exactly():
    s = Binary().sample(5, 200, seed=0)
    c = corrupt(s, 0.7, seed=1)
    # round(200 · 0.3 / 2) = 30 distinct flips per row: overlap exactly 1 - 60/200
    np.testing.assert_array_equal((c * s).sum(axis=1) / 200, 0.7)
    assert not np.shares_memory(c, s) and np.all(np.abs(c) == 1)
    assert np.array_equal(corrupt(s[0], 1.0, seed=1), s[0])
    with pytest.raises(ValueError, match="m0"):
        corrupt(s, 1.5)


def test_same_seed_same_runs_and_appended_points_keep_their_values():
    run = functools.partial(final_overlap, Hopfield, Binary(), 120, m0=0.6, trials=2, starts=3)
    a, b = run([12, 30], seed=5), run([12, 30, 40], seed=5)
    assert np.array_equal(a.samples, b.samples[:2])
    assert not np.array_equal(a.samples, run([12, 30], seed=6).samples)


def test_grid_broadcasts_P_against_m0():
    e = final_overlap(Hopfield, Binary(), 100, [5, 10], m0=[[0.2], [0.6], [1.0]], trials=2, starts=2, seed=0)
    assert e.samples.shape == (3, 2, 2, 2) and e.mean.shape == (3, 2)
    # at α ≤ 0.1 a clean start stays a (near) fixed point
    assert np.all(e.mean[2] > 0.95)


def test_estimators_take_other_binary_models():
    # a dense memory (n = 3) at P = 100 ≫ 0.14 N: far above the classical capacity, it retrieves
    dense = functools.partial(DenseMemory, n=3)
    e = final_overlap(dense, Binary(), 100, 100, m0=0.8, trials=2, starts=4, seed=0)
    assert np.all(e.samples == 1.0)


# The simulations the chapter shows: zero-temperature asynchronous dynamics from ξ¹,
# N = 2000, 8 draws of the patterns × 8 starts each (64 runs per α, ~2 s in all).
N_SIM = 2000


def test_retrieval_overlap_follows_the_AGS_branch_below_capacity():
    alpha = np.array([0.04, 0.06, 0.08, 0.10])
    e = final_overlap(Hopfield, Binary(), N_SIM, np.round(alpha * N_SIM), trials=8, starts=16, seed=11)
    m = th.ags_overlap(alpha)
    # Tolerance: 4 standard errors (Monte Carlo; se over the 8 independent draws) plus
    # 5e-4 for finite-N effects, which the theory (N → ∞) does not have and which we do
    # not resolve at N = 2000: the simulated overlaps at N = 500-4000 differ from the
    # branch by at most ~1.3 se, with either sign (chapter figure). At α = 0.10 the
    # tolerance is below 1 - m = 2.0e-3: the test tells the branch from m = 1.
    tol = 4 * e.se + 5e-4
    assert np.all(np.abs(e.mean - m) <= tol), (e.mean, e.se, m)
    assert 1 - m[-1] > tol[-1]


def test_retrieval_is_lost_above_capacity():
    alpha = np.array([0.16, 0.20])
    e = final_overlap(Hopfield, Binary(), N_SIM, np.round(alpha * N_SIM), trials=8, starts=8, seed=12)
    # Above α_c ≈ 0.138 the theory has no retrieval state; where the branch ends its
    # overlap is m_c ≈ 0.967, the least it ever is. "Lost" here: the mean final overlap
    # is below m_c by more than 4 standard errors. (At N = 2000, α = 0.16 still
    # retrieves in a minority of runs, a finite-size effect: the mean is what falls.)
    m_c = th.ags_capacity()[1]
    assert np.all(e.mean + 4 * e.se < m_c), (e.mean, e.se)
    # and most runs end far from the pattern at α = 0.2
    assert e.above(0.9).mean[1] < 0.1


def test_simulated_capacity_decreases_toward_alpha_c():
    # the load where half of the runs retrieve (m > 0.9) at N = 500 and 2000: above
    # α_c at finite N, and closer to it at the larger N (the trend the chapter shows);
    # more draws at N = 500, where they are cheap, to resolve the difference at 3 se
    alpha = np.array([0.12, 0.14, 0.16, 0.18, 0.20, 0.22])
    a_c = th.ags_capacity()[0]
    est = [crossing(alpha, final_overlap(Hopfield, Binary(), n, np.round(alpha * n), trials=trials,
                                         starts=8, seed=13).above(0.9))
           for n, trials in ((500, 24), (2000, 8))]
    (a500, se500), (a2000, se2000) = est
    assert a_c < a2000 < a500
    assert a500 - a2000 > 3 * np.hypot(se500, se2000)


def test_symmetric_mixtures_are_stable_only_at_small_load():
    N = 2000
    mix = mixture_overlap(Hopfield, Binary(), N, [20, 100], trials=4, starts=8, seed=14)
    # α = 0.01: the 3-mixture is a fixed point (q = 1 up to a few flips) with overlap 1/2
    # with each pattern; the sample overlap of sgn(ξ¹+ξ²+ξ³) with ξ^a fluctuates by
    # √(3/4N) ≈ 0.02 per run, so 4 se of the mean over 32 runs is well under 0.02.
    assert mix.q.mean[0] > 0.995
    assert abs(mix.m.mean[0] - 0.5) < 4 * mix.m.se[0] + 1e-3
    # α = 0.05, above the AGS stability limit α ≈ 0.03: the dynamics leaves the mixture
    assert mix.q.mean[1] + 4 * mix.q.se[1] < 0.9


def test_crossing_interpolates_and_propagates_the_error():
    e = Estimate(np.array([[[1.0, 1.0], [1.0, 1.0]], [[0.8, 0.6], [0.4, 0.2]], [[0.0, 0.0], [0.2, 0.0]]]))
    # means 1, 0.5, 0.05: reaches 0.5 at the second point, the end of the first segment
    # (w = 1), so the error is that point's, through the slope 0.1/0.5 of that segment
    x, se = crossing([0.1, 0.2, 0.3], e)
    assert x == pytest.approx(0.2)
    assert se == pytest.approx(e.se[1] * 0.1 / 0.5)
    # level 0.75: halfway between the first two points, both errors weigh 1/2
    x, se = crossing([0.1, 0.2, 0.3], e, level=0.75)
    assert x == pytest.approx(0.15)
    assert se == pytest.approx(0.1 / 0.5 * np.hypot(0.5 * e.se[0], 0.5 * e.se[1]))
    with pytest.raises(ValueError, match="does not cross"):
        crossing([0.1, 0.2, 0.3], e, level=2.0)
    with pytest.raises(ValueError, match="increasing"):
        crossing([0.3, 0.2, 0.1], e)


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="trials"):
        final_overlap(Hopfield, Binary(), 50, 5, trials=1)
    with pytest.raises(ValueError, match="m0"):
        final_overlap(Hopfield, Binary(), 50, 5, m0=-2.0)
    with pytest.raises(ValueError, match="P"):
        final_overlap(Hopfield, Binary(), 50, 0)
    with pytest.raises(TypeError, match="N"):
        final_overlap(Hopfield, Binary(), 50.5, 5)
    with pytest.raises(ValueError, match="k"):
        mixture_overlap(Hopfield, Binary(), 50, 5, k=4)
    with pytest.raises(ValueError, match="P must be >= k"):
        mixture_overlap(Hopfield, Binary(), 50, 2)


def test_thermal_retrieval_follows_the_finite_temperature_RS_overlap():
    # Glauber dynamics at α = 0.05 from ξ¹ for 30 sweeps, N = 2000: the thermal snapshot
    # overlap against the RS retrieval solution at T = 0.2 and 0.4 (below T_M ≈ 0.55).
    # Tolerance: 4 se (Monte Carlo, over 4 draws × 4 starts; one snapshot per run has
    # thermal spread √((1 - q)/N) ~ 0.005 at T = 0.4) plus 2e-3 for finite N.
    T = np.array([0.2, 0.4])
    e = final_overlap(Hopfield, Binary(), 2000, 100, T=T, trials=4, starts=4, max_sweeps=30, seed=15)
    m = np.array([th.rs_solution(0.05, t)[0] for t in T])
    assert np.all(np.abs(e.mean - m) <= 4 * e.se + 2e-3), (e.mean, e.se, m)


@pytest.mark.parametrize("sigma", [0.05, 0.4], ids=["steeper-than-the-grid", "smooth"])
def test_probit_crossing_errors_are_calibrated(sigma):
    # 200 synthetic curves Φ(-(x - c)/σ) on an 11-point grid of step 0.1, 400 binomial trials
    # per point, c uniform in [0.4, 0.6]: the z-scores (estimate - c)/se must have mean ~0
    # and s.d. ~1 (with 200 replicates, the s.d. of a true 1 is within 0.8-1.25 at > 4σ; the
    # linear method's is 1.8 on the steep curve, where two far-apart points make its error
    # small). Measured: 0.96 and 0.99.
    x = np.linspace(0, 1, 11)
    rng = np.random.default_rng(0)
    z = []
    for _ in range(200):
        c = rng.uniform(0.4, 0.6)
        w = rng.random((400, 11)) < stats.norm.cdf(-(x - c) / sigma)
        a, se = crossing(x, Estimate(w.T.astype(float)[..., None]), method="probit")
        z.append((a - c) / se)
    assert abs(np.mean(z)) < 0.25 and 0.8 < np.std(z) < 1.25, (np.mean(z), np.std(z))


def test_crossing_of_a_step_has_the_bracket_as_its_error():
    # all runs succeed at 0.2 and all fail at 0.3: no spread, the crossing is somewhere between
    e = Estimate(np.array([[[1.0], [1.0]], [[1.0], [1.0]], [[0.0], [0.0]]]))
    for method in ("linear", "probit"):
        x, se = crossing([0.1, 0.2, 0.3], e, method=method)
        assert x == pytest.approx(0.25) and se == pytest.approx(0.1 / np.sqrt(12))
    with pytest.raises(ValueError, match="method"):
        crossing([0.1, 0.2, 0.3], Estimate(np.array([[[1.0], [0.0]], [[1.0], [1.0]], [[0.0], [0.0]]])),
                 method="logit")


# ---------------------------------------------------------------- one-step retrieval, P = e^{αN}

def test_scores_and_vectors_routes_give_the_same_retrieval_fraction():
    # the exact-law shortcut against sampled patterns, N = 16, λ = 0.5, at loads through
    # the transition; 150 instances each: fractions within 4 binomial standard errors
    N, lam = 16, 0.5
    alpha = np.array([0.30, 0.36, 0.40])
    scores = retrieval_fraction(Spherical(), N, alpha, lam, trials=150, seed=21)
    vectors = retrieval_fraction(Spherical(), N, alpha, lam, trials=150, seed=22, route="vectors")
    assert np.all(np.abs(scores.mean - vectors.mean) <= 4 * np.hypot(scores.se, vectors.se) + 1e-9)
    assert scores.mean[0] > 0.9 and scores.mean[-1] < 0.5  # the grid does cross the transition


# spherical scores are drawn one by one (P = e^{αN} Beta draws per instance, ~4e5 at the
# largest load here); binary ones as one multinomial histogram, so any P is cheap
@pytest.mark.parametrize("ens, N, lam", [(Spherical(), 30, 0.3), (Spherical(), 30, 0.5),
                                         (Binary(), 40, 0.3), (Binary(), 40, 1.0)],
                         ids=["spherical-0.3", "spherical-0.5", "binary-0.3", "binary-1.0"])
def test_one_step_threshold_matches_alpha_1(ens, N, lam):
    # The simulated crossing of the fraction with w₁ > 1/2, against α₁ = λ - ψ(λ) (THEORY.md
    # §3, derived; liquid at these λ). Finite N moves the threshold by O(1/N): the mean of
    # the others' sum is e^{N(α + ψ_N(λ))}, with ψ_N - ψ = O(1/N) (the prefactor of the
    # saddle point), and the sum is self-averaging in the liquid phase. Tolerance: 1.5/N
    # (the offsets measured at these λ and N are below 0.3/N)
    # plus 3 standard errors of the crossing (at least the grid's resolution/√12).
    a1 = lam - float(ens.psi(lam))
    alpha = a1 + np.linspace(-0.05, 0.05, 11)
    e = retrieval_fraction(ens, N, alpha, lam, trials=60, seed=23)
    a_hat, se = crossing(alpha, e)
    assert abs(a_hat - a1) <= 1.5 / N + 3 * se, (a_hat, se, a1)
    if isinstance(ens, Spherical):  # the finite-N shift itself, from the exact Beta law
        assert abs(a_hat - float(finite_size.alpha_1_annealed(ens, lam, N))) <= 3 * se + 0.005, (a_hat, float(finite_size.alpha_1_annealed(ens, lam, N)))


def test_gaussian_threshold_conditioned_on_the_norm_matches_alpha_1():
    # Gaussian patterns with |ξ¹|² = N imposed: the others' scores are then exactly
    # N(0, N), E e^{λs} = e^{Nλ²/2}, so the mean of their sum crosses the own term at
    # α₁ = λ - λ²/2 with no finite-N shift; what is left is the sum's fluctuation, small in
    # the liquid phase (λ = 0.5: I(ψ′) = 1/8 < α₁ = 3/8). Tolerance 1/N + 3 se, as above.
    # Without the condition the random norm (s.d. √(2/N) in |ξ¹|²/N) smears the
    # transition over Δα ~ λ√(2/N) ≈ 0.11: the unconditioned curve is far less steep.
    N, lam = 30, 0.5
    alpha = 0.375 + np.linspace(-0.05, 0.05, 11)
    fixed = retrieval_fraction(Gaussian(), N, alpha, lam, trials=60, norm=1.0, seed=24)
    a_hat, se = crossing(alpha, fixed)
    assert abs(a_hat - 0.375) <= 1 / N + 3 * se, (a_hat, se)
    free = retrieval_fraction(Gaussian(), N, alpha, lam, trials=60, seed=24)
    assert 0.1 < free.mean[2] and free.mean[-3] < 0.9  # still undecided 0.03 from α₁ on both sides
    assert fixed.mean[2] > 0.95 and fixed.mean[-3] < 0.05


@pytest.mark.parametrize("ens", [Spherical(), Gaussian()], ids=repr)
@pytest.mark.parametrize("lam", [0.3, 2.0], ids=["liquid", "condensed"])
def test_tail_route_log_sum_exp_agrees_in_law_with_all_scores_drawn(ens, lam, monkeypatch):
    # ln Σ e^{λs} over n = 20 000 scores (N = 30): every score drawn, against the tail
    # route's ~256 largest drawn and the rest by their truncated moments (_TOP lowered
    # from 4096 so that the approximated bulk is as large and as close to the top as it
    # can be). λ = 0.3: the sum is the bulk's; λ = 2: the top's. Two-sample KS test on 300
    # values each (fixed seeds; p < 1e-3 = a misfit; measured p = 0.25-0.85).
    monkeypatch.setattr(one_step, "_TOP", 256)
    N, n = 30, 20_000
    x = ens.sample(1, N, seed=1)[0]
    rng = np.random.default_rng(2)
    exact = [logsumexp(lam * ens.sample_scores(x, n, rng)) for _ in range(300)]
    tail = [one_step._tail_logsumexp(ens.score_law(x), n, lam, np.inf, rng) for _ in range(300)]
    assert stats.ks_2samp(exact, tail).pvalue > 1e-3


def test_spherical_threshold_at_N_60_sits_on_the_annealed_finite_N_threshold():
    # P = e^{αN} ≈ 10^10 patterns per instance on the tail route. λ = 0.5 (liquid): the
    # crossing against α_N = λ - ψ_N(λ) = α₁ - 0.00025. Tolerance: 3 se of the crossing
    # (here mostly the grid's resolution 0.0005/√12: the transition is a near step) plus
    # 5e-4 for the sum's fluctuations, which at N = 30 moved the median threshold by
    # 5e-5 from α_N (measured over 400 instances).
    N, lam = 60, 0.5
    a_N = float(finite_size.alpha_1_annealed(Spherical(), lam, N))
    alpha = a_N + np.linspace(-0.002, 0.002, 9)
    e = retrieval_fraction(Spherical(), N, alpha, lam, trials=40, route="tail", seed=25)
    a_hat, se = crossing(alpha, e)
    assert abs(a_hat - a_N) <= 3 * se + 5e-4, (a_hat, se, a_N)


def test_gaussian_condensed_threshold_at_N_40_is_the_stable_law_threshold():
    # |ξ¹|² = N, λ = 1.5 (condensed: beyond the triple point), P ≈ 3e9 on the tail route.
    # The crossing is above α₁ = 1/2, below the λ = ∞ bound alpha_1_argmax (0.5605), and on
    # the one-sided stable law's threshold alpha_1_condensed (0.5463): tolerance 3 se plus
    # 0.003 for the O(1/N²) curvature the Poisson picture neglects (the stored data of the
    # book, 400 instances per load, differ from it by at most 0.0013 for N = 30–60).
    N, lam = 40, 1.5
    alpha = np.linspace(0.52, 0.57, 11)
    e = retrieval_fraction(Gaussian(), N, alpha, lam, trials=200, norm=1.0, route="tail", seed=26)
    a_hat, se = crossing(alpha, e)
    assert a_hat + 3 * se < float(finite_size.alpha_1_argmax(Gaussian(), N)), (a_hat, se)
    assert abs(a_hat - float(finite_size.alpha_1_condensed(Gaussian(), lam, N))) <= 3 * se + 0.003, (a_hat, se)


def test_retrieval_fraction_bad_input():
    with pytest.raises(ValueError, match="lam"):
        retrieval_fraction(Spherical(), 20, 0.2, 0.0)
    with pytest.raises(ValueError, match="route"):
        retrieval_fraction(Spherical(), 20, 0.2, 0.5, route="both")
    with pytest.raises(TypeError, match="ensemble"):
        retrieval_fraction("spherical", 20, 0.2, 0.5)
    with pytest.raises(ValueError, match="too large"):
        retrieval_fraction(Binary(), 200, 0.5, 0.5, trials=2)


# ---------------------------------------------------------------- hidden-manifold patterns, linear σ

def test_linear_manifold_overlap_variance_is_the_marchenko_pastur_moment():
    # N·Var of u = ξ·ξ¹/N over fresh patterns, given (F, ξ¹), is |Fᵀξ¹|²/(DN); its mean over
    # F and z¹ is exactly 1 + 1/d + 1/D (the chapter's exercise), → v = 1 + 1/d. Measured
    # from sampled patterns (2000 per ξ¹) over 100 feature matrices at N = 60, d = 0.5. v_x
    # itself fluctuates by ~45 % between instances at D = 30, so the standard error over the
    # 100 is ~5 %: tolerance 4 se, which still excludes the isotropic value 1 and 1 + 1/(2d).
    N, d = 60, 0.5
    D = round(d * N)
    values = []
    for s in range(100):
        hm = HiddenManifold(d, seed=s)
        xi = hm.sample(2001, N, seed=100 + s)
        values.append(N * np.var(xi[1:] @ xi[0] / N))
    values = np.array(values)
    se = values.std(ddof=1) / np.sqrt(values.size)
    assert abs(values.mean() - (1 + 1 / d + 1 / D)) <= 4 * se, (values.mean(), se)
    assert values.mean() - 4 * se > 1 + 1 / (2 * d)
    assert HiddenManifold(d).v == 1 + 1 / d


def test_linear_manifold_threshold_is_the_median_finite_D_threshold():
    # |ξ¹|² = N imposed, λ = 0.2 (liquid: λ < 1/v), N = 40, tail route (exact Gaussian scores
    # given F and ξ¹). Each instance's own threshold is λ - λ²v_x/2 with v_x = |Fᵀξ¹|²/(DN),
    # which at D = 20 is typically below v = 3 (the chapter shows the same); the crossing must
    # match the median of these (tolerance 3 se + 5e-4 for the sum's fluctuations, as for
    # spherical patterns) and lie above α₁ = λ - vλ²/2 = 0.14, which it would not if the
    # simulation ignored the finite-D spectrum.
    N, d, lam = 40, 0.5, 0.2
    hm = HiddenManifold(d, seed=4)
    alphas = 0.14 + np.linspace(-0.03, 0.03, 13)
    e = retrieval_fraction(hm, N, alphas, lam, trials=100, norm=1.0, route="tail", seed=5)
    a_hat, se = crossing(alphas, e, method="probit")
    x = hm.sample(4000, N, seed=6)
    x *= np.sqrt(N) / np.linalg.norm(x, axis=1, keepdims=True)
    v_x = np.sum((x @ hm.F(N)) ** 2, axis=1) / (hm.D(N) * N)
    median = np.median(lam - lam**2 * v_x / 2)
    assert abs(a_hat - median) <= 3 * se + 5e-4, (a_hat, se, median)
    assert a_hat - 3 * se > 0.14
