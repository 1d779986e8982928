"""Tests of the exponential-capacity estimators beyond the single-pattern test: all patterns
retrieved, one-step basins and multi-step dynamics, each beside the theory of THEORY.md §3."""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from damlab import Binary, Gaussian, Spherical
from damlab.experiments import (all_retrieved, all_retrieved_fraction, basin_fraction, crossing,
                                overlap_trajectory, patterns_for, retrieval_fraction, state_at_overlap)
from damlab.theory import capacity as th


# ---------------------------------------------------------------- all patterns retrieved

def _brute_force(xi, lam):
    """Every pattern retrieved, from the dense (P, P) Gram matrix in float64 (independent of damlab)."""
    xi = np.asarray(xi, dtype=np.float64)
    G = xi @ xi.T
    own = np.diag(G).copy()
    np.fill_diagonal(G, -np.inf)  # exactly the own term; a twin stays
    if math.isinf(lam):
        return bool(np.all(own > G.max(axis=1)))
    return bool(np.all(lam * own > logsumexp(lam * G, axis=1)))


def test_all_retrieved_matches_brute_force():
    # Small random instances of every ensemble, at λ = ∞ and finite λ, with block sizes that
    # split the pairs unevenly (7, 64) or not at all (None): binary patterns at N <= 13 and
    # P up to 200 are often duplicated, so both answers occur. Binary in float32 (exact
    # integer scores), the others in float64 so that rounding cannot flip a near tie.
    rng = np.random.default_rng(0)
    outcomes = []
    for k in range(120):
        ens = (Spherical(), Binary(), Gaussian())[k % 3]
        N, P = int(rng.integers(6, 14)), int(rng.integers(2, 200))
        lam = (math.inf, 0.3, 1.0, 3.0)[k % 4]
        xi = ens.sample(P, N, seed=k, dtype="float32" if k % 3 == 1 else "float64")
        want = _brute_force(xi, lam)
        for chunk in (None, 7, 64):
            assert all_retrieved(xi, lam, chunk=chunk) == want, (ens, N, P, lam, chunk)
        outcomes.append(want)
    assert 20 < sum(outcomes) < 100  # both answers were tested

    # a duplicated pattern fails at any λ, even with its twin in another block (weight 1/2)
    xi = Spherical().sample(50, 10, seed=1)
    assert all_retrieved(xi, math.inf) and all_retrieved(xi, 2.0)
    xi[37] = xi[3]
    for lam in (math.inf, 2.0, 50.0):
        assert not all_retrieved(xi, lam, chunk=16)


def test_all_retrieved_threaded_pass_at_the_edge():
    # P = 1500 at N = 30 is large enough for the pass to be split between threads (each
    # sees part of every sum R_μ, merged at the end). λ* is where the worst pattern's R_μ
    # crosses 1 (from the brute force); 1 % on either side the answer must flip.
    xi = Spherical().sample(1500, 30, seed=2)
    G = xi @ xi.T
    np.fill_diagonal(G, -np.inf)

    def worst(lam):  # max_μ ln R_μ
        return logsumexp(lam * (G - 30.0), axis=1).max()

    from scipy.optimize import brentq
    lam_star = brentq(worst, 0.05, 5.0)
    assert all_retrieved(xi, 1.01 * lam_star, chunk=300)
    assert not all_retrieved(xi, 0.99 * lam_star, chunk=300)
    assert all_retrieved(xi.astype(np.float32), 1.01 * lam_star)


