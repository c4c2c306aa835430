// safetensors.c — the reader: map a file, validate all of it, then expose tensors.
// Order of checks follows the reference (SafeTensors::read_metadata + Metadata::validate), plus:
// duplicate names (the JSON parser refuses them), NUL in names, at most ST_MAX_DIMS dims, and
// numbers that must be plain integers in the source text (like serde's usize: no sign,
// fraction or exponent). Nothing is allocated from a file-supplied size before it is checked;
// all sizes are overflow-checked. Errors: one line, "<path>: <reason naming the tensor/field>".
// Sharded checkpoints (StModel) are at the end of this file; the writer is in safetensors_write.c.
#include "safetensors.h"
#include "file.h"
#include "json.h"
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHOW 96   // bytes of a name shown in a message

static const char *type_name(const JsonValue *v) {
    static const char *names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
    return names[v->type];
}

// "what the value is", for messages: a number's own text, otherwise its type.
static const char *describe(const JsonValue *v, char *buf, size_t cap) {
    if (v->type != JSON_NUMBER) return type_name(v);
    snprintf(buf, cap, "%.40s%s", v->str, v->len > 40 ? "..." : "");
    return buf;
}

// A count from the header: a plain decimal integer (digits only) that fits 64 bits.
static bool read_count(const JsonValue *v, uint64_t *out) {
    if (!v || v->type != JSON_NUMBER) return false;
    for (size_t i = 0; i < v->len; i++)
        if (v->str[i] < '0' || v->str[i] > '9') return false;
    return json_as_u64(v, out);
}

static const char *format_shape(char *buf, size_t cap, const uint64_t *shape, int ndim) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%llu", i ? ", " : "", (unsigned long long)shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

// Validates one header entry into t (name not yet set). Messages name the tensor, no path.
static bool parse_tensor(const char *name, size_t name_len, const JsonValue *e, StTensor *t, LpoiErr *err) {
    char q[SHOW + 8], what[64], shape_txt[256];   // message parts, built only when a message needs them
#define Q json_quote_short(q, sizeof q, name, name_len)
#define SHAPE format_shape(shape_txt, sizeof shape_txt, t->shape, t->ndim)
    if (memchr(name, '\0', name_len)) return err_set(err, "tensor %s: name contains a NUL character", Q);
    if (e->type != JSON_OBJECT) return err_set(err, "tensor %s: entry is %s, not an object", Q, type_name(e));

    const JsonValue *dt = json_get(e, "dtype"), *sh = json_get(e, "shape"), *off = json_get(e, "data_offsets");
    if (!dt) return err_set(err, "tensor %s: missing \"dtype\"", Q);
    if (dt->type != JSON_STRING) return err_set(err, "tensor %s: \"dtype\" is %s, not a string", Q, type_name(dt));
    t->dtype = dtype_from_name(dt->str, dt->len);
    if (t->dtype == DTYPE_INVALID) {
        char dq[48];
        return err_set(err, "tensor %s: unknown dtype %s", Q, json_quote_short(dq, sizeof dq, dt->str, dt->len));
    }

    if (!sh) return err_set(err, "tensor %s: missing \"shape\"", Q);
    if (sh->type != JSON_ARRAY) return err_set(err, "tensor %s: \"shape\" is %s, not an array", Q, type_name(sh));
    if (sh->count > ST_MAX_DIMS)
        return err_set(err, "tensor %s: shape has %zu dimensions; lpoi supports at most %d", Q, sh->count, ST_MAX_DIMS);
    t->ndim = (int)sh->count;
    t->numel = 1;
    bool numel_overflow = false;
    for (size_t i = 0; i < sh->count; i++) {
        if (!read_count(sh->items[i], &t->shape[i]))
            return err_set(err, "tensor %s: shape[%zu] is %s, not an integer in [0, 2^64)", Q, i,
                           describe(sh->items[i], what, sizeof what));
        if (!u64_mul_ok(t->numel, t->shape[i], &t->numel)) numel_overflow = true;
    }

    if (!off) return err_set(err, "tensor %s: missing \"data_offsets\"", Q);
    if (off->type != JSON_ARRAY) return err_set(err, "tensor %s: \"data_offsets\" is %s, not an array", Q, type_name(off));
    if (off->count != 2)
        return err_set(err, "tensor %s: \"data_offsets\" has %zu entries, expected 2 ([begin, end])", Q, off->count);
    for (size_t i = 0; i < 2; i++)
        if (!read_count(off->items[i], i ? &t->end : &t->begin))
            return err_set(err, "tensor %s: data_offsets[%zu] is %s, not an integer in [0, 2^64)", Q, i,
                           describe(off->items[i], what, sizeof what));
    if (t->end < t->begin)
        return err_set(err, "tensor %s: data_offsets [%llu, %llu] end before they begin", Q,
                       (unsigned long long)t->begin, (unsigned long long)t->end);

    uint64_t nbits;
    if (numel_overflow || !u64_mul_ok(t->numel, (uint64_t)dtype_bits(t->dtype), &nbits))
        return err_set(err, "tensor %s: shape %s of %s is too large (its size overflows 64 bits)", Q, SHAPE,
                       dtype_name(t->dtype));
    if (nbits % 8)
        return err_set(err, "tensor %s: shape %s of %s is not a whole number of bytes", Q, SHAPE, dtype_name(t->dtype));
    if (t->end - t->begin != nbits / 8)
        return err_set(err, "tensor %s: data_offsets [%llu, %llu] span %llu bytes, but shape %s of %s needs %llu", Q,
                       (unsigned long long)t->begin, (unsigned long long)t->end,
                       (unsigned long long)(t->end - t->begin), SHAPE, dtype_name(t->dtype),
                       (unsigned long long)(nbits / 8));
    return true;
#undef Q
#undef SHAPE
}

