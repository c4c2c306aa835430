// golden.c — loading a golden case, guarded device buffers, comparison and reporting.
// See golden.h for the file format and the invariants enforced here. The per-op runners live in
// golden_ops.c; this file knows nothing about any op.
#include "check/golden.h"
#include "base/check.h"
#include <math.h>
#include <string.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

// Guard regions: GR_GUARD 4-byte elements before and after every buffer, filled with a sentinel
// bit pattern (a finite, absurd float: an op that reads it gets garbage, one that writes it is
// caught bit-exactly). 256 bytes keeps the data 64-byte aligned like the backend's alloc.
#define GR_GUARD 64
#define GR_SENTINEL 0xDEADBEEFu      // as float: -6.3e18
#define GR_POISON   0x7FC0BAD0u      // a quiet NaN: outputs the op never writes stay NaN
#define GR_MAX_NUMEL ((size_t)1 << 28)

typedef enum { BUF_IN, BUF_INT, BUF_INOUT, BUF_OUT, BUF_ZERO } BufKind;

typedef struct {
    char name[96];
    BufKind kind;
    unsigned char *base;     // device allocation: [guard | data | guard]
    size_t n;                // data elements (all 4 bytes: float or int32)
    uint32_t *host_init;     // BUF_IN / BUF_INT: what was uploaded (checked unchanged at the end)
    bool guard_reported;
} GrBuf;

struct GoldenRun {
    GoldenCase *gc;
    Backend *be;
    const char *runner_kind;
    bool verbose;
    FILE *detail;            // per-tensor lines (printed after the case's summary line)
    bool errored, skipped;
    char reason[512];
    GrBuf *bufs;
    size_t nbufs, capbufs;
    bool *used;              // per tensor of gc->st: consumed by the runner
    int checked, failed;
    double worst_share;
    char worst_name[96];
    char failed_names[256];
};

const char *golden_status_name(GoldenStatus s) {
    switch (s) {
    case GOLDEN_PASS: return "PASS";
    case GOLDEN_FAIL: return "FAIL";
    case GOLDEN_SKIP: return "SKIP";
    case GOLDEN_ERROR: return "ERROR";
    }
    return "?";
}

// ---------------------------------------------------------------------------------------------
// case metadata

static bool parse_tol(const char *s, double *out) {
    if (!s || !*s) return false;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || v < 0) return false;
    *out = v;
    return true;
}

bool golden_case_open(GoldenCase *gc, const char *path, LpoiErr *err) {
    memset(gc, 0, sizeof *gc);
    gc->path = path;
    if (!st_open(&gc->st, path, err)) return false;   // err is "<path>: <reason>"
    gc->kind = st_meta(&gc->st, "kind");
    if (!gc->kind) {
        err_set(err, "%s: no \"kind\" in __metadata__ (not a golden case?)", path);
        goto fail;
    }
    gc->config_text = st_meta(&gc->st, "config");
    if (!gc->config_text) {
        err_set(err, "%s: no \"config\" in __metadata__", path);
        goto fail;
    }
    LpoiErr jerr = {{0}};
    gc->config_doc = json_parse(gc->config_text, strlen(gc->config_text), &jerr);
    if (!gc->config_doc) {
        err_set(err, "%s: metadata \"config\" is not valid JSON: %s", path, jerr.msg);
        goto fail;
    }
    gc->config = json_root(gc->config_doc);
    if (!gc->config || gc->config->type != JSON_OBJECT) {
        err_set(err, "%s: metadata \"config\" must be a JSON object", path);
        goto fail;
    }
    const char *a = st_meta(&gc->st, "atol"), *r = st_meta(&gc->st, "rtol");
    if (!a || !parse_tol(a, &gc->atol)) {
        err_set(err, "%s: metadata \"atol\" %s (expected a number >= 0)", path, a ? "is not a valid number" : "is missing");
        goto fail;
    }
    if (!r || !parse_tol(r, &gc->rtol)) {
        err_set(err, "%s: metadata \"rtol\" %s (expected a number >= 0)", path, r ? "is not a valid number" : "is missing");
        goto fail;
    }
    if (gc->atol == 0 && gc->rtol == 0) {
        err_set(err, "%s: atol and rtol are both 0 (no tolerance for fp32 rounding)", path);
        goto fail;
    }
    return true;
fail:
    golden_case_close(gc);
    return false;
}

