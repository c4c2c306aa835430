// checkpoint.c — the run folder's durable files: the reference log-prob cache, checkpoints and the
// final adapter (layout in trainer.h).
//
// Atomicity: every file goes through st_writer_write / file_write_atomic (temp + fsync + rename);
// a checkpoint is assembled in OUT/checkpoint-<step>.tmp, its checksums.txt written last, and
// renamed to OUT/checkpoint-<step> in one rename(2), then OUT is fsynced. A folder named
// checkpoint-<n> is therefore always complete; a kill leaves at worst a .tmp folder. Removing a
// checkpoint (pruning, --overwrite, a step saved again) first renames it to OUT/deleting-<name>, so
// a kill mid-removal never leaves a half-deleted checkpoint-<n>; the next start finishes both kinds
// of leftover (checkpoint_finish_leftovers). Old checkpoints are pruned only after the new one is in
// place. --resume takes the newest checkpoint whose checksums verify (checkpoint_verify.c).
//
// training_state.safetensors: "adam.m.<peft name>", "adam.v.<peft name>" (F32, the AdamW moments),
// "order" (I32 [N], this epoch's permutation), "lines" (I32 [N], the data line of each example, to
// refuse a changed data file), "rng" (U64 [1], the data-order RNG state); __metadata__: step, epoch,
// pos, order_ready, "opt.*" — every option that changes the numbers, which --resume must match —
// and "id.*", the content hashes of the run's inputs (run_identity), which --resume must match
// unless --allow-changed-data.
#include "lpoi/trainer_internal.h"
#include "lpoi/lr_schedule.h"
#include "lpoi/negatives.h"
#include "base/check.h"
#include "base/safetensors.h"
#include "base/file.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

// ---- options that must not change between a checkpoint and --resume ---------------------------
#define NOPTS 29
typedef struct { char key[32], val[256]; } Opt;

static int opt_pairs(const Trainer *tr, Opt *o) {
    const TrainOptions *t = &tr->o;
    int n = 0;
#define OPT_G(name, v) snprintf(o[n].key, sizeof o[n].key, "opt.%s", name), snprintf(o[n].val, sizeof o[n].val, "%.17g", (double)(v)), n++
#define OPT_S(name, v) snprintf(o[n].key, sizeof o[n].key, "opt.%s", name), snprintf(o[n].val, sizeof o[n].val, "%s", (v)), n++
    OPT_S("objective", obj_kind_name(t->objective));
    OPT_G("beta", t->beta);
    OPT_G("delta", t->delta);
    OPT_G("label_smoothing", t->label_smoothing);
    OPT_G("w_dpo", t->w_dpo);
    OPT_G("w_anchor", t->w_anchor);
    OPT_G("w_list", t->w_list);
    OPT_G("w_cond", t->w_cond);
    OPT_G("list_size", t->list_size);
    OPT_G("lora_r", t->lora_r);
    OPT_G("lora_alpha", t->lora_alpha);
    OPT_S("lora_targets", t->lora_targets);
    OPT_G("lr", t->lr);
    OPT_G("warmup", tr->warmup);
    OPT_G("adam_beta1", t->adam_beta1);
    OPT_G("adam_beta2", t->adam_beta2);
    OPT_G("adam_eps", t->adam_eps);
    OPT_G("weight_decay", t->weight_decay);
    OPT_G("clip", t->clip);
    OPT_G("micro_batch", t->micro_batch);
    OPT_G("grad_accum", t->grad_accum);
    OPT_G("total_steps", tr->total_steps);
    OPT_G("seed", (double)t->seed);
    OPT_G("max_length", t->max_length);
    OPT_G("max_prompt_length", t->max_prompt_length);
    OPT_S("loss_type", obj_loss_type_name(t->loss_type));        // the text term's formula
    OPT_S("lr_scheduler", lr_schedule_name(t->lr_scheduler));    // every step's lr
    OPT_S("box_format", BOX_FORMAT_NAMES[t->box_format]);        // which pixels the lists mask
    OPT_S("precision", t->precision ? t->precision : "fp32");    // how every Linear rounds its input
#undef OPT_G
#undef OPT_S
    LPOI_ASSERT(n == NOPTS);
    return n;
}

