// trainer.c — the training loop of `lpoi train` (trainer.h): reference log-probs once, then per
// optimiser step: micro-batches (policy forward, objective, backward into the LoRA gradients),
// global-norm clipping, AdamW with HF's linear schedule, the log line, checkpoints.
//
// Determinism: everything a step computes depends only on (adapter, AdamW moments, step, data order,
// the reference cache) — all of which a checkpoint stores exactly (fp32 / int, no text round trip)
// — and the data-order RNG, also stored. So a resumed run repeats an uninterrupted one bit for bit
// on the same machine and thread count.
#include "lpoi/trainer.h"
#include "lpoi/trainer_internal.h"
#include "lpoi/memory_plan.h"
#include "lpoi/trainer_heldout.h"
#include "lpoi/generate_idefics2.h"
#include "base/check.h"
#include "base/file.h"
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void shuffle(Trainer *tr) {
    const int n = tr->data.n;
    if (!tr->order) tr->order = malloc_check((size_t)n * sizeof *tr->order);
    for (int i = 0; i < n; i++) tr->order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(&tr->rng, (uint64_t)i + 1);
        int x = tr->order[i]; tr->order[i] = tr->order[j]; tr->order[j] = x;
    }
    tr->order_ready = true;
}

// transformers' scheduler (--lr-scheduler, lr_schedule.h) at current_step = step (0-based).
static double schedule_lr(const Trainer *tr, int step) {
    return tr->o.lr * lr_schedule_factor(tr->o.lr_scheduler, step, tr->warmup, tr->total_steps);
}

// Keeps the complete log lines whose "step" is <= step (a resumed run rewrites what came after).
static bool truncate_log(const char *path, int step, LpoiErr *err) {
    LpoiErr e;
    size_t size;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) return true;   // no log yet
    char *text = file_read_all(path, (size_t)1 << 30, &size, &e);
    if (!text) return err_set(err, "%s", e.msg);   // unreadable: appending would repeat the steps after `step`
    size_t keep = 0;
    for (size_t off = 0; off < size;) {
        char *nl = memchr(text + off, '\n', size - off);
        if (!nl) break;   // a line cut by a kill or a full disk is not kept
        size_t end = (size_t)(nl - text) + 1;
        int s;
        if (sscanf(text + off, "{\"step\": %d", &s) != 1 || s > step) break;
        keep = end;
        off = end;
    }
    bool ok = file_write_atomic(path, text, keep, err);
    free(text);
    return ok;
}

typedef struct {
    double loss, grad_norm, lr, seconds;
    long tokens;
    int examples;
    ObjStats st;
    bool has_eval;          // --eval-data was scored after this step
    HeldoutStats eval;
} StepOut;

// One line per step; a failed write (full disk) is an error of the run, never a cut-off log.
static bool log_step(FileOut *f, const Trainer *tr, const StepOut *s, LpoiErr *err) {
    const ObjStats *st = &s->st;
    file_out_printf(f, "{\"step\": %d, \"epoch\": %.4f, \"loss\": %.17g, \"dpo\": %.9g, \"anchor\": %.9g, \"list\": %.9g, "
               "\"cond\": %.9g, \"reward_chosen\": %.9g, \"reward_rejected\": %.9g, \"margin\": %.9g, \"acc\": %.6g",
            tr->step, tr->epoch + (double)tr->pos / tr->data.n, s->loss, st->dpo, st->anchor, st->list, st->cond,
            st->reward_chosen, st->reward_rejected, st->margin, st->acc);
    if (obj_uses_list(tr->o.objective)) {
        file_out_printf(f, ", \"S\": [");
        for (int k = 0; k < tr->o.list_size; k++) file_out_printf(f, "%s%.9g", k ? ", " : "", st->S[k]);
        file_out_printf(f, "], \"list_full_acc\": %.6g, \"list_pair_acc\": %.6g, \"list_top_acc\": %.6g", st->list_full_acc,
                st->list_pair_acc, st->list_top_acc);
    }
    if (obj_uses_crop(tr->o.objective)) file_out_printf(f, ", \"reward_crop\": %.9g", st->reward_crop);
    if (s->has_eval)
        file_out_printf(f, ", \"eval_n\": %d, \"eval_list_full_acc\": %.6g, \"eval_list_pair_acc\": %.6g, \"eval_S_gap\": %.9g",
                        s->eval.n, s->eval.full_acc, s->eval.pair_acc, s->eval.gap);
    file_out_printf(f, ", \"lr\": %.9g, \"grad_norm\": %.17g, \"examples\": %d, \"tokens\": %ld, \"seconds\": %.4f, "
               "\"tokens_per_s\": %.2f, \"examples_per_s\": %.4f}\n",
            s->lr, s->grad_norm, s->examples, s->tokens, s->seconds, s->tokens / fmax(s->seconds, 1e-9),
            s->examples / fmax(s->seconds, 1e-9));
    return file_out_flush(f, err);
}