void golden_case_close(GoldenCase *gc) {
    if (gc->config_doc) json_free(gc->config_doc);
    st_close(&gc->st);
    memset(gc, 0, sizeof *gc);
}

bool golden_case_tol(const GoldenCase *gc, const char *name, double *atol, double *rtol, LpoiErr *err) {
    char key[160];
    *atol = gc->atol;
    *rtol = gc->rtol;
    snprintf(key, sizeof key, "atol.%s", name);
    const char *s = st_meta(&gc->st, key);
    if (s && !parse_tol(s, atol)) return err_set(err, "metadata \"%s\" = \"%s\" is not a number >= 0", key, s);
    snprintf(key, sizeof key, "rtol.%s", name);
    s = st_meta(&gc->st, key);
    if (s && !parse_tol(s, rtol)) return err_set(err, "metadata \"%s\" = \"%s\" is not a number >= 0", key, s);
    if (*atol == 0 && *rtol == 0) return err_set(err, "tolerance for '%s' is 0 (atol and rtol)", name);
    return true;
}

// ---------------------------------------------------------------------------------------------
// comparison

GoldenCmp golden_compare(const float *got, const float *want, size_t n, double factor, double atol, double rtol) {
    GoldenCmp c = {0};
    c.n = n;
    double worst_excess = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double w = (double)want[i] * factor, g = got[i];
        double err, share, tol = atol * fabs(factor) + rtol * fabs(w);
        if (isinf(w) || isnan(w)) {
            // ±inf must match exactly (e.g. the lse of a row with no visible key); an expected NaN
            // is a broken case and never passes.
            bool same = isinf(w) && g == w;
            err = same ? 0 : INFINITY;
            share = same ? 0 : INFINITY;
        } else {
            err = fabs(g - w);
            if (isnan(err)) err = INFINITY;
            share = tol > 0 ? err / tol : (err > 0 ? INFINITY : 0);
            if (w != 0 && err / fabs(w) > c.max_rel) c.max_rel = err / fabs(w);
        }
        if (err > c.max_abs) c.max_abs = err;
        if (share > c.share) c.share = share;
        bool ok = share <= 1.0;
        if (!ok) c.bad++;
        if (share > worst_excess) { worst_excess = share; c.worst = i; }
    }
    if (n) { c.got_worst = got[c.worst]; c.want_worst = (float)(want[c.worst] * factor); }
    return c;
}

// ---------------------------------------------------------------------------------------------
// run state

Backend *gr_backend(GoldenRun *r) { return r->be; }
const GoldenCase *gr_case(GoldenRun *r) { return r->gc; }
bool gr_ready(GoldenRun *r) { return !r->errored && !r->skipped; }

bool gr_error(GoldenRun *r, const char *fmt, ...) {
    if (r->errored || r->skipped) return false;   // the first reason wins
    r->errored = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    return false;
}

bool gr_need(GoldenRun *r, OpId op) {
    if (!gr_ready(r)) return false;
    if (backend_supports(r->be, op)) return true;
    r->skipped = true;
    snprintf(r->reason, sizeof r->reason, "skipped (op not implemented on %s: %s)", r->be->name, op_name(op));
    return false;
}

static const JsonValue *cfg_get(GoldenRun *r, const char *key, bool required) {
    const JsonValue *v = json_get(r->gc->config, key);
    if (!v && required) gr_error(r, "config: missing field \"%s\"", key);
    return v;
}

static int cfg_int(GoldenRun *r, const char *key, int64_t lo, int64_t hi, bool required, int64_t def) {
    if (!gr_ready(r)) return 0;
    const JsonValue *v = cfg_get(r, key, required);
    if (!v) return (int)def;
    int64_t x;
    if (!json_as_i64(v, &x)) { gr_error(r, "config: \"%s\" must be an integer", key); return 0; }
    if (x < lo || x > hi) {
        gr_error(r, "config: \"%s\" = %lld is out of range [%lld, %lld]", key, (long long)x, (long long)lo, (long long)hi);
        return 0;
    }
    return (int)x;
}