def test_binary_all_patterns_at_zero_temperature_is_the_birthday_problem():
    # At λ = ∞ a set of binary patterns fails exactly when two coincide, so the fraction is
    # the birthday probability Π_{k<P} (1 - k 2^{-N}). N = 16, 400 instances per load: each
    # fraction within 4 binomial standard errors (of the exact p) of it.
    N, trials = 16, 400
    alpha = np.array([0.32, 0.34, 0.36, 0.38, 0.40])
    e = all_retrieved_fraction(Binary(), N, alpha, math.inf, trials=trials, seed=41)
    P = np.array([patterns_for(N, a) for a in alpha])
    exact = np.array([np.exp(np.log1p(-np.arange(p) / 2.0**N).sum()) for p in P])
    assert np.all(np.abs(e.mean - exact) <= 4 * np.sqrt(exact * (1 - exact) / trials) + 1e-9), (e.mean, exact)
    # The crossing lies above the all-pattern bound's large-λ value (ln 2)/2 (capacity.alpha_c_lower:
    # the birthday limit), by ln(2 ln 2)/(2N) = 0.010 at N = 16 (from P² = 2 ln 2 · 2^N): measured
    # 0.357 ± 0.002 against 0.347. Compared with the crossing of the exact curve interpolated on
    # the same grid (0.3566; no interpolation bias): within 4 se.
    a_hat, se = crossing(alpha, e)
    bound = float(th.alpha_c_lower(Binary(), 10.0))
    assert bound == pytest.approx(math.log(2) / 2)
    assert a_hat - 3 * se > bound, (a_hat, se, bound)
    assert abs(a_hat - np.interp(0.5, exact[::-1], alpha[::-1])) <= 4 * se, a_hat

    # At finite λ a pattern fails whenever it fails at λ = ∞ (a twin is a term e^0 = 1 in R_μ),
    # and more: same seed, same patterns, so instance by instance the indicator can only drop.
    # λ = 0.6: a pattern at Hamming distance d weighs e^{-2λd} (0.30 at d = 1), and the REM of
    # the others (α₁ = 0.430) is near: 107 of the 2000 instances fail only at finite λ.
    e1 = all_retrieved_fraction(Binary(), N, alpha, 0.6, trials=trials, seed=41)
    assert np.all(e1.samples <= e.samples) and np.any(e1.mean < e.mean)
    # (The bound at λ = 0.6 is still (ln 2)/2 < α₁; the crossing, 0.350-0.354 over eight seeds,
    # is above it by only 2.5-5 se, so it is not asserted. At λ = 0.5, α₁ = 0.380, the finite-N
    # crossing, 0.328, is pulled below the bound by the REM branch, as for spherical patterns below.)


def test_spherical_all_patterns_threshold_approaches_alpha_c_from_below():
    # Spherical patterns, λ = 0.3 (liquid; P <= 1400 here): the bound is sharp, α_c = α₁ = 0.2568
    # (capacity.alpha_c_lower). At finite N the all-pattern threshold lies *below* it: all P
    # patterns must pass, i.e. P · p_fail ~ 1, so the crossing sits where one pattern fails with
    # probability ~1/P, in the lower tail of the single-pattern transition (whose own finite-N
    # crossing is at α₁ + O(1/N)). Measured (100 instances a load, grid 0.004):
    #   N      16      20      24      28      30      36
    #   α̂_c  0.232   0.238   0.244   0.248   0.249   0.253   (gap to α₁ 0.024 ... 0.004)
    # so the simulated threshold approaches the bound from below, faster than ln N/N; it is
    # expected to cross above it (to α₁ + O(1/N)) only at N ~ 40-50, too costly here (P² pairs).
    # Tested: below α₁ at both N, the gap shrinking by more than 5 se, and the all-pattern
    # fraction never above the single-pattern one (all retrieved implies ξ¹ retrieved).
    lam, alpha = 0.3, np.arange(0.226, 0.2581, 0.004)
    a_c = float(th.alpha_c_lower(Spherical(), lam))
    assert a_c == pytest.approx(float(th.alpha_1(Spherical(), lam)))
    gaps = []
    for N in (20, 28):
        e = all_retrieved_fraction(Spherical(), N, alpha, lam, trials=100, seed=30 + N)
        one = retrieval_fraction(Spherical(), N, alpha, lam, trials=100, seed=60 + N)
        assert np.all(e.mean <= one.mean + 3 * np.hypot(e.se, one.se) + 1e-9), (N, e.mean, one.mean)
        a_hat, se = crossing(alpha, e)
        gaps.append((a_c - a_hat, se))
    (g20, s20), (g28, s28) = gaps
    assert 0 < g28 < g20 - 5 * math.hypot(s20, s28), gaps
    assert g20 < math.log(20) / 20  # and within THEORY.md's O(ln N / N) (measured 0.019 < 0.15)


