// dataset.c — reading preference records (JSONL or a JSON array), validating every field, and
// attaching each record's LPOI image list (negatives manifest, boxes, or the released layout).
// Tokens and pixels are in dataset_build.c. See dataset.h for the accepted layouts.
#include "lpoi/dataset.h"
#include "lpoi/record_fields.h"
#include "base/check.h"
#include "base/json.h"
#include "base/file.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA_MAX_FILE_BYTES (4ull << 30)
#define DATA_MAX_RECORDS (1 << 26)
#define DATA_SKIP_REPORT 10

static char *xstrdup(const char *s) {
    char *p = strdup(s);
    if (!p) LPOI_DIE("out of memory");
    return p;
}

static char *join_path(const char *dir, const char *rel) {
    if (rel[0] == '/' || !dir || !*dir) return xstrdup(rel);
    return file_path_join(dir, rel);
}

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(".");
    if (slash == path) return xstrdup("/");
    return strndup(path, (size_t)(slash - path));
}

static void record_free(DataRecord *r) {
    free(r->img_given);
    free(r->img_path);
    free(r->question);
    free(r->chosen);
    free(r->rejected);
    for (int k = 0; k < r->n_list; k++) free(r->list[k]);
    free(r->list);
    memset(r, 0, sizeof *r);
}

static void trim(char *s) {
    size_t n = strlen(s), a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\n' || s[a] == '\t' || s[a] == '\r')) a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
    memmove(s, s + a, n - a);
    s[n - a] = 0;
}

// mDPO layout: "<system> USER: <image>\n{q} ASSISTANT:" → "{q}".
static bool reduce_prompt(char *p, bool *reduced, LpoiErr *err) {
    *reduced = false;
    char *img = strstr(p, "<image>");
    if (!img) return true;
    char *q = img + 7;
    if (*q == '\n') q++;
    if (strstr(q, "<image>")) return err_set(err, "prompt: holds more than one <image>; one image per record");
    memmove(p, q, strlen(q) + 1);
    trim(p);
    size_t n = strlen(p);
    const char *tail = "ASSISTANT:";
    size_t tl = strlen(tail);
    if (n >= tl && !memcmp(p + n - tl, tail, tl)) p[n - tl] = 0;
    trim(p);
    if (!*p) return err_set(err, "prompt: no question after <image>");
    *reduced = true;
    return true;
}

bool data_parse_box(const JsonValue *boxes, BoxFormat f, double corners[4], LpoiErr *err) {
    if (boxes->type != JSON_ARRAY || boxes->count == 0)
        return err_set(err, "boxes: must be a non-empty array of [x0, y0, x1, y1]");
    const JsonValue *b0 = json_at(boxes, 0);
    if (b0->type != JSON_ARRAY || b0->count != 4) return err_set(err, "boxes[0]: must be an array of 4 numbers [x0, y0, x1, y1]");
    double given[4];
    for (int i = 0; i < 4; i++) {
        const JsonValue *v = json_at(b0, (size_t)i);
        if (v->type != JSON_NUMBER) return err_set(err, "boxes[0][%d]: must be a number", i);
        given[i] = v->number;
    }
    return box_to_corners(f, given, corners, err) || err_prefix(err, "boxes[0]");
}

static bool parse_record(const JsonValue *obj, const char *root_dir, BoxFormat box_format, DataRecord *r, LpoiErr *err) {
    if (!obj || obj->type != JSON_OBJECT) return err_set(err, "json: a record must be a JSON object");
    const char *image_field;
    int image_parts;
    if (!record_image(obj, "img_path", &r->img_given, &image_field, err)) return false;
    if (!record_text(obj, "prompt", "user", false, &r->question, &image_parts, err)) return false;
    if (image_parts > 1) return err_set(err, "prompt: %d image parts; lpoi takes one image per record", image_parts);
    if (!record_text(obj, "chosen", "assistant", false, &r->chosen, NULL, err)) return false;
    if (!record_text(obj, "rejected", "assistant", false, &r->rejected, NULL, err)) return false;
    if (!reduce_prompt(r->question, &r->prompt_reduced, err)) return false;
    const JsonValue *boxes = json_get(obj, "boxes");
    if (boxes && boxes->type != JSON_NULL) {
        if (!data_parse_box(boxes, box_format, r->box, err)) return false;
        r->box_normalised = box_format_normalised(box_format);
        r->has_box = true;
    }
    r->img_path = join_path(root_dir, r->img_given);
    return true;
}

