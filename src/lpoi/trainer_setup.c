// trainer_setup.c — everything a run needs before its first step: model, tokenizer, image
// processor, data (tokenised, truncated), LoRA adapters and optimiser state; the batch builder;
// and the reference pre-pass that computes each example's πref log-probs exactly once.
#include "lpoi/trainer_internal.h"
#include "lpoi/memory_plan.h"
#include "base/check.h"
#include "base/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


// Removes example i everywhere (skip_bad during the reference pass).
static void drop_example(Trainer *tr, int i) {
    const int n = tr->data.n;
    data_tokens_free(&tr->tokens[i]);
    memmove(tr->tokens + i, tr->tokens + i + 1, (size_t)(n - i - 1) * sizeof *tr->tokens);
    free(tr->pix_cache[i]);
    memmove(tr->pix_cache + i, tr->pix_cache + i + 1, (size_t)(n - i - 1) * sizeof *tr->pix_cache);
    if (tr->ref)
        memmove(tr->ref + (size_t)i * tr->n_seq, tr->ref + (size_t)(i + 1) * tr->n_seq,
                (size_t)(n - i - 1) * tr->n_seq * sizeof *tr->ref);
    dataset_remove(&tr->data, i);
}

bool trainer_tokenize(const Trainer *tr, const DataRecord *r, bool rejected, DataTokens *out, LpoiErr *e) {
    const LlavaConfig *c = &tr->m.cfg;
    DataTokLimits lim = {.max_length = tr->o.max_length, .max_prompt_length = tr->o.max_prompt_length,
                         .image_token = c->image_token};
    if (!data_tokenize(r, tr->tok, &lim, out, e)) return false;
    const DataSeq *q[2] = {&out->chosen, &out->rejected};
    for (int s = 0; s < (rejected ? 2 : 1); s++)   // every id must be inside the model's vocabulary
        for (int k = 0; k < q[s]->n; k++)
            if (q[s]->ids[k] < 0 || q[s]->ids[k] >= c->text.V)
                return err_set(e, "%s: token id %d is outside the model's vocabulary (%d)", s ? "rejected" : "chosen",
                               q[s]->ids[k], c->text.V);
    return true;
}