def test_gaussian_all_patterns_threshold_between_the_bound_and_alpha_1():
    # Gaussian patterns at λ = ∞: small-norm patterns fail first, and the bound is ln 2/4 = 0.173
    # (capacity.alpha_c_lower at large λ), far below α₁ = 1/2 (the two do not match [P]). The
    # simulated crossing at N = 20 (measured 0.218 ± 0.003; 0.223 at N = 16, 0.208 at N = 30:
    # approaching the bound from above) must lie above the bound by 3 se and below α₁ by far.
    alpha = np.arange(0.14, 0.30, 0.02)
    e = all_retrieved_fraction(Gaussian(), 20, alpha, math.inf, trials=100, seed=51)
    a_hat, se = crossing(alpha, e)
    bound = float(th.alpha_c_lower(Gaussian(), 10.0))
    assert bound == pytest.approx(math.log(2) / 4)
    assert bound < a_hat - 3 * se and a_hat + 3 * se < bound + math.log(20) / 20 < 0.5, (a_hat, se)


# ---------------------------------------------------------------- one-step basins

def test_state_at_overlap_is_on_the_sphere_at_the_overlap():
    xi = Spherical().sample(6, 40, seed=3)
    x = state_at_overlap(xi, 0.3, seed=4)
    np.testing.assert_allclose((x * xi).sum(axis=1) / 40, 0.3, atol=1e-12)
    np.testing.assert_allclose((x * x).sum(axis=1), 40, rtol=1e-12)
    # the orthogonal part is random: different rows, different directions
    rest = x - 0.3 * xi
    assert abs(rest[0] @ rest[1]) / (rest[0] @ rest[0]) < 0.5
    np.testing.assert_allclose(state_at_overlap(xi[0], 1.0, seed=5), xi[0], atol=1e-12)
    with pytest.raises(ValueError, match="rho"):
        state_at_overlap(xi, 1.2)


@pytest.mark.parametrize("ens", [Spherical(), Binary()], ids=["spherical", "binary"])
def test_basin_scores_and_vectors_routes_agree(ens):
    # the exact-law scores (spherical: Beta at |x| = √N; binary ±1 states: one histogram)
    # against sampled patterns, N = 16, α = 0.3, λ = 1, across the basin edge: within 4 se
    N, alpha, lam = 16, 0.3, 1.0
    rho = np.array([0.45, 0.6, 0.75])
    s = basin_fraction(ens, N, alpha, lam, rho, trials=120, seed=71)
    v = basin_fraction(ens, N, alpha, lam, rho, trials=120, seed=72, route="vectors")
    assert np.all(np.abs(s.mean - v.mean) <= 4 * np.hypot(s.se, v.se) + 1e-9), (s.mean, v.mean)
    assert s.mean[0] < 0.5 < s.mean[-1]  # the grid does cross the edge


def _median_max_overlap(N, P):
    """Median of the largest of P - 1 spherical overlaps, from the exact Beta law (independent of damlab)."""
    a = (N - 1) / 2
    return 2 * stats.beta.ppf(2 ** (-1 / (P - 1)), a, a) - 1


