"""Turn benchmarks/results/results.json into the Markdown tables of benchmarks/results.md.

Run: ``python benchmarks/report.py`` (after the benchmark scripts).
"""

from __future__ import annotations

import datetime

from _bench import HERE, fmt_time, load


def pct(a):
    return f"{a:.0%}"


def ceilings_md(c):
    m = c["machine"]
    blas = m["blas"][0] if m["blas"] else {}
    env = ", ".join(f"{k}={v}" for k, v in m["env"].items() if v is not None) or "none set"
    lines = [
        "## Machine and ceilings",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; Python {m['python']}, NumPy {m['numpy']}",
        f"- NumPy's BLAS: {blas.get('internal_api')} {blas.get('version')}, kernel "
        f"`{blas.get('architecture')}`, {blas.get('num_threads')} threads",
        f"- BLAS/OpenMP environment variables (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE, ...): {env}",
        f"- damlab sources measured: sha256 prefix `{m.get('damlab_sources_sha256')}`",
        "",
        "| ceiling | measured | how |",
        "| --- | --- | --- |",
        f"| peak float32 GEMM (NumPy) | **{c['gemm_flops'] / 1e9:.0f} GFLOP/s** | best square sgemm, "
        + ", ".join(f"n={n}: {v / 1e9:.0f}" for n, v in c["gemm_by_size"].items()) + " |",
        f"| peak float32 GEMM (torch, information) | {c['torch_gemm_flops'] / 1e9:.0f} GFLOP/s | torch.mm n=4096 (MKL) |"
        if c.get("torch_gemm_flops") else None,
        f"| read bandwidth | **{c['read_bw'] / 1e9:.1f} GB/s** | best of "
        + ", ".join(f"{k}: {v / 1e9:.1f}" for k, v in c["bw_by_method"].items()) + " (1 GiB array) |",
        "",
        f"Other processes used {c.get('others', 0):.2f} cores on average during the ceiling measurement.",
        "",
    ]
    return [line for line in lines if line is not None]


