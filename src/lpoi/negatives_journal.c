// negatives_journal.c — the resume journal of `lpoi negatives` (negatives_journal.h).
#include "lpoi/negatives_journal.h"
#include "base/check.h"
#include "base/json.h"
#include "base/strbuf.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put_header(StrBuf *b, const char *fingerprint) {
    strbuf_str(b, "{\"journal\": \"lpoi negatives\", \"fingerprint\": ");
    strbuf_json_str(b, fingerprint);
    strbuf_str(b, "}\n");
}

static void put_entry(StrBuf *b, const NegJournalEntry *e) {
    strbuf_printf(b, "{\"index\": %zu, \"skipped\": %s, \"reason\": %d, \"verified\": %s, \"cut\": %s, \"line\": ", e->index,
                  e->skipped ? "true" : "false", e->reason, e->verified ? "true" : "false", e->cut ? "true" : "false");
    strbuf_json_string(b, e->line, strlen(e->line));
    strbuf_str(b, "}\n");
}

// Every PNG a manifest line names exists under dir.
static bool images_exist(const char *dir, const char *line) {
    JsonDoc *d = json_parse(line, strlen(line), NULL);
    if (!d) return false;
    const JsonValue *imgs = json_root(d)->type == JSON_OBJECT ? json_get(json_root(d), "images") : NULL;
    bool ok = imgs && imgs->type == JSON_ARRAY && imgs->count > 0;
    for (size_t k = 0; ok && k < imgs->count; k++) {
        const JsonValue *v = json_at(imgs, k);
        if (v->type != JSON_STRING) { ok = false; break; }
        char *p = file_path_join(dir, v->str);
        ok = access(p, F_OK) == 0;
        free(p);
    }
    json_free(d);
    return ok;
}

static bool bool_field(const JsonValue *o, const char *k) {
    bool v = false;
    return json_get_bool(o, k, &v) && v;
}

// The usable entries of an earlier journal; false + err only for another run's journal.
static bool load(NegJournal *j, const char *dir, const char *text, size_t size, LpoiErr *err) {
    size_t cap = 0, off = 0;
    for (int lineno = 0; off < size; lineno++) {
        const char *l = text + off, *nl = memchr(l, '\n', size - off);
        if (!nl) break;   // a line cut by the kill
        size_t len = (size_t)(nl - l);
        off += len + 1;
        JsonDoc *d = json_parse(l, len, NULL);
        const JsonValue *r = d ? json_root(d) : NULL;
        if (lineno == 0) {
            const char *fp = r && r->type == JSON_OBJECT ? json_get_str(r, "fingerprint") : NULL;
            bool same = fp && !strcmp(fp, j->header);
            json_free(d);
            if (!same)
                return err_set(err, "%s was written by a run with other options or another data file; "
                               "run without --resume to start over", j->path);
            continue;
        }
        int64_t index, reason;
        const char *line = r && r->type == JSON_OBJECT ? json_get_str(r, "line") : NULL;
        if (line && json_get_i64(r, "index", &index) && index >= 0 && json_get_i64(r, "reason", &reason) &&
            (bool_field(r, "skipped") || images_exist(dir, line))) {
            if (j->n == cap) { cap = cap ? 2 * cap : 64; j->e = realloc_check(j->e, cap * sizeof *j->e); }
            NegJournalEntry e = {(size_t)index, bool_field(r, "skipped"), (int)reason, bool_field(r, "verified"),
                                 bool_field(r, "cut"), strdup(line)};
            if (!e.line) LPOI_DIE("out of memory");
            // Entries come in index order; a repeated index (a rerun record) keeps the last.
            if (j->n && j->e[j->n - 1].index >= e.index) {
                if (j->e[j->n - 1].index == e.index) { free(j->e[j->n - 1].line); j->e[j->n - 1] = e; }
                else free(e.line);   // out of order: not from this writer; redo it
            } else {
                j->e[j->n++] = e;
            }
        }
        json_free(d);
    }
    return true;
}

bool neg_journal_open(NegJournal *j, const char *dir, const char *fingerprint, bool resume, LpoiErr *err) {
    *j = (NegJournal){0};
    j->path = file_path_join(dir, "journal.jsonl");
    j->header = strdup(fingerprint);
    if (!j->header) LPOI_DIE("out of memory");
    StrBuf b = {0};
    if (resume && access(j->path, F_OK) == 0) {
        size_t size;
        char *text = file_read_all(j->path, (size_t)1 << 32, &size, err);
        if (!text) return false;
        bool ok = load(j, dir, text, size, err);
        free(text);
        if (!ok) return false;
        // Rewrite it with the entries kept (a cut last line would corrupt what is appended next).
        put_header(&b, j->header);
        for (size_t i = 0; i < j->n; i++) put_entry(&b, &j->e[i]);
        ok = file_write_atomic(j->path, b.s, b.len, err);
        free(b.s);
        if (!ok) return false;
        j->header_written = true;
        return file_out_open(&j->out, j->path, true, err);
    }
    // A fresh journal; its header goes out with the first entry.
    return file_out_open(&j->out, j->path, false, err);
}

const NegJournalEntry *neg_journal_find(const NegJournal *j, size_t index) {
    size_t lo = 0, hi = j->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (j->e[mid].index == index) return &j->e[mid];
        if (j->e[mid].index < index) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

bool neg_journal_append(NegJournal *j, const NegJournalEntry *e, LpoiErr *err) {
    StrBuf b = {0};
    if (!j->header_written) put_header(&b, j->header);
    j->header_written = true;
    put_entry(&b, e);
    file_out_write(&j->out, b.s, b.len);
    free(b.s);
    return file_out_flush(&j->out, err);
}

void neg_journal_close(NegJournal *j) {
    LpoiErr ignored;
    file_out_close(&j->out, &ignored);
    for (size_t i = 0; i < j->n; i++) free(j->e[i].line);
    free(j->e);
    free(j->path);
    free(j->header);
    *j = (NegJournal){0};
}
