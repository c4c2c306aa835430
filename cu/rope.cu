// rope.cu — rotary position embedding in HF's rotate_half layout (backend.h rope_forward/backward).
// x, out: [B, T, H, D]; pairs (i, i + D/2). Angles exactly as HF LlamaRotaryEmbedding in fp32 and as
// the CPU backend: angle = (float)pos * inv_freq[i], then cosf/sinf of that float. inv_freq[i] =
// 1 / powf(theta, 2i/D) is computed on the host by the same expression as cpu_rope.c (so the bits
// are identical: a 1-ulp difference in inv_freq moves the angle at position 4095 by ~2e-4 rad) and
// kept on the device by cuda_ops.c. The rotation uses __fmul_rn/__fsub_rn/__fadd_rn so that, like
// the CPU's plain C, nothing is contracted into an FMA: the only difference left is libdevice's
// cosf/sinf against libm's (within 2 ulp each).
// One block per (b, t) row (rows grid-stride over blockIdx.x): the row's cos/sin are computed once
// into shared memory (in chunks of ROPE_CHUNK frequencies, so any D works) and applied to all H heads.
// Every pair is read and written by one thread, so out may alias x. Backward = rotation by -angle.
#include "common.cuh"

// ptxcheck: rope_f32 max_registers=40

#define ROPE_CHUNK 256

// sign: +1 forward, -1 backward. inv_freq: [D/2] device memory. Launch: any block (multiple of 32), any grid.
extern "C" __global__ void rope_f32(float *out, const float *x, const int *pos, const float *inv_freq, int rows, int H,
                                    int D, float sign) {
    __shared__ float cs[ROPE_CHUNK], sn[ROPE_CHUNK];
    const int D2 = D / 2;
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {   // row = b*T + t
        const float p = (float)pos[row];
        for (int i0 = 0; i0 < D2; i0 += ROPE_CHUNK) {
            const int n = D2 - i0 < ROPE_CHUNK ? D2 - i0 : ROPE_CHUNK;
            __syncthreads();   // the previous chunk's cos/sin are no longer read
            for (int i = threadIdx.x; i < n; i += blockDim.x) {
                float a = __fmul_rn(p, inv_freq[i0 + i]);
                cs[i] = cosf(a);
                sn[i] = sign * sinf(a);
            }
            __syncthreads();
            for (int e = threadIdx.x; e < H * n; e += blockDim.x) {
                const int h = e / n, i = e % n;
                const unsigned long long o = ((unsigned long long)row * H + h) * D + i0 + i;
                const float x1 = x[o], x2 = x[o + D2], c = cs[i], s = sn[i];
                out[o] = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
                out[o + D2] = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
            }
        }
    }
}
