// logprob.cu — log-probability of each row's target token and its backward (backend.h
// logprob_forward/backward), with the CPU backend's arithmetic:
//   jm = first index of the row max, mx = x[jm], s = Σ_{j != jm} expf(x_j - mx) (fp32 terms, fp64 sum),
//   lse = (float)(mx + log1p(s)),  logp = (float)(((double)x_t - mx) - log1p(s)),
// so a near-certain token keeps the relative precision of its tiny log-prob. targets[n] < 0 (ignore
// index) gives logp = 0 and a zero gradient row. One block per row (rows grid-stride over blockIdx.x);
// reductions in a fixed order (deterministic). The fp64 work is one add per element: cheap next to expf.
#include "common.cuh"

// ptxcheck: logprob_forward_f32 max_registers=40
// ptxcheck: logprob_backward_f32 max_registers=32

// Row max with its first index, over the block (every thread gets the result). Ties keep the lower
// index, NaN never wins (as the CPU's strict `>` scan in index order). Same rules as block_sum.
__device__ __forceinline__ void block_argmax(float &v, int &j, float *sv, int *sj) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, o);
        int oj = __shfl_xor_sync(0xffffffffu, j, o);
        if (ov > v || (ov == v && oj < j) || (v != v && ov == ov)) { v = ov; j = oj; }
    }
    __syncthreads();
    if (lane == 0) { sv[warp] = v; sj[warp] = j; }
    __syncthreads();
    v = lane < nwarps ? sv[lane] : -INFINITY;
    j = lane < nwarps ? sj[lane] : 0x7fffffff;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, o);
        int oj = __shfl_xor_sync(0xffffffffu, j, o);
        if (ov > v || (ov == v && oj < j) || (v != v && ov == ov)) { v = ov; j = oj; }
    }
}

// logits: [N, V]; targets: [N] int32; logp: [N]; lse: [N] or NULL. Launch: block 256, any grid.
extern "C" __global__ void logprob_forward_f32(float *logp, float *lse, const float *logits, const int *targets, int N,
                                               int V) {
    __shared__ float sv[32];
    __shared__ int sj[32];
    __shared__ double sd[32];
    for (int row = blockIdx.x; row < N; row += gridDim.x) {
        const float *x = logits + (unsigned long long)row * V;
        float mx = -INFINITY;
        int jm = 0x7fffffff;
        for (int j = threadIdx.x; j < V; j += blockDim.x)
            if (x[j] > mx || jm == 0x7fffffff) { mx = x[j]; jm = j; }   // first of this thread's maxima
        block_argmax(mx, jm, sv, sj);
        double s = 0.0;
        for (int j = threadIdx.x; j < V; j += blockDim.x)
            if (j != jm) s += (double)expf(x[j] - mx);
        s = block_sum(s, sd);
        if (threadIdx.x == 0) {
            const double ls = log1p(s);
            if (lse) lse[row] = (float)((double)mx + ls);
            const int t = targets[row];
            logp[row] = t < 0 ? 0.0f : (float)(((double)x[t] - (double)mx) - ls);
        }
    }
}

// dlogits[n, :] = dlogp[n] * (onehot(t) - exp(x - lse[n])), zero rows where t < 0 (overwritten; may
// alias logits: each element is read and then written by the same thread). Grid-stride over rows.
extern "C" __global__ void logprob_backward_f32(float *dlogits, const float *dlogp, const float *logits, const float *lse,
                                                const int *targets, int N, int V) {
    for (int row = blockIdx.x; row < N; row += gridDim.x) {
        const unsigned long long off = (unsigned long long)row * V;
        const float *x = logits + off;
        float *dx = dlogits + off;
        const int t = targets[row];
        if (t < 0) {
            for (int j = threadIdx.x; j < V; j += blockDim.x) dx[j] = 0.0f;
            continue;
        }
        const float g = dlogp[row], l = lse[row], ng = -g;
        for (int j = threadIdx.x; j < V; j += blockDim.x) {
            float v = __fmul_rn(ng, expf(x[j] - l));   // no FMA: (ng * p) + g, as the CPU
            dx[j] = j == t ? v + g : v;
        }
    }
}
