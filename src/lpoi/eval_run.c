// eval_run.c — `lpoi eval` (eval_run.h): items → answers.jsonl (resumable) → metrics.json → table.
#include "lpoi/eval_run.h"
#include "lpoi/generate_llava.h"
#include "base/check.h"
#include "base/file.h"
#include "base/json.h"
#include "base/strbuf.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ANSWERS_MAX_BYTES ((size_t)1 << 30)

int eval_default_max_new(bool mmhal, BenchKind b) {
    return !mmhal && (b == BENCH_AMBER_DISC || b == BENCH_POPE) ? 16 : 512;
}

const char *eval_run_name(const char *arg, char *buf, size_t cap) {
    const char *eq = strchr(arg, '='), *slash = strchr(arg, '/');
    if (eq && eq > arg && (!slash || eq < slash)) {
        snprintf(buf, cap, "%.*s", (int)(eq - arg), arg);
        return eq + 1;
    }
    size_t n = strlen(arg);
    while (n > 1 && arg[n - 1] == '/') n--;   // "RUN/adapter/" names the same folder
    size_t b = n;
    while (b > 0 && arg[b - 1] != '/') b--;
    if (n - b == 7 && !strncmp(arg + b, "adapter", 7) && b > 1) {   // RUN/adapter → RUN
        size_t e = b - 1, s = e;
        while (s > 0 && arg[s - 1] != '/') s--;
        if (e > s) b = s, n = e;
    }
    snprintf(buf, cap, "%.*s", (int)(n - b), arg + b);
    return arg;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void fmt_duration(double s, char *buf, size_t cap) {
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, cap, "%lds", t);
}

// ---- items ----
static void items_free(BenchItem *it, int n, bool mine) {
    if (!mine) { bench_items_free(it, n); return; }
    for (int i = 0; i < n; i++) { free(it[i].id); free(it[i].image); free(it[i].question); }
    free(it);
}

static char *xstrdup(const char *s) {
    char *d = strdup(s);
    if (!d) LPOI_DIE("out of memory");
    return d;
}

// MMHal-Bench's template: a JSON array of {image_src, question, ...}; id = the index, image = the last
// component of image_src (the file name its images folder uses), the question as asked.
static bool mmhal_items_load(const char *template_path, JsonDoc **doc_out, BenchItem **items, int *n, LpoiErr *err) {
    JsonDoc *doc = json_load_file(template_path, (size_t)64 << 20, err);
    if (!doc) return false;
    const JsonValue *root = json_root(doc);
    if (root->type != JSON_ARRAY || root->count == 0) {
        json_free(doc);
        return err_set(err, "%s: expected a non-empty JSON array of questions", template_path);
    }
    BenchItem *it = calloc_check(root->count, sizeof *it);
    for (size_t i = 0; i < root->count; i++) {
        const JsonValue *q = json_at(root, i);
        const char *src = q->type == JSON_OBJECT ? json_get_str(q, "image_src") : NULL;
        const char *question = q->type == JSON_OBJECT ? json_get_str(q, "question") : NULL;
        if (!src || !question) {
            items_free(it, (int)i, true);
            json_free(doc);
            return err_set(err, "%s: item %zu: needs the strings \"image_src\" and \"question\"", template_path, i);
        }
        const char *base = strrchr(src, '/');
        char id[32];
        snprintf(id, sizeof id, "%zu", i);
        it[i] = (BenchItem){.id = xstrdup(id), .image = xstrdup(base ? base + 1 : src), .question = xstrdup(question)};
    }
    *items = it;
    *n = (int)root->count;
    *doc_out = doc;
    return true;
}

// Every item's image must be readable before the first answer: one line for the first missing one
// and how many more are missing.
static bool check_images(const char *images_dir, const BenchItem *it, int n, LpoiErr *err) {
    int missing = 0, first = -1, first_errno = 0;
    for (int i = 0; i < n; i++) {
        char *p = file_path_join(images_dir, it[i].image);
        if (access(p, R_OK) != 0) {
            if (first < 0) first = i, first_errno = errno;
            missing++;
        }
        free(p);
    }
    if (!missing) return true;
    char *p = file_path_join(images_dir, it[first].image), more[96] = "";
    if (missing > 1) snprintf(more, sizeof more, ", and %d more of the %d items' images", missing - 1, n);
    err_set(err, "%s: %s (the image of item %s)%s; --images must be the bench's image folder", p, strerror(first_errno),
            it[first].id, more);
    free(p);
    return false;
}

