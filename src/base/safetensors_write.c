// safetensors_write.c — the writer, in the reference writer's layout:
// tensors sorted by element size (largest first) then name, "__metadata__" first with
// "format": "pt" (transformers refuses files without it), header padded with spaces to a multiple
// of 8 so every tensor is naturally aligned. The file is streamed to a temp file and renamed over
// the target (atomic_file_*), so a failure at any point leaves an existing file untouched.
// Tensor data is read at write time, not at add time. Problems found while adding (bad dtype,
// too many dims) are remembered and reported by st_writer_write, which is where errors can go.
#include "safetensors.h"
#include "file.h"
#include "strbuf.h"
#include "json.h"
#include "check.h"
#include <string.h>

// A name for a message: escaped (one line) and short. The buffer lives until the end of the block.
#define Q(s) json_quote_short((char[120]){0}, 120, (s), strlen(s))

typedef struct {
    char *name;
    Dtype dtype;
    int ndim;
    uint64_t shape[ST_MAX_DIMS];
    const void *data;
    uint64_t nbytes, begin;   // filled by st_writer_write
} WEntry;

struct StWriter {
    WEntry *entries;
    size_t count, cap;
    char **meta_keys, **meta_vals;   // meta_keys[0] is "format"
    size_t meta_count, meta_cap;
    char problem[400];               // first problem seen by add/meta; empty if none
};

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(malloc_check(n), s, n);
}

StWriter *st_writer_new(void) {
    StWriter *w = calloc_check(1, sizeof *w);
    st_writer_meta(w, "format", "pt");
    return w;
}

void st_writer_free(StWriter *w) {
    if (!w) return;
    for (size_t i = 0; i < w->count; i++) free(w->entries[i].name);
    for (size_t i = 0; i < w->meta_count; i++) { free(w->meta_keys[i]); free(w->meta_vals[i]); }
    free(w->entries);
    free(w->meta_keys);
    free(w->meta_vals);
    free(w);
}

void st_writer_add(StWriter *w, const char *name, Dtype dtype, int ndim, const uint64_t *shape, const void *data) {
    if (!name) name = "";
    if (dtype < 0 || dtype >= DTYPE_COUNT || ndim < 0 || ndim > ST_MAX_DIMS) {
        if (!w->problem[0])
            snprintf(w->problem, sizeof w->problem, "tensor %s: invalid dtype (%d) or number of dimensions (%d)",
                     Q(name), (int)dtype, ndim);
        return;
    }
    if (w->count == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->entries = realloc_check(w->entries, w->cap * sizeof *w->entries);
    }
    WEntry *e = &w->entries[w->count++];
    memset(e, 0, sizeof *e);
    e->name = str_dup(name);
    e->dtype = dtype;
    e->ndim = ndim;
    if (ndim) memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
    e->data = data;
}

void st_writer_add_f32(StWriter *w, const char *name, int ndim, const uint64_t *shape, const float *data) {
    st_writer_add(w, name, DTYPE_F32, ndim, shape, data);
}

void st_writer_meta(StWriter *w, const char *key, const char *value) {
    for (size_t i = 0; i < w->meta_count; i++)
        if (strcmp(w->meta_keys[i], key) == 0) { free(w->meta_vals[i]); w->meta_vals[i] = str_dup(value); return; }
    if (w->meta_count == w->meta_cap) {
        w->meta_cap = w->meta_cap ? 2 * w->meta_cap : 8;
        w->meta_keys = realloc_check(w->meta_keys, w->meta_cap * sizeof *w->meta_keys);
        w->meta_vals = realloc_check(w->meta_vals, w->meta_cap * sizeof *w->meta_vals);
    }
    w->meta_keys[w->meta_count] = str_dup(key);
    w->meta_vals[w->meta_count] = str_dup(value);
    w->meta_count++;
}

static int cmp_layout(const void *a, const void *b) {
    const WEntry *x = *(const WEntry *const *)a, *y = *(const WEntry *const *)b;
    int bx = dtype_bits(x->dtype), by = dtype_bits(y->dtype);
    if (bx != by) return bx > by ? -1 : 1;
    return strcmp(x->name, y->name);
}

static bool valid_string(const char *s, const char *what, LpoiErr *err) {
    if (utf8_valid(s, strlen(s))) return true;
    return err_set(err, "%s %s is not valid UTF-8", what, Q(s));
}

