// cpu_attention_test.c — SDPA against a double reference written from the AttnDesc rules:
// GQA/MQA, causal with the query offset Tk − Tq (KV-cache decode), sliding window, key padding,
// rows that see no key (out 0, lse −inf, zero gradients, never NaN), custom scale, several query and
// key tiles. Small cases check the backward by finite differences; a larger case checks it against
// a double reference backward; dq/dk/dv must be overwritten; 1 and 2 threads give the same bits.
#include "test/test.h"
#include "test/gradcheck.h"
#include "backend/cpu/cpu_ops.h"
#include "base/threads.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    AttnDesc a;
    double *q, *k, *v, *dout;   // q, dout [B,Tq,H,D]; k, v [B,Tk,KVH,D]
} AttnRef;

static bool visible(const AttnDesc *a, int b, int i, int j) {
    int p = i + a->Tk - a->Tq;
    if (a->key_mask && a->key_mask[(size_t)b * a->Tk + j] == 0.0f) return false;
    if (a->causal && j > p) return false;
    if (a->window > 0 && p - j >= a->window) return false;
    return true;
}

// Probabilities of row (b, h, i) into P[Tk]; returns false when the row sees no key.
static bool attn_ref_row(const AttnRef *r, int b, int h, int i, double *P, double *lse) {
    const AttnDesc *a = &r->a;
    int kvh = h / (a->H / a->KVH), D = a->D;
    const double *q = r->q + (((size_t)b * a->Tq + i) * a->H + h) * D;
    double mx = -INFINITY, s = 0;
    for (int j = 0; j < a->Tk; j++) {
        P[j] = -INFINITY;
        if (!visible(a, b, i, j)) continue;
        const double *k = r->k + (((size_t)b * a->Tk + j) * a->KVH + kvh) * D;
        double dot = 0;
        for (int d = 0; d < D; d++) dot += q[d] * k[d];
        P[j] = a->scale * dot;
        mx = fmax(mx, P[j]);
    }
    if (mx == -INFINITY) { for (int j = 0; j < a->Tk; j++) P[j] = 0; *lse = -INFINITY; return false; }
    for (int j = 0; j < a->Tk; j++) { P[j] = P[j] == -INFINITY ? 0 : exp(P[j] - mx); s += P[j]; }
    for (int j = 0; j < a->Tk; j++) P[j] /= s;
    *lse = mx + log(s);
    return true;
}

static void attn_ref_forward(const AttnRef *r, double *out, double *lse) {
    const AttnDesc *a = &r->a;
    int D = a->D;
    double *P = gc_alloc_f64((size_t)a->Tk);
    for (int b = 0; b < a->B; b++)
        for (int h = 0; h < a->H; h++)
            for (int i = 0; i < a->Tq; i++) {
                int kvh = h / (a->H / a->KVH);
                double *o = out + (((size_t)b * a->Tq + i) * a->H + h) * D;
                attn_ref_row(r, b, h, i, P, &lse[((size_t)b * a->H + h) * a->Tq + i]);
                for (int d = 0; d < D; d++) o[d] = 0;
                for (int j = 0; j < a->Tk; j++) {
                    const double *v = r->v + (((size_t)b * a->Tk + j) * a->KVH + kvh) * D;
                    for (int d = 0; d < D; d++) o[d] += P[j] * v[d];
                }
            }
    free(P);
}

// The textbook backward in double: dV += Pᵀ dO, dP = dO Vᵀ, dS = P ∘ (dP − rowsum(P ∘ dP)).
static void attn_ref_backward(const AttnRef *r, double *dq, double *dk, double *dv) {
    const AttnDesc *a = &r->a;
    int D = a->D;
    memset(dq, 0, (size_t)a->B * a->Tq * a->H * D * sizeof(double));
    memset(dk, 0, (size_t)a->B * a->Tk * a->KVH * D * sizeof(double));
    memset(dv, 0, (size_t)a->B * a->Tk * a->KVH * D * sizeof(double));
    double *P = gc_alloc_f64((size_t)a->Tk), *dP = gc_alloc_f64((size_t)a->Tk), lse;
    for (int b = 0; b < a->B; b++)
        for (int h = 0; h < a->H; h++)
            for (int i = 0; i < a->Tq; i++) {
                if (!attn_ref_row(r, b, h, i, P, &lse)) continue;
                int kvh = h / (a->H / a->KVH);
                size_t qo = (((size_t)b * a->Tq + i) * a->H + h) * D;
                double Di = 0;
                for (int j = 0; j < a->Tk; j++) {
                    size_t ko = (((size_t)b * a->Tk + j) * a->KVH + kvh) * D;
                    dP[j] = 0;
                    for (int d = 0; d < D; d++) dP[j] += r->dout[qo + d] * r->v[ko + d];
                    Di += P[j] * dP[j];
                }
                for (int j = 0; j < a->Tk; j++) {
                    size_t ko = (((size_t)b * a->Tk + j) * a->KVH + kvh) * D;
                    double ds = P[j] * (dP[j] - Di) * a->scale;
                    for (int d = 0; d < D; d++) {
                        dq[qo + d] += ds * r->k[ko + d];
                        dk[ko + d] += ds * r->q[qo + d];
                        dv[ko + d] += P[j] * r->dout[qo + d];
                    }
                }
            }
    free(P); free(dP);
}

