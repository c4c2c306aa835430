// merge.c — a PEFT LoRA adapter merged into a checkpoint (merge.h).
// The merge follows PEFT's LoraLayer.merge (safe_merge=False) with fp32 adapters, as
// PeftModel.from_pretrained loads them (autocast_adapter_dtype): delta = (B @ A) * scaling in fp32,
// then weight += delta, which torch computes in fp32 and rounds to the weight's dtype once.
#include "lpoi/merge.h"
#include "lpoi/adapter_io.h"
#include "base/check.h"
#include "base/file.h"
#include "base/safetensors.h"
#include "nn/weights.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEFT_PREFIX "base_model.model."

// The same module under the two LLaVA layouts (transformers 5 save_pretrained / hub checkpoints).
static const char *const LAYOUT_SWAPS[][2] = {
    {"model.language_model.", "language_model.model."},
    {"model.vision_tower.", "vision_tower."},
    {"model.multi_modal_projector.", "multi_modal_projector."},
    {"lm_head.", "language_model.lm_head."},
};

typedef struct {
    char module[256];                // "model.language_model.layers.0.self_attn.q_proj"
    const StTensor *a, *b, *w;       // lora_A [r, in], lora_B [out, r], the base weight [out, in]
} MergeModule;

// The checkpoint tensor that module's ".weight" names, in either layout; NULL + err when none.
static const StTensor *find_base(const StModel *m, const char *module, LpoiErr *err) {
    char name[320];
    snprintf(name, sizeof name, "%s.weight", module);
    const StTensor *t = st_model_find(m, name);
    for (size_t k = 0; !t && k < sizeof LAYOUT_SWAPS / sizeof *LAYOUT_SWAPS; k++)
        for (int d = 0; !t && d < 2; d++) {
            const char *from = LAYOUT_SWAPS[k][d], *to = LAYOUT_SWAPS[k][1 - d];
            if (!str_starts(name, from)) continue;
            char alt[320];
            snprintf(alt, sizeof alt, "%s%s", to, name + strlen(from));
            t = st_model_find(m, alt);
        }
    if (!t) err_set(err, "adapter module %s: the checkpoint has no tensor %s (in either LLaVA layout)", module, name);
    return t;
}

