// demo_lm.h — a one-block causal character model written only against the backend op table.
// It is the smallest end-to-end job that exercises what the real LLaMA path will use: embedding,
// RMSNorm, q/k/v/o projections, RoPE, causal attention, SwiGLU MLP, lm_head, per-token
// log-probs, the analytic backward of all of them, and AdamW. `lpoi demo` trains it on embedded
// text; demo_lm_test.c checks its full backward by finite differences.
#pragma once
#include "backend/backend.h"
#include "base/arena.h"
#include "base/rng.h"

typedef struct {
    int V;   // vocabulary (characters)
    int C;   // channels
    int H;   // heads (D = C / H)
    int F;   // MLP hidden size
    int T;   // max tokens per sequence
    int B;   // max sequences per batch
    float rope_theta, eps;
} DemoConfig;

// All parameters live in one block (so one AdamW call updates them); these point into it.
typedef struct {
    float *wte;              // [V,C]
    float *ln1;              // [C]
    float *wq, *wk, *wv, *wo;// [C,C] each
    float *ln2;              // [C]
    float *wgate, *wup;      // [F,C] each
    float *wdown;            // [C,F]
    float *lnf;              // [C]
    float *lm_head;          // [V,C]
} DemoParams;

typedef struct {
    DemoConfig cfg;
    Backend *be;
    size_t nparams;
    float *params_mem, *grads_mem, *m_mem, *v_mem;  // [nparams] each, backend memory
    DemoParams p, g;                                 // views into params_mem / grads_mem
    Arena acts;                                      // per-step activations (backend memory)
    void *acts_mem;
    int step;                                        // AdamW steps taken
} DemoLM;

void demo_lm_init(DemoLM *m, Backend *be, DemoConfig cfg, uint64_t seed);
void demo_lm_free(DemoLM *m);

// Mean negative log-likelihood of targets given ids, both [B,T] host int32 (targets < 0 are
// ignored). With `backward`, grads_mem receives d(loss)/d(params) (overwritten, not accumulated).
// Optional host outputs: logp_out [B*T] per-token log-probabilities, logits_out [B*T, V].
float demo_lm_step(DemoLM *m, const int32_t *ids, const int32_t *targets, int B, int T, bool backward,
                   float *logp_out, float *logits_out);

// Scales gradients so their global norm is at most max_norm (returns the norm before), then AdamW.
float demo_lm_update(DemoLM *m, float lr, float weight_decay, float max_norm);