int gr_cfg_int(GoldenRun *r, const char *key, int64_t lo, int64_t hi) { return cfg_int(r, key, lo, hi, true, 0); }
int gr_cfg_int_or(GoldenRun *r, const char *key, int64_t lo, int64_t hi, int64_t def) {
    return cfg_int(r, key, lo, hi, false, def);
}

static double cfg_num(GoldenRun *r, const char *key, bool required, double def) {
    if (!gr_ready(r)) return 0;
    const JsonValue *v = cfg_get(r, key, required);
    if (!v) return def;
    if (v->type != JSON_NUMBER || !isfinite(v->number)) { gr_error(r, "config: \"%s\" must be a finite number", key); return 0; }
    return v->number;
}
double gr_cfg_num(GoldenRun *r, const char *key) { return cfg_num(r, key, true, 0); }
double gr_cfg_num_or(GoldenRun *r, const char *key, double def) { return cfg_num(r, key, false, def); }

bool gr_cfg_bool_or(GoldenRun *r, const char *key, bool def) {
    if (!gr_ready(r)) return def;
    const JsonValue *v = cfg_get(r, key, false);
    if (!v) return def;
    if (v->type != JSON_BOOL) { gr_error(r, "config: \"%s\" must be true or false", key); return def; }
    return v->boolean;
}

const char *gr_cfg_str(GoldenRun *r, const char *key) {
    if (!gr_ready(r)) return NULL;
    const JsonValue *v = cfg_get(r, key, true);
    if (!v) return NULL;
    if (v->type != JSON_STRING) { gr_error(r, "config: \"%s\" must be a string", key); return NULL; }
    return v->str;
}

bool gr_has(GoldenRun *r, const char *name) { return st_find(&r->gc->st, name) != NULL; }

size_t gr_numel(GoldenRun *r, const int64_t *dims, int ndim) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0 || !size_mul_ok(n, (size_t)dims[i], &n) || n > GR_MAX_NUMEL) {
            gr_error(r, "config: tensor size too large (over %zu elements)", GR_MAX_NUMEL);
            return 0;
        }
    }
    return n;
}

static void fmt_shape(char *buf, size_t cap, const int64_t *dims, int ndim) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

// Finds a tensor, checks its shape, marks it used. NULL + error when absent or misshapen.
static const StTensor *find_tensor(GoldenRun *r, const char *name, const int64_t *dims, int ndim) {
    if (!gr_ready(r)) return NULL;
    const StTensor *t = st_find(&r->gc->st, name);
    if (!t) { gr_error(r, "missing tensor '%s'", name); return NULL; }
    r->used[t - r->gc->st.tensors] = true;
    bool same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = (int64_t)t->shape[i] == dims[i];
    if (!same) {
        int64_t have[ST_MAX_DIMS];
        for (int i = 0; i < t->ndim; i++) have[i] = (int64_t)t->shape[i];
        char a[128], b[128];
        fmt_shape(a, sizeof a, have, t->ndim);
        fmt_shape(b, sizeof b, dims, ndim);
        gr_error(r, "tensor '%s' has shape %s, expected %s from the config", name, a, b);
        return NULL;
    }
    return t;
}

static GrBuf *buf_new(GoldenRun *r, const char *name, BufKind kind, size_t n) {
    if (r->nbufs == r->capbufs) {
        r->capbufs = r->capbufs ? 2 * r->capbufs : 16;
        r->bufs = realloc_check(r->bufs, r->capbufs * sizeof *r->bufs);
    }
    GrBuf *b = &r->bufs[r->nbufs++];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->kind = kind;
    b->n = n;
    b->base = r->be->alloc(r->be, (n + 2 * GR_GUARD) * 4);
    return b;
}

static void *buf_data(const GrBuf *b) { return b->base + GR_GUARD * 4; }

// Uploads [guard | data | guard]; data == NULL fills the data part with `fill`.
static void buf_upload(GoldenRun *r, GrBuf *b, const void *data, uint32_t fill) {
    size_t total = b->n + 2 * GR_GUARD;
    uint32_t *h = malloc_check(total * 4);
    for (size_t i = 0; i < GR_GUARD; i++) h[i] = h[GR_GUARD + b->n + i] = GR_SENTINEL;
    if (data) memcpy(h + GR_GUARD, data, b->n * 4);
    else for (size_t i = 0; i < b->n; i++) h[GR_GUARD + i] = fill;
    r->be->upload(r->be, b->base, h, total * 4);
    free(h);
}

