// cpu_ops.h — the CPU backend's op implementations, one file per op family:
//   cpu_gemm.c (+ _avx2.c, _avx512.c) gemm, matmul_forward/backward
//   cpu_embedding.c                  embedding_forward/backward
//   cpu_norm.c                       rmsnorm, layernorm
//   cpu_softmax.c                    softmax
//   cpu_rope.c                       rope
//   cpu_activation.c                 gelu, silu, swiglu
//   cpu_elementwise.c                add, axpy, scale, sum_squares
//   cpu_attention.c                  attention
//   cpu_logprob.c                    logprob
//   cpu_adamw.c                      adamw_update
//   cpu_matmul_half.c                matmul_forward_half, matmul_backward_dx_half (16-bit weights)
// Signatures are exactly the Backend slots (generated from ops.h, semantics there); cpu_backend.c fills
// the table from the same list. All are fp32, multi-threaded with parallel_for, and deterministic for a
// given thread count.
#pragma once
#include "backend/backend.h"

// cpu_<name> for every op of ops.h (all of them: the CPU backend is the reference and the fallback).
#define OP(ID, name, ret, params) ret cpu_##name params;
#include "backend/ops.h"

// The gemm's SIMD path: "avx512", "avx2+fma" or "portable" (LPOI_CPU_ISA=avx512|avx2|portable|auto
// picks at start-up);
// cpu_gemm_select switches it at run time (tests, benchmarks) and returns false if unavailable.
const char *cpu_gemm_isa(void);
bool cpu_gemm_select(const char *isa);
