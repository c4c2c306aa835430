// rows.h — launch constants shared by the row kernels (cu/norm.cu, cu/softmax.cu) and their launchers in
// src/backend/cuda/cuda_norm.c and cuda_softmax.c, plus (C side) the launch-shape helpers.
//
// *_NV: quads (4 floats) per thread that a kernel keeps in registers per input row. The wrappers pick the
// row-group size G (threads per row: a power of two, 32..1024) as the smallest with 4*NV*G >= C, so a
// row up to 4*NV*1024 floats is read once; the kernels stay correct for any G (longer rows re-read
// their tail). G depends on C alone, so the order of every sum is fixed by the shape: deterministic.
#pragma once

#define ROWS_BLOCK 256          // threads per block of the forward row kernels when G <= 256 (256/G rows per block)
#define ROWS_MAX_GROUP 1024

#define NORM_FWD_NV 2           // rmsnorm_forward_f32, layernorm_forward_f32: x (C = 4096: G = 512)
#define RMS_BWD_NV 2            // rmsnorm_backward_f32: dout and x, twice (prefetch), dw terms (G = 512)
#define LN_BWD_NV 1             // layernorm_backward_f32: the same plus w and db terms (G = 1024)
#define SOFTMAX_FWD_NV 2        // softmax_forward_f32: x (+ mask)
#define SOFTMAX_BWD_NV 2        // softmax_backward_f32: out and dout

// The fused norm backward runs one block (one row group) per chunk of rows and writes one partial
// column sum per chunk; chunks = min(N, NORM_BWD_THREADS / G): enough blocks to cover a large GPU at the
// bench shape, few enough that the partials (chunks x C floats) stay small next to the rows.
#define NORM_BWD_THREADS 131072
#define NORM_FINAL_BLOCK 1024   // rmsnorm_backward_dw_final_f32: 32 columns x 32 chunk slices

#ifndef __cplusplus   // the launcher side (C): the launch shape of the row kernels (cuda_norm.c, cuda_softmax.c)
// Row-group size (threads per row): the smallest power of two >= 32 whose `nv` quads per thread hold a
// row of C floats, at most ROWS_MAX_GROUP. It depends on C alone: the kernels' sums run in an order
// fixed by (C, G), the same on every GPU.
static inline int rows_group(int C, int nv) {
    int g = 32;
    while (g < ROWS_MAX_GROUP && 4LL * nv * g < C) g *= 2;
    return g;
}
// Launch shape of the one-pass row kernels: blocks of max(G, ROWS_BLOCK) threads (several rows per block
// when rows are short), enough blocks for every row (the kernels also grid-stride).
static inline unsigned rows_grid(int N, int G, unsigned *block) {
    *block = (unsigned)(G > ROWS_BLOCK ? G : ROWS_BLOCK);
    long long per = (long long)*block / G, blocks = (N + per - 1) / per;
    return (unsigned)(blocks < 0x7fffffffLL ? blocks : 0x7fffffffLL);
}
#endif
