"""One-step retrieval thresholds of modern Hopfield networks up to N = 60: the data behind the
finite-size figure of book/phases.md, too slow to run on every build.

For each case (ensemble, λ) and size N, the fraction of instances with w₁ > 1/2 at x = ξ¹
(damlab.experiments.retrieval_fraction, route "tail": P = e^{αN} up to ~10¹⁶ patterns)
on two grids of loads: a coarse one that finds the transition, then a fine one around it.
The indicators of the fine grid are written to one_step_thresholds.npz next to this file.
Run from the repository root:

    .venv/bin/python book/data/one_step_thresholds.py                 # all, ~10 min (2 cores)
    .venv/bin/python book/data/one_step_thresholds.py --case gaussian_1.5 --N 60
"""

import argparse
import concurrent.futures
import time
from pathlib import Path

import numpy as np

from damlab import Gaussian, Spherical
from damlab.experiments import Estimate, crossing, retrieval_fraction
from damlab.theory import capacity, finite_size

OUT = Path(__file__).with_name("one_step_thresholds.npz")
SIZES = (12, 16, 20, 30, 40, 50, 60)
CASES = {  # name: (ensemble, λ, norm of ξ¹); both λ beyond Gaussian's triple point λ = 1
    "spherical_1": (Spherical(), 1.0, None),
    "gaussian_1.5": (Gaussian(), 1.5, 1.0),
    "gaussian_4": (Gaussian(), 4.0, 1.0),
}
COARSE, FINE = (11, 50), (11, 400)  # (loads, instances per load)
SEED = 2026


def window(ens, lam, N):
    """Where the coarse grid looks: around the annealed threshold (liquid), or between α₁ and
    the λ = ∞ bound (condensed)."""
    if lam < capacity.triple_point(ens)[0]:
        a = float(finite_size.alpha_1_annealed(ens, lam, N))
        return a - 0.01, a + 0.01
    return float(capacity.alpha_1(ens, lam)) - 0.01, float(finite_size.alpha_1_argmax(ens, N)) + 0.01


def run(name, N):
    ens, lam, norm = CASES[name]
    seed = [SEED, N, list(CASES).index(name)]  # one root per (case, N, grid)
    lo, hi = window(ens, lam, N)
    alphas = np.linspace(lo, hi, COARSE[0])
    e = retrieval_fraction(ens, N, alphas, lam, trials=COARSE[1], norm=norm, route="tail", seed=np.random.SeedSequence(seed + [0]))
    a, _ = crossing(alphas, e)
    step = (hi - lo) / (COARSE[0] - 1)
    alphas = a + np.linspace(-1.5 * step, 1.5 * step, FINE[0])
    e = retrieval_fraction(ens, N, alphas, lam, trials=FINE[1], norm=norm, route="tail", seed=np.random.SeedSequence(seed + [1]))
    return name, N, alphas, e.samples[..., 0].astype(np.int8)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--N", type=int, nargs="*", default=SIZES)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    t0 = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(args.workers) as pool:
        jobs = [pool.submit(run, name, N) for name in args.case for N in args.N]
        for job in concurrent.futures.as_completed(jobs):
            name, N, alphas, w = job.result()
            data = dict(np.load(OUT)) if OUT.exists() else {}  # read late: keep what others wrote
            data[f"{name}_N{N}_alpha"], data[f"{name}_N{N}_w"] = alphas, w
            np.savez_compressed(OUT, **data)
            a, se = crossing(alphas, Estimate(w[..., None].astype(float)), method="probit")
            print(f"{name}, N = {N}: crossing {a:.4f} ± {se:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