static int cmp_by_offset(const void *a, const void *b) {
    const StTensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;   // empty tensors before the one they touch
    return strcmp(x->name, y->name);
}

static int cmp_by_name(const void *a, const void *b) {
    return strcmp((*(const StTensor *const *)a)->name, (*(const StTensor *const *)b)->name);
}

// Everything StFile owns besides path and mapping lives in one block, which f->tensors points to:
// [StTensor x count][StTensor* x count][char* x meta][char* x meta][NUL-terminated strings].
static bool parse_header(StFile *f, const JsonValue *root, const unsigned char *buffer, uint64_t buffer_size, LpoiErr *err) {
    if (root->type != JSON_OBJECT) return err_set(err, "header is %s, not a JSON object", type_name(root));
    const JsonValue *meta = NULL;
    size_t ntensors = 0, strings = 0;   // strings: bytes of all names, keys and values with NULs
    for (size_t i = 0; i < root->count; i++) {
        if (root->key_lens[i] == 12 && memcmp(root->keys[i], "__metadata__", 12) == 0) { meta = root->items[i]; continue; }
        ntensors++;
        strings += root->key_lens[i] + 1;   // bounded by the header size: cannot overflow
    }
    if (meta) {
        if (meta->type != JSON_OBJECT) return err_set(err, "__metadata__ is %s, not an object of strings", type_name(meta));
        for (size_t i = 0; i < meta->count; i++) {
            char kq[SHOW + 8];
            json_quote_short(kq, sizeof kq, meta->keys[i], meta->key_lens[i]);
            const JsonValue *v = meta->items[i];
            if (v->type != JSON_STRING) return err_set(err, "__metadata__[%s] is %s, not a string", kq, type_name(v));
            if (memchr(meta->keys[i], '\0', meta->key_lens[i]) || memchr(v->str, '\0', v->len))
                return err_set(err, "__metadata__[%s] contains a NUL character", kq);
            strings += meta->key_lens[i] + 1 + v->len + 1;
        }
    }
    size_t nmeta = meta ? meta->count : 0;
    size_t block = ntensors * (sizeof(StTensor) + sizeof(StTensor *)) + 2 * nmeta * sizeof(char *) + strings;
    char *mem = malloc_check(block);
    f->tensors = (StTensor *)mem;
    f->by_name = (const StTensor **)(f->tensors + ntensors);
    f->meta_keys = (char **)(f->by_name + ntensors);
    f->meta_vals = f->meta_keys + nmeta;
    char *str = (char *)(f->meta_vals + nmeta);
    f->meta_count = nmeta;
    for (size_t i = 0; i < nmeta; i++) {
        f->meta_keys[i] = memcpy(str, meta->keys[i], meta->key_lens[i] + 1), str += meta->key_lens[i] + 1;
        f->meta_vals[i] = memcpy(str, meta->items[i]->str, meta->items[i]->len + 1), str += meta->items[i]->len + 1;
    }

    for (size_t i = 0; i < root->count; i++) {
        if (root->items[i] == meta) continue;
        StTensor *t = &f->tensors[f->count];
        memset(t, 0, sizeof *t);
        if (!parse_tensor(root->keys[i], root->key_lens[i], root->items[i], t, err)) return false;
        t->name = memcpy(str, root->keys[i], root->key_lens[i] + 1);
        str += root->key_lens[i] + 1;
        f->count++;
    }

    // Contiguity in offset order: each tensor starts where the previous one ended, from 0,
    // and the last one ends exactly at the end of the file (no holes, overlap or trailing bytes).
    qsort(f->tensors, f->count, sizeof *f->tensors, cmp_by_offset);
    uint64_t prev_end = 0;
    for (size_t i = 0; i < f->count; i++) {
        StTensor *t = &f->tensors[i];
        if (t->begin == prev_end && t->end <= buffer_size) {   // the common case: no message to build
            t->data = buffer + t->begin;
            prev_end = t->end;
            continue;
        }
        char q[SHOW + 8], pq[SHOW + 8];
        json_quote_short(q, sizeof q, t->name, strlen(t->name));
        if (t->begin < prev_end)
            return err_set(err, "tensor %s: data_offsets [%llu, %llu] overlap tensor %s, which ends at %llu", q,
                           (unsigned long long)t->begin, (unsigned long long)t->end,
                           json_quote_short(pq, sizeof pq, f->tensors[i - 1].name, strlen(f->tensors[i - 1].name)),
                           (unsigned long long)prev_end);
        if (t->begin > prev_end)
            return err_set(err, "tensor %s: data_offsets [%llu, %llu] leave a gap of %llu bytes after offset %llu "
                           "(tensor data must be contiguous from offset 0)", q,
                           (unsigned long long)t->begin, (unsigned long long)t->end,
                           (unsigned long long)(t->begin - prev_end), (unsigned long long)prev_end);
        return err_set(err, "tensor %s: data_offsets [%llu, %llu] run past the end of the %llu-byte data buffer "
                       "(file truncated?)", q, (unsigned long long)t->begin, (unsigned long long)t->end,
                       (unsigned long long)buffer_size);
    }
    if (prev_end != buffer_size)
        return err_set(err, "%llu trailing byte%s after the last tensor (data buffer is %llu bytes, tensors cover %llu)",
                       (unsigned long long)(buffer_size - prev_end), buffer_size - prev_end == 1 ? "" : "s",
                       (unsigned long long)buffer_size,
                       (unsigned long long)prev_end);

    for (size_t i = 0; i < f->count; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, f->count, sizeof *f->by_name, cmp_by_name);
    return true;
}

