// bench_lpoi.c — lpoi's LPOI training step on the model, adapter and inputs that tools/bench_lpoi_torch.py wrote,
// timed beside the PyTorch step it measured, after checking that both sides computed the same first step.
//
// One example per step (micro-batch 1), L + 1 sequences in one forward (chosen and rejected on image x1, the
// chosen answer on x2..xL; the list's first entry is the chosen forward, as lpoi's trainer runs it), the LPOI
// objective (text DPO + Plackett-Luce list + anchor, beta 0.1: lpoi/objectives.h), the analytic backward into
// every LoRA A/B, the global-norm clip at 1.0 and AdamW (lr 1e-6), all on the op table of the chosen backend:
//   recompute  the reference log-probs recomputed every step with the adapters off (the public code's way)
//   cached     the reference log-probs computed once beforehand (TRL's precompute_ref_log_probs)
// The first step's policy/reference log-probs and loss are compared with WORK/torch.json (when present) before
// any timing is reported: |Δ logp| <= tol_lp·|logp| and |Δ loss| <= tol_loss·max(1, |loss|), tolerances by
// precision (fp32: 1e-5 / 1e-4; 16-bit: 1e-2 / 5e-2 — provisional, to be confirmed on the first GPU run: the
// two sides round differently, PyTorch keeps fp16 activations, lpoi fp32 ones rounded at each Linear input).
// Timing: wall clock around each step after a synchronise, median of the steps after the first.
//
// usage: bench_lpoi --work DIR [--device cuda|cpu] [--precision fp32|bf16|fp16] [--steps N]
//                   [--modes recompute,cached] [--recompute-layers]
// build: tools/gpucheck.sh links it against the lpoi objects (as bench_cuda); ./nob bench builds every bench/*.c.
#include "backend/backend.h"
#include "base/check.h"
#include "base/json.h"
#include "base/safetensors.h"
#include "lpoi/adapter_io.h"
#include "lpoi/objectives.h"
#include "models/llava.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SEQ (OBJ_MAX_L + 1)

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    LlavaModel m;
    Backend *be;
    LlavaBatch b;
    int L, nseq;
    int32_t *ids, *mask, *labels;
    float *pix_dev;
    // LoRA tensors and their AdamW moments
    size_t nt;
    float **param, **grad, **mom1, **mom2;
    size_t *n;
} Bench;

static const int32_t *tensor_i32(const StFile *st, const char *name, uint64_t *n) {
    const StTensor *t = st_find(st, name);
    if (!t || t->dtype != DTYPE_I32) LPOI_DIE("inputs: %s missing or not I32", name);
    *n = t->numel;
    return (const int32_t *)t->data;
}

// The L + 1 sequences, right-padded: prompt (image tokens already expanded) + answer, labels on the answer.
static void build_batch(Bench *bn, const StFile *st) {
    uint64_t np, nc, nr;
    const int32_t *prompt = tensor_i32(st, "prompt", &np), *chosen = tensor_i32(st, "chosen", &nc),
                  *rejected = tensor_i32(st, "rejected", &nr);
    const StTensor *px = st_find(st, "pixel_values");
    if (!px || px->dtype != DTYPE_F32 || px->ndim != 4) LPOI_DIE("inputs: pixel_values missing or not F32 [L,3,S,S]");
    bn->L = (int)px->shape[0];
    if (bn->L < 2 || bn->L > OBJ_MAX_L) LPOI_DIE("inputs: %d images (2..%d)", bn->L, OBJ_MAX_L);
    bn->nseq = bn->L + 1;
    const int T = (int)(np + (nc > nr ? nc : nr));
    const size_t per = (size_t)(px->shape[1] * px->shape[2] * px->shape[3]);
    bn->ids = calloc_check((size_t)bn->nseq * T, sizeof *bn->ids);
    bn->mask = calloc_check((size_t)bn->nseq * T, sizeof *bn->mask);
    bn->labels = malloc_check((size_t)bn->nseq * T * sizeof *bn->labels);
    float *pix = malloc_check((size_t)bn->nseq * per * sizeof *pix);
    for (int s = 0; s < bn->nseq; s++) {
        const int32_t *ans = s == 1 ? rejected : chosen;
        const int na = (int)(s == 1 ? nr : nc), img = s <= 1 ? 0 : s - 1;
        int32_t *ids = bn->ids + (size_t)s * T, *mask = bn->mask + (size_t)s * T, *lab = bn->labels + (size_t)s * T;
        for (int t = 0; t < T; t++) lab[t] = -100;
        for (int t = 0; t < (int)np; t++) ids[t] = prompt[t], mask[t] = 1;
        for (int t = 0; t < na; t++) ids[np + t] = lab[np + t] = ans[t], mask[np + t] = 1;
        memcpy(pix + (size_t)s * per, (const float *)px->data + (size_t)img * per, per * sizeof *pix);
    }
    bn->pix_dev = bn->be->alloc(bn->be, (size_t)bn->nseq * per * sizeof *pix);
    bn->be->upload(bn->be, bn->pix_dev, pix, (size_t)bn->nseq * per * sizeof *pix);
    free(pix);
    bn->b = (LlavaBatch){.B = bn->nseq, .T = T, .input_ids = bn->ids, .attention_mask = bn->mask, .labels = bn->labels,
                         .n_images = bn->nseq, .pixel_values = bn->pix_dev};
}