bool trainer_open(Trainer *tr, const TrainOptions *o, bool for_eval, LpoiErr *err) {
    memset(tr, 0, sizeof *tr);
    tr->o = *o;
    tr->obj = obj_config_default(o->objective);
    tr->obj.beta = o->beta;
    tr->obj.delta = o->delta;
    tr->obj.label_smoothing = o->label_smoothing;
    tr->obj.loss_type = o->loss_type;
    tr->obj.w_dpo = o->w_dpo;
    tr->obj.w_anchor = o->w_anchor;
    tr->obj.w_list = o->w_list;
    tr->obj.w_cond = o->w_cond;
    tr->obj.list_size = o->list_size;
    if (!obj_config_check(&tr->obj, err)) return false;
    const int L = o->list_size;
    bool need_list = for_eval || obj_uses_list(o->objective);
    if (for_eval) { tr->n_seq = L; tr->n_img = L; }
    else if (obj_uses_list(o->objective)) { tr->n_seq = L + 1; tr->n_img = L; }
    else if (obj_uses_crop(o->objective)) { tr->n_seq = 3; tr->n_img = 2; tr->crop = true; }
    else { tr->n_seq = 2; tr->n_img = 1; }

    if (!(tr->tok = tokenizer_load_dir(o->model_dir, err))) return false;
    if (!preprocess_config_load_dir(&tr->pre, o->model_dir, err)) return false;
    DatasetOptions dopt = {.image_root = o->image_root, .manifest = o->negatives, .list_size = need_list ? L : 0,
                           .skip_bad = o->skip_bad, .check_files = true, .box_format = o->box_format};
    if (!dataset_load(&tr->data, o->data_path, &dopt, err)) return false;
    if (!(tr->be = backend_open(o->device ? o->device : "cpu", err))) return false;
    if (o->precision) precision_parse(o->precision, &tr->be->precision);   // checked by train_options_check
    size_t dev_free, dev_total;   // a GPU run that cannot fit is refused before anything is loaded onto it
    if (tr->be->mem_info && tr->be->mem_info(tr->be, &dev_free, &dev_total)) {
        MemPlan plan;
        LpoiErr e = {{0}};
        char why[480];
        if (memory_plan(o, &plan, &e) && !memory_plan_fits(&plan, (double)dev_free, "the GPU", why, sizeof why))
            return err_set(err, "%s cannot train on the GPU: %s", o->model_dir, why);
    }
    if (!llava_open(&tr->m, tr->be, o->model_dir, err)) return false;
    tr->have_model = true;
    tr->model = train_model_llava(&tr->m);
    // What this run is made of, hashed once now that it is loaded (every checkpoint records it and
    // --resume compares against it): not re-read at each save, where a file changed since would be
    // recorded instead of what was trained on.
    if (!for_eval) run_identity(tr, tr->run_ids);
    const LlavaConfig *c = &tr->m.cfg;
    int32_t image_id = tokenizer_token_to_id(tr->tok, "<image>", 7);
    if (image_id != c->image_token)
        return err_set(err, "%s: the tokenizer's <image> is id %d but image_token_index is %d", o->model_dir, image_id,
                       c->image_token);
    tr->side = c->vision.S;
    tr->pix_ctx = (DataPixelCtx){.data_path = o->data_path, .pre = &tr->pre, .neg = negatives_default_options(),
                                 .side = tr->side};

    // Tokens (a record whose text cannot be encoded is a bad record like any other).
    tr->tokens = calloc_check((size_t)tr->data.n, sizeof *tr->tokens);
    tr->pix_cache = calloc_check((size_t)tr->data.n, sizeof *tr->pix_cache);
    for (int i = 0; i < tr->data.n;) {
        LpoiErr e = {{0}};
        const DataRecord *r = &tr->data.rec[i];
        if (!trainer_tokenize(tr, r, true, &tr->tokens[i], &e)) {
            if (!o->skip_bad) return err_set(err, "%s:%d: %s", o->data_path, r->line, e.msg);
            fprintf(stderr, "lpoi: skipped %s:%d: %s\n", o->data_path, r->line, e.msg);
            tr->data.skipped++;
            drop_example(tr, i);
            continue;
        }
        tr->truncated += tr->tokens[i].truncated;
        i++;
    }
    if (tr->data.n == 0) return err_set(err, "%s: no usable records", o->data_path);
    if (tr->truncated)
        fprintf(stderr, "lpoi: warning: %d of %d records were truncated (max_length %d, max_prompt_length %d, keep_end)\n",
                tr->truncated, tr->data.n, o->max_length, o->max_prompt_length);
    if (for_eval) return true;
    DataCropCheck cc;
    if (obj_uses_list(o->objective) && data_crop_check(&tr->data, &tr->pre, &cc) && cc.cut > 0)
        fprintf(stderr, "lpoi train: warning: %d of %d lists lose part of the masked box to the centre crop (%d px); "
                        "the model sees less of their masks than the list intends (`lpoi negatives --crop-size %d` "
                        "lists crop_kept per record; cropping or padding those images to square avoids it)\n",
                cc.cut, cc.checked, cc.crop, cc.crop);

    // LoRA + optimiser state.
    const TrainModel *tm = &tr->model;
    if (!tm->ops->lora_setup(tm->m, o->lora_targets, o->lora_r, o->lora_alpha, o->seed, err)) return false;
    tm_set_lora(tm, true);
    tr->nt = tm_lora_count(tm);
    tr->t = calloc_check(tr->nt, sizeof *tr->t);
    size_t total = 0;
    for (size_t i = 0; i < tr->nt; i++) {
        TrainTensor *t = &tr->t[i];
        tm->ops->lora_tensor(tm->m, i, t->name, sizeof t->name, t->shape, &t->param, &t->grad);
        t->n = (size_t)(t->shape[0] * t->shape[1]);
        total += t->n;
    }
    tr->opt_floats = total;
    tr->opt_mem = tr->be->alloc(tr->be, 2 * (total ? total : 1) * sizeof(float));
    tr->be->fill_zero(tr->be, tr->opt_mem, 2 * (total ? total : 1) * sizeof(float));
    for (size_t i = 0, off = 0; i < tr->nt; i++) {
        tr->t[i].m = tr->opt_mem + off;
        tr->t[i].v = tr->opt_mem + total + off;
        off += tr->t[i].n;
    }
    tm_zero_grad(tm);
    return true;
}