def step_md(s, c):
    names = ["damlab", "numpy naive", "torch SDPA", "torch matmul"]
    lines = [
        "## One modern Hopfield step (float32, 2 threads)",
        "",
        "Best of k rounds (damlab and SDPA in every round, the slow references in a few); "
        "`others`: cores used by other processes during the case.",
        "",
        "| (N, P, B) | damlab | NumPy naive | torch SDPA | torch matmul | damlab / SDPA "
        "| GEMM floor (% reached) | bandwidth floor (% reached) | max abs diff vs float64 (damlab / SDPA) | others |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in s["cases"]:
        t = r["time"]
        d = t["damlab"]
        gf = f"{fmt_time(r['gemm_floor'])} ({pct(r['gemm_floor'] / d)})" if r["B"] >= 64 else f"({pct(r['gemm_floor'] / d)})"
        bf = f"{fmt_time(r['bw_floor'])} ({pct(r['bw_floor'] / d)})" if r["B"] == 1 else f"({pct(r['bw_floor'] / d)})"
        err = f"{r['maxabs_vs_f64']['damlab']:.1e} / {r['maxabs_vs_f64']['torch SDPA']:.1e}"
        lines.append(
            f"| ({r['N']}, {r['P']:,}, {r['B']}) | " + " | ".join(fmt_time(t[n]) for n in names)
            + f" | **{d / t['torch SDPA']:.2f}** | {gf} | {bf} | {err} | {r['others']:.2f} |"
        )
    lines += ["", "Floors: GEMM = 4·P·N·B flop / peak GEMM rate (meaningful for B ≥ 64); "
              "bandwidth = 4·P·N bytes / read bandwidth (meaningful for B = 1). "
              "The percentages in brackets where the floor does not apply are for orientation only.", ""]
    if s.get("low_t"):
        lines += ["### Low temperature (λN = 128): subnormal softmax weights", "",
                  "| (N, P, B) | λ | damlab | torch SDPA | damlab / SDPA | max abs diff vs float64 (damlab / SDPA) | others |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in s["low_t"]:
            t = r["time"]
            lines.append(f"| ({r['N']}, {r['P']:,}, {r['B']}) | {r['lam']:g} | {fmt_time(t['damlab'])} | "
                         f"{fmt_time(t['torch SDPA'])} | **{t['damlab'] / t['torch SDPA']:.2f}** | "
                         f"{r['maxabs_vs_f64']['damlab']:.1e} / {r['maxabs_vs_f64']['torch SDPA']:.1e} | {r['others']:.2f} |")
        lines.append("")
    lines += ["### float64 λ (a NumPy scalar) and float32 work", "",
              "| (N, P, B) | damlab output dtype | damlab, λ as np.float64 | damlab, λ as float | "
              "naive with np.float64 λ as is | its output dtype |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in s["cases"]:
        trap = r.get("naive_f64_lam")
        lines.append(
            f"| ({r['N']}, {r['P']:,}, {r['B']}) | {r['dtype']['damlab']} | {fmt_time(r['time']['damlab'])} | "
            f"{fmt_time(r['damlab_float_lam'])} | "
            + (f"{fmt_time(trap['time'])} ({trap['time'] / r['time']['numpy naive']:.0f}× the float32 naive) | {trap['dtype']} |"
               if trap else "not run (float64 scores > 1 GiB) | float64 |")
        )
    lines += ["", "### Peak extra memory of one step (fresh process each)", "",
              "| method | (N, P, B) | NumPy allocations (tracemalloc peak) | peak RSS growth |",
              "| --- | --- | --- | --- |"]
    for m in s["memory"]:
        lines.append(f"| {m['method']} | ({m['N']}, {m['P']:,}, {m['B']}) | {m['traced_peak'] / 2**20:.1f} MiB | "
                     f"{m['rss_growth'] / 2**20:.1f} MiB |")
    lines.append("")
    return lines


def diagnose_md(d):
    lines = ["## Where damlab's step time goes (diagnose_step.py)", "",
             "Per chunk, one thread, chunk in cache: the engine's own NumPy operations. "
             "'Parts on 2 cores' = their sum × chunks / 2 (a perfect split). "
             "These single-core rates drift by ±30 % between runs on this machine: read them as rough.", "",
             "| (N, P, B) | chunks × rows | product 1 | exp | product 2 | copy or shift, bookkeeping "
             "| parts on 2 cores | engine | engine by chunk size |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in d["cases"]:
        p = r["parts"]
        fl = 2.0 * r["rows"] * r["N"] * r["B"]
        book = p.get("copy chunk", 0) + p.get("shift", 0) + p["bookkeeping"]
        eng = r["engine_by_chunk"]
        lines.append(
            f"| ({r['N']}, {r['P']:,}, {r['B']}) | {r['chunks']} × {r['rows']} | {fmt_time(p['product 1'])} "
            f"({fl / p['product 1'] / 1e9:.0f} GF/s) | {fmt_time(p['exp'])} | {fmt_time(p['product 2'])} "
            f"({fl / p['product 2'] / 1e9:.0f} GF/s) | {fmt_time(book)} | {fmt_time(r['ideal_2cores'])} | "
            f"{fmt_time(eng[str(r['rows'])])} | " + ", ".join(f"{c}: {fmt_time(v)}" for c, v in eng.items()) + " |")
    sn = d.get("subnormal")
    if sn:
        lines += ["", f"Subnormal floats: `np.exp` takes {sn['exp_normal_ns']:.2f} ns per float32 with a normal result "
                  f"and {sn['exp_subnormal_ns']:.2f} ns with a subnormal one; the product (256, 1024) @ (1024, 65) "
                  f"takes {fmt_time(sn['gemm_normal'])} with normal weights and {fmt_time(sn['gemm_subnormal'])} "
                  f"with subnormal ones.", "",
                  "The engine raises log-weights below ½ ln(smallest normal) = -43.7 to it, so that "
                  "none is subnormal:", "",
                  "| (N, P, B) | λN | engine | max abs err vs float64 |", "| --- | --- | --- | --- |"]
        for r in sn["cases"]:
            lines.append(f"| ({r['N']}, {r['P']:,}, {r['B']}) | {r['lam'] * r['N']:.0f} | {fmt_time(r['engine'])} | "
                         f"{r['err']:.1e} |")
    lines.append("")
    return lines


def dense_md(rows):
    lines = ["## Dense (Krotov–Hopfield, n = 3) parallel update vs a modern Hopfield step", "",
             "| (N, P, B) | DenseMemory(n=3).step | engine.step (modern) | ratio (target ≤ 2) "
             "| DenseMemory(F='exp').step | float32 update = float64 update | others |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        t = r["time"]
        lines.append(f"| ({r['N']}, {r['P']:,}, {r['B']}) | {fmt_time(t['dense n=3 step'])} | "
                     f"{fmt_time(t['modern step (engine)'])} | **{r['ratio']:.2f}** | {fmt_time(t['dense exp step'])} | "
                     f"{r['agree_f32_f64']:.4%} of spins | {r['others']:.2f} |")
    lines.append("")
    return lines


def classical_md(rows):
    lines = ["## Classical Hopfield: damlab vs neurodynex3 (P = 0.1 N, ±1 patterns)", "",
             "| N | what | damlab (float32) | damlab (float64) | neurodynex3 | neurodynex3 / damlab (float32) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        st = r["nd_store"]
        nd_store = st["measured"] or st["extrapolated"]
        how = "measured" if st["measured"] else "extrapolated: P × one pattern, an underestimate"
        lines += [
            f"| {r['N']} | storage (couplings N·J) | {fmt_time(r['damlab_store'])} | {fmt_time(r['damlab_store_f64'])} | "
            f"{fmt_time(nd_store)} ({how}) | **{nd_store / r['damlab_store']:,.0f}×** |",
            f"| {r['N']} | one synchronous step | {fmt_time(r['damlab_sync'])} | {fmt_time(r['damlab_sync_f64'])} | "
            f"{fmt_time(r['nd_sync'])} | **{r['nd_sync'] / r['damlab_sync']:.0f}×** |",
            f"| {r['N']} | one asynchronous sweep | {fmt_time(r['damlab_sweep'])} | {fmt_time(r['damlab_sweep_f64'])} | "
            f"{fmt_time(r['nd_async'])} | **{r['nd_async'] / r['damlab_sweep']:.2f}×** |",
        ]
    lines += ["", "| N | neurodynex3 storage: 1 pattern / 2 patterns | lean NumPy sync step (floor) "
              "| damlab peak extra memory: storage / step / sweep | others |",
              "| --- | --- | --- | --- | --- |"]
    for r in rows:
        st = r["nd_store"]
        lines.append(
            f"| {r['N']} | {fmt_time(st['one'])} / {fmt_time(st['two'])} | {fmt_time(r['lean_sync'])} "
            f"({r['nd_sync'] / r['lean_sync']:.0f}× neurodynex3) | "
            f"{r['damlab_store_peak'] / 2**20:.0f} MiB / {r['damlab_step_peak'] / 2**10:.0f} KiB / "
            f"{r['damlab_sweep_peak'] / 2**10:.0f} KiB (N² float32 = {r['N']**2 * 4 / 2**20:.0f} MiB) | {r['others']:.2f} |")
    if any("weights_maxdiff" in r for r in rows):
        r = next(r for r in rows if "weights_maxdiff" in r)
        st = r["nd_store"]
        lines += ["", f"Check at N = {r['N']}: damlab's J equals neurodynex3's `store_patterns` weights to "
                  f"{r['weights_maxdiff']:.1e} (max abs difference). neurodynex3's full storage there took "
                  f"{fmt_time(st['measured'])}, {st['measured'] / st['extrapolated']:.2f}× the one-pattern "
                  "extrapolation, so the extrapolated N = 4096 figure is a lower bound."]
    lines.append("")
    return lines


def main():
    data = load()
    out = [f"# Benchmark results ({datetime.date.today().isoformat()})", "",
           "Produced by `benchmarks/report.py` from `benchmarks/results/results.json`; see README.md for "
           "how to run and what limits each case.", ""]
    c = data.get("ceilings")
    if c:
        out += ceilings_md(c)
    if data.get("step"):
        out += step_md(data["step"], c)
    if data.get("diagnose"):
        out += diagnose_md(data["diagnose"])
    if data.get("dense"):
        out += dense_md(data["dense"])
    if data.get("classical"):
        out += classical_md(data["classical"])
    (HERE / "results.md").write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
