"""Tests of damlab.attention: the explicit formula, Hopfield step = attention, the Hopfield layer."""

import math

import numpy as np
import pytest
from scipy.special import softmax

from damlab import Gaussian, ModernHopfield, Spherical
from damlab.attention import HopfieldLayer, attention, hopfield_step

EPS = {np.float64: np.finfo(np.float64).eps, np.float32: np.finfo(np.float32).eps}


def reference_attention(Q, K, V, beta):
    """softmax(β Q Kᵀ) V written out with loops and math.exp (no shift: small scores only)."""
    out = np.zeros((len(Q), V.shape[1]))
    for b, q in enumerate(Q):
        e = [math.exp(beta * sum(qi * ki for qi, ki in zip(q, k))) for k in K]
        for mu, v in enumerate(V):
            out[b] += e[mu] / sum(e) * v
    return out


def step_rounding_bound(x, xi, lam, eps):
    """How far two correct implementations of one Hopfield step may differ, per state (B, 1).

    Rounding errors of a sum of n terms grow like √n ε: the probabilistic bound
    γ̃_n = c √n ε of Higham & Mary (SIAM J. Sci. Comput. 41, 2019) fails with probability
    below 2 e^{-c²/2}, < 1e-21 at c = 10. A score s_μ = λ ξ^μ·x (N products, then the
    scaling) is then off by δs = c √(N + 2) ε λ Σ_i |ξ^μ_i x_i|, doubled because the
    engine may subtract its running maximum inside the same dot product. Since
    ∂out_i/∂s_μ = w_μ (ξ^μ_i − out_i), the output moves by δs · max_i Σ_μ w_μ |ξ^μ_i − out_i|:
    large when the weights are spread, zero when one pattern takes all. The
    exponentials, the normalising sum and the weighted sum of P patterns add
    c √(2P + 3) ε max|ξ|. Two implementations, each within the bound: twice the total.
    """
    c = 10.0
    x, xi = x.astype(np.float64), xi.astype(np.float64)
    w = softmax(lam * x @ xi.T, axis=1)  # (B, P), float64 reference weights
    out = w @ xi
    N, P = xi.shape[1], xi.shape[0]
    ds = 2 * c * math.sqrt(N + 2) * eps * lam * (np.abs(x) @ np.abs(xi).T).max(axis=1, keepdims=True)
    kappa = np.max(np.einsum("bp,bpi->bi", w, np.abs(xi[None] - out[:, None])), axis=1, keepdims=True)
    return 2 * (ds * kappa + c * math.sqrt(2 * P + 3) * eps * np.abs(xi).max())


def between(xi, a, b, gap):
    """The state halfway between patterns a and b, moved along ξ^a − ξ^b until (ξ^a − ξ^b)·x = gap."""
    d = xi[a] - xi[b]
    t = (gap - (xi[a] @ xi[a] - xi[b] @ xi[b]) / 2) / (d @ d)
    return (xi[a] + xi[b]) / 2 + t * d


# ---- the explicit formula -----------------------------------------------------------


def test_attention_equals_a_handwritten_reference():
    rng = np.random.default_rng(0)
    Q, K, V = rng.standard_normal((4, 6)), rng.standard_normal((7, 6)), rng.standard_normal((7, 3))
    # sums of at most 7 terms of order one: float64 rounding, a few ε
    np.testing.assert_allclose(attention(Q, K, V), reference_attention(Q, K, V, 1 / math.sqrt(6)),
                               rtol=1e-12, atol=1e-14)  # default β = 1/√d
    np.testing.assert_allclose(attention(Q, K, V, beta=2.5), reference_attention(Q, K, V, 2.5),
                               rtol=1e-12, atol=1e-14)
    one = attention(Q[1], K, V, beta=2.5)  # a single query drops the B axis
    assert one.shape == (3,)
    np.testing.assert_allclose(one, reference_attention(Q[1:2], K, V, 2.5)[0], rtol=1e-12, atol=1e-14)


