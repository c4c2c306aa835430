// llama_grad_test.c — finite-difference checks of the LoRA A/B and input-embedding gradients of
// the sequence log-probs, the adapter switch, recomputation (bit-identical gradients), logits
// chunking, input validation, the activation-memory plan, the KV-cached decoder, and an opt-in
// timing of a step (LPOI_LLAMA_BENCH=1).
#include "models/llama.h"
#include "models/llama_fixture_test.h"
#include "test/test.h"
#include "test/gradcheck.h"
#include "base/check.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool logps(void *m, const void *batch, float *logp, LpoiErr *err) { return llama_logps_forward(m, batch, false, logp, err); }

static void fd_model(const char *cfg_json, unsigned targets, uint64_t seed) {
    LlamaConfig c;
    LlamaModel m;
    Backend *be = lt_random_model(&m, &c, cfg_json, seed, 3, 6.0f, targets);
    if (!be) return;
    LpoiErr err = {{0}};
    LtBatch tb;
    lt_tiny_batch(&tb, 3, 7, c.V, seed + 2);
    LlamaBatch batch = {.B = tb.B, .T = tb.T, .input_ids = tb.ids, .attention_mask = tb.mask, .labels = tb.labels};
    float dlogp[3] = {0.7f, -1.3f, 0.4f}, logp[3];
    EXPECT(llama_logps_forward(&m, &batch, true, logp, &err));
    llama_logps_backward(&m, dlogp, NULL);
    float *grads = mt_fetch(be, m.lora.grad, m.lora.floats);
    MtLogpLoss ids_loss = {logps, &m, &batch, dlogp, batch.B};
    // Every adapter tensor of the first and last layer (both A and B).
    for (size_t i = 0; i < llama_lora_count(&m); i++) {
        char name[200];
        int64_t shape[2];
        float *p, *g;
        llama_lora_tensor(&m, i, name, sizeof name, shape, &p, &g);
        if (!strstr(name, "layers.0.") && !strstr(name, "layers.1.")) continue;
        MT_CHECK_FD(name, be, mt_logp_loss, &ids_loss, p, (size_t)(shape[0] * shape[1]), grads + (g - m.lora.grad));
    }
    // Input embeddings: the same batch fed as embeddings.
    size_t NC = (size_t)tb.B * tb.T * c.C;
    float *emb = be->alloc(be, NC * sizeof(float)), *demb = be->alloc(be, NC * sizeof(float));
    int32_t *dev_ids = be->alloc(be, sizeof tb.ids);
    be->upload(be, dev_ids, tb.ids, (size_t)tb.B * tb.T * sizeof(int32_t));
    be->embedding_forward(be, emb, dev_ids, m.embed, tb.B * tb.T, c.C);
    LlamaBatch eb = batch;
    eb.input_ids = NULL;
    eb.inputs_embeds = emb;
    float logp2[3];
    EXPECT(llama_logps_forward(&m, &eb, true, logp2, &err));
    for (int b = 0; b < 3; b++) EXPECT(logp2[b] == logp[b]);   // ids and their embeddings: same numbers
    llama_logps_backward(&m, dlogp, demb);
    float *d = mt_fetch(be, demb, NC);
    MtLogpLoss embeds_loss = {logps, &m, &eb, dlogp, eb.B};
    MT_CHECK_FD("d inputs_embeds", be, mt_logp_loss, &embeds_loss, emb, NC, d);
    // Padded positions never influence the scores: their embedding gradient is exactly zero.
    for (int b = 0; b < tb.B; b++)
        for (int t = 0; t < tb.T; t++)
            if (!tb.mask[b * tb.T + t])
                for (int j = 0; j < c.C; j++) EXPECT(d[((size_t)b * tb.T + t) * c.C + j] == 0.0f);
    free(d);
    free(grads);
    be->free(be, emb);
    be->free(be, demb);
    be->free(be, dev_ids);
    llama_free(&m);
    backend_destroy(be);
}

TEST(llama_fd_lora_and_embeds_llama_gqa) { fd_model(LT_TINY_LLAMA, LLAMA_LORA_ALL, 11); }
TEST(llama_fd_lora_and_embeds_mistral_window_tied) { fd_model(LT_TINY_MISTRAL, (1u << LLAMA_Q) | (1u << LLAMA_DOWN) | (1u << LLAMA_V), 21); }