// Downloads the whole region; returns it (caller frees). *guard_bad: elements before/after clobbered.
static uint32_t *buf_download(GoldenRun *r, const GrBuf *b, size_t *before, size_t *after, long *first) {
    size_t total = b->n + 2 * GR_GUARD;
    uint32_t *h = malloc_check(total * 4);
    r->be->synchronize(r->be);
    r->be->download(r->be, h, b->base, total * 4);
    *before = *after = 0;
    *first = 0;
    for (size_t i = 0; i < GR_GUARD; i++) {
        if (h[i] != GR_SENTINEL) { if (!*before) *first = -(long)(GR_GUARD - i); (*before)++; }
    }
    for (size_t i = 0; i < GR_GUARD; i++) {
        if (h[GR_GUARD + b->n + i] != GR_SENTINEL) { if (!*before && !*after) *first = (long)i; (*after)++; }
    }
    return h;
}

static void note_check(GoldenRun *r, const char *name, double share, bool ok) {
    r->checked++;
    if (!ok) {
        r->failed++;
        size_t k = strlen(r->failed_names);
        if (k + strlen(name) + 3 < sizeof r->failed_names)
            snprintf(r->failed_names + k, sizeof r->failed_names - k, "%s%s", k ? ", " : "", name);
    }
    if (share > r->worst_share || r->checked == 1) {
        r->worst_share = share;
        snprintf(r->worst_name, sizeof r->worst_name, "%s", name);
    }
}

static bool check_guards(GoldenRun *r, GrBuf *b, size_t before, size_t after, long first) {
    if (!before && !after) return true;
    if (!b->guard_reported) {
        b->guard_reported = true;
        fprintf(r->detail, "    FAIL  %-14s out-of-bounds write: %zu element(s) before the start, %zu after the end "
                           "(first at %s%ld)\n", b->name, before, after, first < 0 ? "start" : "end+", first);
        char label[128];
        snprintf(label, sizeof label, "%s (guard)", b->name);
        note_check(r, label, INFINITY, false);
    }
    return false;
}

static GrBuf *buf_of(GoldenRun *r, const void *dev) {
    for (size_t i = 0; i < r->nbufs; i++)
        if (buf_data(&r->bufs[i]) == dev) return &r->bufs[i];
    return NULL;
}

// Finds tensor `name` with shape dims and reads it as fp32 (caller frees); with atol, also its
// tolerance. NULL + error when absent, misshapen or unreadable.
static float *read_f32(GoldenRun *r, const char *name, const int64_t *dims, int ndim, size_t *n,
                       double *atol, double *rtol) {
    const StTensor *t = find_tensor(r, name, dims, ndim);
    if (!t) return NULL;
    *n = gr_numel(r, dims, ndim);
    if (!gr_ready(r)) return NULL;
    LpoiErr err = {{0}};
    if (atol && !golden_case_tol(r->gc, name, atol, rtol, &err)) { gr_error(r, "%s", err.msg); return NULL; }
    float *h = malloc_check(*n * 4 + 4);
    if (!st_read_f32(t, h, &err)) { free(h); gr_error(r, "tensor '%s': %s", name, err.msg); return NULL; }
    return h;
}

const float *gr_in(GoldenRun *r, const char *name, const int64_t *dims, int ndim) {
    size_t n;
    float *h = read_f32(r, name, dims, ndim, &n, NULL, NULL);
    if (!h) return NULL;
    GrBuf *b = buf_new(r, name, BUF_IN, n);
    buf_upload(r, b, h, 0);
    b->host_init = (uint32_t *)h;
    return buf_data(b);
}

float *gr_inout(GoldenRun *r, const char *name, const int64_t *dims, int ndim) {
    size_t n;
    float *h = read_f32(r, name, dims, ndim, &n, NULL, NULL);
    if (!h) return NULL;
    char label[128];
    snprintf(label, sizeof label, "%s (in place)", name);
    GrBuf *b = buf_new(r, label, BUF_INOUT, n);
    buf_upload(r, b, h, 0);
    free(h);
    return buf_data(b);
}