def test_attention_is_stable_where_the_naive_formula_overflows():
    K = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [-1.0, 0.0]])  # keys 0 and 2 tie
    V = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    Q = np.array([[1.0, 0.5], [0.0, 1.0]])
    beta = 2000.0  # scores up to 2000: e^2000 overflows float64
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(beta * Q @ K.T) @ V / np.exp(beta * Q @ K.T).sum(axis=1, keepdims=True)
    assert np.isnan(naive).all()
    # the other weights are below e^-1000, zero in float64: the limit is exact
    out = attention(Q, K, V, beta=beta)
    np.testing.assert_array_equal(out, [(V[0] + V[2]) / 2, V[1]])


# ---- one Hopfield step is one attention pass ---------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lam", [0.05, 1.0, 30.0, 300.0])
def test_hopfield_step_equals_modern_hopfield_step(lam, dtype):
    rng = np.random.default_rng(1)
    N, P = 32, 400
    xi = Gaussian().sample(P, N, seed=1)
    # noisy patterns and random states (mixtures at small λ, one pattern at large λ),
    # and states between two patterns whose scores differ by 1/λ and -0.5/λ: two
    # weights of order one even where the scores are λN/2 ~ 5000
    x = np.stack([xi[0] + 0.7 * rng.standard_normal(N), xi[1] + 0.7 * rng.standard_normal(N),
                  rng.standard_normal(N), rng.standard_normal(N),
                  between(xi, 2, 3, 1.0 / lam), between(xi, 4, 5, -0.5 / lam)])
    xi, x = xi.astype(dtype), x.astype(dtype)
    with np.errstate(over="ignore"):
        naive_overflows = np.isinf(np.exp(lam * x.astype(np.float64) @ xi.astype(np.float64).T)).any()
    assert naive_overflows == (lam >= 30)  # λ = 30, 300: e^{λ ξ·x} overflows even float64
    ours = hopfield_step(x, xi, lam)
    assert ours.dtype == dtype and np.isfinite(ours).all()
    # to rounding: the bound of step_rounding_bound, per state (float64: 5e-13 to 7e-10,
    # float32: 3e-4 to 0.4, the latter between two patterns at λ = 300, where the scores
    # are ~5000 and float32 keeps them to ~1e-3)
    bound = step_rounding_bound(x, xi, lam, EPS[dtype])
    # the engine on the array (one block: the direct formula) and on a stream of
    # 97-pattern chunks (the online, flash-attention softmax, rescaled chunk by chunk)
    stream = Gaussian().stream(P, N, seed=1, chunk=97, dtype=dtype.__name__)
    for patterns in (xi, stream):
        engine = ModernHopfield(patterns, lam).step(x)
        assert engine.dtype == dtype
        assert np.all(np.abs(ours.astype(np.float64) - engine) <= bound)
    # it is attention with Q = x, K = V = ξ, β = λ: the same computation, bit for bit
    np.testing.assert_array_equal(ours, attention(x, xi, xi, beta=lam))


def test_hopfield_step_at_a_stored_pattern_returns_it():
    # N = 64, P = 100, λ = 1 (ModernHopfield's docstring case): other weights < e^-32
    xi = Spherical().sample(100, 64, seed=4)
    np.testing.assert_allclose(hopfield_step(xi[5], xi, 1.0), xi[5], rtol=0, atol=1e-10)


# ---- the Hopfield layer -------------------------------------------------------------


def per_head_hopfield_steps(layer, R, Y):
    """The layer, rebuilt from ModernHopfield: head i = one step on ξ = Y W_K, from x = R W_Q."""
    Z = [ModernHopfield(Y @ layer.W_K[i], layer.beta).step(R @ layer.W_Q[i]) @ layer.W_V[i]
         for i in range(layer.heads)]
    return Z, np.concatenate(Z, axis=1) @ layer.W_O