static double attn_loss(void *ctx) {
    AttnRef *r = ctx;
    const AttnDesc *a = &r->a;
    size_t nq = (size_t)a->B * a->Tq * a->H * a->D;
    double *out = gc_alloc_f64(nq), *lse = gc_alloc_f64((size_t)a->B * a->H * a->Tq);
    attn_ref_forward(r, out, lse);
    double L = gc_dot_f64(out, r->dout, nq);
    free(out); free(lse);
    return L;
}

// Runs the fp32 op on random inputs and checks it; fd selects finite differences (small cases)
// over the double reference backward.
static void check_attention(AttnDesc a, const float *key_mask, bool fd, uint64_t seed) {
    Backend *be = backend_cpu_create();
    TestRng rng = trng_seed(seed);
    a.key_mask = key_mask;
    size_t nq = (size_t)a.B * a.Tq * a.H * a.D, nk = (size_t)a.B * a.Tk * a.KVH * a.D, nl = (size_t)a.B * a.H * a.Tq;
    float *q = gc_alloc_f32(nq), *k = gc_alloc_f32(nk), *v = gc_alloc_f32(nk), *dout = gc_alloc_f32(nq);
    float *out = gc_alloc_f32(nq), *lse = gc_alloc_f32(nl), *dq = gc_alloc_f32(nq), *dk = gc_alloc_f32(nk), *dv = gc_alloc_f32(nk);
    float *want = gc_alloc_f32(nq > nk ? nq : nk);
    trng_fill_normal(&rng, q, nq, 1.0);
    trng_fill_normal(&rng, k, nk, 1.0);
    trng_fill_normal(&rng, v, nk, 1.0);
    trng_fill_normal(&rng, dout, nq, 1.0);
    AttnRef r = {a, gc_alloc_f64(nq), gc_alloc_f64(nk), gc_alloc_f64(nk), gc_alloc_f64(nq)};
    gc_f32_to_f64(r.q, q, nq); gc_f32_to_f64(r.k, k, nk); gc_f32_to_f64(r.v, v, nk); gc_f32_to_f64(r.dout, dout, nq);
    double *ref_out = gc_alloc_f64(nq), *ref_lse = gc_alloc_f64(nl);
    attn_ref_forward(&r, ref_out, ref_lse);
    gc_f64_to_f32(want, ref_out, nq);

    gc_fill_nan(out, nq); gc_fill_nan(lse, nl);
    be->attention_forward(be, out, lse, q, k, v, &a);
    EXPECT_CLOSE_F32("attention out", out, want, nq, 2e-6, 1e-5);
    for (size_t i = 0; i < nl; i++) {
        if (ref_lse[i] == -INFINITY) EXPECT(lse[i] == -INFINITY);
        else EXPECT_NEAR(lse[i], ref_lse[i], 1e-6, 1e-6);
    }

    gc_fill_nan(dq, nq); gc_fill_nan(dk, nk); gc_fill_nan(dv, nk);    // must be overwritten
    be->attention_backward(be, dq, dk, dv, dout, q, k, v, out, lse, &a);
    if (fd) {
        EXPECT_GRAD("attention dq", attn_loss, &r, r.q, dq, nq, 2e-5, 2e-4);
        EXPECT_GRAD("attention dk", attn_loss, &r, r.k, dk, nk, 2e-5, 2e-4);
        EXPECT_GRAD("attention dv", attn_loss, &r, r.v, dv, nk, 2e-5, 2e-4);
    } else {
        double *gq = gc_alloc_f64(nq), *gk = gc_alloc_f64(nk), *gv = gc_alloc_f64(nk);
        attn_ref_backward(&r, gq, gk, gv);
        gc_f64_to_f32(want, gq, nq); EXPECT_CLOSE_F32("attention dq (ref)", dq, want, nq, 2e-5, 2e-4);
        gc_f64_to_f32(want, gk, nk); EXPECT_CLOSE_F32("attention dk (ref)", dk, want, nk, 2e-5, 2e-4);
        gc_f64_to_f32(want, gv, nk); EXPECT_CLOSE_F32("attention dv (ref)", dv, want, nk, 2e-5, 2e-4);
        free(gq); free(gk); free(gv);
    }
    // A row that sees nothing has zero output and zero dq.
    for (int b = 0; b < a.B; b++)
        for (int h = 0; h < a.H; h++)
            for (int i = 0; i < a.Tq; i++) {
                if (ref_lse[((size_t)b * a.H + h) * a.Tq + i] != -INFINITY) continue;
                size_t o = (((size_t)b * a.Tq + i) * a.H + h) * a.D;
                for (int d = 0; d < a.D; d++) EXPECT(out[o + d] == 0.0f && dq[o + d] == 0.0f);
            }
    free(r.q); free(r.k); free(r.v); free(r.dout); free(ref_out); free(ref_lse);
    free(q); free(k); free(v); free(dout); free(out); free(lse); free(dq); free(dk); free(dv); free(want);
    be->destroy(be);
}