// ---- the answers file ----
typedef struct {
    char **ids;      // sorted
    int n;
} IdSet;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static bool idset_has(const IdSet *s, const char *id) {
    return s->n && bsearch(&id, s->ids, (size_t)s->n, sizeof *s->ids, cmp_str) != NULL;
}
static void idset_free(IdSet *s) {
    for (int i = 0; i < s->n; i++) free(s->ids[i]);
    free(s->ids);
    memset(s, 0, sizeof *s);
}

// Reads the ids already answered in path (absent: none). A last line without its newline is a write
// that a kill cut short: it is removed from the file (*cut = its bytes). Any other bad line is an error.
static bool answers_resume(const char *path, IdSet *done, size_t *cut, LpoiErr *err) {
    memset(done, 0, sizeof *done);
    *cut = 0;
    if (access(path, F_OK) != 0) return true;
    size_t size;
    char *text = file_read_all(path, ANSWERS_MAX_BYTES, &size, err);
    if (!text) return false;
    size_t keep = size;
    while (keep > 0 && text[keep - 1] != '\n') keep--;
    if (keep < size) {
        if (truncate(path, (off_t)keep) != 0) {
            free(text);
            return err_set(err, "%s: cannot cut the half-written last line: %s", path, strerror(errno));
        }
        *cut = size - keep;
    }
    int cap = 0, lineno = 0;
    bool ok = true;
    for (size_t off = 0; ok && off < keep;) {
        char *nl = memchr(text + off, '\n', keep - off);
        size_t len = (size_t)(nl - (text + off));
        lineno++;
        LpoiErr e = {{0}};
        JsonDoc *doc = len ? json_parse(text + off, len, &e) : NULL;
        const JsonValue *root = doc ? json_root(doc) : NULL;
        const char *id = root && root->type == JSON_OBJECT ? json_get_str(root, "id") : NULL;
        if (!id) ok = err_set(err, "%s:%d: not an answer line (%s); delete the file to start this run over", path, lineno,
                              doc ? "no string \"id\"" : len ? e.msg : "blank");
        else {
            if (done->n == cap) { cap = cap ? 2 * cap : 256; done->ids = realloc_check(done->ids, (size_t)cap * sizeof *done->ids); }
            done->ids[done->n++] = xstrdup(id);
        }
        json_free(doc);
        off += len + 1;
    }
    free(text);
    if (!ok) { idset_free(done); return false; }
    if (done->n > 1) qsort(done->ids, (size_t)done->n, sizeof *done->ids, cmp_str);
    return true;
}