def test_one_step_basin_edge_in_the_liquid_and_condensed_phases():
    # Spherical patterns, N = 40, α = 0.2 (P = 2981): the 50 % point of the success probability
    # against capacity.basin_edge, in the retrieval phase on both sides of λ_c(0.2) = 0.857.
    N, alpha = 40, 0.2
    # Liquid, λ = 0.4: ρ_min = (α + ψ(λ))/λ = 0.687. Finite N: ψ_N - ψ moves it by < 1e-3 (exact
    # Beta law by quadrature), and the sum of the others, log-normal-like with relative variance
    # e^{N(ψ(2λ) - 2ψ(λ) - α)} = 0.03, has its median below its mean, by -0.0009 in ρ at N = 40
    # (-0.003 at N = 30). Measured: +0.0006 ± 0.0008 (N = 30: -0.004, N = 60: +0.001).
    # Tolerance 3 se + 0.005.
    lam = 0.4
    edge = float(th.basin_edge(Spherical(), alpha, lam))
    assert th.lambda_c(Spherical(), alpha) > lam
    rho = edge + np.linspace(-0.03, 0.03, 9)
    e = basin_fraction(Spherical(), N, alpha, lam, rho, trials=200, seed=81)
    r_hat, se = crossing(rho, e)
    assert abs(r_hat - edge) <= 3 * se + 0.005, (r_hat, se, edge)

    # Condensed, λ = 2: ρ_min = u_max(α) = 0.574, independent of λ (the liquid formula would give
    # 0.646). Finite N: the update lands on ξ¹ only if ρ beats the largest other overlap u_(1),
    # whose median is 0.522 at N = 40 (exact Beta law): an O(ln N/N) shift down, -0.5 ln N/N as
    # measured at N = 30, 40, 60 (-0.055, -0.048, -0.036). So: the crossing is at least that
    # median (success ⇒ ρ > u_(1)), and above it by the few next-largest overlaps,
    # ln Σ e^{λN(u_k - u_(1))} = O(1) (Poisson–Dirichlet, parameter λ_c/λ = 0.43), i.e. at most
    # 1/(λN) = 0.0125; measured +0.004 ± 0.001. And within ln N/N of u_max, well away from the
    # liquid formula.
    lam = 2.0
    edge = float(th.basin_edge(Spherical(), alpha, lam))
    assert edge == pytest.approx(float(Spherical().rate_inverse(alpha)))
    rho = np.linspace(0.47, 0.59, 13)
    e = basin_fraction(Spherical(), N, alpha, lam, rho, trials=200, seed=82)
    r_hat, se = crossing(rho, e)
    u_med = _median_max_overlap(N, patterns_for(N, alpha))
    assert u_med - 3 * se <= r_hat <= u_med + 1 / (lam * N) + 3 * se, (r_hat, se, u_med)
    assert 0 < edge - r_hat < math.log(N) / N, (r_hat, edge)
    liquid_formula = (alpha + float(Spherical().psi(lam))) / lam
    assert liquid_formula - r_hat > math.log(N) / N  # (measured 0.121 > 0.092)


# ---------------------------------------------------------------- multi-step dynamics

def test_dynamics_on_the_sphere_keeps_the_pattern_below_alpha_1_and_drifts_away_above():
    # Spherical patterns, N = 24, λ = 0.3 (α₁ = 0.257), 20 updates from x = ξ^μ renormalised
    # to |x|² = N. At 0.8 α₁ (P = 139) the pattern is a fixed point: final overlap > 0.9 in
    # most runs (measured: 100 %, mean 0.998). At 1.5 α₁ (P = 10357) the state drifts off
    # steadily (mean 1 → 0.92 after 10 steps → 0.81 after 20; 4-10 % of runs still > 0.9, three
    # seeds). The drift is slow: in the liquid the softmax average of the others points along x,
    # so on the sphere x moves only by their fluctuations (at 2 α₁, with more patterns, slower
    # still: mean 0.965 after 20 steps).
    lam = 0.3
    a1 = float(th.alpha_1(Spherical(), lam))
    e = overlap_trajectory(Spherical(), 24, np.array([0.8, 1.5]) * a1, lam, steps=20, sphere=True,
                           trials=10, starts=8, seed=91)
    assert e.samples.shape == (2, 21, 10, 8) and e.mean.shape == (2, 21)
    np.testing.assert_allclose(e.samples[:, 0], 1.0, atol=1e-5)  # starts at ξ^μ
    final = e.samples[:, -1]
    assert (final[0] > 0.9).mean() >= 0.9
    assert (final[1] > 0.9).mean() <= 0.3
    assert np.all(np.diff(e.mean[1]) < 0)  # a steady drift, step after step