// Recompute gives the same gradients bit for bit; chunking the logits changes nothing; the
// adapter switch is exactly the base model; B = 0 (PEFT's init) is exactly the base model.
TEST(llama_recompute_chunks_and_adapter_switch) {
    LlamaConfig c;
    LlamaModel m;
    Backend *be = lt_random_model(&m, &c, LT_TINY_MISTRAL, 5, 0, 0, 0);
    if (!be) return;
    LpoiErr err = {{0}};
    LtBatch tb;
    lt_tiny_batch(&tb, 3, 8, c.V, 6);
    LlamaBatch batch = {.B = tb.B, .T = tb.T, .input_ids = tb.ids, .attention_mask = tb.mask, .labels = tb.labels};
    float base[3], lp[3], lp2[3], dlogp[3] = {1.0f, -0.5f, 2.0f};
    EXPECT(llama_logps_forward(&m, &batch, false, base, &err));
    llama_lora_create(&m, 2, 4.0f, LLAMA_LORA_ALL);
    llama_lora_init(&m, 9);   // B = 0
    EXPECT(llama_logps_forward(&m, &batch, false, lp, &err));
    for (int b = 0; b < 3; b++) EXPECT(lp[b] == base[b]);
    lt_lora_randomize(&m, 10);
    EXPECT(llama_logps_forward(&m, &batch, false, lp, &err));
    EXPECT(fabsf(lp[0] - base[0]) > 1e-3f);
    m.lora_on = false;
    EXPECT(llama_logps_forward(&m, &batch, false, lp2, &err));
    for (int b = 0; b < 3; b++) EXPECT(lp2[b] == base[b]);
    m.lora_on = true;
    // keep vs recompute vs a logits chunk of 2 rows
    float *g[3];
    size_t peak[3];
    for (int k = 0; k < 3; k++) {
        m.recompute = k == 1;
        m.logits_chunk = k == 2 ? 2 : 256;
        llama_lora_zero_grad(&m);
        EXPECT(llama_logps_forward(&m, &batch, true, lp2, &err));
        for (int b = 0; b < 3; b++) EXPECT_NEAR(lp2[b], lp[b], 1e-5, 1e-5);
        llama_logps_backward(&m, dlogp, NULL);
        g[k] = mt_fetch(be, m.lora.grad, m.lora.floats);
        peak[k] = llama_step_peak_bytes(&m);
        EXPECT(peak[k] <= llama_step_bytes(&m, tb.B, tb.T, 100, true));
    }
    EXPECT(gc_same_bits(g[0], g[1], m.lora.floats * sizeof(float)));
    EXPECT_CLOSE_F32("chunked logits grads", g[2], g[0], m.lora.floats, 1e-5, 1e-4);
    EXPECT(peak[1] < peak[0]);
    for (int k = 0; k < 3; k++) free(g[k]);
    // Bad input: ids out of range, labels neither -100 nor ids, both/neither of ids and embeds.
    tb.ids[3] = c.V;
    EXPECT(!llama_logps_forward(&m, &batch, false, lp, &err));
    EXPECT_ERR_HAS(err, "input_ids[0][3]");
    tb.ids[3] = 0;
    tb.labels[5] = -1;
    EXPECT(!llama_logps_forward(&m, &batch, false, lp, &err));
    EXPECT_ERR_HAS(err, "labels[0][5] = -1");
    batch.input_ids = NULL;
    EXPECT(!llama_logps_forward(&m, &batch, false, lp, &err));
    EXPECT_ERR_HAS(err, "exactly one");
    llama_free(&m);
    backend_destroy(be);
}