static bool meta_u64(const StFile *f, const char *key, uint64_t *out) {
    const char *s = st_meta(f, key);
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static void meta_int(StWriter *w, const char *key, long long v) {
    char s[32];
    snprintf(s, sizeof s, "%lld", v);
    st_writer_meta(w, key, s);
}

// ---- reference cache -----------------------------------------------------------------------------
// Identity of a file or of a folder's files (names, sizes, modification times), so that a model or
// data file rewritten at the same path (e.g. the demo regenerating its model) never reuses a cache.
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
    return h;
}
static uint64_t file_id(const char *name, const struct stat *st) {
    uint64_t h = fnv(0xcbf29ce484222325ull, name, strlen(name));
    int64_t v[3] = {(int64_t)st->st_size, (int64_t)st->st_mtim.tv_sec, (int64_t)st->st_mtim.tv_nsec};
    return fnv(h, v, sizeof v);
}
static void fingerprint(const char *path, char out[24]) {
    uint64_t h = 0;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        char sub[4400];
        while (d && (e = readdir(d))) {
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            struct stat fs;
            if (stat(sub, &fs) == 0 && S_ISREG(fs.st_mode)) h ^= file_id(e->d_name, &fs);   // order-free
        }
        if (d) closedir(d);
    } else if (stat(path, &st) == 0) {
        h = file_id("", &st);
    }
    snprintf(out, 24, "%016llx", (unsigned long long)h);
}

static void ref_meta(const Trainer *tr, StWriter *w) {
    char fp[24];
    fingerprint(tr->o.model_dir, fp);
    st_writer_meta(w, "model_files", fp);
    fingerprint(tr->o.data_path, fp);
    st_writer_meta(w, "data_file", fp);
    st_writer_meta(w, "objective", obj_kind_name(tr->o.objective));
    meta_int(w, "n_seq", tr->n_seq);
    meta_int(w, "list_size", tr->o.list_size);
    meta_int(w, "seed", (long long)tr->o.seed);
    meta_int(w, "max_length", tr->o.max_length);
    meta_int(w, "max_prompt_length", tr->o.max_prompt_length);
    st_writer_meta(w, "model", tr->o.model_dir);
    st_writer_meta(w, "data", tr->o.data_path);
    st_writer_meta(w, "negatives", tr->o.negatives ? tr->o.negatives : "");
}

bool ref_cache_save(const Trainer *tr, LpoiErr *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/ref_logps.safetensors", tr->o.out_dir);
    const int n = tr->data.n;
    int32_t *lines = malloc_check((size_t)n * sizeof *lines);
    for (int i = 0; i < n; i++) lines[i] = tr->data.rec[i].line;
    StWriter *w = st_writer_new();
    uint64_t sh[2] = {(uint64_t)n, (uint64_t)tr->n_seq};
    st_writer_add_f32(w, "ref", 2, sh, tr->ref);
    st_writer_add(w, "lines", DTYPE_I32, 1, sh, lines);
    ref_meta(tr, w);
    char crc[16];
    snprintf(crc, sizeof crc, "%08lx", crc32(0L, (const Bytef *)tr->ref, (uInt)((size_t)n * tr->n_seq * sizeof *tr->ref)));
    st_writer_meta(w, "ref_crc32", crc);
    bool ok = st_writer_write(w, path, err);
    st_writer_free(w);
    free(lines);
    return ok;
}

