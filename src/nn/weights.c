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

float *weights_upload(Backend *be, const WeightPlan *p, size_t *floats, LpoiErr *err) {
    size_t total = 0, biggest = 0;
    for (size_t i = 0; i < p->specs.n; i++) {
        total += (size_t)p->found[i]->numel;
        biggest = LPOI_MAX(biggest, (size_t)p->found[i]->numel);
    }
    float *mem = be->alloc(be, (total ? total : 1) * sizeof(float));
    float *host = malloc_check((biggest ? biggest : 1) * sizeof(float));
    size_t off = 0;
    for (size_t i = 0; i < p->specs.n; i++) {
        const StTensor *t = p->found[i];
        if (!st_read_f32(t, host, err)) {   // an I/O error: the plan has checked the dtype
            free(host);
            be->free(be, mem);
            return NULL;
        }
        be->upload(be, mem + off, host, (size_t)t->numel * sizeof(float));
        if (p->specs.v[i].dst) *p->specs.v[i].dst = mem + off;
        off += (size_t)t->numel;
    }
    free(host);
    *floats = total;
    return mem;
}

bool weights_read_into(Backend *be, float *dst, const StTensor *t, LpoiErr *err) {
    float *h = malloc_check((size_t)(t->numel ? t->numel : 1) * sizeof *h);
    bool ok = st_read_f32(t, h, err);
    if (ok) be->upload(be, dst, h, (size_t)t->numel * sizeof *h);
    free(h);
    return ok;
}