// [B,Tk] padding masks: batch b gets `left[b]` padded keys at the front and `right[b]` at the back.
static float *pad_mask(int B, int Tk, const int *left, const int *right) {
    float *m = gc_alloc_f32((size_t)B * Tk);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < Tk; j++) m[(size_t)b * Tk + j] = (j < left[b] || j >= Tk - right[b]) ? 0.0f : 1.0f;
    return m;
}

TEST(cpu_attention_causal_gqa_padding) {
    // LLaMA/Mistral-style: GQA 6/2, causal, batch 1 left-padded so its first queries see nothing.
    int left[2] = {0, 3}, right[2] = {0, 0};
    float *m = pad_mask(2, 13, left, right);
    check_attention((AttnDesc){.B = 2, .Tq = 13, .Tk = 13, .H = 6, .KVH = 2, .D = 10, .scale = 0.31622776f, .causal = true}, m, true, 81);
    free(m);
}

TEST(cpu_attention_window_kv_offset) {
    // Queries 8..12 of 13 keys (KV cache), GQA 6/3, sliding window 4; then a one-token decode step.
    check_attention((AttnDesc){.B = 1, .Tq = 5, .Tk = 13, .H = 6, .KVH = 3, .D = 10, .scale = 0.31622776f, .causal = true, .window = 4}, NULL, true, 82);
    int left[2] = {5, 0}, right[2] = {0, 2};
    float *m = pad_mask(2, 37, left, right);
    check_attention((AttnDesc){.B = 2, .Tq = 1, .Tk = 37, .H = 4, .KVH = 1, .D = 16, .scale = 0.25f, .causal = true}, m, true, 83);
    free(m);
}

TEST(cpu_attention_bidirectional) {
    // CLIP/BERT-style: no causal mask, right padding in batch 0 (all-padding batch 1: every row empty), scale 0.3.
    int left[2] = {0, 0}, right[2] = {2, 7};
    float *m = pad_mask(2, 7, left, right);
    check_attention((AttnDesc){.B = 2, .Tq = 7, .Tk = 7, .H = 4, .KVH = 4, .D = 8, .scale = 0.3f}, m, true, 84);
    free(m);
    // Several query and key tiles (T = 70 > BK), MQA, window without causal, D below one vector.
    check_attention((AttnDesc){.B = 1, .Tq = 70, .Tk = 70, .H = 2, .KVH = 1, .D = 3, .scale = 0.7f, .window = 20}, NULL, true, 85);
}

TEST(cpu_attention_large_vs_reference_backward) {
    // Many tiles in both directions with a random key mask, window crossing tile edges, GQA 4/2.
    const int B = 2, T = 150;
    TestRng rng = trng_seed(86);
    float *m = gc_alloc_f32((size_t)B * T);
    for (int i = 0; i < B * T; i++) m[i] = trng_uniform(&rng) < 0.15 ? 0.0f : 1.0f;
    check_attention((AttnDesc){.B = B, .Tq = T, .Tk = T, .H = 4, .KVH = 2, .D = 24, .scale = 0.2041241f, .causal = true, .window = 77}, m, false, 87);
    check_attention((AttnDesc){.B = B, .Tq = 131, .Tk = T, .H = 4, .KVH = 4, .D = 17, .scale = 0.25f}, m, false, 88);
    free(m);
}

TEST(cpu_attention_threads_deterministic) {
    Backend *be = backend_cpu_create();
    AttnDesc a = {.B = 2, .Tq = 100, .Tk = 100, .H = 4, .KVH = 2, .D = 32, .scale = 0.17677669f, .causal = true};
    size_t nq = (size_t)a.B * a.Tq * a.H * a.D, nk = (size_t)a.B * a.Tk * a.KVH * a.D, nl = (size_t)a.B * a.H * a.Tq;
    TestRng rng = trng_seed(89);
    float *q = gc_alloc_f32(nq), *k = gc_alloc_f32(nk), *v = gc_alloc_f32(nk), *dout = gc_alloc_f32(nq), *res[2];
    trng_fill_normal(&rng, q, nq, 1); trng_fill_normal(&rng, k, nk, 1);
    trng_fill_normal(&rng, v, nk, 1); trng_fill_normal(&rng, dout, nq, 1);
    size_t total = 2 * nq + nl + 2 * nk;
    for (int t = 0; t < 2; t++) {
        threads_set_count(t + 1);
        float *o = res[t] = gc_alloc_f32(total);
        be->attention_forward(be, o, o + nq, q, k, v, &a);
        be->attention_backward(be, o + nq + nl, o + 2 * nq + nl, o + 2 * nq + nl + nk, dout, q, k, v, o, o + nq, &a);
    }
    threads_set_count(0);
    EXPECT(gc_same_bits(res[0], res[1], total * sizeof(float)));
    free(res[0]); free(res[1]); free(q); free(k); free(v); free(dout);
    be->destroy(be);
}