bool ref_cache_load(Trainer *tr, bool *loaded, LpoiErr *err) {
    *loaded = false;
    char path[4200];
    snprintf(path, sizeof path, "%s/ref_logps.safetensors", tr->o.out_dir);
    if (access(path, F_OK) != 0) return true;
    StFile f;
    LpoiErr e = {{0}};
    if (!st_open(&f, path, &e)) {
        fprintf(stderr, "lpoi: warning: %s is unreadable (%s); recomputing the reference log-probs\n", path, e.msg);
        return true;
    }
    // Same settings?
    char want[8][64];
    snprintf(want[0], 64, "%d", tr->n_seq);
    snprintf(want[1], 64, "%d", tr->o.list_size);
    snprintf(want[2], 64, "%lld", (long long)tr->o.seed);
    snprintf(want[3], 64, "%d", tr->o.max_length);
    snprintf(want[4], 64, "%d", tr->o.max_prompt_length);
    const char *keys[6] = {"n_seq", "list_size", "seed", "max_length", "max_prompt_length", "objective"};
    const char *vals[6] = {want[0], want[1], want[2], want[3], want[4], obj_kind_name(tr->o.objective)};
    const char *why = NULL;
    for (int k = 0; k < 6 && !why; k++) {
        const char *v = st_meta(&f, keys[k]);
        if (!v || strcmp(v, vals[k]) != 0) why = keys[k];
    }
    const char *mv = st_meta(&f, "model"), *dv = st_meta(&f, "data"), *nv = st_meta(&f, "negatives");
    if (!why && (!mv || strcmp(mv, tr->o.model_dir))) why = "model";
    if (!why && (!dv || strcmp(dv, tr->o.data_path))) why = "data";
    if (!why && (!nv || strcmp(nv, tr->o.negatives ? tr->o.negatives : ""))) why = "negatives";
    char fp[24];
    fingerprint(tr->o.model_dir, fp);
    if (!why && (!st_meta(&f, "model_files") || strcmp(st_meta(&f, "model_files"), fp))) why = "model files changed";
    fingerprint(tr->o.data_path, fp);
    if (!why && (!st_meta(&f, "data_file") || strcmp(st_meta(&f, "data_file"), fp))) why = "data file changed";
    const StTensor *ref = st_find(&f, "ref"), *lines = st_find(&f, "lines");
    if (!why && (!ref || !lines || ref->dtype != DTYPE_F32 || lines->dtype != DTYPE_I32 || ref->ndim != 2 ||
                 lines->ndim != 1 || ref->shape[0] != lines->shape[0] || ref->shape[1] != (uint64_t)tr->n_seq))
        why = "tensors";
    if (!why) {   // the values themselves (a flipped bit would otherwise train against a wrong reference)
        char crc[16];
        snprintf(crc, sizeof crc, "%08lx", crc32(0L, ref->data, (uInt)(ref->numel * sizeof(float))));
        const char *cv = st_meta(&f, "ref_crc32");
        if (!cv || strcmp(cv, crc)) why = "its ref_crc32 checksum does not match";
    }
    // Its examples must be a subset of ours, in order (records it dropped as bad stay dropped).
    int nc = why ? 0 : (int)lines->shape[0];
    int32_t *cl = malloc_check((size_t)(nc ? nc : 1) * sizeof *cl);
    if (!why) memcpy(cl, lines->data, (size_t)nc * sizeof *cl);
    if (!why) {
        int j = 0;
        for (int i = 0; i < tr->data.n && j < nc; i++) j += tr->data.rec[i].line == cl[j];
        if (j != nc) why = "data lines";
    }
    if (why) {
        fprintf(stderr, "lpoi: %s was made for other settings (%s); recomputing the reference log-probs\n", path, why);
        free(cl);
        st_close(&f);
        return true;
    }
    for (int i = 0, j = 0; i < tr->data.n;) {   // drop the examples the cache does not hold
        if (j < nc && tr->data.rec[i].line == cl[j]) { i++; j++; continue; }
        if (!tr->o.skip_bad) {
            fprintf(stderr, "lpoi: %s lacks data line %d; recomputing the reference log-probs\n", path, tr->data.rec[i].line);
            free(cl);
            st_close(&f);
            return true;
        }
        data_tokens_free(&tr->tokens[i]);
        memmove(tr->tokens + i, tr->tokens + i + 1, (size_t)(tr->data.n - i - 1) * sizeof *tr->tokens);
        free(tr->pix_cache[i]);
        memmove(tr->pix_cache + i, tr->pix_cache + i + 1, (size_t)(tr->data.n - i - 1) * sizeof *tr->pix_cache);
        dataset_remove(&tr->data, i);
        tr->data.skipped++;
    }
    free(cl);
    free(tr->ref);
    tr->ref = malloc_check((size_t)nc * tr->n_seq * sizeof *tr->ref);
    memcpy(tr->ref, ref->data, (size_t)nc * tr->n_seq * sizeof *tr->ref);
    st_close(&f);
    tr->ref_ready = true;
    *loaded = true;
    (void)err;
    return true;
}

