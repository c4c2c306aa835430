#!/usr/bin/env python3
"""bench_cpu_gemm.py — lpoi's CPU SGEMM vs OpenBLAS and vs torch.matmul (MKL), interleaved, one machine.

Each configuration (shape, layout, threads) runs --reps rounds of: bench/bench_matmul.c (lpoi and
OpenBLAS side by side in one process, median of its timed calls; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE
unset so OpenBLAS picks its own kernel, named in the output), then torch in this process (2 warm-up
calls, then the median of --calls timed calls). A pause before each bench_matmul run lets torch's
OpenMP workers stop spinning. The table gives the median GFLOP/s of each side over the rounds and the
median of the per-round ratios — the machine is shared, so interleaving spreads the noise.

usage: python tools/bench_cpu_gemm.py [--bench build/bench_matmul] [--reps 3] [--quick]
"""
import argparse
import glob
import os
import platform
import re
import statistics
import subprocess
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = [(512, 512, 512, True), (1024, 1024, 1024, False), (1024, 1024, 1024, True), (2048, 2048, 2048, True),
          (4096, 4096, 1024, True), (4096, 4096, 4096, True)]


def cpu_model():
    with open("/proc/cpuinfo") as f:
        txt = f.read()
    name = re.search(r"model name\s*:\s*(.*)", txt).group(1)
    flags = re.search(r"flags\s*:\s*(.*)", txt).group(1).split()
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni") if f in flags]
    fam = re.search(r"cpu family\s*:\s*(\d+)", txt).group(1)
    return f"{name} (family {fam}), {os.cpu_count()} CPUs, {' '.join(isa)}"


def run_bench(exe, M, N, K, tb, threads):
    time.sleep(0.4)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    r = subprocess.run([exe, "--shape", f"{M}x{N}x{K}{'t' if tb else ''}", "--threads", str(threads)],
                       capture_output=True, text=True, env=env, check=True)
    head = "\n".join(l for l in r.stdout.splitlines() if l.startswith(("lpoi:", "OpenBLAS:")))
    row = [l for l in r.stdout.splitlines() if re.match(r"\d+ x \d+ x \d+", l)][0].split()
    return float(row[7]), float(row[8]), head


def run_torch(M, N, K, tb, calls):
    g = torch.Generator().manual_seed(0)
    a = torch.rand(M, K, generator=g) * 2 - 1
    b = torch.rand((N, K) if tb else (K, N), generator=g) * 2 - 1
    c = torch.empty(M, N)   # written in place, as lpoi and OpenBLAS write their preallocated C
    f = (lambda: torch.matmul(a, b.t(), out=c)) if tb else (lambda: torch.matmul(a, b, out=c))
    for _ in range(2):
        f()
    ts = []
    for _ in range(calls):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return 2.0 * M * N * K / statistics.median(ts) * 1e-9


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cands = sorted(glob.glob(os.path.join(HERE, "..", "build", "*", "bench_matmul")), key=os.path.getmtime)
    ap.add_argument("--bench", default=cands[-1] if cands else None)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    print(f"CPU: {cpu_model()}; load {os.getloadavg()[0]:.2f} at start (machine shared with other jobs)")
    print(f"torch {torch.__version__}: BLAS {'MKL' if torch.backends.mkl.is_available() else '?'}, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    header = None
    rows = []
    for (M, N, K, tb) in SHAPES:
        if a.quick and M * N * K > 1024 ** 3:
            continue
        for threads in (1, 2):
            torch.set_num_threads(threads)
            calls = 3 if M * N * K >= 2048 ** 3 else 10
            L, O, T, rl_o, rl_t = [], [], [], [], []
            for _ in range(a.reps):
                l, o, head = run_bench(a.bench, M, N, K, tb, threads)
                t = run_torch(M, N, K, tb, calls)
                header = header or head
                L.append(l); O.append(o); T.append(t); rl_o.append(l / o); rl_t.append(l / t)
            med = statistics.median
            rows.append((f"{M}×{N}×{K}", "Bᵀ" if tb else "B", threads, med(L), med(O), med(T), med(rl_o), med(rl_t)))
            print(f"  {rows[-1][0]} {rows[-1][1]} {threads}t: lpoi {med(L):.1f}  OpenBLAS {med(O):.1f}  "
                  f"torch {med(T):.1f}", flush=True)
    print(header)
    print(f"load {os.getloadavg()[0]:.2f} at end\n")
    print("| M×N×K | op(B) | threads | lpoi GFLOP/s | OpenBLAS GFLOP/s | torch (MKL) GFLOP/s | lpoi/OpenBLAS | lpoi/torch |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.1f} | {r[4]:.1f} | {r[5]:.1f} | {100 * r[6]:.0f}% | {100 * r[7]:.0f}% |")


if __name__ == "__main__":
    main()