// Validates [buf, buf+size) into f. Messages have no path yet.
static bool parse_file(StFile *f, const unsigned char *buf, size_t size, LpoiErr *err) {
    if (size < 8)
        return err_set(err, "file is %zu bytes, too short for the 8-byte header length%s", size,
                       size ? "" : " (empty file)");
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];   // little-endian, any host
    if (n > ST_MAX_HEADER)
        return err_set(err, "header length %llu exceeds the %llu-byte limit", (unsigned long long)n, ST_MAX_HEADER);
    if (n > size - 8)
        return err_set(err, "header length %llu runs past the end of the file (8 + %llu > %zu bytes)",
                       (unsigned long long)n, (unsigned long long)n, size);
    f->header_len = n;
    const char *header = (const char *)buf + 8;
    size_t bad = utf8_first_invalid(header, (size_t)n);
    if (bad != n) return err_set(err, "header is not valid UTF-8 (byte %zu of the header)", bad);
    LpoiErr jerr = {{0}};
    JsonDoc *doc = json_parse(header, (size_t)n, &jerr);
    if (!doc) return err_set(err, "header JSON: %s", jerr.msg);
    bool ok = parse_header(f, json_root(doc), buf + 8 + n, size - 8 - n, err);
    json_free(doc);
    return ok;
}

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(malloc_check(n), s, n);
}