static void lora_tensors(Bench *bn) {
    Backend *be = bn->be;
    bn->nt = llava_lora_count(&bn->m);
    bn->param = calloc_check(bn->nt, sizeof *bn->param);
    bn->grad = calloc_check(bn->nt, sizeof *bn->grad);
    bn->mom1 = calloc_check(bn->nt, sizeof *bn->mom1);
    bn->mom2 = calloc_check(bn->nt, sizeof *bn->mom2);
    bn->n = calloc_check(bn->nt, sizeof *bn->n);
    for (size_t i = 0; i < bn->nt; i++) {
        char name[256];
        int64_t shape[2];
        llava_lora_tensor(&bn->m, i, name, sizeof name, shape, &bn->param[i], &bn->grad[i]);
        bn->n[i] = (size_t)(shape[0] * shape[1]);
        bn->mom1[i] = be->alloc(be, bn->n[i] * sizeof(float));
        bn->mom2[i] = be->alloc(be, bn->n[i] * sizeof(float));
        be->fill_zero(be, bn->mom1[i], bn->n[i] * sizeof(float));
        be->fill_zero(be, bn->mom2[i], bn->n[i] * sizeof(float));
    }
}

static void reference(Bench *bn, float *ref) {
    LpoiErr err = {{0}};
    llava_set_lora(&bn->m, false);
    if (!llava_logps_forward(&bn->m, &bn->b, false, ref, &err)) LPOI_DIE("reference forward: %s", err.msg);
    llava_set_lora(&bn->m, true);
}

// One optimiser step; returns the loss, fills pol [nseq].
static double step(Bench *bn, const ObjConfig *oc, const float *ref, float *pol, int t) {
    const int L = bn->L;
    LpoiErr err = {{0}};
    llava_lora_zero_grad(&bn->m);
    if (!llava_logps_forward(&bn->m, &bn->b, true, pol, &err)) LPOI_DIE("policy forward: %s", err.msg);
    double pl[OBJ_MAX_L], rl[OBJ_MAX_L], dl[OBJ_MAX_L], pc = pol[0], rc = ref[0], pr = pol[1], rr = ref[1], dc, dr;
    for (int k = 0; k < L; k++) pl[k] = k ? pol[1 + k] : pol[0], rl[k] = k ? ref[1 + k] : ref[0];
    ObjBatch ob = {.B = 1, .pol_chosen = &pc, .ref_chosen = &rc, .pol_rejected = &pr, .ref_rejected = &rr,
                   .pol_list = pl, .ref_list = rl};
    ObjBatchGrad g = {.d_chosen = &dc, .d_rejected = &dr, .d_list = dl};
    ObjStats st;
    double loss = obj_batch(oc, &ob, &g, &st, NULL);
    float dlogp[MAX_SEQ];
    dlogp[0] = (float)(dc + dl[0]);   // π_1 of the list is the chosen forward: both gradients land on it
    dlogp[1] = (float)dr;
    for (int k = 1; k < L; k++) dlogp[1 + k] = (float)dl[k];
    llava_logps_backward(&bn->m, dlogp, NULL);
    Backend *be = bn->be;
    double ss = 0;
    for (size_t i = 0; i < bn->nt; i++) ss += be->sum_squares(be, bn->grad[i], bn->n[i]);
    double coef = 1.0 / (sqrt(ss) + 1e-6);   // clip_grad_norm_ at 1.0
    for (size_t i = 0; i < bn->nt; i++) {
        if (coef < 1.0) be->scale(be, bn->grad[i], (float)coef, bn->n[i]);
        be->adamw_update(be, bn->param[i], bn->grad[i], bn->mom1[i], bn->mom2[i], bn->n[i], 1e-6f, 0.9f, 0.999f, 1e-8f,
                         0.0f, t + 1);
    }
    be->synchronize(be);
    return loss;
}

