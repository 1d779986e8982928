"""Dynamics of the dense memory (issue 6's benchmark): simulation throughput and the cost of the theory.

* Simulation: one parallel update of `DenseMemory(xi, n=3)` (float32, ±1 patterns) at
  α′ = 0.4 (M = 0.4 N²/3), N = 512 and 2048, for batches of B states: the run-steps per
  second (trajectories × steps; B = 1 is one trial at a time, larger B are the `starts` ×
  m₀ batches of `dense_overlap_trajectory`), and the arithmetic rate 4·B·N·M flops per
  step (two products) against the machine's GEMM ceiling when `ceilings.py` has run.
* Theory: `damlab.theory.dynamics.effective_process` over 30 steps with 10⁵ paths (4
  replicas), at a slow point (α′ = 0.3, m₀ = 0.7: every path near its threshold, the worst
  case) and a fast one (α′ = 0.1, m₀ = 0.9: retrieval, few paths carry a response).

    python benchmarks/bench_dynamics.py            # ~2 min (the N = 2048 patterns take 4.6 GB)
"""

from __future__ import annotations

import time

import numpy as np

from damlab import Binary, DenseMemory
from damlab.experiments import dense_patterns
from damlab.theory.dynamics import effective_process
from _bench import best_time, load, loadavg, save

ALPHA = 0.4


def step_rates(N, batches):
    xi = Binary().sample(dense_patterns(N, ALPHA, 3), N, seed=0, dtype="float32")
    net, rng = DenseMemory(xi, n=3), np.random.default_rng(1)
    out = {}
    for B in batches:
        s = np.where(rng.random((B, N)) < 0.5, -1.0, 1.0).astype(np.float32)
        best, _, _ = best_time(lambda: net.step(s), k=5, budget=10)
        out[B] = dict(seconds=best, run_steps_per_s=B / best, gflops=4 * B * N * xi.shape[0] / best / 1e9)
    return xi.shape[0], out


def main():
    print(f"load average {loadavg():.2f}")
    peak = (load("ceilings") or {}).get("gemm_flops", 0) / 1e9    # 0: ceilings.py has not run
    results = {}
    for N, batches in ((512, (1, 8, 40, 100)), (2048, (1, 8, 40))):
        M, rates = step_rates(N, batches)
        results[f"step_{N}"] = dict(M=M, rates=rates)
        for B, r in rates.items():
            share = f", {r['gflops'] / peak:.0%} of GEMM peak" if peak else ""
            print(f"N = {N}, M = {M:,}, B = {B:3d}: {r['seconds'] * 1e3:7.1f} ms per step, "
                  f"{r['run_steps_per_s']:8.0f} run-steps/s, {r['gflops']:.0f} GFLOP/s{share}")
    for a, m0 in ((0.3, 0.7), (0.1, 0.9)):
        t0 = time.perf_counter()
        effective_process(m0, a, 3, steps=30, paths=100_000, seed=0)
        dt = time.perf_counter() - t0
        results[f"process_{a}_{m0}"] = dt
        print(f"effective process, alpha' = {a}, m0 = {m0}, 30 steps, 100 000 paths: {dt:.2f} s")
    save("dynamics", results)


if __name__ == "__main__":
    main()
