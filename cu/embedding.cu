// embedding.cu — token embedding gather and its scatter-add backward (backend.h embedding_forward/backward).
// ids are int32 in device memory, already checked 0 <= id < V by the caller.
//
// Backward, deterministic without atomics or sorting: each thread owns one column c of dtable and walks
// n = 0..N-1 in order, doing dtable[ids[n], c] += dout[n, c]. No two threads touch the same float, and a
// repeated id accumulates in ascending n — the same order (and so the same bits) as the CPU backend.
// To keep several loads in flight, rows are taken EMB_GROUP at a time: the group's ids, dout values and
// dtable values are loaded first, then the additions are chained in order inside the group (a repeated
// id within the group continues from the earlier sum, not from the stale loaded value), then the sums
// are stored in order (the last store to an address carries the group's total). Parallelism is C
// threads; fine for LoRA training, where dtable is usually a small [N,C] row buffer, not the vocabulary.
#include "common.cuh"

// ptxcheck: embedding_forward_f32 max_registers=32
// ptxcheck: embedding_backward_f32 max_registers=64

// out[n, :] = table[ids[n], :]. One block per row (rows grid-stride over blockIdx.x), threads over C.
extern "C" __global__ void embedding_forward_f32(float *out, const int *ids, const float *table, int N, int C) {
    for (int n = blockIdx.x; n < N; n += gridDim.x) {
        const float *src = table + (unsigned long long)ids[n] * C;
        float *dst = out + (unsigned long long)n * C;
        for (int c = threadIdx.x; c < C; c += blockDim.x) dst[c] = src[c];
    }
}

#define EMB_GROUP 8

// dtable[ids[n], c] += dout[n, c] for all n, in order. One thread per column: grid ceil(C / blockDim).
// dtable and dout must not overlap (backend.h: dtable is the table's gradient, dout the layer's).
extern "C" __global__ void embedding_backward_f32(float *__restrict__ dtable, const float *__restrict__ dout,
                                                  const int *__restrict__ ids, int N, int C) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    for (int n0 = 0; n0 < N; n0 += EMB_GROUP) {
        const int cnt = N - n0 < EMB_GROUP ? N - n0 : EMB_GROUP;
        int id[EMB_GROUP];
        float d[EMB_GROUP], t[EMB_GROUP];
#pragma unroll
        for (int i = 0; i < EMB_GROUP; i++) {
            id[i] = i < cnt ? ids[n0 + i] : -1;
            d[i] = i < cnt ? dout[(unsigned long long)(n0 + i) * C + c] : 0.0f;
        }
#pragma unroll
        for (int i = 0; i < EMB_GROUP; i++) t[i] = i < cnt ? dtable[(unsigned long long)id[i] * C + c] : 0.0f;
#pragma unroll
        for (int i = 0; i < EMB_GROUP; i++) {
            float base = t[i];
#pragma unroll
            for (int j = 0; j < i; j++)
                if (id[j] == id[i]) base = t[j];   // the latest earlier sum for this row (t[j] is final)
            t[i] = base + d[i];
        }
#pragma unroll
        for (int i = 0; i < EMB_GROUP; i++)
            if (i < cnt) dtable[(unsigned long long)id[i] * C + c] = t[i];
    }
}