void trainer_close(Trainer *tr) {
    if (tr->tokens)
        for (int i = 0; i < tr->data.n; i++) data_tokens_free(&tr->tokens[i]);
    free(tr->tokens);
    if (tr->pix_cache)
        for (int i = 0; i < tr->data.n; i++) free(tr->pix_cache[i]);
    free(tr->pix_cache);
    free(tr->ref);
    free(tr->t);
    free(tr->order);
    free(tr->ids);
    free(tr->labels);
    free(tr->mask);
    free(tr->pix_host);
    free(tr->run_dir_log);
    if (tr->be) {
        if (tr->opt_mem) tr->be->free(tr->be, tr->opt_mem);
        if (tr->pix_dev) tr->be->free(tr->be, tr->pix_dev);
    }
    if (tr->have_model) llava_free(&tr->m);
    if (tr->be) backend_destroy(tr->be);
    tokenizer_free(tr->tok);
    dataset_free(&tr->data);
    memset(tr, 0, sizeof *tr);
}

// ---- pixels and batches ----------------------------------------------------------------------------
static float *pix_scratch;   // one example's images when the cache is full (single-threaded trainer)
static size_t pix_scratch_floats;

bool trainer_example_pixels(Trainer *tr, int i, const float **out, LpoiErr *err) {
    if (tr->pix_cache[i]) { *out = tr->pix_cache[i]; return true; }
    const size_t per = (size_t)3 * tr->side * tr->side, floats = per * (size_t)tr->n_img;
    bool cache = tr->pix_cache_bytes + floats * sizeof(float) <= TRAIN_PIXEL_CACHE_BYTES;
    float *buf;
    if (cache) buf = malloc_check(floats * sizeof *buf);
    else {
        if (pix_scratch_floats < floats) {
            free(pix_scratch);
            pix_scratch = malloc_check(floats * sizeof *pix_scratch);
            pix_scratch_floats = floats;
        }
        buf = pix_scratch;
    }
    const DataRecord *r = &tr->data.rec[i];
    int n_files = tr->crop ? 1 : tr->n_img;
    if (!data_pixels(&tr->pix_ctx, r, n_files, buf, err)) {
        if (cache) free(buf);
        return false;
    }
    if (tr->crop) {   // mDPO: the crop of this example, fixed for the whole run
        Rng rng;
        rng_seed(&rng, tr->o.seed ^ (0xc2b2ae3d27d4eb4full * (uint64_t)(r->line + 1)));
        data_random_resized_crop(buf, 3, tr->side, &rng, buf + per);
    }
    if (cache) {
        tr->pix_cache[i] = buf;
        tr->pix_cache_bytes += floats * sizeof(float);
    }
    *out = buf;
    return true;
}

