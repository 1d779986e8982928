"""Where the time of damlab.engine.step goes: the engine against the sum of its parts.

For each case of bench_step.py:

1. the per-chunk operations of the engine's NumPy pass (``_NumpyPass.update``),
   timed one thread at a time on a chunk already in cache, as the engine does them:
   the first product (scores), the in-place exp, the second product (weighted sum
   and sum of weights), the copy into the augmented chunk when B is large, or the
   shift of the scores by the reference when it is small, and the small per-chunk
   bookkeeping; their sum times the number of chunks, halved (two
   threads, perfect split), is what the engine could take with these NumPy calls;
2. the engine itself at its default chunk size and at a few others (``chunk=``).

This reads two private helpers of damlab: its default chunk size
(``damlab.engine._default_rows``) and its in-place column shift
(``damlab.engine._subtract_columns``).

Run: ``python benchmarks/diagnose_step.py`` (about 2 minutes).
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

import damlab.engine
from _bench import Others, best_time, ceilings, fmt_time, save
from bench_step import CASES, inputs
from damlab.engine import _subtract_columns as subtract_columns


def per_chunk(x, xi, lam, rows):
    """Single-thread time of each operation of one chunk update (chunk in cache)."""
    B, N = x.shape
    xs = (x * np.float32(lam)).astype(np.float32)
    Xc = np.ascontiguousarray(xi[:rows])
    m = np.full(B, 8.0, dtype=np.float32)
    t = {}
    with threadpool_limits(limits=1, user_api="blas"):
        if 2 * B > N + 1:  # the engine's augmented path
            aug = np.ones((rows, N + 1), dtype=np.float32)
            xs_aug = np.empty((B, N + 1), dtype=np.float32)
            xs_aug[:, :N], xs_aug[:, N] = xs, -m
            t["copy chunk"] = best_time(lambda: aug.__setitem__((slice(None), slice(0, N)), Xc), k=20)[0]
            t["product 1"] = best_time(lambda: aug @ xs_aug.T, k=20)[0]
            ST = aug @ xs_aug.T
            buf = np.empty_like(ST)  # exp into a second buffer: exp of exp would overflow
            t["exp"] = best_time(lambda: np.exp(ST, out=buf), k=20)[0]
            np.exp(ST, out=ST)
            t["product 2"] = best_time(lambda: (aug.T @ ST).T, k=20)[0]
            R = (aug.T @ ST).T
        else:
            t["product 1"] = best_time(lambda: Xc @ xs.T, k=20)[0]
            ST = Xc @ xs.T
            t["shift"] = best_time(lambda: subtract_columns(ST, 0 * m), k=20)[0]
            ST -= m
            buf = np.empty_like(ST)
            t["exp"] = best_time(lambda: np.exp(ST, out=buf), k=20)[0]
            np.exp(ST, out=ST)
            ones = np.ones(rows, dtype=np.float32)
            t["product 2"] = best_time(lambda: np.concatenate([(Xc.T @ ST).T, (ones @ ST)[:, None]], axis=1), k=20)[0]
            R = np.concatenate([(Xc.T @ ST).T, (ones @ ST)[:, None]], axis=1)
        acc, l_ = np.zeros((B, N), np.float32), np.zeros(B, np.float32)

        def book():
            ST.min() < -43.0  # the floor check
            ok = np.isfinite(R).all(axis=1)
            if ok.all():
                l_.__iadd__(R[:, -1])
                acc.__iadd__(R[:, :N])
            (l_ > 2.0**32).any()
        t["bookkeeping"] = best_time(book, k=50)[0]
    return t


def subnormal_demo():
    """Low temperature: what subnormal floats cost, and the engine at λN = √N and 128."""
    from bench_step import LOW_T, reference

    out = {}
    rng = np.random.default_rng(0)
    a = rng.uniform(-103, -88, (1024, 256)).astype(np.float32)  # exp of these is subnormal
    b = rng.uniform(-20, -10, (1024, 256)).astype(np.float32)
    buf = np.empty_like(a)
    ones = np.ones((1024, 65), np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        out["exp_subnormal_ns"] = best_time(lambda: np.exp(a, out=buf), k=20)[0] / a.size * 1e9
        out["exp_normal_ns"] = best_time(lambda: np.exp(b, out=buf), k=20)[0] / a.size * 1e9
        ea, eb = np.exp(a), np.exp(b)
        out["gemm_subnormal"] = best_time(lambda: ea.T @ ones, k=3)[0]
        out["gemm_normal"] = best_time(lambda: eb.T @ ones, k=20)[0]
    print(f"exp: {out['exp_normal_ns']:.2f} ns per float32 with a normal result, {out['exp_subnormal_ns']:.2f} ns"
          f" with a subnormal one; product (256,1024)@(1024,65): {fmt_time(out['gemm_normal'])} with normal"
          f" weights, {fmt_time(out['gemm_subnormal'])} with subnormal weights")
    rows = []
    for N, P, B, lam in LOW_T:
        x, xi, _ = inputs(N, P, B)
        for lam_ in (1 / np.sqrt(N), lam):
            ref = reference(x[:32], xi, lam_)
            t = best_time(lambda: damlab.engine.step(x, xi, lam_), k=3, warmup=1)[0]
            err = float(np.abs(damlab.engine.step(x[:32], xi, lam_) - ref).max())
            print(f"(N, P, B) = ({N}, {P}, {B}), λN = {lam_ * N:.0f}: engine {fmt_time(t)} (max|err| {err:.1e})")
            rows.append({"N": N, "P": P, "B": B, "lam": float(lam_), "engine": t, "err": err})
    out["cases"] = rows
    return out


def main():
    ceil = ceilings()
    rows_out = []
    for N, P, B in CASES:
        x, xi, lam = inputs(N, P, B)
        rows = damlab.engine._default_rows(B, N, P, 4)
        n_chunks = -(-P // rows)
        with Others() as others:
            parts = per_chunk(x, xi, lam, rows)
            flops = 4.0 * rows * N * B
            per = sum(parts.values())
            ideal = per * n_chunks / 2
            eng = {}
            for c in sorted({rows // 4, rows, rows * 4, rows * 16}):
                if c < 64 or c > P:
                    continue
                eng[c] = best_time(lambda: damlab.engine.step(x, xi, lam, chunk=c), k=5, warmup=1, budget=8)[0]
        d = eng[rows]
        print(f"(N, P, B) = ({N}, {P}, {B}): {n_chunks} chunks of {rows} rows; other processes {others.cores:.2f} cores")
        for k_, v in parts.items():
            extra = ""
            if k_.startswith("product"):
                extra = f"  ({flops / 2 / v / 1e9:.0f} GFLOP/s on one core)"
            if k_ == "exp":
                extra = f"  ({v / (rows * B) * 1e9:.2f} ns per score)"
            print(f"    {k_:12s} {fmt_time(v):>9s} per chunk{extra}")
        print(f"    sum {fmt_time(per)} per chunk -> {fmt_time(ideal)} for the pass on 2 cores (perfect split);"
              f" engine {fmt_time(d)} ({ideal / d:.0%} of it)")
        print("    engine by chunk size: " + ", ".join(f"{c}: {fmt_time(v)}" for c, v in eng.items()))
        rows_out.append({"N": N, "P": P, "B": B, "rows": rows, "chunks": n_chunks, "parts": parts,
                         "ideal_2cores": ideal, "engine_by_chunk": {str(c): v for c, v in eng.items()},
                         "gemm_floor": 4.0 * P * N * B / ceil["gemm_flops"], "others": others.cores})
    print("subnormal softmax weights (low temperature):")
    save("diagnose", {"cases": rows_out, "subnormal": subnormal_demo()})


if __name__ == "__main__":
    main()