// Checks names and sizes, assigns offsets in layout order, and renders the padded header.
static bool plan_layout(StWriter *w, WEntry **order, StrBuf *header, LpoiErr *err) {
    for (size_t i = 0; i < w->meta_count; i++)
        if (!valid_string(w->meta_keys[i], "metadata key", err) || !valid_string(w->meta_vals[i], "metadata value", err))
            return false;
    for (size_t i = 0; i < w->count; i++) {
        WEntry *e = &w->entries[i];
        order[i] = e;
        if (!valid_string(e->name, "tensor name", err)) return false;
        if (strcmp(e->name, "__metadata__") == 0) return err_set(err, "\"__metadata__\" cannot be a tensor name");
        uint64_t numel = 1, nbits;
        for (int d = 0; d < e->ndim; d++)
            if (!u64_mul_ok(numel, e->shape[d], &numel)) return err_set(err, "tensor %s: shape overflows 64 bits", Q(e->name));
        if (!u64_mul_ok(numel, (uint64_t)dtype_bits(e->dtype), &nbits) || nbits % 8)
            return err_set(err, "tensor %s: size of %s data is not a whole number of bytes below 2^64", Q(e->name),
                           dtype_name(e->dtype));
        e->nbytes = nbits / 8;
        if (e->nbytes && !e->data) return err_set(err, "tensor %s: no data", Q(e->name));
    }
    qsort(order, w->count, sizeof *order, cmp_layout);
    uint64_t offset = 0;
    for (size_t i = 0; i < w->count; i++) {
        order[i]->begin = offset;
        if (!u64_add_ok(offset, order[i]->nbytes, &offset)) return err_set(err, "total tensor data overflows 64 bits");
    }

    strbuf_str(header, "{\"__metadata__\":{");
    for (size_t i = 0; i < w->meta_count; i++) {
        if (i) strbuf_str(header, ",");
        strbuf_json_str(header, w->meta_keys[i]);
        strbuf_str(header, ":");
        strbuf_json_str(header, w->meta_vals[i]);
    }
    strbuf_str(header, "}");
    for (size_t i = 0; i < w->count; i++) {
        const WEntry *e = order[i];
        strbuf_str(header, ",");
        strbuf_json_str(header, e->name);
        strbuf_str(header, ":{\"dtype\":\"");
        strbuf_str(header, dtype_name(e->dtype));
        strbuf_str(header, "\",\"shape\":[");
        for (int d = 0; d < e->ndim; d++) { if (d) strbuf_str(header, ","); strbuf_printf(header, "%llu", (unsigned long long)e->shape[d]); }
        strbuf_str(header, "],\"data_offsets\":[");
        strbuf_printf(header, "%llu", (unsigned long long)e->begin);
        strbuf_str(header, ",");
        strbuf_printf(header, "%llu", (unsigned long long)(e->begin + e->nbytes));
        strbuf_str(header, "]}");
    }
    strbuf_str(header, "}");
    while (header->len % 8) strbuf_str(header, " ");   // 8 + N is then a multiple of 8: tensors aligned
    return true;
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp((*(const WEntry *const *)a)->name, (*(const WEntry *const *)b)->name);
}

bool st_writer_write(StWriter *w, const char *path, LpoiErr *err) {
    if (w->problem[0]) return err_set(err, "%s: %s", path, w->problem);
    WEntry **order = malloc_check(w->count * sizeof *order);
    StrBuf header = {0};
    bool ok = plan_layout(w, order, &header, err);
    if (ok) {   // duplicate names: sort a copy by name alone
        WEntry **by_name = malloc_check(w->count * sizeof *by_name);
        memcpy(by_name, order, w->count * sizeof *by_name);
        qsort(by_name, w->count, sizeof *by_name, cmp_entry_name);
        for (size_t i = 1; i < w->count && ok; i++)
            if (strcmp(by_name[i]->name, by_name[i - 1]->name) == 0)
                ok = err_set(err, "tensor %s added twice", Q(by_name[i]->name));
        free(by_name);
    }
    if (!ok) { err_prefix(err, "%s", path); free(order); free(header.s); return false; }

    AtomicFile f;
    unsigned char len_le[8];
    for (int i = 0; i < 8; i++) len_le[i] = (unsigned char)((uint64_t)header.len >> (8 * i));
    ok = atomic_file_begin(&f, path, err) && atomic_file_write(&f, len_le, 8, err) &&
         atomic_file_write(&f, header.s, header.len, err);
    // Small tensors are staged so a checkpoint of many biases is not one syscall per tensor.
    size_t stage_cap = 1u << 20, staged = 0;
    char *stage = malloc_check(stage_cap);
    for (size_t i = 0; i < w->count && ok; i++) {
        size_t n = (size_t)order[i]->nbytes;
        if (staged + n > stage_cap && staged) { ok = atomic_file_write(&f, stage, staged, err); staged = 0; }
        if (!ok) break;
        if (n >= stage_cap) ok = atomic_file_write(&f, order[i]->data, n, err);
        else if (n) { memcpy(stage + staged, order[i]->data, n); staged += n; }
    }
    if (ok && staged) ok = atomic_file_write(&f, stage, staged, err);
    free(stage);
    if (ok) ok = atomic_file_commit(&f, err);
    free(order);
    free(header.s);
    return ok;
}