// Pairs every lora_A with its lora_B and its base weight, checking names, dtypes and shapes.
static MergeModule *plan_modules(const StFile *ad, const StModel *m, int r, int *n_out, LpoiErr *err) {
    MergeModule *mods = calloc_check(ad->count ? ad->count : 1, sizeof *mods);
    int n = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < ad->count; i++) {
        const StTensor *t = &ad->tensors[i];
        size_t len = strlen(t->name), sl = strlen(".lora_A.weight");
        bool is_a = len > sl && !strcmp(t->name + len - sl, ".lora_A.weight");
        bool is_b = len > sl && !strcmp(t->name + len - sl, ".lora_B.weight");
        if (!str_starts(t->name, PEFT_PREFIX) || !(is_a || is_b)) {
            ok = err_set(err, "%s: %s: not a PEFT lora_A / lora_B weight (\"" PEFT_PREFIX "<module>.lora_A.weight\")",
                         ad->path, t->name);
            break;
        }
        if (!is_a) continue;
        if (t->dtype != DTYPE_F32 && t->dtype != DTYPE_F16 && t->dtype != DTYPE_BF16) {
            ok = err_set(err, "%s: %s: dtype %s (F32, F16 or BF16 expected)", ad->path, t->name, dtype_name(t->dtype));
            break;
        }
        MergeModule *mm = &mods[n++];
        size_t ml = len - sl - strlen(PEFT_PREFIX);
        if (ml >= sizeof mm->module) { ok = err_set(err, "%s: %s: name too long", ad->path, t->name); break; }
        memcpy(mm->module, t->name + strlen(PEFT_PREFIX), ml);
        mm->module[ml] = 0;
        mm->a = t;
        char bname[320];
        snprintf(bname, sizeof bname, PEFT_PREFIX "%s.lora_B.weight", mm->module);
        mm->b = st_find(ad, bname);
        if (!mm->b) { ok = err_set(err, "%s: %s has no %s", ad->path, t->name, bname); break; }
        if (!(mm->w = find_base(m, mm->module, err))) { err_prefix(err, "%s", ad->path); ok = false; break; }
        const StTensor *a = mm->a, *b = mm->b, *w = mm->w;
        if (a->ndim != 2 || b->ndim != 2 || w->ndim != 2 || a->shape[0] != (uint64_t)r || b->shape[1] != (uint64_t)r ||
            a->shape[1] != w->shape[1] || b->shape[0] != w->shape[0] || b->dtype != a->dtype) {
            ok = err_set(err, "%s: module %s: lora_A %s [%llu, %llu] and lora_B %s [%llu, %llu] do not fit r = %d and "
                         "the weight %s [%llu, %llu]", ad->path, mm->module, dtype_name(a->dtype),
                         (unsigned long long)a->shape[0], (unsigned long long)(a->ndim > 1 ? a->shape[1] : 0),
                         dtype_name(b->dtype), (unsigned long long)b->shape[0],
                         (unsigned long long)(b->ndim > 1 ? b->shape[1] : 0), r, w->name,
                         (unsigned long long)w->shape[0], (unsigned long long)(w->ndim > 1 ? w->shape[1] : 0));
            break;
        }
        if (w->dtype != DTYPE_F32 && w->dtype != DTYPE_F16 && w->dtype != DTYPE_BF16) {
            ok = err_set(err, "%s: %s: dtype %s cannot take a merge (F32, F16 or BF16)", m->shards[0].path, w->name,
                         dtype_name(w->dtype));
            break;
        }
        for (int j = 0; ok && j < n - 1; j++)
            if (mods[j].w == w) ok = err_set(err, "%s: modules %s and %s both adapt %s", ad->path, mods[j].module, mm->module, w->name);
    }
    for (size_t i = 0; ok && i < ad->count; i++) {   // every lora_B has its lora_A
        const char *s = ad->tensors[i].name;
        size_t len = strlen(s);
        if (len < 15 || strcmp(s + len - 14, ".lora_B.weight")) continue;
        char aname[320];
        snprintf(aname, sizeof aname, "%.*s.lora_A.weight", (int)(len - 14), s);
        if (!st_find(ad, aname)) ok = err_set(err, "%s: %s has no %s", ad->path, s, aname);
    }
    if (ok && n == 0) ok = err_set(err, "%s: no LoRA tensors", ad->path);
    if (!ok) { free(mods); return NULL; }
    *n_out = n;
    return mods;
}

// W' [out, in] in W's dtype, malloc'ed: dtype(float(W) + (B·A)·scale), all in fp32.
static void *merged_weight(const MergeModule *mm, float scale) {
    const StTensor *a = mm->a, *b = mm->b, *w = mm->w;
    size_t out = (size_t)w->shape[0], in = (size_t)w->shape[1], r = (size_t)a->shape[0];
    float *fa = malloc_check(r * in * sizeof *fa), *fb = malloc_check(out * r * sizeof *fb);
    float *fw = malloc_check(out * in * sizeof *fw);
    dtype_to_f32(fa, a->data, a->dtype, r * in);
    dtype_to_f32(fb, b->data, b->dtype, out * r);
    dtype_to_f32(fw, w->data, w->dtype, out * in);
    for (size_t i = 0; i < out; i++)
        for (size_t j = 0; j < in; j++) {
            float s = 0;
            for (size_t k = 0; k < r; k++) s += fb[i * r + k] * fa[k * in + j];
            fw[i * in + j] += s * scale;
        }
    void *dst = malloc_check(out * in * (size_t)dtype_bits(w->dtype) / 8);
    dtype_from_f32(dst, w->dtype, fw, out * in);
    free(fa);
    free(fb);
    free(fw);
    return dst;
}

static bool ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

// Weights in another format (PyTorch .bin/.pt, TF/Flax) and their indexes: a copy would carry the
// unmerged weights next to the merged ones, and a loader preferring that format would read them.
static bool other_weights(const char *name) {
    static const char *const tails[] = {".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".gguf",
                                        ".bin.index.json", ".h5.index.json", ".msgpack.index.json"};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(tails); i++)
        if (ends_with(name, tails[i])) return true;
    return false;
}