// ---- checkpoints ---------------------------------------------------------------------------------
static bool write_state(Trainer *tr, const char *dir, LpoiErr *err) {
    StWriter *w = st_writer_new();
    const int n = tr->data.n;
    float **host = calloc_check(2 * tr->nt + 1, sizeof *host);
    char (*names)[300] = malloc_check((2 * tr->nt + 1) * sizeof *names);
    for (size_t i = 0; i < tr->nt; i++) {
        const TrainTensor *t = &tr->t[i];
        uint64_t sh[2] = {(uint64_t)t->shape[0], (uint64_t)t->shape[1]};
        for (int k = 0; k < 2; k++) {
            float **h = &host[2 * i + k];
            *h = malloc_check(t->n * sizeof(float));
            tr->be->download(tr->be, *h, k ? t->v : t->m, t->n * sizeof(float));
            snprintf(names[2 * i + k], sizeof names[0], "adam.%c.%s", k ? 'v' : 'm', t->name);
            st_writer_add_f32(w, names[2 * i + k], 2, sh, *h);
        }
    }
    int32_t *lines = malloc_check((size_t)n * sizeof *lines), *order = malloc_check((size_t)n * sizeof *order);
    for (int i = 0; i < n; i++) {
        lines[i] = tr->data.rec[i].line;
        order[i] = tr->order_ready ? tr->order[i] : i;
    }
    uint64_t sn = (uint64_t)n, one = 1;
    st_writer_add(w, "lines", DTYPE_I32, 1, &sn, lines);
    st_writer_add(w, "order", DTYPE_I32, 1, &sn, order);
    st_writer_add(w, "rng", DTYPE_U64, 1, &one, &tr->rng.state);
    meta_int(w, "step", tr->step);
    meta_int(w, "epoch", tr->epoch);
    meta_int(w, "pos", tr->pos);
    meta_int(w, "order_ready", tr->order_ready);
    Opt o[NOPTS];
    int no = opt_pairs(tr, o);
    for (int i = 0; i < no; i++) st_writer_meta(w, o[i].key, o[i].val);
    for (int i = 0; i < RUN_ID_COUNT; i++) st_writer_meta(w, tr->run_ids[i].key, tr->run_ids[i].val);
    char path[4400];
    snprintf(path, sizeof path, "%s/training_state.safetensors", dir);
    bool ok = st_writer_write(w, path, err);
    st_writer_free(w);
    for (size_t i = 0; i < 2 * tr->nt; i++) free(host[i]);
    free(host);
    free(names);
    free(lines);
    free(order);
    return ok;
}

static const char *base_name(const Trainer *tr) { return tr->o.base_model_name ? tr->o.base_model_name : tr->o.model_dir; }

// Step numbers of OUT/checkpoint-<n> folders, descending.
static int list_checkpoints(const char *out, int **steps) {
    *steps = NULL;
    DIR *d = opendir(out);
    if (!d) return 0;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (strncmp(s, "checkpoint-", 11) != 0) continue;
        char *end;
        errno = 0;
        long v = strtol(s + 11, &end, 10);
        if (errno || *end || end == s + 11 || v < 0 || v > INT32_MAX) continue;
        if (n == cap) { cap = cap ? 2 * cap : 16; *steps = realloc_check(*steps, (size_t)cap * sizeof **steps); }
        (*steps)[n++] = (int)v;
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && (*steps)[j - 1] < (*steps)[j]; j--) { int x = (*steps)[j]; (*steps)[j] = (*steps)[j - 1]; (*steps)[j - 1] = x; }
    return n;
}

bool checkpoint_any(const char *out_dir) {
    int *steps;
    int n = list_checkpoints(out_dir, &steps);
    free(steps);
    return n > 0;
}

