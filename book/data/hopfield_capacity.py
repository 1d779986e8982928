"""Finite-size capacity of the classical Hopfield network: the data behind the chapter's
finite-size figure (book/hopfield.md), too slow to run on every build.

For each N, zero-temperature asynchronous dynamics from a stored pattern at loads
α = 0.11 ... 0.22, with damlab.experiments.final_overlap; the samples (final overlaps)
are written to hopfield_capacity.npz next to this file. Run from the repository root:

    .venv/bin/python book/data/hopfield_capacity.py            # all sizes, ~30 min (2 cores)
    .venv/bin/python book/data/hopfield_capacity.py --N 8000   # one size (merged into the file)
"""

import argparse
import time
from pathlib import Path

import numpy as np

from damlab import Binary, Hopfield
from damlab.experiments import final_overlap

OUT = Path(__file__).with_name("hopfield_capacity.npz")
ALPHAS = np.round(np.arange(0.11, 0.2201, 0.01), 2)
RUNS = {250: (32, 8), 500: (32, 8), 1000: (16, 8), 2000: (16, 8), 4000: (16, 8), 8000: (8, 8)}  # N: (trials, starts)
SEED = 2026


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, nargs="*", default=sorted(RUNS), help="sizes to (re)compute")
    args = parser.parse_args()
    for N in args.N:
        trials, starts = RUNS[N]
        t0 = time.perf_counter()
        e = final_overlap(Hopfield, Binary(), N, np.round(ALPHAS * N), trials=trials, starts=starts,
                          seed=SEED + N, progress=True)
        data = dict(np.load(OUT)) if OUT.exists() else {}  # read late: other sizes may have been added
        data[f"m_{N}"] = e.samples.astype(np.float32)
        data["alpha"] = ALPHAS
        np.savez_compressed(OUT, **data)
        print(f"N = {N}: {e.samples.size} runs in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
