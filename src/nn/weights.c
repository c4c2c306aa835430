// weights.c — the two-pass binding of HF tensors (see weights.h).
#include "nn/weights.h"
#include "base/check.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- sources ----------------------------------------------------------------------------------
static const char *src_prefix(const WeightSource *s) { return s->prefix ? s->prefix : ""; }

size_t ws_count(const WeightSource *s) { return s->model ? s->model->count : s->file->count; }

const char *ws_local(const WeightSource *s, size_t i) {
    const char *n = s->model ? s->model->by_name[i]->name : s->file->tensors[i].name;
    const char *p = src_prefix(s);
    return str_starts(n, p) ? n + strlen(p) : NULL;
}

const StTensor *ws_find(const WeightSource *s, const char *name) {
    char full[512];
    if ((size_t)snprintf(full, sizeof full, "%s%s", src_prefix(s), name) >= sizeof full) return NULL;
    return s->model ? st_model_find(s->model, full) : st_find(s->file, full);
}

const char *ws_what(const WeightSource *s, const char *def) { return s->what ? s->what : def; }

bool ws_has(const WeightSource *s, const char *prefix, const char *name) {
    char full[400];
    return (size_t)snprintf(full, sizeof full, "%s%s", prefix, name) < sizeof full && ws_find(s, full);
}

const void *ws_detect(const WeightSource *s, const void *table, size_t n, size_t stride, const char *probe) {
    for (size_t i = 0; i < n; i++) {
        const char *const *prefix = (const char *const *)((const char *)table + i * stride);
        if (ws_has(s, *prefix, probe)) return prefix;
    }
    return NULL;
}

bool str_starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

// ---- spec tables ------------------------------------------------------------------------------
void specs_add(WeightSpecs *s, const float **dst, int ndim, const int64_t *shape, const char *fmt, ...) {
    LPOI_ASSERT(ndim >= 1 && ndim <= WEIGHT_MAX_DIMS);
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = realloc_check(s->v, s->cap * sizeof *s->v);
    }
    WeightSpec *w = &s->v[s->n++];
    memset(w, 0, sizeof *w);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->name, sizeof w->name, fmt, ap);
    va_end(ap);
    w->ndim = ndim;
    memcpy(w->shape, shape, (size_t)ndim * sizeof *shape);
    w->dst = dst;
}

void specs_free(WeightSpecs *s) {
    free(s->v);
    memset(s, 0, sizeof *s);
}

// ---- errors -----------------------------------------------------------------------------------
void names_add(NameList *l, const char *fmt, ...) {
    char item[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof item, fmt, ap);
    va_end(ap);
    l->n++;
    size_t k = strlen(item);
    if (l->n <= 3 && l->len + k + 2 < sizeof l->text) {
        if (l->n > 1) { memcpy(l->text + l->len, ", ", 2); l->len += 2; }
        memcpy(l->text + l->len, item, k + 1);
        l->len += k;
    }
}

