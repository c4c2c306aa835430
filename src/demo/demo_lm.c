// demo_lm.c — forward and analytic backward of the demo model (see demo_lm.h), op table only.
// Layout of one block (N = B*T rows):
//   x0 = wte[ids]                         h1 = rmsnorm(x0; ln1)
//   q,k,v = h1·wq/wk/vᵀ  -> rope(q), rope(k)   a = attention(q,k,v; causal)
//   x1 = x0 + a·woᵀ                       h2 = rmsnorm(x1; ln2)
//   s = silu(h2·wgateᵀ) * (h2·wupᵀ)       x2 = x1 + s·wdownᵀ
//   hf = rmsnorm(x2; lnf)                 logits = hf·lm_headᵀ     logp = logprob(logits, targets)
// Backward walks the same list in reverse; activation grads overwrite, parameter grads accumulate.
#include "demo/demo_lm.h"
#include "base/check.h"
#include <math.h>
#include <string.h>

static void carve_params(DemoParams *p, float *base, const DemoConfig *c) {
    size_t CC = (size_t)c->C * c->C, FC = (size_t)c->F * c->C, VC = (size_t)c->V * c->C;
    float *at = base;
#define TAKE(field, n) do { p->field = at; at += (n); } while (0)
    TAKE(wte, VC); TAKE(ln1, c->C);
    TAKE(wq, CC); TAKE(wk, CC); TAKE(wv, CC); TAKE(wo, CC);
    TAKE(ln2, c->C); TAKE(wgate, FC); TAKE(wup, FC); TAKE(wdown, FC);
    TAKE(lnf, c->C); TAKE(lm_head, VC);
#undef TAKE
}

static size_t count_params(const DemoConfig *c) {
    return 2 * (size_t)c->V * c->C + 4 * (size_t)c->C * c->C + 3 * (size_t)c->F * c->C + 3 * (size_t)c->C;
}

// Activation bytes for B x T (every buffer the step allocates, plus alignment slack).
static size_t activation_bytes(const DemoConfig *c) {
    size_t N = (size_t)c->B * c->T, C = c->C, F = c->F, V = c->V;
    size_t floats = N * C * 22 + N * F * 6 + N * V * 2 + N * 8 + (size_t)c->B * c->H * c->T;
    return floats * sizeof(float) + N * 3 * sizeof(int32_t) + 64 * ARENA_ALIGN;
}

void demo_lm_init(DemoLM *m, Backend *be, DemoConfig cfg, uint64_t seed) {
    LPOI_ASSERT(cfg.C % cfg.H == 0 && (cfg.C / cfg.H) % 2 == 0);
    memset(m, 0, sizeof *m);
    m->cfg = cfg;
    m->be = be;
    m->nparams = count_params(&cfg);
    size_t bytes = m->nparams * sizeof(float);
    m->params_mem = be->alloc(be, bytes);
    m->grads_mem = be->alloc(be, bytes);
    m->m_mem = be->alloc(be, bytes);
    m->v_mem = be->alloc(be, bytes);
    be->fill_zero(be, m->grads_mem, bytes);
    be->fill_zero(be, m->m_mem, bytes);
    be->fill_zero(be, m->v_mem, bytes);
    carve_params(&m->p, m->params_mem, &cfg);
    carve_params(&m->g, m->grads_mem, &cfg);

    // Initialise on the host (normal(0, 0.02) matrices, unit norm weights), then upload once.
    float *host = malloc_check(bytes);
    DemoParams hp;
    carve_params(&hp, host, &cfg);
    Rng rng;
    rng_seed(&rng, seed);
    for (size_t i = 0; i < m->nparams; i++) host[i] = 0.02f * rng_normal(&rng);
    for (int i = 0; i < cfg.C; i++) hp.ln1[i] = hp.ln2[i] = hp.lnf[i] = 1.0f;
    be->upload(be, m->params_mem, host, bytes);
    free(host);

    size_t abytes = activation_bytes(&cfg);
    m->acts_mem = be->alloc(be, abytes);
    arena_init_over(&m->acts, "demo activations", m->acts_mem, abytes);
}

void demo_lm_free(DemoLM *m) {
    Backend *be = m->be;
    be->free(be, m->params_mem);
    be->free(be, m->grads_mem);
    be->free(be, m->m_mem);
    be->free(be, m->v_mem);
    be->free(be, m->acts_mem);
    memset(m, 0, sizeof *m);
}