static void progress(const Trainer *tr, const StepOut *s, double elapsed, int done_here, bool tty) {
    if (tr->o.quiet) return;
    int left = tr->total_steps - tr->step;
    double eta = done_here > 0 ? elapsed / done_here * left : 0;
    bool every = tty || tr->step == tr->total_steps || tr->step % LPOI_MAX(1, tr->total_steps / 20) == 0;
    if (!every) return;
    char list[64] = "";
    if (obj_uses_list(tr->o.objective))
        snprintf(list, sizeof list, " list %.3f full %.2f", s->st.list, s->st.list_full_acc);
    int epoch = tr->step > 0 ? (tr->step - 1) / LPOI_MAX(1, tr->steps_per_epoch) + 1 : 1;
    fprintf(stderr, "%sepoch %d/%d step %d/%d  loss %.4f%s  margin %.3f  lr %.2e  |g| %.3g  %.2f ex/s  ETA %d:%02d:%02d%s",
            tty ? "\r" : "", LPOI_MIN(epoch, tr->o.epochs), tr->o.epochs, tr->step, tr->total_steps, s->loss, list,
            s->st.margin, s->lr, s->grad_norm,
            s->examples / fmax(s->seconds, 1e-9), (int)(eta / 3600), (int)fmod(eta / 60, 60), (int)fmod(eta, 60),
            tty ? "   " : "\n");
    if (tty && tr->step == tr->total_steps) fputc('\n', stderr);
}

// One micro-batch's objective inputs and gradients in the structure of arrays obj_batch reads:
// the policy log-probs from the forward, the reference ones from the cache.
typedef struct {
    double *pol_chosen, *ref_chosen, *pol_rejected, *ref_rejected, *pol_crop, *ref_crop;   // [ne]
    double *n_chosen, *n_rejected;   // [ne] answer tokens ("ipo" divides each log-ratio by them, as TRL)
    double *d_chosen, *d_rejected, *d_crop;                                                 // [ne]
    double *pol_list, *ref_list, *d_list;                                                   // [ne, L]
} MicroLogps;

static double *zeros(size_t n) { return calloc_check(n, sizeof(double)); }

static MicroLogps micro_logps_new(int ne, int L) {
    const size_t n = (size_t)ne, nl = (size_t)ne * L;
    return (MicroLogps){.pol_chosen = zeros(n), .ref_chosen = zeros(n), .pol_rejected = zeros(n),
                        .ref_rejected = zeros(n), .pol_crop = zeros(n), .ref_crop = zeros(n),
                        .n_chosen = zeros(n), .n_rejected = zeros(n),
                        .d_chosen = zeros(n), .d_rejected = zeros(n), .d_crop = zeros(n),
                        .pol_list = zeros(nl), .ref_list = zeros(nl), .d_list = zeros(nl)};
}

static void micro_logps_free(MicroLogps *m) {
    double *all[] = {m->pol_chosen, m->ref_chosen, m->pol_rejected, m->ref_rejected, m->pol_crop, m->ref_crop,
                     m->n_chosen, m->n_rejected, m->d_chosen, m->d_rejected, m->d_crop, m->pol_list, m->ref_list, m->d_list};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(all); i++) free(all[i]);
}