// Reads element i of an integer tensor (any alignment). false if the dtype is not an integer.
static bool int_at(const StTensor *t, size_t i, int64_t *v) {
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case DTYPE_I64: { int64_t x; memcpy(&x, p + 8 * i, 8); *v = x; return true; }
    case DTYPE_I32: { int32_t x; memcpy(&x, p + 4 * i, 4); *v = x; return true; }
    case DTYPE_I16: { int16_t x; memcpy(&x, p + 2 * i, 2); *v = x; return true; }
    case DTYPE_I8:  { *v = (int8_t)p[i]; return true; }
    case DTYPE_U8:  { *v = p[i]; return true; }
    case DTYPE_U16: { uint16_t x; memcpy(&x, p + 2 * i, 2); *v = x; return true; }
    case DTYPE_U32: { uint32_t x; memcpy(&x, p + 4 * i, 4); *v = x; return true; }
    case DTYPE_U64: { uint64_t x; memcpy(&x, p + 8 * i, 8); *v = x > INT64_MAX ? INT64_MAX : (int64_t)x; return true; }
    default: return false;
    }
}

const int32_t *gr_in_int(GoldenRun *r, const char *name, const int64_t *dims, int ndim, int64_t lo, int64_t hi) {
    const StTensor *t = find_tensor(r, name, dims, ndim);
    if (!t) return NULL;
    size_t n = gr_numel(r, dims, ndim);
    if (!gr_ready(r)) return NULL;
    if (lo < INT32_MIN) lo = INT32_MIN;
    if (hi > INT32_MAX) hi = INT32_MAX;
    int32_t *h = malloc_check(n * 4);
    for (size_t i = 0; i < n; i++) {
        int64_t v;
        if (!int_at(t, i, &v)) {
            free(h);
            gr_error(r, "tensor '%s' has dtype %s, expected an integer type (I64/I32)", name, dtype_name(t->dtype));
            return NULL;
        }
        if (v < lo || v > hi) {
            free(h);
            gr_error(r, "tensor '%s'[%zu] = %lld is out of range [%lld, %lld]", name, i, (long long)v, (long long)lo, (long long)hi);
            return NULL;
        }
        h[i] = (int32_t)v;
    }
    GrBuf *b = buf_new(r, name, BUF_INT, n);
    buf_upload(r, b, h, 0);
    b->host_init = (uint32_t *)h;
    return buf_data(b);
}

float *gr_out(GoldenRun *r, const char *what, size_t n) {
    if (!gr_ready(r)) return NULL;
    if (n > GR_MAX_NUMEL) { gr_error(r, "buffer '%s' too large", what); return NULL; }
    GrBuf *b = buf_new(r, what, BUF_OUT, n);
    buf_upload(r, b, NULL, GR_POISON);
    return buf_data(b);
}

float *gr_zeros(GoldenRun *r, const char *what, size_t n) {
    if (!gr_ready(r)) return NULL;
    if (n > GR_MAX_NUMEL) { gr_error(r, "buffer '%s' too large", what); return NULL; }
    GrBuf *b = buf_new(r, what, BUF_ZERO, n);
    buf_upload(r, b, NULL, 0);
    return buf_data(b);
}

// Formats flat index i as a multi-index over dims.
static void fmt_index(char *buf, size_t cap, size_t i, const int64_t *dims, int ndim) {
    int64_t idx[ST_MAX_DIMS] = {0};
    for (int d = ndim - 1; d >= 0; d--) {
        if (dims[d] > 0) { idx[d] = (int64_t)(i % (size_t)dims[d]); i /= (size_t)dims[d]; }
    }
    fmt_shape(buf, cap, idx, ndim > 0 ? ndim : 0);
}

static void report(GoldenRun *r, const char *name, const char *label, const int64_t *dims, int ndim,
                   const GoldenCmp *c) {
    bool ok = c->bad == 0;
    char full[128], shape[96];
    snprintf(full, sizeof full, "%s%s%s", name, label ? " " : "", label ? label : "");
    fmt_shape(shape, sizeof shape, dims, ndim);
    note_check(r, full, c->share, ok);
    if (ok && !r->verbose) return;
    fprintf(r->detail, "    %-4s  %-14s %-14s max_abs %.3g  max_rel %.3g  tol used %.3g%%", ok ? "ok" : "FAIL", name, shape,
            c->max_abs, c->max_rel, c->share * 100);
    if (!ok) {
        char idx[96];
        fmt_index(idx, sizeof idx, c->worst, dims, ndim);
        fprintf(r->detail, "  (%zu of %zu bad; worst %s: got %.9g, want %.9g)", c->bad, c->n, idx,
                (double)c->got_worst, (double)c->want_worst);
    }
    if (label) fprintf(r->detail, "  %s", label);
    fputc('\n', r->detail);
}

