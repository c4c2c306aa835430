// logprob.cu — log-probability of each row's target token and its backward (backend.h
// logprob_forward/backward), with the CPU backend's quantities:
//   jm = first index of the row max, mx = x[jm], s = Σ_{j != jm} exp(x_j - mx) (fp32 terms, fp64 sum),
//   lse = (float)(mx + log1p(s)),  logp = (float)(((double)x_t - mx) - log1p(s)),
// so a near-certain token keeps the relative precision of its tiny log-prob. targets[n] < 0 (ignore
// index) gives logp = 0 and a zero gradient row. One block per row (rows grid-stride over blockIdx.x).
// The forward reads each logit once (a 32000-wide row does not stay in L2 across two passes for the
// whole grid): each thread streams its elements with an online max, its sum kept relative to a
// reference value that trails the running max by less than LP_SLACK, and the block merges the (max,
// first index, sum) states in a fixed order (deterministic). A term is expf(x_j - ref) times exp(ref -
// mx) in fp64 instead of the CPU's expf(x_j - mx): the same fp32 accuracy per term. The fp64 work is a
// convert and an add per element, cheap next to expf. 16-byte loads/stores when rows are aligned.
#include "rows.cuh"

// ptxcheck: logprob_forward_f32 max_registers=40
// ptxcheck: logprob_backward_f32 max_registers=40

#define LP_EMPTY 0x7fffffff   // index of a state that has seen no element
#define LP_UNROLL 2           // quads per thread loaded together (forward and backward)
#define LP_SLACK 16.0f        // a thread's terms are exp(x - ref) with ref <= max < ref + LP_SLACK (<= e^16 each)

// Merge state (om, oj, os) into (m, j, s): the max with its first index (ties keep the lower index),
// s = Σ over both element sets except the winner of exp(x - m). The loser's own max contributes
// exp(m_lose - m_win); a loser whose max is -inf contributes exact zeros next to a finite winner (its s
// may hold the NaN of -inf - -inf, which only an all -inf row keeps, as on the CPU). NaN logits never
// take part in the max (the caller flags them and makes s NaN at the end, as they make the CPU's).
// Symmetric: merging a into b and b into a give the same state.
__device__ __forceinline__ void lp_merge(float &m, int &j, double &s, float om, int oj, double os) {
    if (oj == LP_EMPTY) return;
    const bool other = j == LP_EMPTY || om > m || (om == m && oj < j);
    const float wm = other ? om : m, lm = other ? m : om;
    const double ws = other ? os : s, ls = other ? s : os;
    double add = 0.0;
    if (j != LP_EMPTY && !(lm == -INFINITY && wm != -INFINITY)) add = (ls + 1.0) * exp((double)lm - (double)wm);
    s = ws + add;
    m = wm;
    j = other ? oj : j;
}

// Quad e..e+3 of a row of V: one 16-byte load (VEC: V % 4 == 0 and an aligned row) or scalar ones;
// elements at or past V read as fill.
template <bool VEC>
__device__ __forceinline__ void lp_load(float (&d)[4], const float *r, int e, int V, float fill) {
    if (VEC) ld4z(d, r + e, e < V, fill);
    else
#pragma unroll
        for (int k = 0; k < 4; k++) d[k] = e + k < V ? r[e + k] : fill;
}