// WORK/torch.json's first step for `mode` (the public code's 7 policy log-probs: text pair, then the list).
static bool torch_first(const char *work, const char *mode, double *loss, double *pol, int n, double *step_s) {
    char path[4200];
    snprintf(path, sizeof path, "%s/torch.json", work);
    LpoiErr err = {{0}};
    JsonDoc *doc = json_load_file(path, 1 << 20, &err);
    if (!doc) return false;
    const JsonValue *m = json_get(json_get(json_root(doc), "modes"), mode);
    const JsonValue *lp = json_get(m, "policy_logps");
    bool ok = m && lp && lp->type == JSON_ARRAY && lp->count == (size_t)n + 1 && json_get_f64(m, "loss", loss) &&
              json_get_f64(m, "step_s", step_s);
    for (int i = 0; ok && i < n; i++) {   // the list's x1 entry repeats the chosen one: skip it
        const JsonValue *v = json_at(lp, i < 2 ? (size_t)i : (size_t)i + 1);
        ok = v && v->type == JSON_NUMBER;
        if (ok) pol[i] = v->number;
    }
    json_free(doc);
    return ok;
}

int main(int argc, char **argv) {
    const char *work = NULL, *device = "cuda", *modes = "recompute,cached";
    Precision prec = PRECISION_FP32;
    int steps = 5;
    bool recompute_layers = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--recompute-layers")) { recompute_layers = true; continue; }
        if (!v) LPOI_DIE("%s needs a value", a);
        if (!strcmp(a, "--work")) work = v;
        else if (!strcmp(a, "--device")) device = v;
        else if (!strcmp(a, "--modes")) modes = v;
        else if (!strcmp(a, "--steps")) steps = atoi(v);
        else if (!strcmp(a, "--precision")) { if (!precision_parse(v, &prec)) LPOI_DIE("--precision: fp32, bf16 or fp16"); }
        else LPOI_DIE("unknown option %s (usage: bench_lpoi --work DIR [--device D] [--precision P] [--steps N] [--modes M])", a);
        i++;
    }
    if (!work) {   // (./nob bench runs every bench with no arguments)
        printf("bench_lpoi: skipped (no --work DIR: run tools/bench_lpoi_torch.py --work DIR first)\n");
        return 0;
    }
    if (steps < 1) LPOI_DIE("--steps must be >= 1");
    Bench bn = {0};
    LpoiErr err = {{0}};
    if (!(bn.be = backend_open(device, &err))) {
        printf("bench_lpoi: skipped (%s)\n", err.msg);
        return 0;
    }
    bn.be->precision = prec;
    char path[4200];
    double t0 = now_s();
    snprintf(path, sizeof path, "%s/model", work);
    if (!llava_open(&bn.m, bn.be, path, &err)) LPOI_DIE("%s", err.msg);
    bn.m.lm.recompute = recompute_layers;
    snprintf(path, sizeof path, "%s/adapter", work);
    if (!adapter_load_dir(&bn.m, path, &err)) LPOI_DIE("%s", err.msg);
    double t_load = now_s() - t0;
    StFile st;
    snprintf(path, sizeof path, "%s/inputs.safetensors", work);
    if (!st_open(&st, path, &err)) LPOI_DIE("%s", err.msg);
    build_batch(&bn, &st);
    st_close(&st);
    lora_tensors(&bn);
    size_t free0 = 0, total = 0;
    if (bn.be->mem_info) bn.be->mem_info(bn.be, &free0, &total);
    printf("bench_lpoi: %s, precision %s, loaded in %.1f s; %d sequences x %d tokens, %zu LoRA tensors\n", bn.be->device,
           precision_name(prec), t_load, bn.nseq, bn.b.T, bn.nt);
    ObjConfig oc = obj_config_default(OBJ_LPOI);
    oc.list_size = bn.L;
    // Every mode starts from the loaded adapter with fresh moments: keep a host copy of it.
    float **saved = calloc_check(bn.nt, sizeof *saved);
    for (size_t i = 0; i < bn.nt; i++) {
        saved[i] = malloc_check(bn.n[i] * sizeof(float));
        bn.be->download(bn.be, saved[i], bn.param[i], bn.n[i] * sizeof(float));
    }
    const double tol_lp = prec == PRECISION_FP32 ? 1e-5 : 1e-2, tol_loss = prec == PRECISION_FP32 ? 1e-4 : 5e-2;
    int failed = 0;
    char mlist[128];
    snprintf(mlist, sizeof mlist, "%s", modes);
    for (char *mode = strtok(mlist, ","); mode; mode = strtok(NULL, ",")) {
        const bool cached = !strcmp(mode, "cached");
        if (!cached && strcmp(mode, "recompute")) LPOI_DIE("--modes: recompute and/or cached, not %s", mode);
        for (size_t i = 0; i < bn.nt; i++) {
            bn.be->upload(bn.be, bn.param[i], saved[i], bn.n[i] * sizeof(float));
            bn.be->fill_zero(bn.be, bn.mom1[i], bn.n[i] * sizeof(float));
            bn.be->fill_zero(bn.be, bn.mom2[i], bn.n[i] * sizeof(float));
        }
        float ref[MAX_SEQ], pol[MAX_SEQ], pol0[MAX_SEQ];
        double tr = now_s();
        if (cached) reference(&bn, ref);
        double t_ref = now_s() - tr, loss0 = 0, *times = malloc_check((size_t)steps * sizeof *times);
        size_t min_free = free0;
        for (int s = 0; s < steps; s++) {
            double ts = now_s();
            if (!cached) reference(&bn, ref);
            double loss = step(&bn, &oc, ref, pol, s);
            times[s] = now_s() - ts;
            size_t f, t;
            if (bn.be->mem_info && bn.be->mem_info(bn.be, &f, &t) && f < min_free) min_free = f;
            if (s == 0) {
                loss0 = loss;
                memcpy(pol0, pol, sizeof pol0);
                printf("bench_lpoi: %s: first loss %.6f; policy log-probs", mode, loss);
                for (int k = 0; k < bn.nseq; k++) printf(" %.4f", pol[k]);
                printf("\n");
            }
        }
        const int nt = steps > 1 ? steps - 1 : 1;
        qsort(times + (steps > 1), (size_t)nt, sizeof *times, cmp_double);
        const double med = times[(steps > 1) + nt / 2];
        // The same first step as PyTorch's? (its "public" mode is our "recompute")
        double tloss, tpol[MAX_SEQ], tstep = NAN;
        const char *tmode = cached ? "cached" : "public";
        if (torch_first(work, tmode, &tloss, tpol, bn.nseq, &tstep)) {
            double worst = 0;
            for (int k = 0; k < bn.nseq; k++) worst = fmax(worst, fabs(pol0[k] - tpol[k]) / fmax(1.0, fabs(tpol[k])));
            const double dloss = fabs(loss0 - tloss) / fmax(1.0, fabs(tloss));
            const bool agree = worst <= tol_lp && dloss <= tol_loss;
            printf("bench_lpoi: %s: vs PyTorch %s: loss %.6f vs %.6f (%.2g), log-probs within %.2g relative: %s\n", mode,
                   tmode, loss0, tloss, dloss, worst, agree ? "agree" : "DISAGREE (timings do not count)");
            failed += !agree;
            printf("bench_lpoi: %s: median step %.1f ms (%.3f examples/s), PyTorch %s %.1f ms: lpoi %.2fx%s\n", mode,
                   1e3 * med, 1.0 / med, tmode, 1e3 * tstep, tstep / med, agree ? "" : " (not counted)");
        } else {
            printf("bench_lpoi: %s: median step %.1f ms (%.3f examples/s) over %d steps (no %s/torch.json to compare)\n",
                   mode, 1e3 * med, 1.0 / med, nt, work);
        }
        if (total) printf("bench_lpoi: %s: device memory in use at most %.2f GB (of %.1f); reference pass %.1f ms\n", mode,
                          (double)(total - min_free) / 1e9, (double)total / 1e9, 1e3 * t_ref);
        free(times);
    }
    for (size_t i = 0; i < bn.nt; i++) free(saved[i]);
    free(saved);
    llava_free(&bn.m);
    backend_destroy(bn.be);
    return failed ? 1 : 0;
}
