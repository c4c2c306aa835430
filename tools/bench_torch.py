#!/usr/bin/env python3
"""bench_torch.py — PyTorch (cuBLAS / SDPA) at bench_cuda's shapes: the ceilings lpoi's kernels are compared to.

Same method as bench/bench_cuda.c: random inputs (never zeros), one warm-up, L2 flushed (memset of a buffer
larger than L2) before each timed call, CUDA events around each call, median of up to --reps repeats (each
row stops after ~1.5 s of timed work). Prints a table of the same shape. Runs only where torch sees a GPU;
otherwise prints "bench_torch: skipped (<reason>)" and exits 0.

usage: python3 tools/bench_torch.py [--quick] [--filter SUBSTR] [--reps N]
"""
import argparse
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--filter", default=None)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001
        print(f"bench_torch: skipped (torch not importable: {e})")
        return 0
    if not torch.cuda.is_available():
        print("bench_torch: skipped (torch.cuda.is_available() is False)")
        return 0
    dev = torch.device("cuda")
    p = torch.cuda.get_device_properties(0)
    l2 = getattr(p, "L2_cache_size", 50 << 20) or (50 << 20)
    print(f"bench_torch: torch {torch.__version__}, CUDA {torch.version.cuda}, {p.name}, {p.multi_processor_count} SMs")
    flush = torch.empty(max(2 * l2, 64 << 20) // 4, dtype=torch.int32, device=dev)
    s = 16 if args.quick else 1

    def timeit(fn):
        fn()
        torch.cuda.synchronize()
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        ms, spent = [], 0.0
        for k in range(2 if args.quick else args.reps):
            if k >= 3 and spent > 1500:
                break
            flush.fill_(k)
            e0.record()
            fn()
            e1.record()
            e1.synchronize()
            ms.append(e0.elapsed_time(e1))
            spent += ms[-1]
        ms.sort()
        n = len(ms)
        return (ms[n // 2] if n % 2 else 0.5 * (ms[n // 2 - 1] + ms[n // 2])), n

    print()
    print(f"{'op':<22} {'variant':<10} {'shape':<28} {'ms':>10} {'result':>14} {'reps':>5}")
    tok = 4096 // s
    gemms = [  # name, M, N, K, op  (same rows as bench_cuda: forward NT, dx NN, dw TN)
        ("gemm_fwd_4096", tok, 4096 // s, 4096 // s, "NT"), ("gemm_dx_4096", tok, 4096 // s, 4096 // s, "NN"),
        ("gemm_dw_4096", 4096 // s, 4096 // s, tok, "TN"), ("gemm_fwd_11008", tok, 11008 // s, 4096 // s, "NT"),
        ("gemm_dx_11008", tok, 4096 // s, 11008 // s, "NN"), ("gemm_dw_11008", 11008 // s, 4096 // s, tok, "TN"),
        ("gemm_lora_down", tok, 16, 4096 // s, "NT"), ("gemm_lora_up", tok, 4096 // s, 16, "NT"),
        ("gemm_lora_dA", 16, 4096 // s, tok, "TN"), ("gemm_lora_dx", tok, 4096 // s, 16, "NN"),
    ]
    for dt, variant in ((torch.bfloat16, "bf16"), (torch.float32, "fp32"), (torch.float32, "tf32")):
        torch.backends.cuda.matmul.allow_tf32 = variant == "tf32"
        for name, M, N, K, op in gemms:
            if args.filter and args.filter not in name:
                continue
            a = torch.randn(K, M, device=dev, dtype=dt) if op == "TN" else torch.randn(M, K, device=dev, dtype=dt)
            b = torch.randn(N, K, device=dev, dtype=dt) if op == "NT" else torch.randn(K, N, device=dev, dtype=dt)
            fa = (lambda a=a: a.t()) if op == "TN" else (lambda a=a: a)
            fb = (lambda b=b: b.t()) if op == "NT" else (lambda b=b: b)
            ms, n = timeit(lambda: torch.matmul(fa(), fb()))
            tf = 2.0 * M * N * K / (ms * 1e-3) / 1e12
            print(f"{name:<22} {variant:<10} {f'{M}x{N}x{K} {op}':<28} {ms:>10.3f} {f'{tf:.2f} TFLOP/s':>14} {n:>5}")
            del a, b
    torch.backends.cuda.matmul.allow_tf32 = False
    attns = [("attention_fwd_causal", 2048, 32, 32, 128, True), ("attention_fwd_full", 2048, 32, 32, 128, False),
             ("attention_fwd_gqa8", 2048, 32, 8, 128, True), ("attention_fwd_clip", 577, 16, 16, 64, False)]
    for dt, variant in ((torch.bfloat16, "bf16 sdpa"), (torch.float32, "fp32 sdpa")):
        for name, T, H, KVH, D, causal in attns:
            T = max(T // s, 16)
            for bwd in (False, True):
                rname = name.replace("_fwd_", "_bwd_") if bwd else name
                if args.filter and args.filter not in rname:
                    continue
                q = torch.randn(1, H, T, D, device=dev, dtype=dt, requires_grad=bwd)
                # GQA: K/V expanded to H heads (what SDPA sees); the work counted is the same as lpoi's.
                k = torch.randn(1, KVH, T, D, device=dev, dtype=dt).repeat_interleave(H // KVH, 1).requires_grad_(bwd)
                v = torch.randn(1, KVH, T, D, device=dev, dtype=dt).repeat_interleave(H // KVH, 1).requires_grad_(bwd)
                flops = 4.0 * H * T * T * D * (0.5 if causal else 1.0)
                if bwd:
                    o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                    g = torch.randn_like(o)
                    ms, n = timeit(lambda: torch.autograd.grad(o, (q, k, v), g, retain_graph=True))
                    flops *= 2.5
                else:
                    with torch.no_grad():
                        ms, n = timeit(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal))
                tf = flops / (ms * 1e-3) / 1e12
                shape = f"B1 T{T} H{H}/{KVH} D{D}{' causal' if causal else ''}"
                print(f"{rname:<22} {variant:<10} {shape:<28} {ms:>10.3f} {f'{tf:.2f} TFLOP/s':>14} {n:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
