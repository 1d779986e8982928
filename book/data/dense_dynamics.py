"""Parallel retrieval dynamics of the dense memory F(x) = x³ at large N: the data behind the
finite-size and basin figures of book/dynamics.md, too slow to run on every build.

Runs damlab.experiments.dense_overlap_trajectory (30 parallel updates, each draw of the
patterns retrieving `starts` of its stored patterns) and writes the overlaps m(t) to
dense_dynamics.npz next to this file:

* ``traj_<N>``: α′ = 0.1 ... 0.4 and m₀ = 0.5 ... 0.9, the structure of Mimura et al.'s
  Fig. 1, at N = 1024 and 2048 (the chapter runs N = 512 live);
* ``basin_n3``: n = 3 at N = 2048, α′ = 0.05 ... 0.25 and a fine grid of m₀;
* ``basin_n2``: the classical model (n = 2) at N = 2048, α = P/N = 0.028 ... 0.138, the
  same fractions of its capacity, on the same m₀ grid.

Run from the repository root (2 cores; the N = 2048 runs hold up to 4.6 GB of patterns):

    .venv/bin/python book/data/dense_dynamics.py               # everything, ~45 min
    .venv/bin/python book/data/dense_dynamics.py --only traj_1024 basin_n2
"""

import argparse
import time
from pathlib import Path

import numpy as np

from damlab.experiments import dense_overlap_trajectory

OUT = Path(__file__).with_name("dense_dynamics.npz")
STEPS, SEED = 30, 2026
TRAJ_ALPHA, TRAJ_M0 = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.5, 0.6, 0.7, 0.8, 0.9])
BASIN_M0 = np.round(np.arange(0.05, 0.951, 0.05), 2)
FRACTIONS = np.array([0.2, 0.4, 0.6, 0.8, 1.0])   # of 0.25, just below α′_c = 0.2522 (n = 3); of α_c = 0.138 (n = 2)
# name: (N, n, loads, m0 grid, trials, starts)
RUNS = {
    "traj_1024": (1024, 3, TRAJ_ALPHA, TRAJ_M0, 12, 8),
    "traj_2048": (2048, 3, TRAJ_ALPHA, TRAJ_M0, 6, 8),
    "basin_n3": (2048, 3, np.round(0.25 * FRACTIONS, 3), BASIN_M0, 4, 4),
    "basin_n2": (2048, 2, np.round(0.138 * FRACTIONS, 4), BASIN_M0, 8, 16),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=list(RUNS), choices=list(RUNS), help="runs to (re)compute")
    args = parser.parse_args()
    for k, name in enumerate(RUNS):
        if name not in args.only:
            continue
        N, n, loads, m0, trials, starts = RUNS[name]
        t0 = time.perf_counter()
        e = dense_overlap_trajectory(N, loads[:, None], m0[None, :], n=n, steps=STEPS, trials=trials,
                                     starts=starts, seed=SEED + k, progress=True)
        data = dict(np.load(OUT)) if OUT.exists() else {}  # read late: other runs may have been added
        data[name] = e.samples.astype(np.float32)
        data[f"{name}_loads"], data[f"{name}_m0"], data[f"{name}_N"] = loads, m0, N
        np.savez_compressed(OUT, **data)
        print(f"{name}: {e.samples.shape} in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