bool st_open_memory(StFile *f, const void *buf, size_t size, const char *name, LpoiErr *err) {
    memset(f, 0, sizeof *f);
    if (!name) name = "<memory>";
    f->map = (unsigned char *)buf;
    f->map_size = size;
    if (!parse_file(f, buf ? buf : (const void *)"", buf ? size : 0, err)) {
        err_prefix(err, "%s", name);
        st_close(f);
        return false;
    }
    f->path = str_dup(name);
    return true;
}

bool st_open(StFile *f, const char *path, LpoiErr *err) {
    memset(f, 0, sizeof *f);
    // O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file.
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) { int e = errno; close(fd); return err_set(err, "%s: cannot stat: %s", path, strerror(e)); }
    if (S_ISDIR(st.st_mode)) { close(fd); return err_set(err, "%s: is a folder, not a safetensors file", path); }
    if (!S_ISREG(st.st_mode)) { close(fd); return err_set(err, "%s: not a regular file", path); }
    if (st.st_size == 0) { close(fd); return err_set(err, "%s: empty file (0 bytes; a safetensors file starts with an 8-byte header length)", path); }
    if ((uint64_t)st.st_size > SIZE_MAX) { close(fd); return err_set(err, "%s: file too large to map", path); }
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);   // the mapping keeps the file alive
    if (map == MAP_FAILED) return err_set(err, "%s: cannot mmap %zu bytes: %s", path, size, strerror(map_errno));
    f->map = map;
    f->map_size = size;
    f->owns_map = true;
    if (!parse_file(f, map, size, err)) {
        err_prefix(err, "%s", path);
        st_close(f);
        return false;
    }
    f->path = str_dup(path);
    return true;
}

void st_close(StFile *f) {
    if (!f) return;
    if (f->owns_map && f->map) munmap(f->map, f->map_size);
    free(f->tensors);   // the one block: tensors, by_name, metadata and all strings
    free(f->path);
    memset(f, 0, sizeof *f);
}