template <bool VEC>
__device__ __forceinline__ void lp_forward_rows(float *logp, float *lse, const float *logits, const int *targets, int N,
                                                int V, float *sm, int *sj, int *sn, double *ss) {
    const int B = blockDim.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = B >> 5;
    const int nq = V / 4 + (V % 4 != 0);
    for (int row = blockIdx.x; row < N; row += gridDim.x) {
        const float *x = logits + (unsigned long long)row * V;
        float m = -INFINITY, ref = -INFINITY;
        int jm = LP_EMPTY, nan = 0;
        double s = 0.0;   // Σ over this thread's elements but jm of exp(x - ref)
        // Chunks of LP_UNROLL quads per thread, in increasing index order. The chunk max may move the
        // running max (m, jm): the old max becomes an ordinary term, and only when the max passes
        // ref + LP_SLACK is s rescaled to a new ref (an fp64 exp, rare); then every element but the max
        // adds its fp32 term expf(x - ref) in fp64.
        for (int q0 = threadIdx.x; q0 < nq; q0 += LP_UNROLL * B) {
            float t[LP_UNROLL][4];
#pragma unroll
            for (int u = 0; u < LP_UNROLL; u++) lp_load<VEC>(t[u], x, 4 * (q0 + u * B), V, -INFINITY);
            float cm = -INFINITY;   // padding is -inf, fmaxf skips NaN
#pragma unroll
            for (int u = 0; u < LP_UNROLL; u++)
#pragma unroll
                for (int k = 0; k < 4; k++) cm = fmaxf(cm, t[u][k]);
            if (jm == LP_EMPTY || cm > m) {
                int je = 4 * q0;   // first index holding cm (the chunk's first element when all are NaN)
#pragma unroll
                for (int u = LP_UNROLL - 1; u >= 0; u--)
#pragma unroll
                    for (int k = 3; k >= 0; k--)
                        if (4 * (q0 + u * B) + k < V && t[u][k] == cm) je = 4 * (q0 + u * B) + k;
                if (jm == LP_EMPTY || ref == -INFINITY) {   // first chunk, or every earlier element is -inf:
                    s = 0.0;                                // their terms are exact zeros next to a larger max
                    ref = cm;
                } else {
                    s += (double)expf(m - ref);
                    if (cm > ref + LP_SLACK) {
                        s *= exp((double)ref - (double)cm);
                        ref = cm;
                    }
                }
                m = cm;
                jm = je;
            }
#pragma unroll
            for (int u = 0; u < LP_UNROLL; u++)
#pragma unroll
                for (int k = 0; k < 4; k++) {
                    const int e = 4 * (q0 + u * B) + k;
                    if (e >= V) continue;
                    nan |= t[u][k] != t[u][k];
                    if (e != jm) s += (double)expf(t[u][k] - ref);
                }
        }
        if (ref != m) s *= exp((double)ref - (double)m);   // relative to the thread's max, as lp_merge wants
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            const float om = __shfl_xor_sync(0xffffffffu, m, o);
            const int oj = __shfl_xor_sync(0xffffffffu, jm, o);
            const double os = __shfl_xor_sync(0xffffffffu, s, o);
            nan |= __shfl_xor_sync(0xffffffffu, nan, o);
            lp_merge(m, jm, s, om, oj, os);
        }
        __syncthreads();   // the previous row's states are read
        if (lane == 0) { sm[warp] = m; sj[warp] = jm; ss[warp] = s; sn[warp] = nan; }
        __syncthreads();
        if (threadIdx.x == 0) {
            m = -INFINITY; jm = LP_EMPTY; s = 0.0;
            for (int w = 0; w < nwarps; w++) {   // in warp order
                lp_merge(m, jm, s, sm[w], sj[w], ss[w]);
                nan |= sn[w];
            }
            const double ls = nan ? (double)NAN : log1p(s);
            if (lse) lse[row] = (float)((double)m + ls);
            const int t = targets[row];
            logp[row] = t < 0 ? 0.0f : (float)(((double)x[t] - (double)m) - ls);
        }
    }
}

// logits: [N, V]; targets: [N] int32; logp: [N]; lse: [N] or NULL. Launch: block a multiple of 32, any grid.
extern "C" __global__ void MAX_REGISTERS(40) logprob_forward_f32(float *logp, float *lse, const float *logits,
                                                                 const int *targets, int N, int V) {
    __shared__ float sm[32];
    __shared__ int sj[32], sn[32];
    __shared__ double ss[32];
    if (V % 4 == 0 && aligned16(logits)) lp_forward_rows<true>(logp, lse, logits, targets, N, V, sm, sj, sn, ss);
    else lp_forward_rows<false>(logp, lse, logits, targets, N, V, sm, sj, sn, ss);
}

template <bool VEC>
__device__ __forceinline__ void lp_backward_rows(float *dlogits, const float *dlogp, const float *logits,
                                                 const float *lse, const int *targets, int N, int V) {
    const int B = blockDim.x;
    const int nq = V / 4 + (V % 4 != 0);
    for (int row = blockIdx.x; row < N; row += gridDim.x) {
        const unsigned long long off = (unsigned long long)row * V;
        const float *x = logits + off;
        float *dx = dlogits + off;
        const int t = targets[row];
        if (t < 0) {
            const float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            for (int q = threadIdx.x; q < nq; q += B) store_quad(dx, 4 * q, V, VEC, z);
            continue;
        }
        const float g = dlogp[row], l = lse[row], ng = -g;
        for (int q0 = threadIdx.x; q0 < nq; q0 += LP_UNROLL * B) {
            float v[LP_UNROLL][4];
#pragma unroll
            for (int u = 0; u < LP_UNROLL; u++) lp_load<VEC>(v[u], x, 4 * (q0 + u * B), V, 0.0f);
#pragma unroll
            for (int u = 0; u < LP_UNROLL; u++) {
                const int e = 4 * (q0 + u * B);
                if (e >= V) break;
#pragma unroll
                for (int k = 0; k < 4; k++) {
                    const float d = __fmul_rn(ng, expf(v[u][k] - l));   // no FMA: (ng * p) + g, as the CPU
                    v[u][k] = e + k == t ? d + g : d;
                }
                store_quad(dx, e, V, VEC, v[u]);
            }
        }
    }
}

// dlogits[n, :] = dlogp[n] * (onehot(t) - exp(x - lse[n])), zero rows where t < 0 (overwritten; may
// alias logits: each element is read and then written by the same thread). Grid-stride over rows.
extern "C" __global__ void MAX_REGISTERS(40) logprob_backward_f32(float *dlogits, const float *dlogp,
                                                                  const float *logits, const float *lse,
                                                                  const int *targets, int N, int V) {
    if (V % 4 == 0 && aligned16(logits) && aligned16(dlogits)) lp_backward_rows<true>(dlogits, dlogp, logits, lse, targets, N, V);
    else lp_backward_rows<false>(dlogits, dlogp, logits, lse, targets, N, V);
}