// Peak activation memory of one step, with and without recomputation, on a fixed small config
// (printed for the record), and the plan covers what the step used.
TEST(llama_step_memory) {
    LlamaConfig c;
    LlamaModel m;
    Backend *be = lt_random_model(&m, &c, "{\"model_type\": \"llama\", \"vocab_size\": 512, \"hidden_size\": 64, \"intermediate_size\": 172,"
              " \"num_hidden_layers\": 4, \"num_attention_heads\": 4, \"num_key_value_heads\": 2}", 3, 8, 16.0f, LLAMA_LORA_ALL);
    if (!be) return;
    LpoiErr err = {{0}};
    enum { B = 2, T = 32 };
    int32_t ids[B * T], labels[B * T];
    Rng r;
    rng_seed(&r, 1);
    int S = 0;
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int32_t)rng_below(&r, (uint64_t)c.V);
        labels[i] = i % T >= T / 2 ? ids[i] : -100;
    }
    for (int i = 0; i + 1 < B * T; i++) S += (i + 1) % T != 0 && labels[i + 1] != -100;
    LlamaBatch batch = {.B = B, .T = T, .input_ids = ids, .labels = labels};
    float lp[B], dl[B] = {1, 1};
    size_t peak[2], plan[2];
    for (int k = 0; k < 2; k++) {
        m.recompute = k;
        EXPECT(llama_logps_forward(&m, &batch, true, lp, &err));
        llama_logps_backward(&m, dl, NULL);
        peak[k] = llama_step_peak_bytes(&m);
        plan[k] = llama_step_bytes(&m, B, T, S, true);
        EXPECT(peak[k] <= plan[k] && plan[k] - peak[k] <= 8 * ARENA_ALIGN);
    }
    EXPECT(peak[1] * 2 < peak[0]);
    printf("      llama_step_memory: V=512 C=64 F=172 n_layer=4 H=4 KVH=2 r=8, B=2 T=32: peak activations %.1f KiB, "
           "%.1f KiB with recomputation\n", peak[0] / 1024.0, peak[1] / 1024.0);
    llama_free(&m);
    backend_destroy(be);
}

// CPU forward+backward throughput on a fixed small config; runs only with LPOI_LLAMA_BENCH=1 (the
// suite stays light on shared machines). Prints tokens/s and the peak activation memory.
TEST(llama_bench_step) {
    if (!getenv("LPOI_LLAMA_BENCH")) { test_skip("set LPOI_LLAMA_BENCH=1 to time a step"); return; }
    LlamaConfig c;
    LlamaModel m;
    Backend *be = lt_random_model(&m, &c, "{\"model_type\": \"llama\", \"vocab_size\": 8192, \"hidden_size\": 256, \"intermediate_size\": 688,"
              " \"num_hidden_layers\": 4, \"num_attention_heads\": 8, \"num_key_value_heads\": 8}", 3, 8, 16.0f, LLAMA_LORA_ALL);
    if (!be) return;
    LpoiErr err = {{0}};
    enum { B = 4, T = 128 };
    static int32_t ids[B * T], labels[B * T];
    Rng r;
    rng_seed(&r, 1);
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int32_t)rng_below(&r, (uint64_t)c.V);
        labels[i] = i % T >= T / 2 ? ids[i] : -100;
    }
    LlamaBatch batch = {.B = B, .T = T, .input_ids = ids, .labels = labels};
    float lp[B], dl[B] = {1, 1, 1, 1};
    for (int k = 0; k < 2; k++) {
        m.recompute = k;
        EXPECT(llama_logps_forward(&m, &batch, true, lp, &err));   // warm-up
        llama_logps_backward(&m, dl, NULL);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        enum { STEPS = 3 };
        for (int s = 0; s < STEPS; s++) {
            EXPECT(llama_logps_forward(&m, &batch, true, lp, &err));
            llama_logps_backward(&m, dl, NULL);
        }
        be->synchronize(be);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        printf("      llama_bench_step (%s): V=8192 C=256 F=688 n_layer=4 H=8 r=8 all-linear, B=4 T=128 (half scored): "
               "%.0f tokens/s forward+backward, %.1f ms/step, peak activations %.1f MiB\n", be->device,
               STEPS * B * T / sec, 1e3 * sec / STEPS, llama_step_peak_bytes(&m) / 1048576.0);
        printf("      (%s)\n", k ? "with recomputation" : "keeping activations");
    }
    llama_free(&m);
    backend_destroy(be);
}