float demo_lm_step(DemoLM *m, const int32_t *ids_h, const int32_t *targets_h, int B, int T, bool backward,
                   float *logp_out, float *logits_out) {
    const DemoConfig *c = &m->cfg;
    Backend *be = m->be;
    LPOI_ASSERT(B >= 1 && B <= c->B && T >= 1 && T <= c->T);
    const int N = B * T, C = c->C, F = c->F, V = c->V, H = c->H, D = C / H;
    const DemoParams *p = &m->p;
    Arena *A = &m->acts;
    arena_reset(A);

    // ---- inputs ----
    int32_t *ids = arena_alloc(A, (size_t)N * sizeof(int32_t), "ids");           // [N]
    int32_t *tgt = arena_alloc(A, (size_t)N * sizeof(int32_t), "targets");       // [N]
    int32_t *pos = arena_alloc(A, (size_t)N * sizeof(int32_t), "positions");     // [N]
    int32_t *pos_h = malloc_check((size_t)N * sizeof(int32_t));
    int ntargets = 0;
    for (int i = 0; i < N; i++) {
        pos_h[i] = i % T;
        LPOI_ASSERT(ids_h[i] >= 0 && ids_h[i] < V && targets_h[i] < V);
        ntargets += targets_h[i] >= 0;
    }
    be->upload(be, ids, ids_h, (size_t)N * sizeof(int32_t));
    be->upload(be, tgt, targets_h, (size_t)N * sizeof(int32_t));
    be->upload(be, pos, pos_h, (size_t)N * sizeof(int32_t));
    free(pos_h);

    // ---- forward ----
    float *x0 = arena_alloc_f32(A, (size_t)N * C, "x0");                  // [N,C]
    float *h1 = arena_alloc_f32(A, (size_t)N * C, "h1");                  // [N,C]
    float *rstd1 = arena_alloc_f32(A, N, "rstd1");                        // [N]
    float *q = arena_alloc_f32(A, (size_t)N * C, "q");                    // [B,T,H,D] after rope
    float *k = arena_alloc_f32(A, (size_t)N * C, "k");                    // [B,T,H,D] after rope
    float *v = arena_alloc_f32(A, (size_t)N * C, "v");                    // [B,T,H,D]
    float *att = arena_alloc_f32(A, (size_t)N * C, "att");                // [B,T,H,D]
    float *lse = arena_alloc_f32(A, (size_t)B * H * T, "att lse");        // [B,H,T]
    float *x1 = arena_alloc_f32(A, (size_t)N * C, "x1");                  // [N,C]
    float *h2 = arena_alloc_f32(A, (size_t)N * C, "h2");                  // [N,C]
    float *rstd2 = arena_alloc_f32(A, N, "rstd2");                        // [N]
    float *gate = arena_alloc_f32(A, (size_t)N * F, "gate");              // [N,F]
    float *up = arena_alloc_f32(A, (size_t)N * F, "up");                  // [N,F]
    float *s = arena_alloc_f32(A, (size_t)N * F, "swiglu");               // [N,F]
    float *x2 = arena_alloc_f32(A, (size_t)N * C, "x2");                  // [N,C]
    float *hf = arena_alloc_f32(A, (size_t)N * C, "hf");                  // [N,C]
    float *rstdf = arena_alloc_f32(A, N, "rstdf");                        // [N]
    float *logits = arena_alloc_f32(A, (size_t)N * V, "logits");          // [N,V]
    float *logp = arena_alloc_f32(A, N, "logp");                          // [N]
    float *lse_v = arena_alloc_f32(A, N, "logits lse");                   // [N]
    float *tmp = arena_alloc_f32(A, (size_t)N * C, "tmp");                // [N,C] reused

    AttnDesc ad = {.B = B, .Tq = T, .Tk = T, .H = H, .KVH = H, .D = D, .scale = 1.0f / sqrtf((float)D),
                   .causal = true, .window = 0, .key_mask = NULL};

    be->embedding_forward(be, x0, ids, p->wte, N, C);
    be->rmsnorm_forward(be, h1, rstd1, x0, p->ln1, N, C, c->eps);
    be->matmul_forward(be, q, h1, p->wq, NULL, N, C, C);
    be->matmul_forward(be, k, h1, p->wk, NULL, N, C, C);
    be->matmul_forward(be, v, h1, p->wv, NULL, N, C, C);
    be->rope_forward(be, q, q, pos, B, T, H, D, c->rope_theta);
    be->rope_forward(be, k, k, pos, B, T, H, D, c->rope_theta);
    be->attention_forward(be, att, lse, q, k, v, &ad);
    be->matmul_forward(be, tmp, att, p->wo, NULL, N, C, C);
    be->add(be, x1, x0, tmp, (size_t)N * C);
    be->rmsnorm_forward(be, h2, rstd2, x1, p->ln2, N, C, c->eps);
    be->matmul_forward(be, gate, h2, p->wgate, NULL, N, C, F);
    be->matmul_forward(be, up, h2, p->wup, NULL, N, C, F);
    be->swiglu_forward(be, s, gate, up, (size_t)N * F);
    be->matmul_forward(be, tmp, s, p->wdown, NULL, N, F, C);
    be->add(be, x2, x1, tmp, (size_t)N * C);
    be->rmsnorm_forward(be, hf, rstdf, x2, p->lnf, N, C, c->eps);
    be->matmul_forward(be, logits, hf, p->lm_head, NULL, N, C, V);
    be->logprob_forward(be, logp, lse_v, logits, tgt, N, V);

    float *logp_h = malloc_check((size_t)N * sizeof(float));
    be->download(be, logp_h, logp, (size_t)N * sizeof(float));
    double total = 0;
    for (int i = 0; i < N; i++) total += logp_h[i];
    if (logp_out) memcpy(logp_out, logp_h, (size_t)N * sizeof(float));
    if (logits_out) be->download(be, logits_out, logits, (size_t)N * V * sizeof(float));
    free(logp_h);
    float loss = ntargets ? (float)(-total / ntargets) : 0.0f;
    if (!backward) return loss;

    // ---- backward: loss = -(1/ntargets) Σ logp ----
    const DemoParams *g = &m->g;
    be->fill_zero(be, m->grads_mem, m->nparams * sizeof(float));
    float *dlogp = arena_alloc_f32(A, N, "dlogp");
    float *dlogp_h = malloc_check((size_t)N * sizeof(float));
    for (int i = 0; i < N; i++) dlogp_h[i] = ntargets ? -1.0f / (float)ntargets : 0.0f;
    be->upload(be, dlogp, dlogp_h, (size_t)N * sizeof(float));
    free(dlogp_h);

    float *dlogits = arena_alloc_f32(A, (size_t)N * V, "dlogits");   // [N,V]
    float *dA = arena_alloc_f32(A, (size_t)N * C, "dA");                        // [N,C] main residual grad
    float *dB = arena_alloc_f32(A, (size_t)N * C, "dB");                        // [N,C] branch grad
    float *dC = arena_alloc_f32(A, (size_t)N * C, "dC");                        // [N,C] second branch
    float *dF1 = arena_alloc_f32(A, (size_t)N * F, "dF1");                      // [N,F]
    float *dF2 = arena_alloc_f32(A, (size_t)N * F, "dF2");                      // [N,F]
    float *dF3 = arena_alloc_f32(A, (size_t)N * F, "dF3");                      // [N,F]

    be->logprob_backward(be, dlogits, dlogp, logits, lse_v, tgt, N, V);
    be->matmul_backward(be, dB, g->lm_head, NULL, dlogits, hf, p->lm_head, N, C, V);     // dB = dhf
    be->rmsnorm_backward(be, dA, g->lnf, dB, x2, p->lnf, rstdf, N, C);                   // dA = dx2
    // MLP branch: x2 = x1 + s·wdownᵀ
    be->matmul_backward(be, dF1, g->wdown, NULL, dA, s, p->wdown, N, F, C);               // dF1 = ds
    be->swiglu_backward(be, dF2, dF3, dF1, gate, up, (size_t)N * F);                      // dgate, dup
    be->matmul_backward(be, dB, g->wgate, NULL, dF2, h2, p->wgate, N, C, F);              // dB = dh2 (gate path)
    be->matmul_backward(be, dC, g->wup, NULL, dF3, h2, p->wup, N, C, F);                  // dC = dh2 (up path)
    be->add(be, dB, dB, dC, (size_t)N * C);
    be->rmsnorm_backward(be, dC, g->ln2, dB, x1, p->ln2, rstd2, N, C);                    // dC = dx1 via norm
    be->add(be, dA, dA, dC, (size_t)N * C);                                               // dA = dx1
    // attention branch: x1 = x0 + att·woᵀ
    be->matmul_backward(be, dB, g->wo, NULL, dA, att, p->wo, N, C, C);                    // dB = datt
    float *dq = arena_alloc_f32(A, (size_t)N * C, "dq"), *dk = arena_alloc_f32(A, (size_t)N * C, "dk"), *dv = arena_alloc_f32(A, (size_t)N * C, "dv");
    be->attention_backward(be, dq, dk, dv, dB, q, k, v, att, lse, &ad);
    be->rope_backward(be, dq, dq, pos, B, T, H, D, c->rope_theta);
    be->rope_backward(be, dk, dk, pos, B, T, H, D, c->rope_theta);
    be->matmul_backward(be, dB, g->wq, NULL, dq, h1, p->wq, N, C, C);
    be->matmul_backward(be, dC, g->wk, NULL, dk, h1, p->wk, N, C, C);
    be->add(be, dB, dB, dC, (size_t)N * C);
    be->matmul_backward(be, dC, g->wv, NULL, dv, h1, p->wv, N, C, C);
    be->add(be, dB, dB, dC, (size_t)N * C);                                               // dB = dh1
    be->rmsnorm_backward(be, dC, g->ln1, dB, x0, p->ln1, rstd1, N, C);
    be->add(be, dA, dA, dC, (size_t)N * C);                                               // dA = dx0
    be->embedding_backward(be, g->wte, dA, ids, N, C);
    return loss;
}

float demo_lm_update(DemoLM *m, float lr, float weight_decay, float max_norm) {
    Backend *be = m->be;
    float norm = (float)sqrt(be->sum_squares(be, m->grads_mem, m->nparams));
    if (max_norm > 0 && norm > max_norm) be->scale(be, m->grads_mem, max_norm / (norm + 1e-6f), m->nparams);
    m->step++;
    be->adamw_update(be, m->params_mem, m->grads_mem, m->m_mem, m->v_mem, m->nparams, lr, 0.9f, 0.95f, 1e-8f,
                     weight_decay, m->step);
    return norm;
}
