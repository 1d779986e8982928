"""Classical Hopfield model: damlab.Hopfield against neurodynex3's hopfield_network.

P = 0.1 N random ±1 patterns, N = 1024 and 4096. Timed:

- storage: neurodynex3 ``HopfieldNetwork(N).store_patterns(patterns)`` (a Python
  triple loop over patterns and neuron pairs) against ``damlab.Hopfield(xi)`` plus
  building the couplings (damlab builds them lazily, as N·J, when a sweep first needs
  them; the synchronous step never does);
- one synchronous step: neurodynex3 ``iterate()`` with its default sign dynamics
  (``np.sum(weights * state, axis=1)``, an N x N temporary) against ``net.step(s)``
  (the factored form ξᵀ(ξs)/N, no N x N array at all);
- one asynchronous sweep (all N neurons once, random order): neurodynex3
  ``set_dynamics_sign_async(); iterate()`` against ``net.sweep(s)`` (which keeps the
  local fields and jumps from flip to flip: O(N) work per flip).

neurodynex3's storage costs ~1 s per pattern at N = 1024 and ~16 s at N = 4096, so
its full storage (P patterns) is *extrapolated* from one- and two-pattern timings
(the loop is exactly linear in the number of patterns); ``--full`` measures it at
N = 1024 (about 1.5 min). For the step timings neurodynex3 gets the same Hebbian
weights assigned directly (its step time does not depend on their values).

damlab runs in float32 (``Binary().sample(..., dtype="float32")``) and, for
information, float64; neurodynex3 works in float64 (its weights are float64).
The start state is a stored pattern with 10 % of the spins flipped. Peak extra
memory (tracemalloc) of damlab's storage, step and sweep is reported against N².

Run: ``python benchmarks/bench_classical.py [--full]``.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import damlab
from _bench import Others, best_time, fmt_time, loadavg, save

SIZES = (1024, 4096)


def neurodynex_net(N):
    from neurodynex3.hopfield_network.network import HopfieldNetwork

    np.random.seed(0)  # neurodynex3 draws its initial state and weights from np.random
    return HopfieldNetwork(N)


def store_time(N, patterns, full):
    """neurodynex3 storage time for all P patterns: measured, or extrapolated.

    The triple loop costs the same for every pattern, so P patterns cost P times
    one pattern (the O(N²) zeroing and division are done once and are negligible);
    the two-pattern time checks that.
    """
    net = neurodynex_net(N)
    t1 = best_time(lambda: net.store_patterns(patterns[:1]), k=2, warmup=0)[0]
    t2 = best_time(lambda: net.store_patterns(patterns[:2]), k=1, warmup=0)[0] if N <= 1024 else None
    meas = None
    if full:
        meas = best_time(lambda: net.store_patterns(patterns), k=1, warmup=0)[0]
    return {"one": t1, "two": t2, "extrapolated": len(patterns) * t1, "measured": meas}


def traced_peak(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def run_size(N, full, budget):
    P = N // 10
    xi32 = np.asarray(damlab.Binary().sample(P, N, seed=0, dtype="float32"))
    xi64 = xi32.astype(np.float64)
    rng = np.random.default_rng(1)
    s32 = xi32[0] * np.where(rng.random(N) < 0.1, -1, 1).astype(np.float32)
    s64 = s32.astype(np.float64)
    load = loadavg()
    row = {"N": N, "P": P, "load": load}
    others = Others().__enter__()

    # --- storage
    def store(xi):
        net = damlab.Hopfield(xi)
        net._hebb()  # builds the couplings the sweeps use, N·J (net.J divides it by N)
        return net
    row["damlab_store"] = best_time(lambda: store(xi32), k=10, warmup=1, budget=budget)[0]
    row["damlab_store_f64"] = best_time(lambda: store(xi64), k=10, warmup=1, budget=budget)[0]
    row["damlab_store_peak"] = traced_peak(lambda: store(xi32))
    patterns = [p.astype(int) for p in xi64]
    row["nd_store"] = store_time(N, patterns, full and N <= 1024)

    # --- steps: the same weights in neurodynex3 (its float64 Hebbian matrix, zero diagonal)
    net32, net64 = store(xi32), store(xi64)
    nd = neurodynex_net(N)
    nd.weights = np.asarray(net64.J, dtype=np.float64)
    if full and N <= 1024:  # check the weights against neurodynex3's own storage
        ref = neurodynex_net(N)
        ref.store_patterns(patterns)
        row["weights_maxdiff"] = float(np.max(np.abs(ref.weights - nd.weights)))

    def nd_sync():
        nd.set_state_from_pattern(s64)
        nd.set_dynamics_sign_sync()
        nd.iterate()
        return nd.state

    def nd_async():
        nd.set_state_from_pattern(s64)
        nd.set_dynamics_sign_async()
        nd.iterate()
        return nd.state

    t = {}
    t["nd_sync"] = best_time(nd_sync, k=10, warmup=1, budget=budget)[0]
    t["nd_async"] = best_time(nd_async, k=10, warmup=1, budget=budget)[0]
    time.sleep(0.15)
    t["damlab_sync"] = best_time(lambda: net32.step(s32), k=200, warmup=2, budget=budget)[0]
    t["damlab_sync_f64"] = best_time(lambda: net64.step(s64), k=200, warmup=2, budget=budget)[0]
    t["damlab_sweep"] = best_time(lambda: net32.sweep(s32, seed=0), k=10, warmup=1, budget=budget)[0]
    t["damlab_sweep_f64"] = best_time(lambda: net64.sweep(s64, seed=0), k=10, warmup=1, budget=budget)[0]
    # the lean NumPy floor of the factored synchronous step (no checks, no array-API layer)
    D = np.sum(xi32 * xi32, axis=0)
    lean = lambda: (lambda h: np.where(h == 0, s32, np.sign(h)))((s32 @ xi32.T) @ xi32 - D * s32)
    t["lean_sync"] = best_time(lean, k=200, warmup=2, budget=budget)[0]
    row["lean_sync_same"] = bool(np.array_equal(lean(), np.asarray(net32.step(s32))))
    row.update(t)
    row["damlab_step_peak"] = traced_peak(lambda: net32.step(s32))
    row["damlab_sweep_peak"] = traced_peak(lambda: net32.sweep(s32, seed=0))

    # agreement of the synchronous step (neurodynex3 sends a zero field to +1, damlab keeps the spin)
    a, b = np.asarray(net64.step(s64)), nd_sync()
    row["sync_agree"] = float(np.mean(a == b))
    row["sync_dtype"] = str(net32.step(s32).dtype)

    others.__exit__(None, None, None)
    row["others"] = others.cores
    st = row["nd_store"]["measured"] or row["nd_store"]["extrapolated"]
    print(f"N = {N}, P = {P}  load {load:.2f}  other processes {others.cores:.2f} cores")
    print(f"  storage: damlab {fmt_time(row['damlab_store'])} (float64 {fmt_time(row['damlab_store_f64'])}),"
          f" neurodynex3 {fmt_time(st)} ({'measured' if row['nd_store']['measured'] else 'extrapolated'};"
          f" 1 pattern {fmt_time(row['nd_store']['one'])}, 2 patterns {fmt_time(row['nd_store']['two'])},"
          f" extrapolated {fmt_time(row['nd_store']['extrapolated'])})"
          f"  ratio {st / row['damlab_store']:.0f}x")
    print(f"  sync step: damlab {fmt_time(t['damlab_sync'])} (float64 {fmt_time(t['damlab_sync_f64'])}),"
          f" neurodynex3 {fmt_time(t['nd_sync'])}  ratio {t['nd_sync'] / t['damlab_sync']:.0f}x;"
          f" same result on {row['sync_agree']:.2%} of spins")
    print(f"  async sweep: damlab {fmt_time(t['damlab_sweep'])} (float64 {fmt_time(t['damlab_sweep_f64'])}),"
          f" neurodynex3 {fmt_time(t['nd_async'])}  ratio {t['nd_async'] / t['damlab_sweep']:.2f}x")
    print(f"  damlab peak extra memory: storage {row['damlab_store_peak'] / 2**20:.1f} MiB,"
          f" step {row['damlab_step_peak'] / 2**10:.0f} KiB, sweep {row['damlab_sweep_peak'] / 2**20:.2f} MiB"
          f" (N² float32 = {N * N * 4 / 2**20:.0f} MiB)")
    print(f"  lean NumPy sync step (floor of the factored form) {fmt_time(t['lean_sync'])}"
          f" (same result: {row['lean_sync_same']})")
    if "weights_maxdiff" in row:
        print(f"  damlab J vs neurodynex3 store_patterns weights: max |diff| {row['weights_maxdiff']:.1e}")
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="measure neurodynex3's full storage at N = 1024")
    ap.add_argument("--budget", type=float, default=3.0)
    a = ap.parse_args()
    rows = [run_size(N, a.full, a.budget) for N in SIZES]
    save("classical", rows)


if __name__ == "__main__":
    main()