TrainStepResult trainer_micro_step(Trainer *tr, const int *ex, int ne, int n_step, double *loss_out, ObjStats *st,
                                   long *ntok, LpoiErr *err) {
    const int nseq = tr->n_seq, L = tr->o.list_size;
    float *logp = malloc_check((size_t)ne * nseq * sizeof *logp), *dlogp = malloc_check((size_t)ne * nseq * sizeof *dlogp);
    MicroLogps m = micro_logps_new(ne, L);
    TrainStepResult result = TRAIN_STEP_OK;
    LlavaBatch b;
    if (!trainer_build_batch(tr, ex, ne, false, &b, ntok, err) || !tm_logps_forward(&tr->model, &b, true, logp, err)) {
        result = TRAIN_STEP_FAILED;
        goto out;
    }
    for (int e = 0; e < ne; e++) {
        const float *p = logp + (size_t)e * nseq, *r = tr->ref + (size_t)ex[e] * nseq;
        m.pol_chosen[e] = p[0]; m.ref_chosen[e] = r[0]; m.pol_rejected[e] = p[1]; m.ref_rejected[e] = r[1];
        const DataTokens *tk = &tr->tokens[ex[e]];   // TRL's completion_mask sums: answer tokens after truncation
        m.n_chosen[e] = tk->chosen.n - tk->chosen.n_prompt;
        m.n_rejected[e] = tk->rejected.n - tk->rejected.n_prompt;
        if (tr->crop) { m.pol_crop[e] = p[2]; m.ref_crop[e] = r[2]; }
        if (obj_uses_list(tr->o.objective))
            for (int k = 0; k < L; k++) {   // list image 1 is the chosen forward (sequence 0)
                m.pol_list[(size_t)e * L + k] = k ? p[1 + k] : p[0];
                m.ref_list[(size_t)e * L + k] = k ? r[1 + k] : r[0];
            }
    }
    ObjBatch ob = {.B = ne, .pol_chosen = m.pol_chosen, .ref_chosen = m.ref_chosen, .pol_rejected = m.pol_rejected,
                   .ref_rejected = m.ref_rejected, .pol_list = m.pol_list, .ref_list = m.ref_list,
                   .pol_crop = m.pol_crop, .ref_crop = m.ref_crop, .n_chosen = m.n_chosen, .n_rejected = m.n_rejected};
    ObjBatchGrad g = {.d_chosen = m.d_chosen, .d_rejected = m.d_rejected, .d_crop = m.d_crop, .d_list = m.d_list};
    double loss = obj_batch(&tr->obj, &ob, &g, st, NULL);
    if (tr->o.inject_nan_at > 0 && tr->step + 1 == (int)tr->o.inject_nan_at) loss = NAN;
    *loss_out = loss;
    if (!isfinite(loss)) {
        err_set(err, "step %d: the loss is %s (data line %d of %s)", tr->step + 1, isnan(loss) ? "NaN" : "infinite",
                tr->data.rec[ex[0]].line, tr->o.data_path);
        result = TRAIN_STEP_NOT_FINITE;
        goto out;
    }
    // d(mean over the step's examples) = d(mean over the micro-batch) · ne / n_step.
    const double scale = (double)ne / n_step;
    for (int e = 0; e < ne; e++) {
        float *d = dlogp + (size_t)e * nseq;
        double d0 = m.d_chosen[e];
        if (obj_uses_list(tr->o.objective)) {
            d0 += m.d_list[(size_t)e * L];   // π_1 is π_w: both gradients land on sequence 0
            for (int k = 1; k < L; k++) d[1 + k] = (float)(m.d_list[(size_t)e * L + k] * scale);
        }
        if (tr->crop) d[2] = (float)(m.d_crop[e] * scale);
        d[0] = (float)(d0 * scale);
        d[1] = (float)(m.d_rejected[e] * scale);
    }
    tm_logps_backward(&tr->model, dlogp);
out:
    free(logp);
    free(dlogp);
    micro_logps_free(&m);
    return result;
}

