"""One-step retrieval thresholds of hidden-manifold patterns (relu, tanh, sign) over the
latent ratio d and λ: the data behind the sweep figure of book/structured.md.

For each (activation, d, λ): the fraction of instances with w₁ > 1/2 at x = ξ¹
(damlab.experiments.retrieval_fraction, route "vectors": these scores have no closed law,
so the P - 1 other patterns are sampled and streamed) on 11 loads from 0.5 to 1.5 α₁(λ),
for 6 feature matrices F of 40 instances each, and each matrix's probit crossing. N is the
largest with P = e^{αN} <= 2·10⁵ at the top load (between 12 and 40). Written to
hidden_manifold_thresholds.npz next to this file. Run from the repository root:

    .venv/bin/python book/data/hidden_manifold_thresholds.py        # ~15 min (2 cores)
"""

import concurrent.futures
import itertools
import math
import time
from pathlib import Path

import numpy as np

from damlab import HiddenManifold
from damlab.experiments import crossing, retrieval_fraction
from damlab.theory import capacity

OUT = Path(__file__).with_name("hidden_manifold_thresholds.npz")
ACTIVATIONS, DS, LAMS = ("relu", "tanh", "sign"), (0.25, 1.0, 4.0), (0.5, 2.0)
MATRICES, TRIALS, P_MAX = 6, 40, 2e5
SEED = 2026


def run(act, d, lam):
    a1 = float(capacity.alpha_1(HiddenManifold(d, act), lam))
    alphas = a1 * np.linspace(0.5, 1.5, 11)
    N = int(np.clip(math.floor(math.log(P_MAX) / alphas[-1]), 12, 40))
    per_F = []
    for s in range(MATRICES):
        e = retrieval_fraction(HiddenManifold(d, act, seed=s), N, alphas, lam, trials=TRIALS, route="vectors",
                               seed=np.random.default_rng([SEED, s]).integers(2**32), progress=False)
        per_F.append(crossing(alphas, e, method="probit")[0])
    return act, d, lam, N, a1, np.array(per_F)


def main():
    t0 = time.perf_counter()
    rows = []
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        jobs = [pool.submit(run, *case) for case in itertools.product(ACTIVATIONS, DS, LAMS)]
        for job in concurrent.futures.as_completed(jobs):
            act, d, lam, N, a1, per_F = job.result()
            rows.append((act, d, lam, N, a1, per_F))
            print(f"{act:>4}, d = {d:<4g} lambda = {lam}: N = {N}, crossing {per_F.mean():.4f} ± "
                  f"{per_F.std(ddof=1) / math.sqrt(per_F.size):.4f}, alpha_1 = {a1:.4f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    rows.sort(key=lambda r: (ACTIVATIONS.index(r[0]), r[1], r[2]))
    np.savez_compressed(OUT, activation=np.array([r[0] for r in rows]), d=np.array([r[1] for r in rows]),
                        lam=np.array([r[2] for r in rows]), N=np.array([r[3] for r in rows]),
                        crossings=np.stack([r[5] for r in rows]))


if __name__ == "__main__":
    main()
