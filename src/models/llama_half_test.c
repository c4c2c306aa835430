// llama_half_test.c — a LLaMA whose frozen Linear weights are stored in 16 bits (be->precision,
// `--precision bf16|fp16`; nn/weights.h): how they are bound (straight from the file's bytes, or rounded
// from fp32), and one forward + backward (sequence log-probs, LoRA gradients) against the same model with
// fp32 storage of the same values, on the CPU and (cuda_llama_half) on the GPU against the CPU.
#include "models/llama_fixture_test.h"
#include "backend/cuda/cuda_fixture_test.h"
#include "base/check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    float logp[4];
    float *grad;      // every LoRA gradient, in storage order
    size_t n_grad;
} HalfStep;

// Loads the checkpoint at path on be with precision p, attaches rank-4 adapters (seed 7) and runs one
// step on a fixed batch with dlogp = (1, -0.5, ...).
static bool half_step(Backend *be, Precision p, const LlamaConfig *c, const char *path, HalfStep *out, LlamaModel *keep) {
    LlamaModel m;
    LpoiErr err = {{0}};
    be->precision = p;
    if (!lt_load_file(&m, be, c, path, &err)) { EXPECT_MSG(0, "%s", err.msg); return false; }
    llama_lora_create(&m, 4, 8.0f, LLAMA_LORA_ALL);
    lt_lora_randomize(&m, 7);
    LtBatch tb;
    lt_tiny_batch(&tb, 2, 9, c->V, 5);
    LlamaBatch b = {.B = tb.B, .T = tb.T, .input_ids = tb.ids, .attention_mask = tb.mask, .labels = tb.labels};
    bool ok = llama_logps_forward(&m, &b, true, out->logp, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    const float dlogp[2] = {1.0f, -0.5f};
    if (ok) llama_logps_backward(&m, dlogp, NULL);
    out->n_grad = 0;
    for (size_t i = 0; i < llama_lora_count(&m); i++) {
        char name[160];
        int64_t shape[2];
        float *param, *grad;
        llama_lora_tensor(&m, i, name, sizeof name, shape, &param, &grad);
        size_t n = (size_t)(shape[0] * shape[1]);
        out->grad = realloc_check(out->grad, (out->n_grad + n) * sizeof *out->grad);
        be->download(be, out->grad + out->n_grad, grad, n * sizeof *grad);
        out->n_grad += n;
    }
    if (keep) *keep = m;
    else llama_free(&m);
    return ok;
}

// max |a - b| / max |b| over n values.
static double rel_max(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return m > 0 ? d / m : d;
}

// The two 16-bit storage types and the --precision that stores each.
static const struct { Dtype type; Precision prec; } HALF_TYPES[2] = {{DTYPE_BF16, PRECISION_BF16}, {DTYPE_F16, PRECISION_FP16}};

static const char *write_tiny(char *path, const LlamaConfig *c, Dtype dtype) {
    LtWriteOpts o = {.dtype = dtype};
    close(mkstemp(path));
    lt_write_model(path, c, &LLAMA_SPELLINGS[0], &o, 3);
    return path;
}

TEST(llama_half_storage) {
    LlamaConfig c;
    LpoiErr err = {{0}};
    if (!lt_parse_cfg(LT_TINY_LLAMA, &c, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    for (int t = 0; t < 2; t++) {
        const Dtype type = HALF_TYPES[t].type;
        char path[] = "/tmp/lpoi_llama_half_XXXXXX";
        write_tiny(path, &c, type);
        Backend *be = backend_cpu_create();
        HalfStep s32 = {0}, s16 = {0};
        LlamaModel m16;
        bool ok = half_step(be, PRECISION_FP32, &c, path, &s32, NULL) && half_step(be, HALF_TYPES[t].prec, &c, path, &s16, &m16);
        if (ok) {
            // Bound as 16 bits, straight from the file: the projection's bytes are the file's.
            const Linear *q = &m16.layers[1].proj[LLAMA_Q];
            EXPECT(q->w == NULL && q->w16 != NULL && q->w16_type == type && m16.embed != NULL);
            StFile st;
            if (st_open(&st, path, &err)) {
                const StTensor *ft = st_find(&st, "model.layers.1.self_attn.q_proj.weight");
                EXPECT(ft && ft->dtype == type && !memcmp(ft->data, q->w16, (size_t)ft->numel * 2));
                st_close(&st);
            }
            // Same weights, the Linear inputs rounded to 16 bits: the results move by about the
            // rounding's relative size u_h, and no more than a few times it (measured on this model:
            // log-probs 0.13 u_h (bf16) / 0.15 u_h (fp16), LoRA gradients 2.8 u_h / 2.0 u_h; bound 4 u_h).
            const double uh = ldexp(1.0, type == DTYPE_BF16 ? -8 : -11);
            double dl = rel_max(s16.logp, s32.logp, 2), dg = rel_max(s16.grad, s32.grad, s32.n_grad);
            printf("    %s: log-probs %.3g, LoRA gradients %.3g (relative to the largest; u_h = %.3g)\n", dtype_name(type), dl,
                   dg, uh);
            EXPECT_MSG(dl > 0 && dl <= 4 * uh, "%s log-probs moved %.3g (u_h %.3g)", dtype_name(type), dl, uh);
            EXPECT_MSG(dg > 0 && dg <= 4 * uh, "%s LoRA gradients moved %.3g (u_h %.3g)", dtype_name(type), dg, uh);
            llama_free(&m16);
        }
        free(s32.grad); free(s16.grad);
        backend_destroy(be);
        remove(path);
    }
    // An fp32 file bound as bf16: each weight rounded to nearest even.
    char path[] = "/tmp/lpoi_llama_half_XXXXXX";
    write_tiny(path, &c, DTYPE_F32);
    Backend *be = backend_cpu_create();
    be->precision = PRECISION_BF16;
    LlamaModel m;
    StFile st;
    if (lt_load_file(&m, be, &c, path, &err) && st_open(&st, path, &err)) {
        const StTensor *ft = st_find(&st, "model.layers.0.mlp.down_proj.weight");
        const Linear *d = &m.layers[0].proj[LLAMA_DOWN];
        int bad = 0;
        for (uint64_t i = 0; ft && i < ft->numel; i++) {
            float v;
            memcpy(&v, ft->data + 4 * i, 4);
            bad += d->w16[i] != f32_to_bf16(v);
        }
        EXPECT(ft && d->w16 && bad == 0);
        st_close(&st);
        llama_free(&m);
    } else {
        EXPECT_MSG(0, "%s", err.msg);
    }
    backend_destroy(be);
    remove(path);
}

// The GPU (tensor-core Linears where the rows allow: hidden 16; the SIMT fallback for intermediate 20)
// against the CPU, both at 16-bit storage of the same file.
TEST(cuda_llama_half) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    LlamaConfig c;
    LpoiErr err = {{0}};
    if (!lt_parse_cfg(LT_TINY_LLAMA, &c, &err)) { EXPECT_MSG(0, "%s", err.msg); return; }
    for (int t = 0; t < 2; t++) {
        const Dtype type = HALF_TYPES[t].type;
        char path[] = "/tmp/lpoi_llama_half_XXXXXX";
        write_tiny(path, &c, type);
        Backend *cpu = backend_cpu_create();
        HalfStep sc = {0}, sg = {0};
        if (half_step(cpu, HALF_TYPES[t].prec, &c, path, &sc, NULL) && half_step(gpu, HALF_TYPES[t].prec, &c, path, &sg, NULL)) {
            // Both round the same operands; only fp32 summation orders differ, which a 16-bit rounding of
            // a later Linear input can turn into one flipped last bit (u_h relative on that element).
            const double uh = ldexp(1.0, type == DTYPE_BF16 ? -8 : -11);
            double dl = rel_max(sg.logp, sc.logp, 2), dg = rel_max(sg.grad, sc.grad, sc.n_grad);
            printf("    %s: GPU vs CPU log-probs %.3g, LoRA gradients %.3g (u_h = %.3g)\n", dtype_name(type), dl, dg, uh);
            EXPECT_MSG(dl <= uh && dg <= uh, "%s GPU vs CPU: log-probs %.3g, gradients %.3g (u_h %.3g)", dtype_name(type), dl,
                       dg, uh);
        }
        gpu->precision = PRECISION_FP32;
        free(sc.grad); free(sg.grad);
        backend_destroy(cpu);
        remove(path);
    }
}