// One optimiser step: TRAIN_STEP_OK, TRAIN_STEP_FAILED (err) or TRAIN_STEP_NOT_FINITE (the loss or the
// gradient norm; err; nothing was applied).
static TrainStepResult train_step(Trainer *tr, StepOut *out, LpoiErr *err) {
    const int N = tr->data.n, mb = tr->o.micro_batch;
    if (!tr->order_ready || tr->pos >= N) {
        if (tr->order_ready) tr->epoch++;
        shuffle(tr);
        tr->pos = 0;
    }
    const int n_step = LPOI_MIN(tr->eff_batch, N - tr->pos);
    double t0 = now_s();
    memset(out, 0, sizeof *out);
    tm_zero_grad(&tr->model);
    double *acc = (double *)&out->st;
    const size_t nstat = sizeof(ObjStats) / sizeof(double);
    for (int done = 0; done < n_step;) {
        const int ne = LPOI_MIN(mb, n_step - done);
        double loss;
        long ntok = 0;
        ObjStats st;
        TrainStepResult r = trainer_micro_step(tr, tr->order + tr->pos + done, ne, n_step, &loss, &st, &ntok, err);
        if (r != TRAIN_STEP_OK) return r;
        out->loss += loss * ne;
        const double *sv = (const double *)&st;
        for (size_t k = 0; k < nstat; k++) acc[k] += sv[k] * ne;
        out->tokens += ntok;
        done += ne;
    }
    out->loss /= n_step;
    for (size_t k = 0; k < nstat; k++) acc[k] /= n_step;

    // Global norm, clipping, AdamW.
    Backend *be = tr->be;
    double ss = 0;
    for (size_t i = 0; i < tr->nt; i++) ss += be->sum_squares(be, tr->t[i].grad, tr->t[i].n);
    double norm = sqrt(ss);
    if (!isfinite(norm)) {
        err_set(err, "step %d: the gradient norm is %s", tr->step + 1, isnan(norm) ? "NaN" : "infinite");
        return TRAIN_STEP_NOT_FINITE;
    }
    if (tr->o.clip > 0) {   // torch clip_grad_norm_: coef = max / (norm + 1e-6), applied when < 1
        double coef = tr->o.clip / (norm + 1e-6);
        if (coef < 1.0)
            for (size_t i = 0; i < tr->nt; i++) be->scale(be, tr->t[i].grad, (float)coef, tr->t[i].n);
    }
    double lr = schedule_lr(tr, tr->step);
    for (size_t i = 0; i < tr->nt; i++) {
        TrainTensor *t = &tr->t[i];
        be->adamw_update(be, t->param, t->grad, t->m, t->v, t->n, (float)lr, (float)tr->o.adam_beta1,
                         (float)tr->o.adam_beta2, (float)tr->o.adam_eps, (float)tr->o.weight_decay, tr->step + 1);
    }
    tr->step++;
    tr->pos += n_step;
    out->grad_norm = norm;
    out->lr = lr;
    out->examples = n_step;
    out->seconds = now_s() - t0;
    return TRAIN_STEP_OK;
}

TrainExit train_run(const TrainOptions *o) { return train_run_result(o, NULL); }