static bool file_ok(const char *path, const char *field, LpoiErr *err) {
    struct stat st;
    if (stat(path, &st) != 0) return err_set(err, "%s: %s: %s", field, path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return err_set(err, "%s: %s: not a regular file", field, path);
    if (access(path, R_OK) != 0) return err_set(err, "%s: %s: not readable: %s", field, path, strerror(errno));
    return true;
}

// ---- negatives manifest --------------------------------------------------------------------------
typedef struct {
    int line;              // the data line it was built from
    char *img_path;        // as given
    char **images;         // resolved
    int n;
} ManEntry;

typedef struct {
    ManEntry *e;
    int n;
} Manifest;

static void manifest_free(Manifest *m) {
    for (int i = 0; i < m->n; i++) {
        free(m->e[i].img_path);
        for (int k = 0; k < m->e[i].n; k++) free(m->e[i].images[k]);
        free(m->e[i].images);
    }
    free(m->e);
    memset(m, 0, sizeof *m);
}

static int cmp_man(const void *a, const void *b) {
    const ManEntry *x = a, *y = b;
    return (x->line > y->line) - (x->line < y->line);
}

// The next line of text[*off, size) that holds more than spaces, tabs and CRs (without its '\n');
// *lineno counts every line passed, blank or not. false at the end of the text.
static bool next_line(const char *text, size_t size, size_t *off, int *lineno, const char **line, size_t *len) {
    while (*off < size) {
        const char *l = text + *off, *nl = memchr(l, '\n', size - *off);
        size_t n = nl ? (size_t)(nl - l) : size - *off;
        *off += n + 1;
        ++*lineno;
        for (size_t k = 0; k < n; k++)
            if (l[k] != ' ' && l[k] != '\t' && l[k] != '\r') {
                *line = l;
                *len = n;
                return true;
            }
    }
    return false;
}

static bool manifest_load(Manifest *m, const char *path, LpoiErr *err) {
    memset(m, 0, sizeof *m);
    size_t size;
    char *text = file_read_all(path, DATA_MAX_FILE_BYTES, &size, err);
    if (!text) return false;
    char *dir = dir_of(path);
    int cap = 0, lineno = 0;
    bool ok = true;
    const char *line;
    size_t off = 0, len;
    while (ok && next_line(text, size, &off, &lineno, &line, &len)) {
        LpoiErr e = {{0}};
        JsonDoc *doc = json_parse(line, len, &e);
        if (!doc) { ok = err_set(err, "%s:%d: json: %s", path, lineno, e.msg); break; }
        const JsonValue *root = json_root(doc);
        ManEntry me = {0};
        int64_t ln;
        const JsonValue *imgs = root->type == JSON_OBJECT ? json_get(root, "images") : NULL;
        const char *ip = root->type == JSON_OBJECT ? json_get_str(root, "img_path") : NULL;
        if (root->type != JSON_OBJECT) ok = err_set(err, "%s:%d: json: not an object", path, lineno);
        else if (!json_get_i64(root, "line", &ln) || ln < 1 || ln > INT32_MAX)
            ok = err_set(err, "%s:%d: line: missing or not a positive integer", path, lineno);
        else if (!ip) ok = err_set(err, "%s:%d: img_path: missing or not a string", path, lineno);
        else if (!imgs || imgs->type != JSON_ARRAY || imgs->count < 2 || imgs->count > NEGATIVES_MAX_LIST)
            ok = err_set(err, "%s:%d: images: must be an array of 2..%d paths", path, lineno, NEGATIVES_MAX_LIST);
        if (ok) {
            me.line = (int)ln;
            me.img_path = xstrdup(ip);
            me.n = (int)imgs->count;
            me.images = calloc_check((size_t)me.n, sizeof *me.images);
            for (int i = 0; i < me.n && ok; i++) {
                const JsonValue *v = json_at(imgs, (size_t)i);
                if (v->type != JSON_STRING || !v->len || strlen(v->str) != v->len)
                    ok = err_set(err, "%s:%d: images[%d]: must be a non-empty string", path, lineno, i);
                else me.images[i] = join_path(dir, v->str);
            }
            if (cap == m->n) { cap = cap ? 2 * cap : 64; m->e = realloc_check(m->e, (size_t)cap * sizeof *m->e); }
            m->e[m->n++] = me;
        }
        json_free(doc);
    }
    free(text);
    free(dir);
    if (!ok) { manifest_free(m); return false; }
    if (m->n > 1) qsort(m->e, (size_t)m->n, sizeof *m->e, cmp_man);   // an empty manifest has e == NULL
    for (int i = 1; i < m->n; i++)
        if (m->e[i].line == m->e[i - 1].line) {
            err_set(err, "%s: two lists for data line %d", path, m->e[i].line);
            manifest_free(m);
            return false;
        }
    return true;
}

static const ManEntry *manifest_find(const Manifest *m, int line) {
    ManEntry key = {.line = line};
    return m->n ? bsearch(&key, m->e, (size_t)m->n, sizeof *m->e, cmp_man) : NULL;
}

// Attaches the list (or checks the box) for one record; err "field: reason".
static bool attach_list(DataRecord *r, const Manifest *man, const char *man_path, int L, Dataset *d, LpoiErr *err) {
    if (L <= 0) return true;
    if (man) {
        const ManEntry *e = manifest_find(man, r->line);
        if (!e) return err_set(err, "negatives: %s has no list for this line", man_path);
        if (strcmp(e->img_path, r->img_given) != 0)
            return err_set(err, "negatives: %s's list for this line was built from img_path \"%.120s\", the record has "
                           "\"%.120s\" (was the data file edited after `lpoi negatives`?)", man_path, e->img_path,
                           r->img_given);
        if (e->n != L)
            return err_set(err, "negatives: %s's list holds %d images, the run uses lists of %d (--list-size)", man_path,
                           e->n, L);
        r->n_list = L;
        r->list = calloc_check((size_t)L, sizeof *r->list);
        r->list[0] = xstrdup(r->img_path);   // image 1 is the original file (the manifest's 1.png is a copy)
        for (int k = 1; k < L; k++) {
            r->list[k] = xstrdup(e->images[k]);
            char field[32];
            snprintf(field, sizeof field, "negatives[%d]", k + 1);
            if (!file_ok(r->list[k], field, err)) return false;
        }
        d->from_manifest++;
        return true;
    }
    if (r->has_box) { d->from_boxes++; return true; }
    if (L == 5) {   // the released layout
        static const int pct[4] = {25, 50, 75, 100};
        char **list = calloc_check(5, sizeof *list);
        bool ok = true;
        list[0] = xstrdup(r->img_path);
        for (int k = 1; k < 5 && ok; k++) {
            LpoiErr e = {{0}};
            ok = negatives_release_path(r->img_path, pct[k - 1], &list[k], &e) && access(list[k], R_OK) == 0;
        }
        if (ok) {
            r->list = list;
            r->n_list = 5;
            d->from_release++;
            return true;
        }
        for (int k = 0; k < 5; k++) free(list[k]);
        free(list);
    }
    return err_set(err, "boxes: missing — LPOI needs an object box, a negatives manifest (--negatives) or the released "
                   "negatives beside the images (ours_cmask_until_list5/, L = 5)");
}

// ---- the file ----------------------------------------------------------------------------------------
typedef struct {
    Dataset *d;
    const DatasetOptions *o;
    const Manifest *man;
    const char *root;
    int cap;
    int reported;
} Loader;

// Handles one record (parsed JSON or a parse error in jerr); returns false to stop the load.
static bool take_record(Loader *ld, const JsonValue *obj, int line, const char *jerr, LpoiErr *err) {
    Dataset *d = ld->d;
    DataRecord r = {.line = line};
    LpoiErr e = {{0}};
    bool ok;
    if (jerr) ok = err_set(&e, "json: %s", jerr);
    else ok = parse_record(obj, ld->root, ld->o->box_format, &r, &e);
    if (ok && ld->o->check_files) ok = file_ok(r.img_path, "img_path", &e);
    if (ok) ok = attach_list(&r, ld->man, ld->o->manifest, ld->o->list_size, d, &e);
    if (!ok) {
        record_free(&r);
        if (!ld->o->skip_bad) return err_set(err, "%s:%d: %s", d->path, line, e.msg);
        d->skipped++;
        if (ld->reported++ < DATA_SKIP_REPORT) fprintf(stderr, "lpoi: skipped %s:%d: %s\n", d->path, line, e.msg);
        return true;
    }
    if (d->n >= DATA_MAX_RECORDS) return err_set(err, "%s: more than %d records", d->path, DATA_MAX_RECORDS);
    if (ld->cap == d->n) {
        ld->cap = ld->cap ? 2 * ld->cap : 256;
        d->rec = realloc_check(d->rec, (size_t)ld->cap * sizeof *d->rec);
    }
    d->reduced += r.prompt_reduced;
    if (r.has_box && !r.box_normalised) {
        d->boxes_look_normalised += box_looks_normalised(r.box);
        d->boxes_tiny += box_is_tiny(r.box);
    }
    d->rec[d->n++] = r;
    return true;
}

static int line_of(const char *text, size_t off, size_t *scan_off, int *scan_line) {
    for (; *scan_off < off; (*scan_off)++) *scan_line += text[*scan_off] == '\n';
    return *scan_line;
}

// Boxes read as pixels that are probably not pixels: one line each on stderr.
static void warn_boxes(const Dataset *d, BoxFormat f) {
    if (d->boxes_look_normalised)
        fprintf(stderr, "lpoi: warning: %s: %d box%s every coordinate in [0, 1]: read as pixels (%s) such a box "
                "masks about one pixel; if the boxes are normalised, pass --box-format norm-%s\n", d->path,
                d->boxes_look_normalised, d->boxes_look_normalised == 1 ? " has" : "es have", BOX_FORMAT_NAMES[f],
                f == BOX_XYWH ? "xywh" : "xyxy");
    else if (d->boxes_tiny)
        fprintf(stderr, "lpoi: warning: %s: %d box%s narrower or lower than %d pixels (read as %s: %s); check "
                "--box-format\n", d->path, d->boxes_tiny, d->boxes_tiny == 1 ? " is" : "es are", BOX_TINY_PX,
                BOX_FORMAT_NAMES[f], f == BOX_XYXY ? "x0, y0, x1, y1" : "x, y, w, h");
}

const double *data_box_to_pixels(const double box[4], bool normalised, int w, int h, double px[4]) {
    if (!normalised) return box;
    px[0] = box[0] * w, px[1] = box[1] * h, px[2] = box[2] * w, px[3] = box[3] * h;
    return px;
}

const double *data_box_pixels(const DataRecord *r, int w, int h, double px[4]) {
    return data_box_to_pixels(r->box, r->box_normalised, w, h, px);
}

bool dataset_load(Dataset *d, const char *path, const DatasetOptions *o, LpoiErr *err) {
    memset(d, 0, sizeof *d);
    d->path = xstrdup(path);
    Manifest man = {0};
    bool have_man = false, ok = true;
    size_t size = 0;
    char *text = NULL, *data_dir = dir_of(path);
    Loader ld = {.d = d, .o = o, .root = o->image_root ? o->image_root : data_dir};
    if (o->manifest && o->list_size > 0) {
        if (!manifest_load(&man, o->manifest, err)) { ok = false; goto done; }
        have_man = true;
        ld.man = &man;
    }
    if (!(text = file_read_all(path, DATA_MAX_FILE_BYTES, &size, err))) { ok = false; goto done; }
    size_t first = 0;
    while (first < size && (text[first] == ' ' || text[first] == '\n' || text[first] == '\t' || text[first] == '\r'))
        first++;
    if (first < size && text[first] == '[') {   // one JSON array (the release files)
        LpoiErr e = {{0}};
        JsonDoc *doc = json_parse(text, size, &e);
        if (!doc) {
            size_t at = 0, so = 0;
            int sl = 1;
            if (sscanf(e.msg, "offset %zu", &at) == 1 && at <= size) line_of(text, at, &so, &sl);
            ok = err_set(err, "%s:%d: json: %s", path, sl, e.msg);
            goto done;
        }
        const JsonValue *arr = json_root(doc);
        size_t so = 0;
        int sl = 1;
        for (size_t i = 0; i < arr->count && ok; i++) {
            const JsonValue *rec = json_at(arr, i);
            ok = take_record(&ld, rec, line_of(text, rec->offset, &so, &sl), NULL, err);
        }
        json_free(doc);
    } else {
        int lineno = 0;
        const char *line;
        size_t off = 0, len;
        while (ok && next_line(text, size, &off, &lineno, &line, &len)) {
            LpoiErr e = {{0}};
            JsonDoc *doc = json_parse(line, len, &e);
            ok = take_record(&ld, doc ? json_root(doc) : NULL, lineno, doc ? NULL : e.msg, err);
            json_free(doc);
        }
    }
    if (ok && d->skipped > DATA_SKIP_REPORT)
        fprintf(stderr, "lpoi: ... %d more bad records skipped\n", d->skipped - DATA_SKIP_REPORT);
    if (ok && d->n == 0)
        ok = err_set(err, "%s: no usable records%s", path, d->skipped ? " (all were skipped as bad)" : "");
    if (ok) warn_boxes(d, o->box_format);
done:
    free(text);
    free(data_dir);
    if (have_man) manifest_free(&man);
    if (!ok) dataset_free(d);
    return ok;
}

void dataset_free(Dataset *d) {
    for (int i = 0; i < d->n; i++) record_free(&d->rec[i]);
    free(d->rec);
    free(d->path);
    memset(d, 0, sizeof *d);
}

void dataset_remove(Dataset *d, int i) {
    LPOI_ASSERT(i >= 0 && i < d->n);
    record_free(&d->rec[i]);
    memmove(d->rec + i, d->rec + i + 1, (size_t)(d->n - i - 1) * sizeof *d->rec);
    d->n--;
}