def test_plain_dynamics_drifts_to_zero_below_alpha_1_where_one_step_retrieves():
    # THEORY.md §3 "Finite-N behaviour": without renormalisation, at N = 24 the iterated update
    # collapses to x ≈ 0 (the global average) even below α₁, where the one-step test retrieves.
    # Spherical patterns, λ = 0.3, α = 0.8 α₁: w₁ > 1/2 at x = ξ¹ in every instance (measured
    # 200/200; asserted >= 95 %), yet after 10 updates the overlap is 0.012 on average (asserted
    # < 0.1): w₁ < 1 at finite N shrinks |x|, which lowers the effective λ, which lowers w₁. Far
    # below, at 0.5 α₁, the pattern holds (measured mean 0.959, all runs > 0.9).
    N, lam = 24, 0.3
    a1 = float(th.alpha_1(Spherical(), lam))
    alpha = np.array([0.5, 0.8]) * a1
    one = retrieval_fraction(Spherical(), N, alpha[1], lam, trials=100, seed=93)
    assert one.mean >= 0.95
    e = overlap_trajectory(Spherical(), N, alpha, lam, steps=10, trials=10, starts=8, seed=94)
    assert (e.samples[0, -1] > 0.9).mean() >= 0.9
    assert e.mean[1, -1] < 0.1, e.mean[1]
    # and from a corrupted start (ρ = 0.9) far below α₁ it is retrieved: overlap back above 0.9
    c = overlap_trajectory(Spherical(), N, alpha[0], lam, rho=0.9, steps=3, trials=4, starts=8, seed=95)
    np.testing.assert_allclose(c.samples[0], 0.9, atol=1e-5)
    assert (c.samples[-1] > 0.9).mean() >= 0.9


def test_trajectories_are_the_same_with_streamed_patterns(monkeypatch):
    # Beyond 256 MiB the patterns are streamed and regenerated at each step: the same seed
    # gives the same patterns either way, hence the same trajectories (to float32 rounding)
    import damlab.experiments.dynamics as dyn

    run = lambda: overlap_trajectory(Binary(), 20, 0.3, 0.5, rho=0.8, steps=3, trials=2, starts=4, seed=96)
    dense = run()
    monkeypatch.setattr(dyn, "_DENSE_BYTES", 0)
    np.testing.assert_allclose(run().samples, dense.samples, atol=1e-5)
    np.testing.assert_allclose(dense.samples[0, 0], 0.8)  # ±1 starts at overlap exactly 0.8


# ---------------------------------------------------------------- bad input

def test_bad_input_names_the_parameter():
    xi = Spherical().sample(10, 8, seed=0)
    with pytest.raises(ValueError, match="lam"):
        all_retrieved(xi, 0.0)
    with pytest.raises(ValueError, match="lam"):
        all_retrieved(xi, [1.0, 2.0])
    with pytest.raises(ValueError, match="xi"):
        all_retrieved(xi[0], 1.0)
    with pytest.raises(TypeError, match="chunk"):
        all_retrieved(xi, 1.0, chunk=2.5)
    with pytest.raises(ValueError, match="lower alpha or N"):
        all_retrieved_fraction(Spherical(), 200, 0.5)
    with pytest.raises(TypeError, match="ensemble"):
        all_retrieved_fraction("binary", 20, 0.3)
    with pytest.raises(ValueError, match="trials"):
        all_retrieved_fraction(Binary(), 20, 0.3, trials=1)
    with pytest.raises(ValueError, match="rho"):
        basin_fraction(Spherical(), 20, 0.2, 1.0, 1.5)
    with pytest.raises(ValueError, match="route"):
        basin_fraction(Spherical(), 20, 0.2, 1.0, 0.5, route="both")
    with pytest.raises(ValueError, match="lam"):
        basin_fraction(Spherical(), 20, 0.2, -1.0, 0.5)
    with pytest.raises(ValueError, match="norm"):
        basin_fraction(Binary(), 20, 0.2, 1.0, 0.5, norm=1.0)
    with pytest.raises(ValueError, match="steps"):
        overlap_trajectory(Spherical(), 20, 0.2, 1.0, steps=0)
    with pytest.raises(TypeError, match="sphere"):
        overlap_trajectory(Spherical(), 20, 0.2, 1.0, sphere="yes")
    with pytest.raises(ValueError, match="rho"):
        overlap_trajectory(Spherical(), 20, 0.2, 1.0, rho=-2.0)