bool trainer_build_batch(Trainer *tr, const int *ex, int ne, bool chosen_list_only, LlavaBatch *b, long *tokens,
                         LpoiErr *err) {
    const LlavaConfig *c = &tr->m.cfg;
    const int N = c->tokens_per_image, nseq = tr->n_seq, B = ne * nseq;
    const size_t per = (size_t)3 * tr->side * tr->side;
    // T from what was actually tokenised (data_row_length: exactly one <image> per sequence, which
    // data_tokenize guarantees for the text and this checks for the buffer).
    size_t T = 1;
    for (int e = 0; e < ne; e++) {
        const DataTokens *tk = &tr->tokens[ex[e]];
        const DataSeq *q[2] = {&tk->chosen, &tk->rejected};
        for (int s = 0; s < 2; s++) {
            size_t len;
            LpoiErr e2 = {{0}};
            if (!data_row_length(q[s], c->image_token, N, &len, &e2))
                return err_set(err, "%s:%d: %s: %s", tr->o.data_path, tr->data.rec[ex[e]].line, s ? "rejected" : "chosen",
                               e2.msg);
            T = LPOI_MAX(T, len);
        }
    }
    if (T > INT32_MAX / (size_t)LPOI_MAX(B, 1))
        return err_set(err, "a batch of %d sequences of %zu tokens is too large", B, T);
    size_t need = (size_t)B * T;
    if ((size_t)tr->cap_tokens < need) {
        tr->ids = realloc_check(tr->ids, need * sizeof *tr->ids);
        tr->labels = realloc_check(tr->labels, need * sizeof *tr->labels);
        tr->mask = realloc_check(tr->mask, need * sizeof *tr->mask);
        tr->cap_tokens = (int)need;
    }
    size_t pix_need = (size_t)B * per;
    if (tr->pix_dev_floats < pix_need) {
        if (tr->pix_dev) tr->be->free(tr->be, tr->pix_dev);
        tr->pix_dev = tr->be->alloc(tr->be, pix_need * sizeof(float));
        tr->pix_host = realloc_check(tr->pix_host, pix_need * sizeof(float));
        tr->pix_dev_floats = pix_need;
    }
    long ntok = 0;
    for (int e = 0; e < ne; e++) {
        const DataTokens *tk = &tr->tokens[ex[e]];
        const float *px;
        if (!trainer_example_pixels(tr, ex[e], &px, err)) return false;
        for (int s = 0; s < nseq; s++) {
            int row = e * nseq + s, img;
            const DataSeq *q;
            if (chosen_list_only) { q = &tk->chosen; img = s; }
            else if (s == 1) { q = &tk->rejected; img = 0; }
            else { q = &tk->chosen; img = s == 0 ? 0 : s - 1; }
            memcpy(tr->pix_host + (size_t)row * per, px + (size_t)img * per, per * sizeof(float));
            int32_t *ids = tr->ids + (size_t)row * T, *lab = tr->labels + (size_t)row * T, *msk = tr->mask + (size_t)row * T;
            ntok += (long)data_row_fill(q, c->image_token, N, T, ids, lab, msk);
        }
    }
    tr->be->upload(tr->be, tr->pix_dev, tr->pix_host, pix_need * sizeof(float));
    *b = (LlavaBatch){.B = B, .T = (int)T, .input_ids = tr->ids, .attention_mask = tr->mask, .labels = tr->labels,
                      .n_images = B, .pixel_values = tr->pix_dev};
    if (tokens) *tokens = ntok;
    return true;
}

// ---- the reference pre-pass ----------------------------------------------------------------------
bool trainer_reference_pass(Trainer *tr, LpoiErr *err) {
    const int mb = LPOI_MAX(1, tr->o.micro_batch), nseq = tr->n_seq;
    free(tr->ref);
    tr->ref = malloc_check((size_t)tr->data.n * nseq * sizeof *tr->ref);
    float *logp = malloc_check((size_t)mb * nseq * sizeof *logp);
    int *ex = malloc_check((size_t)mb * sizeof *ex);
    bool ok = true;
    tm_set_lora(&tr->model, false);
    for (int i = 0; i < tr->data.n && ok;) {
        int ne = 0;
        while (ne < mb && i < tr->data.n) {   // collect examples whose images load
            const float *px;
            LpoiErr e = {{0}};
            if (!trainer_example_pixels(tr, i, &px, &e)) {
                if (!tr->o.skip_bad) { ok = err_set(err, "%s", e.msg); break; }
                fprintf(stderr, "lpoi: skipped %s\n", e.msg);
                tr->data.skipped++;
                drop_example(tr, i);
                continue;
            }
            ex[ne++] = i++;
        }
        if (!ok || ne == 0) break;
        LlavaBatch b;
        if (!(ok = trainer_build_batch(tr, ex, ne, false, &b, NULL, err))) break;
        if (!(ok = tm_logps_forward(&tr->model, &b, false, logp, err))) break;
        memcpy(tr->ref + (size_t)ex[0] * nseq, logp, (size_t)ne * nseq * sizeof *logp);
        tr->ref_forward_examples += ne;
    }
    tm_set_lora(&tr->model, true);
    free(logp);
    free(ex);
    if (ok && tr->data.n == 0) ok = err_set(err, "%s: no usable records (all were skipped as bad)", tr->o.data_path);
    tr->ref_ready = ok;
    return ok;
}
