// rope.cu — rotary position embedding in HF's rotate_half layout (backend.h rope_forward/backward).
// x, out: [B, T, H, D]; pairs (i, i + D/2). Angles exactly as HF LlamaRotaryEmbedding in fp32 and as
// the CPU backend: angle = (float)pos * inv_freq[i], then cosf/sinf of that float. inv_freq[i] =
// 1 / powf(theta, 2i/D) is computed on the host by the same expression as cpu_rope.c (so the bits
// are identical: a 1-ulp difference in inv_freq moves the angle at position 4095 by ~2e-4 rad) and
// kept on the device by cuda_rope.c. The rotation uses __fmul_rn/__fsub_rn/__fadd_rn so that, like
// the CPU's plain C, nothing is contracted into an FMA: the only difference left is libdevice's
// cosf/sinf against libm's (within 2 ulp each).
// One block per (b, t) row (rows grid-stride over blockIdx.x): the row's cos/sin are computed once
// into shared memory (in chunks of ROPE_CHUNK frequencies, so any D works) and applied to all H heads.
// Memory-bound: when D/2 % 4 == 0 and x, out are 16-byte aligned, a thread rotates quads of 4 pairs
// with 16-byte loads/stores (both halves' loads issued before the math); otherwise one pair at a time.
// (Loading before the angles are computed would hold those registers across cosf/sinf, whose slow
// path is a call: they spill.)
// Every pair is read and written by one thread, so out may alias x. Backward = rotation by -angle.
#include "rows.cuh"

// ptxcheck: rope_f32 max_registers=40

#define ROPE_CHUNK 256
#define ROPE_BATCH 1   // quads of pairs per thread per step (2 at once spill under the 40-register cap)

// Rotates 4 pairs: x1 = the quad at frequencies i..i+3, x2 = the quad at i + D/2; stores both results.
__device__ __forceinline__ void rope_rotate_store(float *o1, float *o2, float4 x1, float4 x2, float4 c, float4 s) {
    stg4(o1, make_float4_(__fsub_rn(__fmul_rn(x1.x, c.x), __fmul_rn(x2.x, s.x)),
                          __fsub_rn(__fmul_rn(x1.y, c.y), __fmul_rn(x2.y, s.y)),
                          __fsub_rn(__fmul_rn(x1.z, c.z), __fmul_rn(x2.z, s.z)),
                          __fsub_rn(__fmul_rn(x1.w, c.w), __fmul_rn(x2.w, s.w))));
    stg4(o2, make_float4_(__fadd_rn(__fmul_rn(x2.x, c.x), __fmul_rn(x1.x, s.x)),
                          __fadd_rn(__fmul_rn(x2.y, c.y), __fmul_rn(x1.y, s.y)),
                          __fadd_rn(__fmul_rn(x2.z, c.z), __fmul_rn(x1.z, s.z)),
                          __fadd_rn(__fmul_rn(x2.w, c.w), __fmul_rn(x1.w, s.w))));
}

template <bool VEC>
__device__ __forceinline__ void rope_rows(float *out, const float *x, const int *pos, const float *inv_freq, int rows,
                                          int H, int D, float sign, float *cs, float *sn) {
    const int D2 = D / 2;
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {   // row = b*T + t
        const float p = (float)pos[row];
        for (int i0 = 0; i0 < D2; i0 += ROPE_CHUNK) {
            const int n = D2 - i0 < ROPE_CHUNK ? D2 - i0 : ROPE_CHUNK;
            const unsigned long long rbase = (unsigned long long)row * H * D + i0;
            __syncthreads();   // the previous chunk's cos/sin are no longer read
#pragma unroll 1
            for (int i = threadIdx.x; i < n; i += blockDim.x) {
                float ang = __fmul_rn(p, inv_freq[i0 + i]);
                cs[i] = cosf(ang);
                sn[i] = sign * sinf(ang);
            }
            __syncthreads();
            if (VEC) {
                const int nq = n / 4, total = H * nq;   // quads of pairs in this chunk
#pragma unroll 1
                for (int q0 = threadIdx.x; q0 < total; q0 += ROPE_BATCH * blockDim.x) {
                    float4 a[ROPE_BATCH], b[ROPE_BATCH];
                    unsigned long long o[ROPE_BATCH];
                    int f[ROPE_BATCH];   // the quad's first frequency within the chunk
#pragma unroll
                    for (int u = 0; u < ROPE_BATCH; u++) {   // every load of the batch before any math
                        const int qi = q0 + u * blockDim.x, h = qi / nq;
                        f[u] = 4 * (qi - h * nq);
                        o[u] = rbase + (unsigned long long)h * D + f[u];
                        if (qi < total) {
                            a[u] = ldg4(x + o[u]);
                            b[u] = ldg4(x + o[u] + D2);
                        }
                    }
#pragma unroll
                    for (int u = 0; u < ROPE_BATCH; u++) {
                        if (q0 + u * blockDim.x >= total) break;
                        rope_rotate_store(out + o[u], out + o[u] + D2, a[u], b[u], lds4(cs + f[u]), lds4(sn + f[u]));
                    }
                }
            } else {
#pragma unroll 1
                for (int e = threadIdx.x; e < H * n; e += blockDim.x) {
                    const int h = e / n, i = e % n;
                    const unsigned long long o = rbase + (unsigned long long)h * D + i;
                    const float x1 = x[o], x2 = x[o + D2], c = cs[i], s = sn[i];
                    out[o] = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
                    out[o + D2] = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
                }
            }
        }
    }
}

// sign: +1 forward, -1 backward. inv_freq: [D/2] device memory. Launch: any block (multiple of 32), any grid.
extern "C" __global__ void MAX_REGISTERS(40) rope_f32(float *out, const float *x, const int *pos, const float *inv_freq,
                                                      int rows, int H, int D, float sign) {
    __shared__ __align__(16) float cs[ROPE_CHUNK];
    __shared__ __align__(16) float sn[ROPE_CHUNK];
    // D/2 % 4 == 0 and aligned x, out: every quad of pairs is 16-byte aligned
    if ((D / 2) % 4 == 0 && aligned16(x) && aligned16(out)) rope_rows<true>(out, x, pos, inv_freq, rows, H, D, sign, cs, sn);
    else rope_rows<false>(out, x, pos, inv_freq, rows, H, D, sign, cs, sn);
}
