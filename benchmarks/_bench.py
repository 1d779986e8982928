"""Shared helpers of the benchmark scripts: timing, machine facts, the results file.

Every script stores its numbers under one key of ``benchmarks/results/results.json`` (the
ceilings under ``"ceilings"``, the step benchmark under ``"step"``, ...);
``report.py`` turns that file into ``results.md``.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "results.json"  # raw numbers (not committed, see .gitignore)


def best_time(fn, *, k=5, warmup=1, budget=None):
    """Best (minimum) wall time of ``fn()`` over ``k`` runs after ``warmup`` calls.

    The minimum is the least disturbed run (other processes only ever add time).
    With ``budget`` (seconds) the number of timed runs is cut so that the whole
    measurement stays near that budget (but at least 2 runs). Returns
    ``(best, median, runs)``.
    """
    t_warm = None
    for _ in range(warmup):
        t0 = time.perf_counter()
        fn()
        t_warm = time.perf_counter() - t0
    if budget is not None and t_warm:
        k = max(2, min(k, int(budget / max(t_warm, 1e-9))))
    times = []
    gc.collect()
    gc.disable()  # a collection in the middle of a short run is noise, not cost
    try:
        for _ in range(k):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        gc.enable()
    times.sort()
    return times[0], times[len(times) // 2], len(times)


class Others:
    """CPU time used by *other* processes (and stolen by the hypervisor) while a block runs.

    ``with Others() as o: ...`` then ``o.cores``: the average number of cores busy
    with something other than this process during the block (0 on a quiet machine,
    up to 2 here). A value above ~0.2 means the timings of the block are suspect.
    """

    def _busy(self):
        with open("/proc/stat") as f:
            v = [int(a) for a in f.readline().split()[1:]]
        idle = v[3] + v[4]  # idle + iowait
        return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        t = os.times()
        self._own, self._all, self._wall = t.user + t.system, self._busy(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        t = os.times()
        own = t.user + t.system - self._own
        wall = time.perf_counter() - self._wall
        self.cores = max(0.0, (self._busy() - self._all - own) / max(wall, 1e-9))
        return False


def loadavg():
    """1-minute load average (more than ~0.5 before a run means someone else is busy)."""
    return os.getloadavg()[0]


def machine():
    """What the numbers depend on: CPU, cores, BLAS kernel and its environment variables."""
    import numpy as np
    from threadpoolctl import threadpool_info

    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = [
        {k: d.get(k) for k in ("internal_api", "architecture", "version", "num_threads", "filepath")}
        for d in threadpool_info() if d.get("user_api") == "blas"
    ]
    env = {k: os.environ.get(k) for k in (
        "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
        "MKL_NUM_THREADS")}
    import hashlib

    src = HERE.parent / "damlab"
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in sorted(src.rglob("*.py")))).hexdigest()[:12]
    return {
        "damlab_sources_sha256": digest,
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "blas": blas, "env": env,
    }


def save(key, value):
    """Store ``value`` under ``key`` in results.json (other keys are kept)."""
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[key] = value
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=1, default=float) + "\n")


def load(key=None):
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    return data if key is None else data.get(key)


def ceilings():
    """The measured ceilings (run ceilings.py first)."""
    c = load("ceilings")
    if c is None:
        raise SystemExit("no ceilings in results/results.json: run `python benchmarks/ceilings.py` first")
    return c


def fmt_time(t):
    """Seconds as a short string with a unit."""
    if t is None:
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.0f} µs"
    if t < 1:
        return f"{t * 1e3:.1f} ms"
    return f"{t:.2f} s"
