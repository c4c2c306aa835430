// window_attention.h — launch constants of cu/window_attention.cu (Swin window attention), shared with
// cuda_window_attention.c.
#pragma once

#define WIN_MAX_N 64     // tokens per window (Swin: 7x7 = 49)
#define WIN_MAX_D 32     // head dim (Swin-T/S/B: 32)
#define WIN_BLOCK 128    // threads per (window, head) block; >= WIN_MAX_N (one thread per softmax row)
// The backward's dynamic shared memory: q, k, v, dout [N,D], P (then dS) [N,N], Di [N]
#define WIN_BWD_SMEM_BYTES ((4 * WIN_MAX_N * WIN_MAX_D + WIN_MAX_N * WIN_MAX_N + WIN_MAX_N) * 4)