// Copies the regular files of src that are not weights into dst (the shard index only when the
// checkpoint is sharded, as the reader prefers model.safetensors).
static bool copy_side_files(const char *src, const char *dst, int *count, LpoiErr *err) {
    DIR *d = opendir(src);
    if (!d) return err_set(err, "%s: cannot list the folder: %s", src, strerror(errno));
    char *single = file_path_join(src, "model.safetensors");
    bool has_single = access(single, F_OK) == 0, ok = true;
    free(single);
    for (struct dirent *e; ok && (e = readdir(d));) {
        if (e->d_name[0] == '.' || ends_with(e->d_name, ".safetensors") || other_weights(e->d_name)) continue;
        if (has_single && !strcmp(e->d_name, "model.safetensors.index.json")) continue;
        char *from = file_path_join(src, e->d_name), *to = file_path_join(dst, e->d_name);
        struct stat sb;
        if (stat(from, &sb) == 0 && S_ISREG(sb.st_mode)) {
            size_t size;
            char *data = file_read_all(from, (size_t)1 << 31, &size, err);
            ok = data && file_write_atomic(to, data, size, err);
            free(data);
            if (ok) (*count)++;
        }
        free(from);
        free(to);
    }
    closedir(d);
    return ok;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

// Every shard of m rewritten into dir with the merged weights in place of the adapted ones.
static bool write_shards(const StModel *m, const MergeModule *mods, int n, float scale, const char *dir,
                         MergeStats *st, LpoiErr *err) {
    bool ok = true;
    for (size_t s = 0; ok && s < m->nshards; s++) {
        const StFile *f = &m->shards[s];
        StWriter *w = st_writer_new();
        for (size_t k = 0; k < f->meta_count; k++)
            if (strcmp(f->meta_keys[k], "format")) st_writer_meta(w, f->meta_keys[k], f->meta_vals[k]);
        void **owned = calloc_check(f->count ? f->count : 1, sizeof *owned);
        for (size_t i = 0; i < f->count; i++) {
            const StTensor *t = &f->tensors[i];
            const void *data = t->data;
            for (int j = 0; j < n; j++)
                if (mods[j].w == t) data = owned[i] = merged_weight(&mods[j], scale);
            st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, data);
            st->tensors++;
        }
        char *path = file_path_join(dir, base_name(f->path));
        ok = st_writer_write(w, path, err);
        free(path);
        st_writer_free(w);
        for (size_t i = 0; i < f->count; i++) free(owned[i]);
        free(owned);
    }
    return ok;
}

bool merge_adapter_dir(const char *model_dir, const char *adapter_dir, const char *out_arg, MergeStats *st,
                       LpoiErr *err) {
    memset(st, 0, sizeof *st);
    // "OUT/" names OUT: the temporary folder goes beside it, not inside.
    char out_dir[4096];
    if ((size_t)snprintf(out_dir, sizeof out_dir, "%s", out_arg) >= sizeof out_dir)
        return err_set(err, "%.64s...: --out path too long", out_arg);
    for (size_t k = strlen(out_dir); k > 1 && out_dir[k - 1] == '/'; k--) out_dir[k - 1] = 0;
    if (!file_dir_vacant(out_dir)) return err_set(err, "%s: exists and is not an empty folder (choose a new --out)", out_dir);
    struct stat sb;
    bool out_exists = stat(out_dir, &sb) == 0;
    int r;
    double alpha;
    if (!adapter_config_read(adapter_dir, &r, &alpha, err)) return false;
    const float scale = (float)(alpha / r);   // PEFT: scaling = lora_alpha / r, applied to an fp32 tensor

    char *ad_path = file_path_join(adapter_dir, "adapter_model.safetensors");
    StFile ad;
    bool ok = st_open(&ad, ad_path, err);
    free(ad_path);
    if (!ok) return false;
    StModel m;
    if (!st_model_open(&m, model_dir, err)) { st_close(&ad); return false; }
    int n = 0;
    MergeModule *mods = plan_modules(&ad, &m, r, &n, err);
    ok = mods != NULL;

    // One fixed name: a killed merge's leftover is removed by the next one, never reused.
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.merge-tmp", out_dir);
    file_rmtree(tmp);
    if (ok) ok = file_mkdir(tmp, err);
    if (ok) ok = write_shards(&m, mods, n, scale, tmp, st, err) && copy_side_files(model_dir, tmp, &st->files, err);
    if (ok && out_exists && rmdir(out_dir) != 0) ok = err_set(err, "%s: cannot replace: %s", out_dir, strerror(errno));
    if (ok && rename(tmp, out_dir) != 0) ok = err_set(err, "%s: cannot rename %s into place: %s", out_dir, tmp, strerror(errno));
    if (!ok) file_rmtree(tmp);
    st->modules = n;
    free(mods);
    st_model_close(&m);
    st_close(&ad);
    return ok;
}