// Binary search of tensors sorted by name.
static const StTensor *find_by_name(const StTensor *const *by_name, size_t count, const char *name) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(by_name[mid]->name, name);
        if (c == 0) return by_name[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

const StTensor *st_find(const StFile *f, const char *name) { return find_by_name(f->by_name, f->count, name); }

const char *st_meta(const StFile *f, const char *key) {
    for (size_t i = 0; i < f->meta_count; i++)
        if (strcmp(f->meta_keys[i], key) == 0) return f->meta_vals[i];
    return NULL;
}

bool st_read_f32(const StTensor *t, float *dst, LpoiErr *err) {
    char q[SHOW + 8];
    if (!dtype_usable(t->dtype))
        return err_set(err, "tensor %s: dtype %s cannot be converted to F32",
                       json_quote_short(q, sizeof q, t->name, strlen(t->name)), dtype_name(t->dtype));
    if (t->numel > SIZE_MAX / sizeof(float))
        return err_set(err, "tensor %s: too large for this machine", json_quote_short(q, sizeof q, t->name, strlen(t->name)));
    if (file_fault("read"))   // test hook: a read error (an mmap'ed file's I/O error would be SIGBUS)
        return err_set(err, "tensor %s: read failed: %s", json_quote_short(q, sizeof q, t->name, strlen(t->name)),
                       strerror(errno));
    dtype_to_f32(dst, t->data, t->dtype, (size_t)t->numel);
    return true;
}

// ---------------------------------------------------------------------------------------------
// sharded checkpoints: model.safetensors, or model.safetensors.index.json + shards

#define INDEX_NAME "model.safetensors.index.json"
#define SINGLE_NAME "model.safetensors"

static char *path_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return str_dup(".");
    if (slash == path) return str_dup("/");
    size_t n = (size_t)(slash - path);
    char *d = malloc_check(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

static bool is_regular_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// A shard name must be a plain file name in the index's folder: no path, no parent, no NUL.
static bool shard_name_ok(const char *s, size_t len) {
    if (len == 0 || memchr(s, '\0', len) || memchr(s, '/', len) || memchr(s, '\\', len)) return false;
    return !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.');
}

typedef struct { const char *tensor; size_t shard; } MapEntry;   // one weight_map row

static int cmp_map_entry(const void *a, const void *b) {
    return strcmp(((const MapEntry *)a)->tensor, ((const MapEntry *)b)->tensor);
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const MapEntry *map_find(const MapEntry *map, size_t n, const char *name) {
    MapEntry key = {name, 0};
    return bsearch(&key, map, n, sizeof *map, cmp_map_entry);
}

static bool model_open_single(StModel *m, const char *path, LpoiErr *err) {
    m->shards = calloc_check(1, sizeof *m->shards);
    if (!st_open(&m->shards[0], path, err)) { free(m->shards); m->shards = NULL; return false; }
    m->nshards = 1;
    m->count = m->shards[0].count;
    m->by_name = malloc_check(m->count * sizeof *m->by_name);
    memcpy(m->by_name, m->shards[0].by_name, m->count * sizeof *m->by_name);
    return true;
}

// Cross-checks shards against the map: every mapped tensor is in its shard, and every tensor of a
// shard is mapped to that shard (so a tensor in two shards, or in none of the map, is an error).
static bool model_check_shards(StModel *m, const char *index_path, char **shard_names, const MapEntry *map,
                               size_t nmap, LpoiErr *err) {
    char q[SHOW + 8], sq[SHOW + 8];
    m->by_name = malloc_check(nmap * sizeof *m->by_name);
    for (size_t i = 0; i < nmap; i++) {
        const StTensor *t = st_find(&m->shards[map[i].shard], map[i].tensor);
        if (!t) {
            const char *sn = shard_names[map[i].shard];
            return err_set(err, "%s: weight_map puts tensor %s in shard %s, which has no such tensor", index_path,
                           json_quote_short(q, sizeof q, map[i].tensor, strlen(map[i].tensor)),
                           json_quote_short(sq, sizeof sq, sn, strlen(sn)));
        }
        m->by_name[i] = t;   // map is sorted by name, so by_name is too
    }
    m->count = nmap;
    for (size_t s = 0; s < m->nshards; s++) {
        const StFile *f = &m->shards[s];
        for (size_t i = 0; i < f->count; i++) {
            const MapEntry *e = map_find(map, nmap, f->tensors[i].name);
            json_quote_short(q, sizeof q, f->tensors[i].name, strlen(f->tensors[i].name));
            if (!e) return err_set(err, "%s: tensor %s is not in the weight_map of %s", f->path, q, index_path);
            if (e->shard != s)
                return err_set(err, "%s: tensor %s is also in shard %s (duplicate across shards; the weight_map puts it there)",
                               f->path, q, json_quote_short(sq, sizeof sq, shard_names[e->shard], strlen(shard_names[e->shard])));
        }
    }
    return true;
}

static bool model_open_index(StModel *m, const char *index_path, LpoiErr *err) {
    size_t size;
    char *text = file_read_all(index_path, ST_MAX_HEADER, &size, err);
    if (!text) return false;
    LpoiErr jerr = {{0}};
    JsonDoc *doc = json_parse(text, size, &jerr);
    if (!doc) { free(text); return err_set(err, "%s: %s", index_path, jerr.msg); }
    const JsonValue *root = json_root(doc), *wm = json_get(root, "weight_map");
    char **shard_names = NULL;
    MapEntry *map = NULL;
    char *dir = path_dir(index_path);
    bool ok = false;
    char q[SHOW + 8];
    if (root->type != JSON_OBJECT) { err_set(err, "%s: not a JSON object", index_path); goto done; }
    if (!wm || wm->type != JSON_OBJECT) { err_set(err, "%s: no \"weight_map\" object", index_path); goto done; }
    if (wm->count == 0) { err_set(err, "%s: \"weight_map\" is empty", index_path); goto done; }

    // Validate every row, and collect the distinct shard names (sorted).
    shard_names = malloc_check(wm->count * sizeof *shard_names);
    for (size_t i = 0; i < wm->count; i++) {
        const JsonValue *v = wm->items[i];
        json_quote_short(q, sizeof q, wm->keys[i], wm->key_lens[i]);
        if (memchr(wm->keys[i], '\0', wm->key_lens[i])) { err_set(err, "%s: weight_map tensor name %s contains a NUL character", index_path, q); goto done; }
        if (v->type != JSON_STRING) { err_set(err, "%s: weight_map[%s] is %s, not a file name", index_path, q, type_name(v)); goto done; }
        if (!shard_name_ok(v->str, v->len)) {
            char sq[SHOW + 8];
            err_set(err, "%s: weight_map[%s] = %s: a shard must be a plain file name in the same folder", index_path, q,
                    json_quote_short(sq, sizeof sq, v->str, v->len));
            goto done;
        }
        shard_names[i] = v->str;
    }
    qsort(shard_names, wm->count, sizeof *shard_names, cmp_cstr);
    size_t nshards = 0;
    for (size_t i = 0; i < wm->count; i++)
        if (nshards == 0 || strcmp(shard_names[nshards - 1], shard_names[i]) != 0) shard_names[nshards++] = shard_names[i];

    map = malloc_check(wm->count * sizeof *map);
    for (size_t i = 0; i < wm->count; i++) {
        char **found = bsearch(&wm->items[i]->str, shard_names, nshards, sizeof *shard_names, cmp_cstr);
        map[i] = (MapEntry){wm->keys[i], (size_t)(found - shard_names)};
    }
    qsort(map, wm->count, sizeof *map, cmp_map_entry);

    m->shards = calloc_check(nshards, sizeof *m->shards);
    for (size_t s = 0; s < nshards; s++) {
        char *shard_path = file_path_join(dir, shard_names[s]);
        bool opened = st_open(&m->shards[s], shard_path, err);
        free(shard_path);
        if (!opened) goto done;
        m->nshards++;
    }
    ok = model_check_shards(m, index_path, shard_names, map, wm->count, err);
done:
    free(map);
    free(shard_names);
    free(dir);
    json_free(doc);
    free(text);
    return ok;
}

bool st_model_open(StModel *m, const char *path, LpoiErr *err) {
    memset(m, 0, sizeof *m);
    struct stat st;
    if (stat(path, &st) != 0) return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    bool ok;
    if (S_ISDIR(st.st_mode)) {
        // Like transformers: a single model.safetensors wins over an index.
        char *single = file_path_join(path, SINGLE_NAME), *index = file_path_join(path, INDEX_NAME);
        if (is_regular_file(single)) ok = model_open_single(m, single, err);
        else if (is_regular_file(index)) ok = model_open_index(m, index, err);
        else ok = err_set(err, "%s: folder has neither %s nor %s", path, SINGLE_NAME, INDEX_NAME);
        free(single);
        free(index);
    } else {
        size_t n = strlen(path);
        bool is_index = n >= 5 && strcmp(path + n - 5, ".json") == 0;
        ok = is_index ? model_open_index(m, path, err) : model_open_single(m, path, err);
    }
    if (!ok) st_model_close(m);
    return ok;
}

const StTensor *st_model_find(const StModel *m, const char *name) { return find_by_name(m->by_name, m->count, name); }

void st_model_close(StModel *m) {
    if (!m) return;
    for (size_t i = 0; i < m->nshards; i++) st_close(&m->shards[i]);
    free(m->shards);
    free(m->by_name);
    memset(m, 0, sizeof *m);
}