// One whole line, one write() (looping only on a short write), then fdatasync: a kill leaves either
// the line or a cut last line that answers_resume removes.
static bool write_line(int fd, const char *path, const StrBuf *b, LpoiErr *err) {
    for (size_t off = 0; off < b->len;) {
        ssize_t w = write(fd, b->s + off, b->len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return err_set(err, "%s: write failed: %s", path, strerror(errno));
        off += (size_t)w;
    }
    if (fdatasync(fd) != 0) return err_set(err, "%s: fdatasync failed: %s", path, strerror(errno));
    return true;
}


// OUT/<name>/run.json names what answered (model, adapter, bench, max_new, precision): a resume with another of
// them would mix two models' answers in one file.
static bool run_record(const EvalArgs *a, const EvalRun *r, const char *dir, LpoiErr *err) {
    StrBuf b = {0};
    strbuf_str(&b, "{\"model\": ");
    strbuf_json_str(&b, a->model_dir);
    strbuf_str(&b, ", \"adapter\": ");
    if (r->adapter) strbuf_json_str(&b, r->adapter);
    else strbuf_str(&b, "null");
    strbuf_printf(&b, ", \"bench\": \"%s\", \"max_new\": %d, \"precision\": \"%s\"}\n", a->mmhal ? "mmhal" : bench_name(a->bench),
                  a->max_new, precision_name(a->precision));
    char *path = file_path_join(dir, "run.json");
    bool ok = true;
    if (access(path, F_OK) == 0) {
        size_t size;
        char *old = file_read_all(path, 1 << 20, &size, err);
        if (!old) ok = false;
        else if (size != b.len || memcmp(old, b.s, size) != 0)
            ok = err_set(err, "%s: these answers were made by another model, adapter, bench or --max-new (%.*s); "
                         "use another --out or remove %s", path, (int)(size && old[size - 1] == '\n' ? size - 1 : size), old, dir);
        free(old);
    } else {
        ok = file_write_atomic(path, b.s, b.len, err);
    }
    free(path);
    free(b.s);
    return ok;
}

// Answers every item not yet in OUT/<name>/answers.jsonl. *budget counts down the stop_after hook
// (< 0: none); *stopped when it ran out.
static bool answer_run(const EvalArgs *a, LlavaSession *s, const EvalRun *r, const BenchItem *it, int n,
                       const char *answers, int *budget, bool *stopped, LpoiErr *err) {
    IdSet done;
    size_t cut;
    if (!answers_resume(answers, &done, &cut, err)) return false;
    if (cut && a->log) fprintf(a->log, "lpoi eval: %s: removed a half-written last line (%zu bytes) left by a stopped run\n", answers, cut);
    int todo = 0;
    for (int i = 0; i < n; i++) todo += !idset_has(&done, it[i].id);
    if (a->log)
        fprintf(a->log, "lpoi eval: %s: %d of %d items to answer%s\n", r->name, todo, n, todo < n ? " (the rest were answered before)" : "");
    if (todo == 0) { idset_free(&done); return true; }
    bool ok = llava_session_set_adapter(s, r->adapter, err);
    int fd = ok ? open(answers, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
    if (ok && fd < 0) ok = err_set(err, "%s: cannot open: %s", answers, strerror(errno));
    StrBuf line = {0};
    double t0 = now_s(), last = t0;
    int made = 0;
    for (int i = 0; ok && i < n; i++) {
        if (idset_has(&done, it[i].id)) continue;
        if (*budget == 0) { *stopped = true; break; }
        char *img = file_path_join(a->images_dir, it[i].image);
        LlavaGenArgs g = {.image = img, .prompt = it[i].question, .max_new = a->max_new, .temperature = 0, .top_p = 1};
        LlavaAnswer ans;
        LpoiErr e = {{0}};
        if (!llava_session_answer(s, &g, &ans, NULL, &e)) ok = err_set(err, "item %s (%s): %s", it[i].id, img, e.msg);
        free(img);
        if (!ok) break;
        line.len = 0;
        strbuf_str(&line, "{\"id\": ");
        strbuf_json_str(&line, it[i].id);
        strbuf_str(&line, ", \"image\": ");
        strbuf_json_str(&line, it[i].image);
        strbuf_str(&line, ", \"question\": ");
        strbuf_json_text(&line, it[i].question, strlen(it[i].question));
        strbuf_str(&line, ", \"answer\": ");
        strbuf_json_text(&line, ans.text, ans.text_len);
        strbuf_str(&line, "}\n");
        llava_answer_free(&ans);
        if (!write_line(fd, answers, &line, err)) { ok = false; break; }
        made++;
        if (*budget > 0) --*budget;
        double t = now_s();
        if (a->log && (made == todo || made % 10 == 0 || t - last > 10)) {
            double rate = made / (t - t0 > 1e-9 ? t - t0 : 1e-9);
            char eta[32];
            fmt_duration((todo - made) / rate, eta, sizeof eta);
            fprintf(a->log, "lpoi eval: %s: %d/%d answered, %.2f answers/s, ETA %s\n", r->name, n - todo + made, n, rate, eta);
            last = t;
        }
    }
    if (fd >= 0 && close(fd) != 0 && ok) ok = err_set(err, "%s: close failed: %s", answers, strerror(errno));
    free(line.s);
    idset_free(&done);
    return ok;
}

// ---- MMHal: the template with model_answer filled ----
static void put_json(StrBuf *b, const JsonValue *v, int depth);
static void put_indent(StrBuf *b, int depth) {
    strbuf_put(b, "\n", 1);
    for (int i = 0; i < depth; i++) strbuf_put(b, "  ", 2);
}
static void put_json(StrBuf *b, const JsonValue *v, int depth) {
    switch (v->type) {
    case JSON_NULL: strbuf_str(b, "null"); break;
    case JSON_BOOL: strbuf_str(b, v->boolean ? "true" : "false"); break;
    case JSON_NUMBER: strbuf_str(b, v->str); break;
    case JSON_STRING: strbuf_json_string(b, v->str, v->len); break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        strbuf_put(b, v->type == JSON_ARRAY ? "[" : "{", 1);
        for (size_t i = 0; i < v->count; i++) {
            if (i) strbuf_put(b, ",", 1);
            put_indent(b, depth + 1);
            if (v->type == JSON_OBJECT) {
                strbuf_json_string(b, v->keys[i], v->key_lens[i]);
                strbuf_str(b, ": ");
            }
            put_json(b, v->items[i], depth + 1);
        }
        if (v->count) put_indent(b, depth);
        strbuf_put(b, v->type == JSON_ARRAY ? "]" : "}", 1);
        break;
    }
}

static bool mmhal_write(const JsonValue *tmpl, const char *answers, const char *out, int *filled, LpoiErr *err) {
    size_t size;
    char *text = file_read_all(answers, ANSWERS_MAX_BYTES, &size, err);
    if (!text) return false;
    StrBuf b = {0};
    strbuf_str(&b, "[");
    *filled = 0;
    for (size_t i = 0; i < tmpl->count; i++) {
        const JsonValue *q = tmpl->items[i];
        // The answer of item i: its line in answers.jsonl (ids are the indices).
        char key[48];
        snprintf(key, sizeof key, "{\"id\": \"%zu\",", i);
        const char *at = NULL;
        for (const char *p = text; p && p < text + size; p = memchr(p, '\n', (size_t)(text + size - p)), p = p ? p + 1 : NULL)
            if (!strncmp(p, key, strlen(key))) { at = p; break; }
        JsonDoc *line = NULL;
        const JsonValue *ans = NULL;
        if (at) {
            const char *nl = memchr(at, '\n', (size_t)(text + size - at));   // none: the file's last line
            LpoiErr e = {{0}};
            line = json_parse(at, nl ? (size_t)(nl - at) : (size_t)(text + size - at), &e);
            ans = line ? json_get(json_root(line), "answer") : NULL;
        }
        strbuf_str(&b, i ? ",\n  {" : "\n  {");
        for (size_t k = 0; k < q->count; k++) {
            strbuf_str(&b, k ? ",\n    " : "\n    ");
            strbuf_json_string(&b, q->keys[k], q->key_lens[k]);
            strbuf_str(&b, ": ");
            if (!strcmp(q->keys[k], "model_answer") && ans && ans->type == JSON_STRING) {
                strbuf_json_string(&b, ans->str, ans->len);
                ++*filled;
            } else {
                put_json(&b, q->items[k], 2);
            }
        }
        strbuf_str(&b, "\n  }");
        json_free(line);
    }
    strbuf_str(&b, "\n]\n");
    bool ok = file_write_atomic(out, b.s, b.len, err);
    free(b.s);
    free(text);
    return ok;
}

// ---- the side-by-side table ----
typedef struct {
    char **keys;
    int n, cap;
} KeyList;

static int key_index(const KeyList *k, const char *key) {
    for (int i = 0; i < k->n; i++)
        if (!strcmp(k->keys[i], key)) return i;
    return -1;
}

// Numeric leaves of v as "a.b.c" keys (arrays by index), in document order.
static void flatten(const JsonValue *v, char *prefix, size_t plen, size_t cap, KeyList *keys, double **vals, int run,
                    int n_runs) {
    if (v->type == JSON_NUMBER) {
        int i = key_index(keys, prefix);
        if (i < 0) {
            if (keys->n == keys->cap) {
                keys->cap = keys->cap ? 2 * keys->cap : 32;
                keys->keys = realloc_check(keys->keys, (size_t)keys->cap * sizeof *keys->keys);
                *vals = realloc_check(*vals, (size_t)keys->cap * (size_t)n_runs * sizeof **vals);
            }
            i = keys->n++;
            keys->keys[i] = xstrdup(prefix);
            for (int r = 0; r < n_runs; r++) (*vals)[(size_t)i * n_runs + r] = NAN;
        }
        (*vals)[(size_t)i * n_runs + run] = v->number;
        return;
    }
    if (v->type != JSON_OBJECT && v->type != JSON_ARRAY) return;
    for (size_t c = 0; c < v->count; c++) {
        int w = v->type == JSON_OBJECT ? snprintf(prefix + plen, cap - plen, "%s%s", plen ? "." : "", v->keys[c])
                                       : snprintf(prefix + plen, cap - plen, "[%zu]", c);
        if (w > 0 && plen + (size_t)w < cap) flatten(v->items[c], prefix, plen + (size_t)w, cap, keys, vals, run, n_runs);
        prefix[plen] = 0;
    }
}

static void print_table(FILE *to, const EvalArgs *a, JsonDoc *const *metrics) {
    KeyList keys = {0};
    double *vals = NULL;
    char prefix[256] = "";
    for (int r = 0; r < a->n_runs; r++)
        if (metrics[r]) flatten(json_root(metrics[r]), prefix, 0, sizeof prefix, &keys, &vals, r, a->n_runs);
    int w = 6;
    for (int i = 0; i < keys.n; i++) w = LPOI_MAX(w, (int)strlen(keys.keys[i]));
    fprintf(to, "%-*s", w, a->mmhal ? "mmhal" : bench_name(a->bench));
    for (int r = 0; r < a->n_runs; r++) fprintf(to, "  %12.12s", a->runs[r].name);
    fputc('\n', to);
    for (int i = 0; i < keys.n; i++) {
        fprintf(to, "%-*s", w, keys.keys[i]);
        for (int r = 0; r < a->n_runs; r++) {
            double v = vals[(size_t)i * a->n_runs + r];
            if (v != v) fprintf(to, "  %12s", "-");
            else fprintf(to, "  %12.6g", v);
        }
        fputc('\n', to);
        free(keys.keys[i]);
    }
    free(keys.keys);
    free(vals);
}

// ---- the whole run ----
bool eval_run(const EvalArgs *a, LpoiErr *err) {
    BenchItem *items = NULL;
    int n = 0;
    JsonDoc *tmpl = NULL;
    char *tmpl_path = a->mmhal ? file_path_join(a->data_dir, "mmhal-bench_answer_template.json") : NULL;
    bool ok = a->mmhal ? mmhal_items_load(tmpl_path, &tmpl, &items, &n, err)
                       : bench_items_load(a->bench, a->data_dir, &items, &n, err->msg, sizeof err->msg);
    if (!ok) { free(tmpl_path); return false; }
    int n_use = a->limit > 0 && a->limit < n ? a->limit : n;
    LlavaSession *s = NULL;
    JsonDoc *metrics[EVAL_MAX_RUNS] = {0};
    char *dirs[EVAL_MAX_RUNS] = {0};
    int budget = a->stop_after > 0 ? a->stop_after : -1;
    bool stopped = false;
    StrBuf sum = {0};
    ok = check_images(a->images_dir, items, n_use, err);
    if (ok) ok = (s = llava_session_open(a->model_dir, a->device, a->precision, NULL, err)) != NULL;
    // Every adapter loads (and fits the model) before the first answer or file, so a typo fails at once.
    for (int r = 0; ok && r < a->n_runs; r++)
        if (a->runs[r].adapter && !llava_session_set_adapter(s, a->runs[r].adapter, err)) {
            ok = false;
            err_prefix(err, "--adapter %s", a->runs[r].name);
        }
    if (ok) ok = file_mkdir_p(a->out_dir, err);
    for (int r = 0; ok && r < a->n_runs; r++) {
        dirs[r] = file_path_join(a->out_dir, a->runs[r].name);
        ok = file_mkdir_p(dirs[r], err) && run_record(a, &a->runs[r], dirs[r], err);
    }
    for (int r = 0; ok && r < a->n_runs && !stopped; r++) {
        char *answers = file_path_join(dirs[r], "answers.jsonl");
        ok = answer_run(a, s, &a->runs[r], items, n_use, answers, &budget, &stopped, err);
        if (ok && !stopped) {
            char *mjson = file_path_join(dirs[r], a->mmhal ? "mmhal_answers.json" : "metrics.json");
            char *mtxt = file_path_join(dirs[r], "metrics.txt");
            if (a->mmhal) {
                int filled = 0;
                ok = mmhal_write(json_root(tmpl), answers, mjson, &filled, err);
                char counts[96];
                int len = snprintf(counts, sizeof counts, "{\"questions\": %zu, \"answered\": %d}", json_root(tmpl)->count, filled);
                if (ok) metrics[r] = json_parse(counts, (size_t)len, err);
                if (ok && a->log)
                    fprintf(a->log, "lpoi eval: %s: %d answers in the MMHal-Bench template %s; MMHal is judged by GPT-4, outside "
                            "lpoi (its eval_gpt4.py reads this file)\n", a->runs[r].name, filled, mjson);
            } else {
                // The table is built in memory and written atomically once scoring succeeded: a failed
                // rescore leaves the previous metrics.txt whole.
                char *table = NULL;
                size_t table_len = 0;
                FILE *t = open_memstream(&table, &table_len);
                if (!t) ok = err_set(err, "%s: out of memory", mtxt);
                if (ok) ok = bench_score_file(a->bench, a->data_dir, answers, mjson, t, err->msg, sizeof err->msg);
                if (t && fclose(t) != 0 && ok) ok = err_set(err, "%s: out of memory", mtxt);
                if (ok) ok = file_write_atomic(mtxt, table, table_len, err);
                free(table);
                if (ok) ok = (metrics[r] = json_load_file(mjson, (size_t)16 << 20, err)) != NULL;
            }
            free(mjson);
            free(mtxt);
        }
        free(answers);
    }
    if (ok && stopped && a->log) fprintf(a->log, "lpoi eval: stopped after %d answers (testing hook)\n", a->stop_after);
    if (ok && !stopped) {
        if (a->table) print_table(a->table, a, metrics);
        strbuf_printf(&sum, "{\"bench\": \"%s\", \"model\": ", a->mmhal ? "mmhal" : bench_name(a->bench));
        strbuf_json_str(&sum, a->model_dir);
        strbuf_printf(&sum, ", \"items\": %d, \"max_new\": %d, \"runs\": [", n_use, a->max_new);
        for (int r = 0; r < a->n_runs; r++) {
            strbuf_str(&sum, r ? ",\n  {\"name\": " : "\n  {\"name\": ");
            strbuf_json_str(&sum, a->runs[r].name);
            strbuf_str(&sum, ", \"adapter\": ");
            if (a->runs[r].adapter) strbuf_json_str(&sum, a->runs[r].adapter);
            else strbuf_str(&sum, "null");
            strbuf_str(&sum, ", \"metrics\": ");
            if (metrics[r]) put_json(&sum, json_root(metrics[r]), 2);
            else strbuf_str(&sum, "null");
            strbuf_str(&sum, "}");
        }
        strbuf_str(&sum, "\n]}\n");
        char *sp = file_path_join(a->out_dir, "summary.json");
        ok = file_write_atomic(sp, sum.s, sum.len, err);
        free(sp);
    }
    free(sum.s);
    for (int r = 0; r < a->n_runs; r++) { json_free(metrics[r]); free(dirs[r]); }
    llava_session_close(s);
    items_free(items, n, a->mmhal);
    json_free(tmpl);
    free(tmpl_path);
    return ok;
}
