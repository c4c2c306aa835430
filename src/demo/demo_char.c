// demo_char.c — `lpoi demo --char-model`: the first embedded job, kept as a small smoke test of the
// op table (forward, analytic backward, AdamW) on any backend. It trains the one-block character model
// of demo_lm.c to reproduce the paragraph embedded below, through the backend op table (forward,
// analytic backward, AdamW), reports the loss over the whole text before and after, and greedily
// continues a prompt. The text is far too small to generalise from: the job is memorisation,
// which is exactly what shows that every forward and backward in the chain is right.
// It needs no download and no GPU; --device cuda runs it on a GPU when every op it uses is there.
#include "demo/demo_char.h"
#include "demo/demo_lm.h"
#include "base/check.h"
#include "base/threads.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char DEMO_TEXT[] =
    "Vision-language models sometimes describe objects that are not in the image. "
    "Listwise preference optimisation teaches them to look: it hides the object that an answer "
    "talks about, step by step, and asks the model to trust the answer less as the object "
    "disappears. The first image is the original. The last image hides the whole object. "
    "In between, a growing black mask covers more of the box, and a red ellipse marks the "
    "hidden part. The model ranks the images from fully visible to fully hidden, and the "
    "training signal is the likelihood of that ranking. Direct preference optimisation compares "
    "a chosen answer with a rejected one; the anchor keeps the chosen answer likely; the list "
    "ties the answer to the pixels that support it. A model that sees the cat says cat. A model "
    "that sees only a mask should not say cat. The reference model is the same network with the "
    "adapter switched off, so its log-probabilities never change and can be computed once. "
    "The runtime is plain C: a safetensors reader, a tensor arena, a table of operations with a "
    "forward and a backward for each, and kernels for the processor and for the GPU. Every "
    "operation is checked against an oracle before it is trusted, and every gradient is checked "
    "by finite differences. ";

typedef struct {
    int steps, seed, log_every;
    float lr;
    const char *device;
    const char *prompt;
} DemoArgs;

static int usage(FILE *to, int code) {
    fprintf(to,
            "usage: lpoi demo --char-model [--steps N] [--lr X] [--seed N] [--device cpu|cuda|auto] [--prompt TEXT]\n\n"
            "Trains a one-block causal character model (embedding, RMSNorm, RoPE attention, SwiGLU MLP,\n"
            "lm_head) to reproduce a paragraph embedded in the binary, using only the backend op table\n"
            "with its analytic backward and AdamW. Prints the loss over the text before and after and a\n"
            "greedy continuation of the prompt. Exits 1 if training did not halve the loss.\n\n"
            "  --steps N      optimisation steps (default 300)\n"
            "  --lr X         AdamW learning rate, linear decay to 0 (default 0.003)\n"
            "  --seed N       initialisation and sampling seed (default 1)\n"
            "  --device D     cpu (default), cuda or auto\n"
            "  --prompt TEXT  text to continue (default \"A model that \")\n");
    return code;
}

// Character vocabulary of the embedded text.
typedef struct { int n; unsigned char chars[256]; int index[256]; } Vocab;

static void vocab_build(Vocab *v, const char *text, size_t len) {
    memset(v, 0, sizeof *v);
    for (int i = 0; i < 256; i++) v->index[i] = -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (v->index[ch] < 0) { v->index[ch] = v->n; v->chars[v->n++] = ch; }
    }
}

// Fills B windows of T+1 characters from [lo, hi) of the encoded text.
static void sample_batch(Rng *rng, const int32_t *enc, size_t lo, size_t hi, int B, int T, int32_t *ids, int32_t *tgt) {
    for (int b = 0; b < B; b++) {
        size_t start = lo + rng_below(rng, hi - lo - (size_t)T - 1);
        for (int t = 0; t < T; t++) {
            ids[b * T + t] = enc[start + t];
            tgt[b * T + t] = enc[start + t + 1];
        }
    }
}

// Mean loss over consecutive windows of [lo, hi) (deterministic evaluation).
static float eval_loss(DemoLM *m, const int32_t *enc, size_t lo, size_t hi, int32_t *ids, int32_t *tgt) {
    int T = m->cfg.T;
    double sum = 0;
    int count = 0;
    for (size_t start = lo; start + (size_t)T + 1 <= hi; start += (size_t)T) {
        for (int t = 0; t < T; t++) { ids[t] = enc[start + t]; tgt[t] = enc[start + t + 1]; }
        sum += demo_lm_step(m, ids, tgt, 1, T, false, NULL, NULL);
        count++;
    }
    return count ? (float)(sum / count) : NAN;
}