// The KV-cached decoder agrees with argmax over full forwards (llama_logits) of the growing
// sequence, for a sliding window shorter than prompt + generation, with adapters on.
TEST(llama_generate_matches_full_forward) {
    LlamaConfig c;
    LlamaModel m;
    Backend *be = lt_random_model(&m, &c, LT_TINY_MISTRAL_UNTIED, 13, 2, 4.0f, LLAMA_LORA_ALL);
    if (!be) return;
    LpoiErr err = {{0}};
    enum { P = 4, G = 9 };
    int32_t seq[P + G] = {3, 7, 1, 12}, out[G];
    LlamaGenOpts go = {.max_new = G};
    EXPECT_EQ_INT(llama_generate(&m, seq, P, &go, out, &err), G);
    float *logits = be->alloc(be, (size_t)(P + G) * c.V * sizeof(float));
    float *h = malloc_check((size_t)c.V * sizeof *h);
    int distinct = 0;
    for (int i = 0; i < G; i++) {
        LlamaBatch b = {.B = 1, .T = P + i, .input_ids = seq};
        EXPECT(llama_logits(&m, &b, logits, &err));
        be->download(be, h, logits + (size_t)(P + i - 1) * c.V, (size_t)c.V * sizeof *h);
        int best = 0;
        for (int v = 1; v < c.V; v++) if (h[v] > h[best]) best = v;
        EXPECT_MSG(out[i] == best, "step %d: cached decode gave %d, full forward %d", i, out[i], best);
        seq[P + i] = best;
        distinct += i == 0 || out[i] != out[i - 1];
    }
    EXPECT(distinct > 2);
    // Stop ids end the generation (the stop token is kept); sampling is reproducible by seed.
    int32_t stop = out[2], out2[G], out3[G];
    LlamaGenOpts gs = {.max_new = G, .stop_ids = &stop, .n_stop = 1};
    int n = llama_generate(&m, seq, P, &gs, out2, &err);
    EXPECT(n >= 1 && n <= 3 && out2[n - 1] == stop);
    LlamaGenOpts gsmp = {.max_new = G, .temperature = 1.5f, .top_p = 0.9f, .seed = 5};
    EXPECT_EQ_INT(llama_generate(&m, seq, P, &gsmp, out2, &err), G);
    EXPECT_EQ_INT(llama_generate(&m, seq, P, &gsmp, out3, &err), G);
    EXPECT(!memcmp(out2, out3, sizeof out2));
    int32_t badp[1] = {c.V};
    EXPECT_EQ_INT(llama_generate(&m, badp, 1, &go, out, &err), -1);
    EXPECT_ERR_HAS(err, "outside the vocabulary");
    free(h);
    be->free(be, logits);
    llama_free(&m);
    backend_destroy(be);
}

// Nothing scored (every label -100, or T = 1): log-probs 0, gradients exactly 0, no lm_head work.
TEST(llama_nothing_scored) {
    LlamaConfig c;
    LlamaModel m;
    Backend *be = lt_random_model(&m, &c, LT_TINY_LLAMA, 2, 2, 2.0f, LLAMA_LORA_ALL);
    if (!be) return;
    LpoiErr err = {{0}};
    int32_t ids[6] = {1, 2, 3, 4, 5, 6}, labels[6] = {-100, -100, -100, -100, -100, -100};
    float lp[2] = {1, 1}, dl[2] = {1, 1};
    float *demb = be->alloc(be, 6 * (size_t)c.C * sizeof(float));
    for (int T = 1; T <= 3; T += 2) {
        LlamaBatch b = {.B = 2, .T = T, .input_ids = ids, .labels = labels};
        if (T == 1) labels[1] = 5;   // a label at t = 0 is never scored (nothing predicts it)
        EXPECT(llama_logps_forward(&m, &b, true, lp, &err));
        EXPECT(lp[0] == 0.0f && lp[1] == 0.0f);
        llama_logps_backward(&m, dl, demb);
        float *d = mt_fetch(be, demb, (size_t)2 * T * c.C);
        for (size_t i = 0; i < (size_t)2 * T * c.C; i++) EXPECT(d[i] == 0.0f);
        free(d);
        labels[1] = -100;
    }
    float *g = mt_fetch(be, m.lora.grad, m.lora.floats);
    for (size_t i = 0; i < m.lora.floats; i++) EXPECT(g[i] == 0.0f);
    free(g);
    be->free(be, demb);
    llama_free(&m);
    backend_destroy(be);
}
