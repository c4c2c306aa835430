// trainer_eval.c — train_evaluate (the list rewards S_1..S_L of every example with an adapter on
// and off, and their accuracies: what the demo reports before and after training) and
// train_dump_logits (logits of one image + prompt with an adapter, for the PEFT round-trip check).
#include "lpoi/trainer.h"
#include "lpoi/trainer_internal.h"
#include "lpoi/generate_idefics2.h"
#include "base/check.h"
#include "base/safetensors.h"
#include "image/image.h"
#include "image/preprocess.h"
#include "text/chat_template.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Full-order and pairwise accuracy and S_1 − S_L of rows [n, L].
void trainer_rank_stats(const double *v, int n, int L, double *full, double *pair, double *gap) {
    double f = 0, p = 0, g = 0;
    for (int i = 0; i < n; i++) {
        const double *s = v + (size_t)i * L;
        bool ordered = true;
        int good = 0;
        for (int a = 0; a < L; a++)
            for (int b = a + 1; b < L; b++) good += s[a] > s[b];
        for (int a = 0; a + 1 < L; a++) ordered &= s[a] > s[a + 1];
        f += ordered;
        p += (double)good / (L * (L - 1) / 2);
        g += s[0] - s[L - 1];
    }
    *full = f / n;
    *pair = p / n;
    *gap = g / n;
}

bool train_evaluate(const TrainOptions *o, const char *adapter_dir, TrainEval *out, LpoiErr *err) {
    memset(out, 0, sizeof *out);
    Trainer tr;
    bool ok = trainer_open(&tr, o, true, err);
    if (ok && adapter_dir) ok = tr.model.ops->adapter_load_dir(tr.model.m, adapter_dir, err);
    const int L = o->list_size, mb = LPOI_MAX(1, o->micro_batch);
    float *lp = NULL;
    int *ex = NULL;
    if (ok) {
        const int n = tr.data.n;
        out->n = n;
        out->L = L;
        out->pol = malloc_check((size_t)n * L * sizeof *out->pol);
        out->ref = malloc_check((size_t)n * L * sizeof *out->ref);
        out->S = malloc_check((size_t)n * L * sizeof *out->S);
        lp = malloc_check((size_t)mb * L * sizeof *lp);
        ex = malloc_check((size_t)mb * sizeof *ex);
        for (int i = 0; i < n && ok; i += mb) {
            int ne = LPOI_MIN(mb, n - i);
            for (int e = 0; e < ne; e++) ex[e] = i + e;
            LlavaBatch b;
            if (!(ok = trainer_build_batch(&tr, ex, ne, true, &b, NULL, err))) break;
            for (int pass = 0; pass < (adapter_dir ? 2 : 1) && ok; pass++) {
                tm_set_lora(&tr.model, adapter_dir && pass == 0);
                if (!(ok = tm_logps_forward(&tr.model, &b, false, lp, err))) break;
                double *dst = (adapter_dir && pass == 0) ? out->pol : out->ref;
                for (int k = 0; k < ne * L; k++) dst[(size_t)i * L + k] = lp[k];
            }
        }
        if (ok && !adapter_dir) memcpy(out->pol, out->ref, (size_t)n * L * sizeof *out->pol);
        if (ok) {
            for (size_t k = 0; k < (size_t)n * L; k++) out->S[k] = o->beta * (out->pol[k] - out->ref[k]);
            trainer_rank_stats(out->S, n, L, &out->full_acc, &out->pair_acc, &out->gap);
            trainer_rank_stats(out->pol, n, L, &out->logp_full_acc, &out->logp_pair_acc, &out->logp_gap);
            if (!adapter_dir) out->full_acc = out->pair_acc = 0;   // S ≡ 0: no order at all
        }
    }
    free(lp);
    free(ex);
    trainer_close(&tr);
    if (!ok) train_eval_free(out);
    return ok;
}

void train_eval_free(TrainEval *e) {
    free(e->pol);
    free(e->ref);
    free(e->S);
    memset(e, 0, sizeof *e);
}

// ---- logits dump -------------------------------------------------------------------------------------
bool train_dump_write(StWriter *w, const TrainDumpArgs *a, const char *text, LpoiErr *err) {
    st_writer_meta(w, "text", text);
    st_writer_meta(w, "image", a->image);
    st_writer_meta(w, "adapter", a->adapter_dir ? a->adapter_dir : "");
    st_writer_meta(w, "model", a->model_dir);
    bool ok = st_writer_write(w, a->out, err);
    st_writer_free(w);
    return ok;
}