void gr_expect(GoldenRun *r, const float *dev, const char *name, const int64_t *dims, int ndim,
               double factor, const char *label) {
    if (!gr_ready(r)) return;
    GrBuf *b = buf_of(r, dev);
    LPOI_ASSERT(b != NULL);   // runners only pass buffers from gr_out/gr_zeros/gr_inout
    size_t n;
    double atol, rtol;
    float *want = read_f32(r, name, dims, ndim, &n, &atol, &rtol);
    if (!want) return;
    if (n != b->n) { free(want); gr_error(r, "runner bug: '%s' compared over %zu elements, buffer has %zu", name, n, b->n); return; }
    size_t before, after;
    long first;
    uint32_t *h = buf_download(r, b, &before, &after, &first);
    check_guards(r, b, before, after, first);
    GoldenCmp c = golden_compare((const float *)(h + GR_GUARD), want, n, factor, atol, rtol);
    report(r, name, label, dims, ndim, &c);
    free(h);
    free(want);
}

void gr_expect_host(GoldenRun *r, const float *host, const char *name, const int64_t *dims, int ndim) {
    if (!gr_ready(r)) return;
    size_t n;
    double atol, rtol;
    float *want = read_f32(r, name, dims, ndim, &n, &atol, &rtol);
    if (!want) return;
    GoldenCmp c = golden_compare(host, want, n, 1.0, atol, rtol);
    report(r, name, NULL, dims, ndim, &c);
    free(want);
}

void gr_expect_opt(GoldenRun *r, const float *dev, const char *name, const int64_t *dims, int ndim) {
    if (!gr_ready(r)) return;
    if (gr_has(r, name)) { gr_expect(r, dev, name, dims, ndim, 1.0, NULL); return; }
    GrBuf *b = buf_of(r, dev);
    LPOI_ASSERT(b != NULL);
    size_t before, after;
    long first;
    free(buf_download(r, b, &before, &after, &first));
    check_guards(r, b, before, after, first);
}

void gr_expect_dev(GoldenRun *r, const float *dev, const char *name, const int64_t *dims, int ndim, double divisor) {
    if (!gr_ready(r)) return;
    size_t n = gr_numel(r, dims, ndim);
    float *h = gr_download(r, dev, n * sizeof *h);
    if (!h) return;
    if (divisor != 1)
        for (size_t i = 0; i < n; i++) h[i] = (float)(h[i] / divisor);
    gr_expect_host(r, h, name, dims, ndim);
    free(h);
}

void *gr_download(GoldenRun *r, const void *dev, size_t bytes) {
    if (!dev || !gr_ready(r)) return NULL;
    void *h = malloc_check(bytes ? bytes : 1);
    r->be->synchronize(r->be);
    r->be->download(r->be, h, dev, bytes);
    return h;
}

float *gr_in_host(GoldenRun *r, const char *name, const int64_t *dims, int ndim) {
    const float *dev = gr_in(r, name, dims, ndim);
    return gr_download(r, dev, gr_numel(r, dims, ndim) * sizeof(float));
}

int32_t *gr_in_int_host(GoldenRun *r, const char *name, const int64_t *dims, int ndim, int64_t lo, int64_t hi) {
    const int32_t *dev = gr_in_int(r, name, dims, ndim, lo, hi);
    return gr_download(r, dev, gr_numel(r, dims, ndim) * sizeof(int32_t));
}