TrainExit train_run_result(const TrainOptions *o, TrainResult *res) {
    LpoiErr err = {{0}};
    if (res) memset(res, 0, sizeof *res);
    if (!train_options_check(o, &err)) { fprintf(stderr, "lpoi train: %s\n", err.msg); return TRAIN_BAD_OPTIONS; }
    if (model_dir_is_idefics2(o->model_dir)) {   // its model step exists (train_model_idefics2.c), its data side not yet
        fprintf(stderr, "lpoi train: %s: Idefics2 training is not implemented yet (generation and PEFT adapters are: "
                        "lpoi generate --image)\n", o->model_dir);
        return TRAIN_FAILED;
    }
    if (!train_memory_check(o, &err)) { fprintf(stderr, "lpoi train: %s\n", err.msg); return TRAIN_FAILED; }
    struct stat out_st;
    const bool out_existed = stat(o->out_dir, &out_st) == 0;   // a run that never starts removes what it made
    if (!file_mkdir_p(o->out_dir, &err)) { fprintf(stderr, "lpoi train: %s\n", err.msg); return TRAIN_FAILED; }
    checkpoint_finish_leftovers(o->out_dir);   // a killed save or prune of an earlier process
    Trainer tr;
    TrainExit rc = TRAIN_FAILED;
    FileOut log = {0};
    double t_start = now_s(), busy = 0;
    long tokens = 0, examples = 0;
    StepOut s = {0};
    bool loaded = false, found = false;
    TrainHeldout *heldout = NULL;
    memset(&tr, 0, sizeof tr);
    if (!o->resume) {   // an earlier run's checkpoints would be mixed with this run's: refuse or remove
        struct stat st;
        char any[4400];
        snprintf(any, sizeof any, "%s/adapter/adapter_model.safetensors", o->out_dir);
        if (!o->overwrite && (stat(any, &st) == 0 || checkpoint_any(o->out_dir))) {
            err_set(&err, "%s holds an earlier run (checkpoints or adapter): use --resume to continue it, --overwrite to "
                    "start afresh, or another --out",
                    o->out_dir);
            goto fail;
        }
    }

    // Everything is validated before anything in OUT changes: the data, model, tokenizer and image
    // processor (trainer_open), and for --resume the checkpoint (checksums, inputs, settings).
    if (!trainer_open(&tr, o, false, &err)) goto fail;
    if (o->eval_data && !(heldout = heldout_open(&tr, o->eval_data, &err))) goto fail;
    tr.resume_from = -1;
    if (o->resume && !checkpoint_resume_pick(&tr, &err)) goto fail;
    if (!o->resume && o->overwrite && !checkpoint_clear_run(o->out_dir, &err)) goto fail;

    // Reference log-probs: the cache of an earlier run with the same settings, else one pass now.
    // On --resume a new cache is written only once the checkpoint's full check has passed.
    if (!ref_cache_load(&tr, &loaded, &err)) goto fail;
    if (!loaded) {
        double t = now_s();
        if (!o->quiet) fprintf(stderr, "lpoi train: reference log-probs of %d examples (adapter off, once)...\n", tr.data.n);
        if (!trainer_reference_pass(&tr, &err) || (tr.resume_from < 0 && !ref_cache_save(&tr, &err))) goto fail;
        if (!o->quiet) fprintf(stderr, "lpoi train: reference pass took %.1fs\n", now_s() - t);
    } else if (!o->quiet) {
        fprintf(stderr, "lpoi train: reference log-probs of %d examples from %s/ref_logps.safetensors\n", tr.data.n, o->out_dir);
    }

    tr.eff_batch = o->micro_batch * o->grad_accum;
    tr.steps_per_epoch = (tr.data.n + tr.eff_batch - 1) / tr.eff_batch;
    long long total = (long long)o->epochs * tr.steps_per_epoch;
    if (o->max_steps > 0 && o->max_steps < total) total = o->max_steps;
    if (total > INT32_MAX) {
        err_set(&err, "%lld optimiser steps are too many (set --max-steps)", total);
        goto fail;
    }
    tr.total_steps = (int)total;
    // HF TrainingArguments.get_warmup_steps: warmup_steps when > 0, else ceil(warmup_ratio · total), so an
    // HF config's "warmup_steps": 0 next to a ratio takes the ratio.
    tr.warmup = o->warmup_steps > 0 ? o->warmup_steps : (int)ceil(o->warmup_ratio * tr.total_steps);
    if (!o->quiet) train_warn_batch(o, tr.data.n, stderr);
    rng_seed(&tr.rng, o->seed ^ 0x5eed0fda7a0d3e5full);

    char logpath[4200];
    if (o->log_file) snprintf(logpath, sizeof logpath, "%s", o->log_file);
    else snprintf(logpath, sizeof logpath, "%s/log.jsonl", o->out_dir);
    char which[4300] = "";
    if (o->resume) {
        if (!checkpoint_resume(&tr, &found, which, sizeof which, &err)) goto fail;
        if (!loaded && tr.resume_from >= 0 && !ref_cache_save(&tr, &err)) goto fail;
        if (found) {
            if (!truncate_log(logpath, tr.step, &err)) goto fail;
            if (!o->quiet) fprintf(stderr, "lpoi train: resumed from %s (step %d of %d)\n", which, tr.step, tr.total_steps);
        } else if (!o->quiet) {
            fprintf(stderr, "lpoi train: no checkpoint in %s; starting from step 0\n", o->out_dir);
        }
    }
    if (!file_out_open(&log, logpath, found, &err)) goto fail;
    if (tr.data.skipped) fprintf(stderr, "lpoi train: skipped %d bad records (--skip-bad)\n", tr.data.skipped);
    if (!o->quiet)
        fprintf(stderr, "lpoi train: %s, %d examples, %d steps of %d (%d x %d), L = %d, %zu LoRA tensors, lr %.3g\n",
                obj_kind_name(o->objective), tr.data.n, tr.total_steps, tr.eff_batch, o->micro_batch, o->grad_accum,
                o->list_size, tr.nt, o->lr);

    const bool tty = isatty(2);
    if (!o->quiet) train_print_legend(o, stderr);
    double t_loop = now_s();
    int done_here = 0, last_saved = found ? tr.step : -1;
    while (tr.step < tr.total_steps) {
        TrainStepResult r = train_step(&tr, &s, &err);
        if (r != TRAIN_STEP_OK) {
            if (r == TRAIN_STEP_NOT_FINITE) {
                fprintf(stderr, "%slpoi train: %s; stopping. ", tty && !o->quiet ? "\n" : "", err.msg);
                if (last_saved >= 0) fprintf(stderr, "The last good checkpoint is %s/checkpoint-%d.\n", o->out_dir, last_saved);
                else fprintf(stderr, "No checkpoint was written yet.\n");
                rc = TRAIN_FAILED;
                goto done;
            }
            goto fail;
        }
        done_here++;
        busy += s.seconds;
        tokens += s.tokens;
        examples += s.examples;
        s.has_eval = heldout && ((o->eval_every > 0 && tr.step % o->eval_every == 0) || tr.step == tr.total_steps);
        if (s.has_eval && !heldout_eval(&tr, heldout, &s.eval, &err)) goto fail;
        if (!log_step(&log, &tr, &s, &err)) goto fail;
        progress(&tr, &s, now_s() - t_loop, done_here, tty);
        if (s.has_eval && !o->quiet)
            fprintf(stderr, "%slpoi train: held-out (%d lists) at step %d: full-order accuracy %.1f%%, pairwise %.1f%%, "
                    "mean S_1 - S_L %+.3f\n", tty ? "\n" : "", s.eval.n, tr.step, 100 * s.eval.full_acc,
                    100 * s.eval.pair_acc, s.eval.gap);
        if ((o->save_every > 0 && tr.step % o->save_every == 0) || tr.step == tr.total_steps) {
            if (!checkpoint_save(&tr, &err)) goto fail;
            last_saved = tr.step;
        }
        if (o->stop_after > 0 && done_here >= o->stop_after && tr.step < tr.total_steps) {
            rc = TRAIN_OK;
            goto done;
        }
    }
    if (!final_adapter_save(&tr, &err)) goto fail;
    if (!o->quiet)
        fprintf(stderr, "lpoi train: done: %d steps, last loss %.4f, %.2f examples/s, %.0f tokens/s; adapter in %s/adapter\n",
                tr.step, s.loss, examples / fmax(busy, 1e-9), tokens / fmax(busy, 1e-9), o->out_dir);
    rc = TRAIN_OK;
    goto done;
fail:
    fprintf(stderr, "lpoi train: %s\n", err.msg);
    rc = TRAIN_FAILED;
    if (!out_existed) rmdir(o->out_dir);   // only when still empty
done:
    if (res) {
        res->steps = tr.step;
        res->last_loss = s.loss;
        res->seconds = now_s() - t_start;
        res->examples_per_s = examples / fmax(busy, 1e-9);
        res->tokens_per_s = tokens / fmax(busy, 1e-9);
        res->skipped_records = tr.data.skipped;
        res->truncated_records = tr.truncated;
        res->ref_forward_examples = tr.ref_forward_examples;
    }
    if (!file_out_close(&log, &err) && rc == TRAIN_OK) {
        fprintf(stderr, "lpoi train: %s\n", err.msg);
        rc = TRAIN_FAILED;
    }
    heldout_free(heldout);
    trainer_close(&tr);
    return rc;
}