int demo_char_model(int argc, char **argv) {
    DemoArgs a = {.steps = 300, .seed = 1, .log_every = 50, .lr = 3e-3f, .device = "cpu", .prompt = "A model that "};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) return usage(stdout, 0);
        if (!strcmp(arg, "--char-model")) continue;
        if (!val) { fprintf(stderr, "lpoi demo --char-model: %s needs a value (or unknown option)\n", arg); return usage(stderr, 2); }
        if (!strcmp(arg, "--steps")) a.steps = atoi(val);
        else if (!strcmp(arg, "--lr")) a.lr = strtof(val, NULL);
        else if (!strcmp(arg, "--seed")) a.seed = atoi(val);
        else if (!strcmp(arg, "--device")) a.device = val;
        else if (!strcmp(arg, "--prompt")) a.prompt = val;
        else { fprintf(stderr, "lpoi demo --char-model: unknown option %s\n", arg); return usage(stderr, 2); }
        i++;
    }
    if (a.steps < 1 || !(a.lr > 0) || !isfinite(a.lr)) { fprintf(stderr, "lpoi demo --char-model: --steps must be >= 1 and --lr > 0\n"); return 2; }

    LpoiErr err = {{0}};
    Backend *be = backend_open(a.device, &err);
    if (!be) { fprintf(stderr, "lpoi demo --char-model: %s\n", err.msg); return 1; }
    const OpId needed[] = {OP_EMBEDDING_FORWARD, OP_EMBEDDING_BACKWARD, OP_RMSNORM_FORWARD, OP_RMSNORM_BACKWARD,
                           OP_MATMUL_FORWARD, OP_MATMUL_BACKWARD, OP_ROPE_FORWARD, OP_ROPE_BACKWARD,
                           OP_ATTENTION_FORWARD, OP_ATTENTION_BACKWARD, OP_SWIGLU_FORWARD, OP_SWIGLU_BACKWARD,
                           OP_ADD, OP_SCALE, OP_SUM_SQUARES, OP_LOGPROB_FORWARD, OP_LOGPROB_BACKWARD, OP_ADAMW_UPDATE};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(needed); i++)
        if (!backend_supports(be, needed[i])) {
            fprintf(stderr, "lpoi demo --char-model: the %s backend does not implement %s yet; run with --device cpu\n", be->name, op_name(needed[i]));
            backend_destroy(be);
            return 1;
        }

    size_t len = strlen(DEMO_TEXT);
    Vocab vocab;
    vocab_build(&vocab, DEMO_TEXT, len);
    int32_t *enc = malloc_check(len * sizeof(int32_t));
    for (size_t i = 0; i < len; i++) enc[i] = vocab.index[(unsigned char)DEMO_TEXT[i]];

    DemoConfig cfg = {.V = vocab.n, .C = 96, .H = 4, .F = 256, .T = 64, .B = 8, .rope_theta = 10000.0f, .eps = 1e-5f};
    DemoLM m;
    demo_lm_init(&m, be, cfg, (uint64_t)a.seed);
    printf("lpoi demo --char-model: one-block causal character model on %s\n", be->device);
    printf("  %zu parameters (V=%d C=%d H=%d F=%d), batch %dx%d, %zu characters of text, %d steps\n",
           m.nparams, cfg.V, cfg.C, cfg.H, cfg.F, cfg.B, cfg.T, len, a.steps);

    int32_t *ids = malloc_check((size_t)cfg.B * cfg.T * sizeof(int32_t));
    int32_t *tgt = malloc_check((size_t)cfg.B * cfg.T * sizeof(int32_t));
    float before = eval_loss(&m, enc, 0, len, ids, tgt);
    printf("  before: loss %.3f nats/char (uniform guess: ln %d = %.3f)\n", before, cfg.V, logf((float)cfg.V));

    Rng rng;
    rng_seed(&rng, (uint64_t)a.seed * 7919u + 17u);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int step = 1; step <= a.steps; step++) {
        sample_batch(&rng, enc, 0, len, cfg.B, cfg.T, ids, tgt);
        float loss = demo_lm_step(&m, ids, tgt, cfg.B, cfg.T, true, NULL, NULL);
        float lr = a.lr * (1.0f - (float)(step - 1) / (float)a.steps);
        float gnorm = demo_lm_update(&m, lr, 0.0f, 1.0f);
        if (step == 1 || step % a.log_every == 0 || step == a.steps) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            double sec = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
            printf("  step %4d/%d  loss %.3f  grad norm %.3f  lr %.2e  (%.1f steps/s)\n", step, a.steps, loss, gnorm,
                   lr, step / sec);
        }
    }
    float after = eval_loss(&m, enc, 0, len, ids, tgt);
    printf("  after:  loss %.3f nats/char\n", after);

    // Greedy continuation of the prompt (characters outside the vocabulary are dropped).
    char out[256];
    int n = 0;
    for (const char *c = a.prompt; *c && n < 128; c++)
        if (vocab.index[(unsigned char)*c] >= 0) out[n++] = *c;
    if (n == 0) out[n++] = DEMO_TEXT[0];
    int prompt_len = n;
    float *logits = malloc_check((size_t)cfg.T * cfg.V * sizeof(float));
    while (n < prompt_len + 80 && n < (int)sizeof out - 1) {
        int T = n < cfg.T ? n : cfg.T;
        for (int t = 0; t < T; t++) { ids[t] = vocab.index[(unsigned char)out[n - T + t]]; tgt[t] = -100; }
        demo_lm_step(&m, ids, tgt, 1, T, false, NULL, logits);
        const float *last = logits + (size_t)(T - 1) * cfg.V;
        int best = 0;
        for (int j = 1; j < cfg.V; j++) if (last[j] > last[best]) best = j;
        out[n++] = (char)vocab.chars[best];
    }
    out[n] = 0;
    printf("  greedy continuation: \"%s\"\n", out);

    bool learned = after < 0.5f * before;
    printf("lpoi demo --char-model: %s (loss %.3f -> %.3f)\n", learned ? "the model learned the text" : "TRAINING FAILED TO HALVE THE LOSS",
           before, after);
    free(logits);
    free(ids);
    free(tgt);
    free(enc);
    demo_lm_free(&m);
    backend_destroy(be);
    return learned ? 0 : 1;
}