// After the runner: every guard intact, every read-only input unchanged, every tensor consumed.
static void final_checks(GoldenRun *r) {
    for (size_t i = 0; i < r->nbufs; i++) {
        GrBuf *b = &r->bufs[i];
        size_t before, after;
        long first;
        uint32_t *h = buf_download(r, b, &before, &after, &first);
        check_guards(r, b, before, after, first);
        if (b->host_init) {
            size_t changed = 0, at = 0;
            for (size_t k = 0; k < b->n; k++)
                if (h[GR_GUARD + k] != b->host_init[k]) { if (!changed) at = k; changed++; }
            if (changed) {
                fprintf(r->detail, "    FAIL  %-14s read-only input modified by the op: %zu element(s), first at flat index %zu\n",
                        b->name, changed, at);
                char label[128];
                snprintf(label, sizeof label, "%s (unchanged)", b->name);
                note_check(r, label, INFINITY, false);
            }
        }
        free(h);
    }
    for (size_t i = 0; i < r->gc->st.count && gr_ready(r); i++) {
        if (r->used[i]) continue;
        gr_error(r, "tensor '%s' is not used by the %s runner (misnamed, or not valid with this config?)",
                 r->gc->st.tensors[i].name, r->runner_kind);
    }
}

static void free_bufs(GoldenRun *r) {
    for (size_t i = 0; i < r->nbufs; i++) {
        r->be->free(r->be, r->bufs[i].base);
        free(r->bufs[i].host_init);
    }
    free(r->bufs);
    r->bufs = NULL;
    r->nbufs = r->capbufs = 0;
}