// Removes OUT/name (a folder) by renaming it out of the checkpoint namespace first, so that a kill
// in the middle leaves OUT/deleting-name (finished by the next start), never a half-deleted name.
static bool remove_aside(const char *out_dir, const char *name, LpoiErr *err) {
    char from[4400], to[4500];
    snprintf(from, sizeof from, "%s/%s", out_dir, name);
    snprintf(to, sizeof to, "%s/deleting-%s", out_dir, name);
    struct stat st;
    if (lstat(from, &st) != 0) return true;
    file_rmtree(to);
    if (!file_rename(from, to, err)) return false;
    file_fsync_dir(out_dir, NULL);
    if (!file_rmtree(to)) return err_set(err, "%s: cannot remove the folder", to);
    return true;
}

void checkpoint_finish_leftovers(const char *out_dir) {
    DIR *d = opendir(out_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        bool torn_save = !strncmp(e->d_name, "checkpoint-", 11) && l > 4 && !strcmp(e->d_name + l - 4, ".tmp");
        if (torn_save || !strncmp(e->d_name, "deleting-", 9)) {
            char p[4400];
            snprintf(p, sizeof p, "%s/%s", out_dir, e->d_name);
            file_rmtree(p);
        }
    }
    closedir(d);
}

bool checkpoint_clear_run(const char *out_dir, LpoiErr *err) {
    checkpoint_finish_leftovers(out_dir);
    int *steps;
    int n = list_checkpoints(out_dir, &steps);
    char p[4400];
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        snprintf(p, sizeof p, "checkpoint-%d", steps[i]);
        ok = remove_aside(out_dir, p, err);
    }
    free(steps);
    static const char *const names[] = {"adapter", "adapter.tmp", "adapter.old"};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(names) && ok; i++) ok = remove_aside(out_dir, names[i], err);
    snprintf(p, sizeof p, "%s/ref_logps.safetensors", out_dir);
    if (ok) ok = file_unlink(p, err);
    snprintf(p, sizeof p, "%s/log.jsonl", out_dir);
    if (ok) ok = file_unlink(p, err);
    return ok;
}

bool checkpoint_save(Trainer *tr, LpoiErr *err) {
    char dir[4200], tmp[4300];
    snprintf(dir, sizeof dir, "%s/checkpoint-%d", tr->o.out_dir, tr->step);
    snprintf(tmp, sizeof tmp, "%s.tmp", dir);
    file_rmtree(tmp);
    if (!file_mkdir(tmp, err)) return false;
    if (!tr->model.ops->adapter_save_dir(tr->model.m, tmp, base_name(tr), tr->o.lora_r, tr->o.lora_alpha, err) ||
        !write_state(tr, tmp, err) || !checkpoint_write_checksums(tmp, err) || !file_fsync_dir(tmp, err)) {
        file_rmtree(tmp);
        return false;
    }
    char name[64];
    snprintf(name, sizeof name, "checkpoint-%d", tr->step);
    // The same step saved again (e.g. the end of a resumed run): the old one goes aside first.
    if (!remove_aside(tr->o.out_dir, name, err) || !file_rename(tmp, dir, err)) {
        file_rmtree(tmp);
        return false;
    }
    if (!file_fsync_dir(tr->o.out_dir, err)) return false;
    if (tr->o.keep_checkpoints > 0) {
        int *steps;
        int n = list_checkpoints(tr->o.out_dir, &steps);
        bool ok = true;
        for (int i = tr->o.keep_checkpoints; i < n && ok; i++) {
            snprintf(name, sizeof name, "checkpoint-%d", steps[i]);
            ok = remove_aside(tr->o.out_dir, name, err);
        }
        free(steps);
        if (!ok) return false;
    }
    return true;
}