@pytest.mark.parametrize("beta", [None, 2.0])
def test_multi_head_layer_is_concatenated_hopfield_steps(beta):
    rng = np.random.default_rng(2)
    layer = HopfieldLayer.random(d_in=24, d_k=8, d_v=5, heads=3, d_out=10, beta=beta, seed=2)
    assert layer.beta == (1 / math.sqrt(8) if beta is None else 2.0)
    R, Y = rng.standard_normal((6, 24)), rng.standard_normal((50, 24))
    Z, expected = per_head_hopfield_steps(layer, R, Y)
    # scores β ξ·x of order 10 and O(1) weight matrices: float64 rounding of sums of
    # <= 50 terms, ~1e-14; 1e-12 leaves room and still catches any real difference
    np.testing.assert_allclose(layer(R, Y), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.head_outputs(R, Y), np.stack(Z), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(layer.patterns(Y), np.stack([Y @ W for W in layer.W_K]))
    np.testing.assert_array_equal(layer.states(R), np.stack([R @ W for W in layer.W_Q]))
    # Ramsauer et al.'s eq. (10), products in another order: softmax(β R W_Q W_Kᵀ Yᵀ) Y W_K W_V
    b = layer.beta
    eq10 = [softmax(b * R @ WQ @ WK.T @ Y.T, axis=1) @ Y @ WK @ WV
            for WQ, WK, WV in zip(layer.W_Q, layer.W_K, layer.W_V)]
    np.testing.assert_allclose(layer(R, Y), np.concatenate(eq10, axis=1) @ layer.W_O, rtol=1e-12, atol=1e-12)
    # self-attention (Y = R) and a single state
    np.testing.assert_array_equal(layer(R), layer(R, R))
    np.testing.assert_allclose(layer(R[2], Y), layer(R, Y)[2], rtol=1e-14, atol=1e-15)


def test_single_head_layer_without_output_projection():
    rng = np.random.default_rng(3)
    W_Q, W_K, W_V = rng.standard_normal((12, 6)), rng.standard_normal((9, 6)), rng.standard_normal((6, 4))
    layer = HopfieldLayer(W_Q, W_K, W_V, beta=0.5)  # d_r = 12 ≠ d_y = 9: cross-attention
    R, Y = rng.standard_normal((5, 12)), rng.standard_normal((30, 9))
    expected = hopfield_step(R @ W_Q, Y @ W_K, 0.5) @ W_V
    np.testing.assert_allclose(layer(R, Y), expected, rtol=1e-13, atol=1e-14)
    assert layer.heads == 1 and layer(R, Y).shape == (5, 4)


def test_random_layer_is_reproducible_with_fan_in_variance():
    a = HopfieldLayer.random(d_in=256, d_k=64, heads=4, seed=7)
    b = HopfieldLayer.random(d_in=256, d_k=64, heads=4, seed=np.random.default_rng(7))
    for name in ("W_Q", "W_K", "W_V", "W_O"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.W_Q, HopfieldLayer.random(d_in=256, d_k=64, heads=4, seed=8).W_Q)
    # variance 1/fan-in; the sample variance of n Gaussians has relative sd √(2/n) <= 0.6 %
    # here (n >= 65536): 5 sd = 3 %
    for W, fan_in in ((a.W_Q, 256), (a.W_K, 256), (a.W_V, 64), (a.W_O, 256)):
        assert abs(W.var() * fan_in - 1) < 0.03
    assert a.W_O.shape == (4 * 64, 256)  # d_v = d_k, d_out = d_in by default
    f32 = HopfieldLayer.random(d_in=8, d_k=4, seed=0, dtype="float32")
    assert f32.W_Q.dtype == np.float32 and f32(np.ones((2, 8), np.float32)).dtype == np.float32


# ---- dtypes and backends ------------------------------------------------------------


def test_float32_stays_float32_and_mixed_inputs_are_float64():
    rng = np.random.default_rng(4)
    Q, K = rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal((6, 5)).astype(np.float32)
    assert attention(Q, K, K).dtype == np.float32
    assert attention(Q, K, K.astype(np.float64)).dtype == np.float64  # never a silent demotion
    assert hopfield_step(Q.astype(int), K, 1.0).dtype == np.float64


def test_same_numbers_on_a_foreign_device(device):
    # array_api_strict arrays on a simulated device (conftest): a hidden NumPy call raises
    rng = np.random.default_rng(5)
    Q, K, V = rng.standard_normal((3, 8)), rng.standard_normal((20, 8)), rng.standard_normal((20, 4))
    put = device.put
    # the same operations in the same order: float64 rounding at most
    np.testing.assert_allclose(device.get(attention(put(Q), put(K), put(V), beta=3.0)),
                               attention(Q, K, V, beta=3.0), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(device.get(hopfield_step(put(Q), put(K), 3.0)),
                               hopfield_step(Q, K, 3.0), rtol=1e-13, atol=1e-15)
    layer = HopfieldLayer.random(d_in=8, d_k=4, heads=2, seed=5)  # NumPy weights, moved to the inputs
    R, Y = rng.standard_normal((3, 8)), rng.standard_normal((20, 8))
    np.testing.assert_allclose(device.get(layer(put(R), put(Y))), layer(R, Y), rtol=1e-13, atol=1e-15)
    strict = HopfieldLayer(*(put(W) for W in (layer.W_Q, layer.W_K, layer.W_V, layer.W_O)))
    np.testing.assert_allclose(device.get(strict(put(R), put(Y))), layer(R, Y), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(device.get(strict.patterns(put(Y))), layer.patterns(Y), rtol=1e-13, atol=1e-15)


# ---- PyTorch (optional: skipped without torch) --------------------------------------


def test_equals_torch_scaled_dot_product_attention():
    torch = pytest.importorskip("torch")
    sdpa = torch.nn.functional.scaled_dot_product_attention
    rng = np.random.default_rng(6)
    Q, K, V = rng.standard_normal((5, 16)), rng.standard_normal((40, 16)), rng.standard_normal((40, 7))
    t = torch.from_numpy

    def torch_attention(Q, K, V, **kw):  # SDPA wants (..., L, E); float64 tensors
        return sdpa(t(Q)[None], t(K)[None], t(V)[None], **kw)[0].numpy()

    # both float64, sums in different orders, scores of order 10: rounding ~1e-14
    np.testing.assert_allclose(attention(Q, K, V), torch_attention(Q, K, V), rtol=1e-12, atol=1e-12)
    # any other β is SDPA's scale=; λ = 30 is beyond the naive formula (scores ~ 10³)
    np.testing.assert_allclose(attention(Q, K, V, beta=0.7), torch_attention(Q, K, V, scale=0.7),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hopfield_step(Q, K, 30.0), torch_attention(Q, K, K, scale=30.0),
                               rtol=1e-10, atol=1e-10)  # ε · score 10³ · a few
    # the multi-head layer: SDPA over the head axis with Q = R W_Q, K = Y W_K, V = Y W_K W_V
    layer = HopfieldLayer.random(d_in=16, d_k=8, d_v=4, heads=3, seed=6)
    R, Y = rng.standard_normal((5, 16)), rng.standard_normal((30, 16))
    q, k = t(layer.states(R)), t(layer.patterns(Y))  # (h, B, d_k), (h, P, d_k)
    Z = sdpa(q, k, k @ t(layer.W_V), scale=layer.beta)  # (h, B, d_v)
    out = Z.permute(1, 0, 2).reshape(5, -1).numpy() @ layer.W_O  # heads concatenated
    np.testing.assert_allclose(layer(R, Y), out, rtol=1e-12, atol=1e-12)


# ---- bad input: one case each, the message names the parameter ---------------------

Q0, K0, V0 = np.ones((2, 4)), np.ones((5, 4)), np.ones((5, 3))
W = HopfieldLayer.random(d_in=6, d_k=4, heads=2, seed=0)


@pytest.mark.parametrize("call, error, match", [
    (lambda: attention(np.ones((2, 2, 4)), K0, V0), ValueError, r"^Q must have shape \(B, d\)"),
    (lambda: attention(Q0, np.ones((5, 3)), V0), ValueError, r"^K must have shape \(P, 4\), got \(5, 3\)"),
    (lambda: attention(Q0, K0, np.ones((4, 3))), ValueError, r"^V must have shape \(5, d_v\)"),
    (lambda: attention(Q0, np.ones((0, 4)), V0), ValueError, r"^K must have shape"),
    (lambda: attention(Q0, K0, V0, beta=0.0), ValueError, r"^beta must be finite and > 0"),
    (lambda: attention(Q0, K0, V0, beta=-1.0), ValueError, r"^beta must"),
    (lambda: attention(Q0, K0, V0, beta=np.nan), ValueError, r"^beta must"),
    (lambda: attention(Q0, K0, V0, beta=np.inf), ValueError, r"^beta must"),
    (lambda: attention(Q0, K0, V0, beta="1"), TypeError, r"^beta must"),
    (lambda: attention(np.full((2, 4), np.nan), K0, V0), ValueError, r"^Q contains NaN or inf"),
    (lambda: attention(Q0, np.full((5, 4), np.inf), V0), ValueError, r"^K contains NaN or inf"),
    (lambda: attention(Q0, K0, np.full((5, 3), np.nan)), ValueError, r"^V contains NaN or inf"),
    (lambda: attention(Q0 + 0j, K0, V0), TypeError, r"^Q must be an array of real numbers"),
    (lambda: attention(Q0, K0, V0, beta=1e308), ValueError, r"^beta=1e\+308 is too large"),
    (lambda: hopfield_step(Q0, np.ones((5, 3)), 1.0), ValueError, r"^xi must have shape \(P, 4\)"),
    (lambda: hopfield_step(np.ones((2, 2, 4)), K0, 1.0), ValueError, r"^x must have shape \(B, N\)"),
    (lambda: hopfield_step(Q0, K0, 0.0), ValueError, r"^lam must"),
    (lambda: hopfield_step(Q0, K0, None), TypeError, r"^lam must"),
    (lambda: hopfield_step(np.full(4, np.inf), K0, 1.0), ValueError, r"^x contains NaN"),
    (lambda: HopfieldLayer(np.ones((6, 4)), np.ones((6, 3)), np.ones((4, 2))), ValueError, r"^W_K must have shape \(d_y, 4\), got \(6, 3\)"),
    (lambda: HopfieldLayer(np.ones((6, 4)), np.ones((6, 4)), np.ones((3, 2))), ValueError, r"^W_V must have shape \(4, d_v\)"),
    (lambda: HopfieldLayer(np.ones((6, 4)), np.ones((6, 4)), np.ones((4, 2)), np.ones((3, 6))), ValueError, r"^W_O must have shape \(2, d_out\)"),
    (lambda: HopfieldLayer(np.ones((6, 4)), np.ones((6, 4)), np.ones((4, 2)), beta=-1), ValueError, r"^beta must"),
    (lambda: HopfieldLayer(np.ones(4), np.ones((6, 4)), np.ones((4, 2))), ValueError, r"^W_Q must have shape \(h, d_r, d_k\)"),
    (lambda: HopfieldLayer(np.ones((2, 6, 4)), np.ones((6, 4)), np.ones((2, 4, 2))), ValueError, r"^W_K must have shape \(2, d_y, 4\)"),
    (lambda: W(np.ones((2, 5)), np.ones((3, 6))), ValueError, r"^R must have shape \(B, 6\)"),
    (lambda: W(np.ones((2, 6)), np.ones((3, 5))), ValueError, r"^Y must have shape \(P, 6\)"),
    (lambda: W(np.ones((2, 6)), np.full((3, 6), np.nan)), ValueError, r"^Y contains NaN"),
    (lambda: HopfieldLayer(np.ones((5, 4)), np.ones((6, 4)), np.ones((4, 2)))(np.ones((2, 5))), ValueError, r"^Y must be given"),
    (lambda: HopfieldLayer.random(d_in=6, d_k=4, heads=0), ValueError, r"^heads must"),
    (lambda: HopfieldLayer.random(d_in=6, d_k=0), ValueError, r"^d_k must"),
    (lambda: HopfieldLayer.random(d_in=6, d_k=4, dtype="int8"), ValueError, r"^dtype must"),
], ids=["Q-ndim", "K-d", "V-P", "K-empty", "beta=0", "beta<0", "beta-nan", "beta-inf", "beta-str",
        "Q-nan", "K-inf", "V-nan", "Q-complex", "beta-overflow", "xi-N", "x-ndim", "lam=0", "lam-None",
        "x-inf", "W_K-d_k", "W_V-d_k", "W_O-rows", "layer-beta", "W_Q-ndim", "W_K-heads", "R-width", "Y-width",
        "Y-nan", "self-attention-width", "heads=0", "d_k=0", "dtype"])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