void fmt_dims(char *buf, size_t cap, int ndim, const int64_t *d) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)d[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

bool float_dtype(Dtype t) { return t == DTYPE_F32 || t == DTYPE_F16 || t == DTYPE_BF16 || t == DTYPE_F64; }

void weights_check(WeightErrors *e, const char *name, const StTensor *t, int ndim, const int64_t *shape) {
    if (!t) { names_add(&e->missing, "%s", name); return; }
    bool same = t->ndim == ndim;
    for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == (uint64_t)shape[d];
    if (!same) {
        int64_t have[ST_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++) have[d] = (int64_t)t->shape[d];
        char a[80], b[80];
        fmt_dims(a, sizeof a, t->ndim, have);
        fmt_dims(b, sizeof b, ndim, shape);
        names_add(&e->shape, "%s is %s, expected %s", name, a, b);
    } else if (!float_dtype(t->dtype)) {
        names_add(&e->dtype, "%s is %s", name, dtype_name(t->dtype));
    }
}

bool weights_clean(const WeightErrors *e) { return !e->missing.n && !e->unexpected.n && !e->shape.n && !e->dtype.n; }

static void list_append(char *msg, size_t cap, const NameList *l, const char *what) {
    if (!l->n) return;
    size_t k = strlen(msg);
    snprintf(msg + k, cap - k, "%s%d %s (%s%s)", k ? "; " : "", l->n, what, l->text, l->n > 3 ? ", ..." : "");
}

const char *weights_errors_text(const WeightErrors *e, char *msg, size_t cap) {
    msg[0] = 0;
    list_append(msg, cap, &e->missing, "missing");
    list_append(msg, cap, &e->unexpected, "unexpected");
    list_append(msg, cap, &e->shape, "mis-shaped");
    list_append(msg, cap, &e->dtype, "not F32/F16/BF16");
    return msg;
}

// ---- the two passes ---------------------------------------------------------------------------
// name matches an owned entry: "" (all), "prefix." or the exact name.
static bool owned_by(const char *name, const char *rule) {
    size_t k = strlen(rule);
    return k == 0 || (rule[k - 1] == '.' ? !strncmp(name, rule, k) : !strcmp(name, rule));
}

// name matches an ignored entry: an exact name, or "head*tail".
static bool ignored_by(const char *name, const char *rule) {
    const char *star = strchr(rule, '*');
    if (!star) return !strcmp(name, rule);
    size_t kh = (size_t)(star - rule), kt = strlen(star + 1), kn = strlen(name);
    return kn >= kh + kt && !strncmp(name, rule, kh) && !strcmp(name + kn - kt, star + 1);
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

bool weights_plan(WeightPlan *p, const WeightSource *src, const WeightRules *rules) {
    size_t n = p->specs.n;
    memset(&p->errors, 0, sizeof p->errors);
    p->found = realloc_check(p->found, (n ? n : 1) * sizeof *p->found);   // p starts zeroed; a re-plan reuses it
    for (size_t i = 0; i < n; i++) {
        const WeightSpec *s = &p->specs.v[i];
        p->found[i] = ws_find(src, s->name);
        weights_check(&p->errors, s->name, p->found[i], s->ndim, s->shape);
    }
    if (rules && rules->owned[0]) {   // tensors of ours that no spec names
        const char **names = malloc_check((n ? n : 1) * sizeof *names);
        for (size_t i = 0; i < n; i++) names[i] = p->specs.v[i].name;
        qsort(names, n, sizeof *names, cmp_name);
        for (size_t i = 0; i < ws_count(src); i++) {
            const char *local = ws_local(src, i);
            if (!local) continue;
            bool ours = false, skip = false;
            for (int k = 0; k < 4 && rules->owned[k] && !ours; k++) ours = owned_by(local, rules->owned[k]);
            for (int k = 0; k < 4 && rules->ignored[k] && ours && !skip; k++) skip = ignored_by(local, rules->ignored[k]);
            if (ours && !skip && !bsearch(&local, names, n, sizeof *names, cmp_name)) names_add(&p->errors.unexpected, "%s", local);
        }
        free(names);
    }
    return weights_clean(&p->errors);
}

void weights_plan_text(const WeightPlan *p, const char *title, const char *prefix, char *msg, size_t cap) {
    char list[480];
    snprintf(msg, cap, "%s do not match the config (names under \"%s\"): %s", title, prefix,
             weights_errors_text(&p->errors, list, sizeof list));
}

void weights_plan_free(WeightPlan *p) {
    specs_free(&p->specs);
    free(p->found);
    memset(p, 0, sizeof *p);
}

enum { STAGING_ELEMS = 1 << 22 };   // host staging per upload call: 16 MiB of fp32

// 16-bit storage type of spec i under the backend's precision, or DTYPE_F32.
static Dtype stored_type(const Backend *be, const WeightSpec *s) {
    return s->linear ? precision_dtype(be->precision) : DTYPE_F32;
}

// Copies tensor t into backend memory dst as `type` (F32, BF16 or F16): straight from the mapping when
// the file holds that type, else converted through the staging buffer a chunk at a time.
static bool upload_as(Backend *be, void *dst, const StTensor *t, Dtype type, float *staging, uint16_t *staging16,
                      LpoiErr *err) {
    const size_t n = (size_t)t->numel, out_size = (size_t)dtype_bits(type) / 8;
    if (!dtype_usable(t->dtype))   // the plan refuses these first; never read a whole tensor into the staging buffer
        return err_set(err, "tensor %s: dtype %s is not F32, F16 or BF16", t->name, dtype_name(t->dtype));
    if (t->dtype == type) {
        be->upload(be, dst, t->data, n * out_size);
        return true;
    }
    const size_t in_size = (size_t)dtype_bits(t->dtype) / 8;
    for (size_t i = 0; i < n; i += STAGING_ELEMS) {
        const size_t k = LPOI_MIN(n - i, (size_t)STAGING_ELEMS);
        dtype_to_f32(staging, t->data + i * in_size, t->dtype, k);
        if (type != DTYPE_F32) dtype_from_f32(staging16, type, staging, k);
        be->upload(be, (char *)dst + i * out_size, type == DTYPE_F32 ? (void *)staging : (void *)staging16, k * out_size);
    }
    return true;
}

float *weights_upload(Backend *be, const WeightPlan *p, size_t *floats, LpoiErr *err) {
    // Layout: the fp32 tensors in spec order, then the 16-bit ones, each 256-byte aligned (the
    // tensor-core GEMMs read them with 16-byte copies).
    size_t *offset = malloc_check((p->specs.n ? p->specs.n : 1) * sizeof *offset);
    size_t f32_bytes = 0, bytes;
    for (size_t i = 0; i < p->specs.n; i++)
        if (stored_type(be, &p->specs.v[i]) == DTYPE_F32) {
            offset[i] = f32_bytes;
            f32_bytes += (size_t)p->found[i]->numel * sizeof(float);
        }
    bytes = f32_bytes;
    for (size_t i = 0; i < p->specs.n; i++)
        if (stored_type(be, &p->specs.v[i]) != DTYPE_F32) {
            bytes = (bytes + 255) / 256 * 256;
            offset[i] = bytes;
            bytes += (size_t)p->found[i]->numel * 2;
        }
    char *mem = be->alloc(be, bytes ? bytes : 1);
    float *staging = malloc_check(STAGING_ELEMS * sizeof(float));
    uint16_t *staging16 = malloc_check(STAGING_ELEMS * sizeof(uint16_t));
    bool ok = true;
    for (size_t i = 0; i < p->specs.n && ok; i++) {
        const WeightSpec *s = &p->specs.v[i];
        const Dtype type = stored_type(be, s);
        ok = upload_as(be, mem + offset[i], p->found[i], type, staging, staging16, err);
        if (type != DTYPE_F32) {
            s->linear->w = NULL;
            s->linear->w16 = (const uint16_t *)(mem + offset[i]);
            s->linear->w16_type = type;
        } else if (s->dst) {
            *s->dst = (const float *)(mem + offset[i]);
        }
    }
    free(staging);
    free(staging16);
    free(offset);
    if (!ok) {   // an I/O error: the plan has checked the dtype
        be->free(be, mem);
        return NULL;
    }
    *floats = (bytes + 3) / 4;
    return (float *)mem;
}

bool weights_read_into(Backend *be, float *dst, const StTensor *t, LpoiErr *err) {
    float *h = malloc_check((size_t)(t->numel ? t->numel : 1) * sizeof *h);
    bool ok = st_read_f32(t, h, err);
    if (ok) be->upload(be, dst, h, (size_t)t->numel * sizeof *h);
    free(h);
    return ok;
}
