"""Machine ceilings: peak float32 GEMM rate and read memory bandwidth.

The step benchmark states its results as fractions of two floors computed from
these numbers:

- GEMM floor (B >= 64): 4·P·N·B flops (two products, a multiply-add each) over
  the peak float32 GEMM rate of NumPy's BLAS on all cores;
- bandwidth floor (B = 1): the P·N·4 pattern bytes over the read bandwidth.

Peak GEMM: large square ``sgemm`` (``a @ b``, float32) with NumPy's BLAS and both
cores, best of several runs and sizes. PyTorch's ``mm`` is measured too, for
information only (it is not the reference: damlab runs on NumPy's BLAS).

Read bandwidth: best of several ways of reading a 1 GiB float32 array once:
``np.sum`` split over the cores by threads, ``sgemv`` (``A @ v``, the access
pattern of a single-query step), and ``torch.sum``. The best is the ceiling.

Run: ``python benchmarks/ceilings.py`` (writes ``"ceilings"`` in results.json).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from _bench import Others, best_time, loadavg, machine, save


def gemm_peak(sizes=(3072, 4096, 6144), k=6):
    """Best float32 GEMM rate (flop/s) of NumPy's BLAS over square sizes."""
    rng = np.random.default_rng(0)
    out = {}
    for n in sizes:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        t, med, _ = best_time(lambda: np.matmul(a, b, out=c), k=k, warmup=2)
        out[n] = 2.0 * n**3 / t
        print(f"  numpy sgemm n={n}: {out[n] / 1e9:7.1f} GFLOP/s (median {2.0 * n**3 / med / 1e9:.1f})")
    return out


def gemm_peak_torch(n=4096, k=6):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count())
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    c = torch.empty(n, n)
    t, _, _ = best_time(lambda: torch.mm(a, b, out=c), k=k, warmup=2)
    r = 2.0 * n**3 / t
    print(f"  torch mm   n={n}: {r / 1e9:7.1f} GFLOP/s (information only)")
    return r


def read_bandwidth(nbytes=1 << 30, k=8):
    """Best read bandwidth (bytes/s) over several ways of reading the array once."""
    T = os.cpu_count() or 1
    a = np.ones(nbytes // 4, dtype=np.float32)  # written once: every page is mapped
    parts = np.array_split(a, T)
    pool = ThreadPoolExecutor(T)
    res = {}

    def threaded_sum():
        list(pool.map(np.sum, parts))  # NumPy releases the GIL inside the reduction

    t, _, _ = best_time(threaded_sum, k=k, warmup=2)
    res["numpy sum, %d threads" % T] = nbytes / t
    t, _, _ = best_time(lambda: np.sum(a), k=k, warmup=1)
    res["numpy sum, 1 thread"] = nbytes / t
    A = a.reshape(-1, 64)  # the (P, N = 64) layout of the B = 1 step
    v = np.ones(64, dtype=np.float32)
    t, _, _ = best_time(lambda: A @ v, k=k, warmup=2)
    res["sgemv (P, 64) @ (64,)"] = nbytes / t
    try:
        import torch

        torch.set_num_threads(T)
        ta = torch.from_numpy(a)
        t, _, _ = best_time(lambda: ta.sum(), k=k, warmup=2)
        res["torch sum, %d threads" % T] = nbytes / t
    except ImportError:
        pass
    pool.shutdown()
    for name, bw in res.items():
        print(f"  {name:28s} {bw / 1e9:6.1f} GB/s")
    return res


def main():
    print(f"load average before the run: {loadavg():.2f}")
    info = machine()
    print("machine:", info["cpu"], "cores:", info["cores"])
    print("BLAS:", info["blas"])
    print("environment:", info["env"])
    load = loadavg()
    with Others() as others:
        print("peak float32 GEMM:")
        gemm = gemm_peak()
        torch_gemm = gemm_peak_torch()
        print("read bandwidth (1 GiB float32):")
        bw = read_bandwidth()
    print(f"other processes used {others.cores:.2f} cores on average during the measurement")
    peak, read = max(gemm.values()), max(bw.values())
    print(f"=> GEMM peak {peak / 1e9:.1f} GFLOP/s, read bandwidth {read / 1e9:.1f} GB/s")
    save("ceilings", {
        "machine": info, "gemm_flops": peak, "gemm_by_size": gemm,
        "torch_gemm_flops": torch_gemm, "read_bw": read, "bw_by_method": bw,
        "load_before": load, "others": others.cores,
    })


if __name__ == "__main__":
    main()
