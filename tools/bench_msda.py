#!/usr/bin/env python3
"""bench_msda.py — multi-scale deformable attention on the CPU: lpoi (bench/bench_msda.c) beside PyTorch in one run.

PyTorch's side is transformers' MultiScaleDeformableAttention (the grid_sample path HF runs on CPU) at the same
shape and input distribution as bench_msda.c: Grounding-DINO-Tiny at one 800x1333 image (levels 100x167, 50x84,
25x42, 13x21; 8 heads of 32, 4 levels x 4 points), as the decoder's cross-attention (Q = 900) and the encoder's
self-attention (Q = 22223). Forward under no_grad; backward = autograd of sum(out * dout) for value, sampling
locations and attention weights, the forward it needs run untimed before it. One warm-up, median of --reps.
Both sides use the same thread count. The lpoi binary is bench_msda from `./nob bench` (or --bin).

usage: python3 tools/bench_msda.py [--bin build/<cfg>/bench_msda] [--threads 2] [--reps 5] [--quick]
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import time

import torch
from transformers.models.grounding_dino.modeling_grounding_dino import MultiScaleDeformableAttention

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LEVELS = [(100, 167), (50, 84), (25, 42), (13, 21)]
H, D, P = 8, 32, 4


def torch_times(Q, reps):
    L, S = len(LEVELS), sum(h * w for h, w in LEVELS)
    g = torch.Generator().manual_seed(1)
    value = torch.rand(1, S, H, D, generator=g) * 2 - 1
    loc = torch.rand(1, Q, H, L, P, 2, generator=g) * 1.04 - 0.02
    attn = torch.rand(1, Q, H, L, P, generator=g)
    dout = torch.rand(1, Q, H * D, generator=g) * 2 - 1
    shapes = torch.tensor(LEVELS)
    start = torch.cat([shapes.new_zeros(1), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]])
    msda = MultiScaleDeformableAttention()

    def run(v, lc, a):
        return msda(v, shapes, LEVELS, start, lc, a, im2col_step=64)

    fwd, bwd = [], []
    for r in range(reps + 1):
        with torch.no_grad():
            t0 = time.perf_counter()
            run(value, loc, attn)
            t1 = time.perf_counter()
        leaves = [t.clone().requires_grad_(True) for t in (value, loc, attn)]
        out = run(*leaves)
        t2 = time.perf_counter()
        out.backward(dout)
        t3 = time.perf_counter()
        if r > 0:
            fwd.append(1e3 * (t1 - t0))
            bwd.append(1e3 * (t3 - t2))
    return statistics.median(fwd), statistics.median(bwd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=None, help="lpoi's bench_msda (default: the newest build/*/bench_msda)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="the decoder shape only")
    args = ap.parse_args()
    binary = args.bin or max(glob.glob(os.path.join(ROOT, "build", "*", "bench_msda")), key=os.path.getmtime,
                             default=None)
    if not binary:
        print("bench_msda.py: no build/*/bench_msda: run ./nob bench first (or pass --bin)", file=sys.stderr)
        return 1
    cmd = [binary, "--threads", str(args.threads), "--reps", str(args.reps)] + (["--quick"] if args.quick else [])
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    print(text, end="")
    lpoi = {f[1]: (float(f[2]), float(f[3])) for f in (line.split() for line in text.splitlines())
            if f and f[0] == "RESULT"}
    torch.set_num_threads(args.threads)
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, HF MultiScaleDeformableAttention "
          f"(grid_sample); median of {args.reps}")
    print(f"{'shape':<28} {'torch fwd ms':>12} {'torch bwd ms':>12} {'fwd speedup':>12} {'bwd speedup':>12}")
    shapes = [("decoder_cross_attention", 900)] + ([] if args.quick else [("encoder_self_attention", 22223)])
    for name, Q in shapes:
        tf, tb = torch_times(Q, args.reps)
        lf, lb = lpoi[name]
        print(f"{name:<28} {tf:12.2f} {tb:12.2f} {tf / lf:11.2f}x {tb / lb:11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
