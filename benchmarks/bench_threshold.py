"""One finite-N threshold estimate of the exponential-capacity chapters (issue 4's benchmark).

Spherical patterns, λ = 0.3, N = 40, 5 loads around α₁(λ), 100 instances each: the time
of `damlab.experiments.retrieval_fraction` on its two routes,

- "scores": the scores ξ^μ·ξ¹ drawn directly in law (Beta), online log-sum-exp, early exit;
- "tail": only the ~4096 largest scores drawn (inverse survival), the rest summed by their
  truncated moments: the same cost at any P;
- "vectors": the P - 1 other patterns sampled as a stream and passed through the engine
  (`damlab.engine.logsumexp`),

with the share of the time spent in the engine and in drawing patterns (cProfile), and the
peak memory of one instance at the largest P (tracemalloc, NumPy allocations included).

    python benchmarks/bench_threshold.py
"""

from __future__ import annotations

import cProfile
import pstats
import time
import tracemalloc

import numpy as np

import damlab
from damlab.experiments import crossing, patterns_for, retrieval_fraction
from damlab.theory.capacity import alpha_1
from _bench import Others, fmt_time, loadavg, save

N, LAM, TRIALS = 40, 0.3, 100


def shares(route, alpha):
    """Seconds in total, in damlab.engine and in drawing patterns or scores, by cProfile."""
    prof = cProfile.Profile()
    prof.enable()
    retrieval_fraction(damlab.Spherical(), N, alpha, LAM, trials=TRIALS, route=route, seed=1, progress=False)
    prof.disable()
    st = pstats.Stats(prof)
    total = max(v[3] for v in st.stats.values())  # cumulative time of the outermost call

    def cumulative(pred):
        return max((v[3] for k, v in st.stats.items() if pred(k)), default=0.0)
    engine = cumulative(lambda k: k[0].endswith("engine.py") and k[2] == "logsumexp")
    draw = cumulative(lambda k: k[0].endswith("ensembles.py") and k[2] in ("_draw", "sample_scores"))
    return total, engine, draw


def peak_memory(route, alpha):
    tracemalloc.start()
    retrieval_fraction(damlab.Spherical(), N, alpha, LAM, trials=2, route=route, seed=2, progress=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    a1 = float(alpha_1(damlab.Spherical(), LAM))
    alpha = a1 + np.array([-0.04, -0.02, 0.0, 0.02, 0.04])
    print(f"spherical, lambda = {LAM}, N = {N}, alpha_1 = {a1:.4f}, P from {patterns_for(N, alpha[0]):,} "
          f"to {patterns_for(N, alpha[-1]):,}, {TRIALS} instances per load; load average {loadavg():.2f}")
    out = {}
    for route in ("scores", "tail", "vectors"):
        with Others() as others:
            t0 = time.perf_counter()
            e = retrieval_fraction(damlab.Spherical(), N, alpha, LAM, trials=TRIALS, route=route, seed=1,
                                   progress=False)
            wall = time.perf_counter() - t0
        total, engine, draw = shares(route, alpha)
        peak = peak_memory(route, alpha[-1:])
        a_hat, se = crossing(alpha, e)
        out[route] = dict(wall=wall, engine_share=engine / total, draw_share=draw / total, peak_bytes=peak,
                          crossing=a_hat, crossing_se=se, other_cores=others.cores)
        print(f"{route:>8}: {fmt_time(wall)} (other processes: {others.cores:.2f} cores); "
              f"engine {100 * engine / total:.0f} %, drawing {100 * draw / total:.0f} % (cProfile); "
              f"peak memory {peak / 2**20:.1f} MiB at P = {patterns_for(N, alpha[-1]):,}; "
              f"crossing {a_hat:.4f} ± {se:.4f}")
    save("threshold", dict(N=N, lam=LAM, trials=TRIALS, alpha=alpha.tolist(), alpha_1=a1, **out))


if __name__ == "__main__":
    main()
