"""Run every benchmark in order (one run, ~6 minutes on 2 cores), then write results.md.

Run: ``/work/bench-venv/bin/python benchmarks/run_all.py [--full]`` (see README.md).
``--full`` also measures neurodynex3's complete pattern storage at N = 1024 (~1 min)
instead of extrapolating it from one pattern.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    full = "--full" in sys.argv[1:]
    print(f"load average at start: {os.getloadavg()[0]:.2f} (another busy process makes every number worse)")
    steps = [["ceilings.py"], ["bench_step.py"], ["diagnose_step.py"], ["bench_dense.py"],
             ["bench_classical.py"] + (["--full"] if full else []), ["report.py"]]
    t0 = time.perf_counter()
    for cmd in steps:
        print(f"\n=== {' '.join(cmd)}", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, cmd[0]), *cmd[1:]], check=True, cwd=HERE)
    print(f"\nall benchmarks: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