// The settings (all, or without those that depend on the data count: before the reference pass)
// and the inputs' identity of the state file f against this run.
static bool same_run(const Trainer *tr, const StFile *f, const char *path, bool all_settings, LpoiErr *err) {
    Opt o[NOPTS];
    int no = opt_pairs(tr, o);
    for (int i = 0; i < no; i++) {
        if (!all_settings && (!strcmp(o[i].key, "opt.warmup") || !strcmp(o[i].key, "opt.total_steps"))) continue;
        const char *v = st_meta(f, o[i].key);
        if (!v || strcmp(v, o[i].val) != 0)
            return err_set(err, "%s: %s was %s in that run, now %s; --resume needs the same settings", path, o[i].key + 4,
                           v ? v : "(absent)", o[i].val);
    }
    const RunId *ids = tr->run_ids;
    for (int i = 0; i < RUN_ID_COUNT; i++) {
        const char *v = st_meta(f, ids[i].key);
        if (v && !strcmp(v, ids[i].val)) continue;
        if (!tr->o.allow_changed_data)
            return err_set(err, "%s: %s changed since that run (recorded: %s; now: %s); --resume continues the same run "
                                "only (--allow-changed-data if you mean to, --overwrite to start afresh)",
                           path, ids[i].what, v ? v : "absent", ids[i].val);
        if (all_settings)
            fprintf(stderr, "lpoi train: warning: %s changed since that run (--allow-changed-data)\n", ids[i].what);
    }
    return true;
}

static bool restore(Trainer *tr, const char *dir, LpoiErr *err) {
    char path[4400];
    snprintf(path, sizeof path, "%s/training_state.safetensors", dir);
    StFile f;
    if (!st_open(&f, path, err)) return false;
    bool ok = same_run(tr, &f, path, true, err);
    uint64_t step = 0, epoch = 0, pos = 0, ready = 0;
    if (ok && !(meta_u64(&f, "step", &step) && meta_u64(&f, "epoch", &epoch) && meta_u64(&f, "pos", &pos) &&
                meta_u64(&f, "order_ready", &ready) && step <= INT32_MAX && epoch <= INT32_MAX && pos <= (uint64_t)tr->data.n))
        ok = err_set(err, "%s: step / epoch / pos metadata missing or out of range", path);
    const int n = tr->data.n;
    const StTensor *lines = st_find(&f, "lines"), *order = st_find(&f, "order"), *rng = st_find(&f, "rng");
    if (ok && (!lines || !order || !rng || lines->dtype != DTYPE_I32 || order->dtype != DTYPE_I32 ||
               rng->dtype != DTYPE_U64 || lines->numel != (uint64_t)n || order->numel != (uint64_t)n || rng->numel != 1))
        ok = err_set(err, "%s: lines / order / rng missing, or made for %llu examples (the data now has %d)", path,
                     lines ? (unsigned long long)lines->numel : 0ull, n);
    for (int i = 0; ok && i < n; i++) {
        int32_t l, q;
        memcpy(&l, lines->data + 4 * (size_t)i, 4);
        memcpy(&q, order->data + 4 * (size_t)i, 4);
        if (l != tr->data.rec[i].line) ok = err_set(err, "%s: example %d was data line %d, now %d (data changed?)", path, i, l, tr->data.rec[i].line);
        else if (q < 0 || q >= n) ok = err_set(err, "%s: order[%d] = %d is out of range", path, i, q);
    }
    for (size_t i = 0; ok && i < tr->nt; i++) {
        TrainTensor *t = &tr->t[i];
        for (int k = 0; k < 2 && ok; k++) {
            char name[300];
            snprintf(name, sizeof name, "adam.%c.%s", k ? 'v' : 'm', t->name);
            const StTensor *s = st_find(&f, name);
            if (!s || s->dtype != DTYPE_F32 || s->numel != t->n) { ok = err_set(err, "%s: %s missing or mis-shaped", path, name); break; }
            float *h = malloc_check(t->n * sizeof *h);
            memcpy(h, s->data, t->n * sizeof *h);
            tr->be->upload(tr->be, k ? t->v : t->m, h, t->n * sizeof *h);
            free(h);
        }
    }
    if (ok) {
        if (!tr->order) tr->order = malloc_check((size_t)n * sizeof *tr->order);
        memcpy(tr->order, order->data, (size_t)n * sizeof *tr->order);
        memcpy(&tr->rng.state, rng->data, 8);
        tr->step = (int)step;
        tr->epoch = (int)epoch;
        tr->pos = (int)pos;
        tr->order_ready = ready != 0;
    }
    st_close(&f);
    if (!ok) return false;
    // The adapter weights.
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    StFile a;
    if (!st_open(&a, path, err)) return false;
    WeightSource src = {.file = &a, .what = path};
    ok = tr->model.ops->lora_load(tr->model.m, &src, err);
    st_close(&a);
    return ok;
}