bool train_dump_logits(const TrainDumpArgs *a, LpoiErr *err) {
    Tokenizer *tok = NULL;
    Backend *be = NULL;
    LlavaModel m;
    bool have = false, ok = false;
    Image img = {0};
    PixelValues pv = {0};
    TokIds ids = {0};
    int32_t *ex = NULL;
    float *pix = NULL, *logits = NULL, *host = NULL;
    char *text = NULL;
    PreprocessConfig pc;
    if (model_dir_is_idefics2(a->model_dir)) return train_dump_logits_idefics2(a, err);
    if (!(tok = tokenizer_load_dir(a->model_dir, err))) goto done;
    if (!preprocess_config_load_dir(&pc, a->model_dir, err)) goto done;
    if (!preprocess_load_image(&img, a->image, NULL, err)) goto done;
    if (!preprocess_image(&pc, &img, &pv, err)) { err_prefix(err, "%s", a->image); goto done; }
    if (!(be = backend_open(a->device ? a->device : "cpu", err))) goto done;
    if (!llava_open(&m, be, a->model_dir, err)) goto done;
    have = true;
    if (a->adapter_dir && !adapter_load_dir(&m, a->adapter_dir, err)) goto done;
    if (a->adapter_dir && a->adapter_out) {
        int r;
        double alpha;
        if (!adapter_config_read(a->adapter_dir, &r, &alpha, err) || !adapter_save_dir(&m, a->adapter_out, a->model_dir, r, alpha, err))
            goto done;
    }
    llava_set_lora(&m, a->adapter_dir != NULL);
    if (a->answer) {
        char *p, *r;
        chat_llava15_pair(a->prompt, a->answer, &p, &r);
        size_t lp = strlen(p), lr = strlen(r);
        text = malloc_check(lp + lr + 1);
        memcpy(text, p, lp);
        memcpy(text + lp, r, lr + 1);
        free(p);
        free(r);
    } else {
        text = chat_llava15_prompt(a->prompt);
    }
    if (!tokenizer_encode(tok, text, strlen(text), true, &ids, err)) goto done;
    int cap = (int)ids.count + m.cfg.tokens_per_image;
    ex = malloc_check((size_t)cap * sizeof *ex);
    int T = llava_expand_image_tokens(&m.cfg, ids.ids, (int)ids.count, ex, cap, err);
    if (T < 0) goto done;
    if (pv.c != m.cfg.vision.ch || pv.h != m.cfg.vision.S || pv.w != m.cfg.vision.S) {
        err_set(err, "%s: pixel values %dx%dx%d do not fit the vision tower", a->image, pv.c, pv.h, pv.w);
        goto done;
    }
    size_t np = (size_t)pv.c * pv.h * pv.w, V = (size_t)m.cfg.text.V;
    pix = be->alloc(be, np * sizeof(float));
    be->upload(be, pix, pv.data, np * sizeof(float));
    logits = be->alloc(be, (size_t)T * V * sizeof(float));
    LlavaBatch b = {.B = 1, .T = T, .input_ids = ex, .n_images = 1, .pixel_values = pix};
    if (!llava_logits(&m, &b, logits, err)) goto done;
    host = malloc_check((size_t)T * V * sizeof *host);
    be->download(be, host, logits, (size_t)T * V * sizeof *host);
    StWriter *w = st_writer_new();
    uint64_t sid[2] = {1, (uint64_t)T}, spv[4] = {1, (uint64_t)pv.c, (uint64_t)pv.h, (uint64_t)pv.w},
             slg[3] = {1, (uint64_t)T, V};
    st_writer_add(w, "input_ids", DTYPE_I32, 2, sid, ex);
    st_writer_add_f32(w, "pixel_values", 4, spv, pv.data);
    st_writer_add_f32(w, "logits", 3, slg, host);
    ok = train_dump_write(w, a, text, err);
done:
    if (pix) be->free(be, pix);
    if (logits) be->free(be, logits);
    if (have) llava_free(&m);
    if (be) backend_destroy(be);
    free(host);
    free(ex);
    free(text);
    tok_ids_free(&ids);
    pixel_values_free(&pv);
    image_free(&img);
    tokenizer_free(tok);
    return ok;
}