// snprintf that may truncate on purpose (long paths): one line of text, no warning.
static void set_text(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_text(char *dst, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void known_kinds(char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < golden_runner_count() && k + 1 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? " " : "", golden_runner_at(i)->kind);
}

GoldenResult golden_run_file(const char *path, Backend *be, const GoldenOptions *opt) {
    GoldenResult res = {0};
    FILE *out = opt && opt->out ? opt->out : stdout;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    GoldenCase gc;
    LpoiErr err = {{0}};
    if (!golden_case_open(&gc, path, &err)) {
        res.status = GOLDEN_ERROR;
        set_text(res.reason, sizeof res.reason, "%s", err.msg);
        fprintf(out, "ERROR %s\n", err.msg);
        return res;
    }
    const GoldenRunner *runner = golden_runner_find(gc.kind);
    if (!runner) {
        char kinds[1024];
        known_kinds(kinds, sizeof kinds);
        res.status = GOLDEN_ERROR;
        set_text(res.reason, sizeof res.reason, "%s: unknown kind \"%s\" (this lpoi knows: %s)", path, gc.kind, kinds);
        fprintf(out, "ERROR %s\n", res.reason);
        golden_case_close(&gc);
        return res;
    }

    GoldenRun r = {0};
    r.gc = &gc;
    r.be = be;
    r.runner_kind = runner->kind;
    r.verbose = opt && opt->verbose;
    char *detail_text = NULL;
    size_t detail_len = 0;
    r.detail = open_memstream(&detail_text, &detail_len);
    if (!r.detail) LPOI_DIE("open_memstream failed");
    r.used = calloc_check(gc.st.count ? gc.st.count : 1, sizeof *r.used);

    for (size_t i = 0; i < runner->n_needs; i++) gr_need(&r, runner->needs[i]);
    if (gr_ready(&r)) runner->run(&r);
    if (!r.skipped && r.nbufs) final_checks(&r);   // guards and inputs even after an error
    if (!r.skipped && !r.errored && r.checked == 0) gr_error(&r, "the runner compared nothing");
    free_bufs(&r);
    fclose(r.detail);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    res.ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    res.checked = r.checked;
    res.failed = r.failed;
    res.worst_share = r.worst_share;
    snprintf(res.worst_name, sizeof res.worst_name, "%s", r.worst_name);
    const char *name = base_name(path);
    if (r.errored) {
        res.status = GOLDEN_ERROR;
        set_text(res.reason, sizeof res.reason, "%s: %s", path, r.reason);
        fprintf(out, "ERROR %s (%s): %s\n", path, gc.kind, r.reason);
    } else if (r.skipped) {
        res.status = GOLDEN_SKIP;
        set_text(res.reason, sizeof res.reason, "%s", r.reason);
        fprintf(out, "SKIP  %-36s %-14s %s\n", name, gc.kind, r.reason);
    } else if (r.failed) {
        res.status = GOLDEN_FAIL;
        set_text(res.reason, sizeof res.reason, "%d of %d checks out of tolerance: %s", r.failed, r.checked, r.failed_names);
        fprintf(out, "FAIL  %-36s %-14s %s  (%s)\n", name, gc.kind, res.reason, path);
    } else {
        res.status = GOLDEN_PASS;
        fprintf(out, "PASS  %-36s %-14s %2d check%s, worst %5.1f%% of tol (%s)  %.1f ms\n", name, gc.kind, r.checked,
                r.checked == 1 ? " " : "s", r.worst_share * 100, r.worst_name, res.ms);
    }
    if (r.verbose && res.status != GOLDEN_SKIP) fprintf(out, "      config %s\n", gc.config_text);
    if (detail_len) fputs(detail_text, out);
    free(detail_text);
    free(r.used);
    golden_case_close(&gc);
    return res;
}

static void consume_prefix(GoldenRun *r, const char *prefix) {
    const StFile *st = &gr_case(r)->st;
    for (size_t i = 0; i < st->count && gr_ready(r); i++) {
        const StTensor *t = &st->tensors[i];
        if (strncmp(t->name, prefix, strlen(prefix))) continue;
        int64_t dims[ST_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++) dims[d] = (int64_t)t->shape[d];
        gr_in(r, t->name, dims, t->ndim);
    }
}

void gr_consume_weights(GoldenRun *r) {
    consume_prefix(r, "param.");
    consume_prefix(r, "lora.");
}

void gr_expect_lora_grad(GoldenRun *r, const char *peft_name, const float *grad, const int64_t shape[2], int passes) {
    char name[300];
    snprintf(name, sizeof name, "grad.%s", peft_name);
    gr_expect_dev(r, grad, name, shape, 2, passes);
}

bool gr_text_batch(GoldenRun *r, int V, bool ids, GrTextBatch *b) {
    memset(b, 0, sizeof *b);
    const StTensor *mt = st_find(&gr_case(r)->st, "in.attention_mask");
    if (!mt || mt->ndim != 2 || mt->shape[0] < 1 || mt->shape[1] < 1 || mt->shape[0] * mt->shape[1] > (1u << 20))
        return gr_error(r, "in.attention_mask must be [B,T]");
    int B = b->B = (int)mt->shape[0], T = b->T = (int)mt->shape[1];
    b->mask = gr_in_int_host(r, "in.attention_mask", GR_SHAPE(B, T), 0, 1);
    b->labels = gr_in_int_host(r, "in.labels", GR_SHAPE(B, T), -100, (int64_t)V - 1);
    b->ids = ids ? gr_in_int_host(r, "in.input_ids", GR_SHAPE(B, T), 0, (int64_t)V - 1) : NULL;
    b->logp = malloc_check((size_t)B * sizeof *b->logp);
    return true;
}

void gr_text_batch_free(GrTextBatch *b) {
    free(b->mask);
    free(b->labels);
    free(b->ids);
    free(b->logp);
    memset(b, 0, sizeof *b);
}

bool gr_lora_config(GoldenRun *r, GrLora *lora) {
    const JsonValue *l = json_get(gr_case(r)->config, "lora");
    int64_t rr;
    double a;
    if (!l || !json_get_i64(l, "r", &rr) || rr < 1 || rr > 4096 || !json_get_f64(l, "lora_alpha", &a))
        return gr_error(r, "config: \"lora\" must be {r, lora_alpha, target_modules}");
    const JsonValue *tm = json_get(l, "target_modules");
    char *spec = lora->targets;
    size_t cap = sizeof lora->targets;
    spec[0] = 0;
    if (tm && tm->type == JSON_STRING) {
        snprintf(spec, cap, "%s", tm->str);
    } else if (tm && tm->type == JSON_ARRAY) {
        for (size_t i = 0; i < tm->count; i++) {
            if (tm->items[i]->type != JSON_STRING) return gr_error(r, "config: lora.target_modules must hold strings");
            size_t k = strlen(spec);
            snprintf(spec + k, cap - k, "%s%s", i ? "," : "", tm->items[i]->str);
        }
    } else {
        return gr_error(r, "config: lora.target_modules must be a list or \"all-linear\"");
    }
    lora->rank = (int)rr;
    lora->alpha = (float)a;
    return true;
}