bool checkpoint_resume_pick(Trainer *tr, LpoiErr *err) {
    tr->resume_from = -1;
    checkpoint_finish_leftovers(tr->o.out_dir);
    int *steps;
    int n = list_checkpoints(tr->o.out_dir, &steps);
    char dir[4400], first_why[600] = "";
    for (int i = 0; i < n && tr->resume_from < 0; i++) {
        snprintf(dir, sizeof dir, "%s/checkpoint-%d", tr->o.out_dir, steps[i]);
        LpoiErr e = {{0}};
        if (!checkpoint_verify(dir, &e)) {
            fprintf(stderr, "lpoi train: %s does not verify (%s)%s\n", dir, e.msg,
                    i + 1 < n ? "; trying the next older checkpoint" : "");
            if (!first_why[0]) snprintf(first_why, sizeof first_why, "%s", e.msg);
            continue;
        }
        if (i > 0) fprintf(stderr, "lpoi train: resuming from the older %s, the newest that verifies\n", dir);
        tr->resume_from = steps[i];
    }
    if (n > 0 && tr->resume_from < 0) {
        free(steps);
        return err_set(err, "%s: none of its %d checkpoints verifies (newest: %s); --overwrite starts afresh",
                       tr->o.out_dir, n, first_why);
    }
    if (tr->resume_from < 0) return free(steps), true;
    char path[4500];
    snprintf(path, sizeof path, "%s/checkpoint-%d/training_state.safetensors", tr->o.out_dir, tr->resume_from);
    StFile f;
    bool ok = st_open(&f, path, err);
    if (ok) {
        ok = same_run(tr, &f, path, false, err);
        st_close(&f);
    }
    // The newer checkpoints that did not verify leave the checkpoint-N namespace (kept, renamed
    // corrupt-checkpoint-N, for inspection): left there, pruning would count them among the newest
    // and delete the good checkpoints this run writes. Only once the resume is accepted.
    for (int i = 0; ok && i < n && steps[i] > tr->resume_from; i++) {
        char from[4400], to[4500];
        snprintf(from, sizeof from, "%s/checkpoint-%d", tr->o.out_dir, steps[i]);
        snprintf(to, sizeof to, "%s/corrupt-checkpoint-%d", tr->o.out_dir, steps[i]);
        file_rmtree(to);
        ok = file_rename(from, to, err);
        if (ok) fprintf(stderr, "lpoi train: %s set aside as %s\n", from, to);
    }
    free(steps);
    return ok;
}

bool checkpoint_resume(Trainer *tr, bool *found, char *which, size_t cap, LpoiErr *err) {
    *found = false;
    if (tr->resume_from < 0) return true;
    snprintf(which, cap, "%s/checkpoint-%d", tr->o.out_dir, tr->resume_from);
    bool ok = restore(tr, which, err);
    *found = ok;
    return ok;
}

bool final_adapter_save(Trainer *tr, LpoiErr *err) {
    char dir[4200], tmp[4300], old[4300];
    snprintf(dir, sizeof dir, "%s/adapter", tr->o.out_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", dir);
    snprintf(old, sizeof old, "%s.old", dir);
    file_rmtree(tmp);
    file_rmtree(old);
    if (!file_mkdir(tmp, err)) return false;
    if (!tr->model.ops->adapter_save_dir(tr->model.m, tmp, base_name(tr), tr->o.lora_r, tr->o.lora_alpha, err)) {
        file_rmtree(tmp);
        return false;
    }
    if (!file_fsync_dir(tmp, err)) return false;
    struct stat st;
    if (stat(dir, &st) == 0 && !file_rename(dir, old, err)) return false;
    if (!file_rename(tmp, dir, err) || !file_fsync_dir(tr->o.out_dir, err)) return false;
    file_rmtree(old);
    return true;
}
