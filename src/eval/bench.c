// bench.c — the benchmarks' items and the scoring of an answers file (see bench.h): one Bench holds
// what a benchmark needs (vocabulary and COCO ground truth, or the AMBER data), items come from it,
// and scoring walks the answers once, adding each to the benchmark's counters.
#include "eval/bench.h"
#include "eval/amber.h"
#include "eval/chair.h"
#include "eval/coco.h"
#include "eval/pope.h"
#include "eval/strmap.h"
#include "base/check.h"
#include "base/file.h"
#include "base/json.h"
#include "base/strbuf.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const BENCH_NAMES[] = {"chair", "amber", "amber-disc", "pope"};
#define CHAIR_QUESTION "Please describe this image in detail."   // the usual CHAIR protocol (OPERA, VCD)

bool bench_from_name(const char *name, BenchKind *out) {
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, BENCH_NAMES[i])) { *out = (BenchKind)i; return true; }
    return false;
}
const char *bench_name(BenchKind b) { return (unsigned)b < 4 ? BENCH_NAMES[b] : "?"; }

typedef struct {
    BenchKind kind;
    BenchItem *items;
    int n;
    StrMap item_index;       // id -> index into items
    ChairVocab *vocab;       // chair, pope
    CocoGt gt;
    PopeQuestion *pope;      // [n], pope
    AmberData *amber;        // amber, amber-disc
    int *amber_id;           // [n] the AMBER id of each item
} Bench;

static void add_item(Bench *b, const char *id, const char *image, const char *question) {
    b->items = realloc_check(b->items, (size_t)(b->n + 1) * sizeof *b->items);
    b->items[b->n] = (BenchItem){strdup(id), strdup(image), strdup(question)};
    strmap_add(&b->item_index, id, b->n);
    b->n++;
}

static void bench_close(Bench *b) {
    bench_items_free(b->items, b->n);
    strmap_free(&b->item_index);
    chair_vocab_free(b->vocab);
    coco_gt_free(&b->gt);
    free(b->pope);
    amber_free(b->amber);
    free(b->amber_id);
    *b = (Bench){0};
}

static bool bench_open(Bench *b, BenchKind kind, const char *data_dir, const BenchOptions *opt, char *err, size_t errlen) {
    *b = (Bench){.kind = kind};
    if (kind == BENCH_CHAIR || kind == BENCH_POPE) {
        bool rlhfv = kind == BENCH_CHAIR && opt && opt->chair_rlhfv;
        char *syn = opt && opt->synonyms ? strdup(opt->synonyms)
                                         : file_path_join(data_dir, rlhfv ? "chair/synonyms_refine_rlhfv.txt" : "chair/synonyms_rohrbach2018.txt");
        char *inst = file_path_join(data_dir, "coco_eval/instances_val2014_100.json");
        b->vocab = chair_vocab_load_variant(syn, rlhfv ? CHAIR_RLHFV : CHAIR_ORIGINAL, err, errlen);
        bool ok = b->vocab && coco_gt_load(&b->gt, b->vocab, inst, kind == BENCH_CHAIR && opt ? opt->gt_captions : NULL, err, errlen);
        free(syn);
        free(inst);
        if (!ok) { bench_close(b); return false; }
        if (kind == BENCH_CHAIR) {
            for (int i = 0; i < b->gt.n; i++) {
                char id[32];
                snprintf(id, sizeof id, "%lld", (long long)b->gt.images[i].id);
                add_item(b, id, b->gt.images[i].file_name, CHAIR_QUESTION);
            }
        } else {
            int nq;
            PopeQuestion *q = pope_questions(&b->gt, chair_vocab_size(b->vocab), &nq);
            b->pope = q;
            for (int i = 0; i < nq; i++) {
                char id[160], text[160];
                pope_item_id(b->vocab, &q[i], id, sizeof id);
                pope_question_text(b->vocab, &q[i], text, sizeof text);
                add_item(b, id, b->gt.images[coco_gt_find(&b->gt, q[i].image_id)].file_name, text);
            }
        }
        return true;
    }
    b->amber = amber_load(data_dir, err, errlen);
    if (!b->amber) return false;
    if (kind == BENCH_AMBER && opt && opt->similar_pairs && !amber_similar_load(b->amber, opt->similar_pairs, err, errlen)) {
        bench_close(b);
        return false;
    }
    b->amber_id = malloc_check((size_t)amber_count(b->amber) * sizeof *b->amber_id + 1);
    for (int id = 1; id <= amber_count(b->amber); id++) {
        if (amber_is_generative(b->amber, id) != (kind == BENCH_AMBER)) continue;
        const char *img = amber_image(b->amber, id), *q = amber_query(b->amber, id);
        if (!img || !q) {
            snprintf(err, errlen, "%s/query_all.json: no query for id %d", data_dir, id);
            bench_close(b);
            return false;
        }
        char sid[32];
        snprintf(sid, sizeof sid, "%d", id);
        b->amber_id[b->n] = id;
        add_item(b, sid, img, q);
    }
    return true;
}

bool bench_items_load(BenchKind kind, const char *data_dir, BenchItem **items, int *n, char *err, size_t errlen) {
    Bench b;
    *items = NULL;
    *n = 0;
    if (!bench_open(&b, kind, data_dir, NULL, err, errlen)) return false;
    *items = b.items;
    *n = b.n;
    b.items = NULL;
    b.n = 0;
    bench_close(&b);
    return true;
}

void bench_items_free(BenchItem *items, int n) {
    for (int i = 0; i < n; i++) {
        free(items[i].id);
        free(items[i].image);
        free(items[i].question);
    }
    free(items);
}

// ---- the answers file ----
typedef struct { int item; char *answer; } Answer;

static bool read_answers(const Bench *b, const char *path, Answer **out, int *n_out, long *empty, char *err, size_t errlen) {
    LpoiErr e = {{0}};
    size_t len;
    char *text = file_read_all(path, 1u << 30, &len, &e);
    if (!text) { snprintf(err, errlen, "%s", e.msg); return false; }
    Answer *ans = NULL;
    int n = 0;
    char *seen = calloc_check((size_t)b->n + 1, 1);
    bool ok = true;
    int line_no = 0;
    char q[96];
    for (size_t p = 0; ok && p < len;) {
        size_t start = p, end = p;
        while (end < len && text[end] != '\n') end++;
        line_no++;
        size_t a = p, z = end;
        while (a < z && isspace((unsigned char)text[a])) a++;
        while (z > a && isspace((unsigned char)text[z - 1])) z--;
        p = end + 1;
        if (a == z) continue;   // blank lines are allowed (a trailing newline, a blank separator)
        size_t bad = utf8_first_invalid(text + a, z - a);
        if (bad < z - a) {
            snprintf(err, errlen, "%s:%d: not UTF-8 (byte %zu of the line)", path, line_no, a - start + bad + 1);
            ok = false;
            break;
        }
        JsonDoc *d = json_parse(text + a, z - a, &e);
        JsonValue *r = d ? json_root(d) : NULL;
        if (!d || r->type != JSON_OBJECT) {
            snprintf(err, errlen, "%s:%d: %s", path, line_no, d ? "expected a JSON object {\"id\": ..., \"answer\": ...}" : e.msg);
            json_free(d);
            ok = false;
            break;
        }
        JsonValue *id = json_get(r, "id");
        const char *answer = json_get_str(r, "answer");
        char sid[128];
        sid[0] = 0;
        if (id && (id->type == JSON_STRING || id->type == JSON_NUMBER) && strlen(id->str) >= sizeof sid) {
            // a cut id could name another item: refuse it instead
            snprintf(err, errlen, "%s:%d: \"id\" is longer than %zu characters", path, line_no, sizeof sid - 1);
            json_free(d);
            ok = false;
            break;
        }
        if (id && (id->type == JSON_STRING || id->type == JSON_NUMBER)) snprintf(sid, sizeof sid, "%s", id->str);
        if (!sid[0] || !answer) {
            snprintf(err, errlen, "%s:%d: needs a string or number \"id\" and a string \"answer\"", path, line_no);
            json_free(d);
            ok = false;
            break;
        }
        int item = strmap_get(&b->item_index, sid, -1);
        if (item < 0) {
            const char *hint = "";
            if (b->amber) hint = b->kind == BENCH_AMBER ? " (a discriminative id? use --bench amber-disc)" : " (a generative id? use --bench amber)";
            snprintf(err, errlen, "%s:%d: id %s is not an item of %s%s", path, line_no, json_quote_short(q, sizeof q, sid, strlen(sid)),
                     bench_name(b->kind), b->amber && atoi(sid) >= 1 && atoi(sid) <= amber_count(b->amber) ? hint : "");
            json_free(d);
            ok = false;
            break;
        }
        if (seen[item]) {
            snprintf(err, errlen, "%s:%d: id %s answered twice", path, line_no, json_quote_short(q, sizeof q, sid, strlen(sid)));
            json_free(d);
            ok = false;
            break;
        }
        seen[item] = 1;
        const char *s = answer;
        while (*s && isspace((unsigned char)*s)) s++;
        if (!*s || strlen(answer) != json_get(r, "answer")->len) {   // empty, or an embedded NUL cut it short
            (*empty)++;
        } else {
            ans = realloc_check(ans, (size_t)(n + 1) * sizeof *ans);
            ans[n++] = (Answer){item, strdup(answer)};
        }
        json_free(d);
    }
    free(seen);
    free(text);
    if (!ok) {
        for (int i = 0; i < n; i++) free(ans[i].answer);
        free(ans);
        return false;
    }
    *out = ans;
    *n_out = n;
    return true;
}

// ---- scoring and reporting ----
static void json_num(StrBuf *j, const char *key, double v, bool last) { strbuf_printf(j, "  \"%s\": %.10g%s\n", key, v, last ? "" : ","); }

// One per-answer line: {"id": ..., "<key1>": [...], "hallucinated": [...]} from "a|b" lists.
static void per_line_lists(StrBuf *per, const char *id, const char *key, const char *const *words, int n_words, const char *hall) {
    if (!per) return;
    strbuf_str(per, "{\"id\": ");
    strbuf_json_str(per, id);
    strbuf_printf(per, ", \"%s\": [", key);
    for (int i = 0; i < n_words; i++) {
        if (i) strbuf_str(per, ", ");
        strbuf_json_str(per, words[i]);
    }
    strbuf_str(per, "], \"hallucinated\": [");
    for (const char *h = hall; h && *h;) {
        const char *bar = strchr(h, '|');
        size_t l = bar ? (size_t)(bar - h) : strlen(h);
        if (h != hall) strbuf_str(per, ", ");
        strbuf_json_string(per, h, l);
        h = bar ? bar + 1 : NULL;
    }
    strbuf_str(per, "]}\n");
}

static void score_chair(const Bench *b, const Answer *ans, int n, StrBuf *j, FILE *t, StrBuf *per, bool rlhfv) {
    ChairCount c = {0}, u = {0};
    long recall_hit = 0, recall_total = 0, with_objects = 0;
    for (int i = 0; i < n; i++) {
        const CocoImage *im = &b->gt.images[coco_gt_find(&b->gt, atoll(b->items[ans[i].item].id))];
        int m = chair_mentions_all(b->vocab, ans[i].answer, NULL, 0);
        ChairMention *all = malloc_check((size_t)(m ? m : 1) * sizeof *all);
        int *objs = malloc_check((size_t)(m ? m : 1) * sizeof *objs), *uniq = malloc_check((size_t)(m ? m : 1) * sizeof *uniq);
        chair_mentions_all(b->vocab, ans[i].answer, all, m);
        int nu = 0;
        for (int k = 0; k < m; k++) {
            objs[k] = all[k].obj;
            bool dup = false;
            for (int x = 0; x < nu; x++) dup |= uniq[x] == objs[k];
            if (!dup) uniq[nu++] = objs[k];
        }
        chair_count_add(&c, objs, m, im->objs, im->n_objs);
        chair_count_add(&u, uniq, nu, im->objs, im->n_objs);
        with_objects += m > 0;
        if (per) {
            const char **names = malloc_check((size_t)(m ? m : 1) * sizeof *names);
            StrBuf hall = {0};
            for (int k = 0; k < m; k++) {
                names[k] = chair_vocab_name(b->vocab, objs[k]);
                bool present = false;
                for (int x = 0; x < im->n_objs; x++) present |= im->objs[x] == objs[k];
                if (!present) strbuf_printf(&hall, "%s%s", hall.len ? "|" : "", names[k]);
            }
            per_line_lists(per, b->items[ans[i].item].id, "objects", names, m, hall.s);
            free(names);
            free(hall.s);
        }
        for (int k = 0; k < nu; k++)
            for (int x = 0; x < im->n_objs; x++) recall_hit += uniq[k] == im->objs[x];
        recall_total += im->n_objs;
        free(all);
        free(objs);
        free(uniq);
    }
    double recall = recall_total ? (double)recall_hit / (double)recall_total : 0;
    strbuf_printf(j, "  \"captions\": %ld,\n  \"hallucinated_captions\": %ld,\n  \"mentions\": %ld,\n  \"hallucinated_mentions\": %ld,\n",
                  c.captions, c.hallucinated_captions, c.mentions, c.hallucinated_mentions);
    json_num(j, "CHAIR_s", 100 * chair_s(&c), false);
    json_num(j, "CHAIR_i", 100 * chair_i(&c), false);
    strbuf_printf(j, "  \"variant\": \"%s\",\n", rlhfv ? "rlhfv" : "original");
    double refine = with_objects ? (double)c.hallucinated_captions / (double)with_objects : 0;
    json_num(j, "CHAIR_i_unique", 100 * chair_i(&u), false);
    json_num(j, "CHAIR_s_refine", 100 * refine, false);
    json_num(j, "recall", 100 * recall, false);
    if (t) {
        fprintf(t, "  CHAIR_s         %6.2f   (%ld of %ld answers name an object the image lacks)\n", 100 * chair_s(&c), c.hallucinated_captions, c.captions);
        fprintf(t, "  CHAIR_i         %6.2f   (%ld of %ld object mentions, repeats counted as the original does)\n", 100 * chair_i(&c), c.hallucinated_mentions, c.mentions);
        fprintf(t, "  CHAIR_i unique  %6.2f   (%ld of %ld, each object once per answer)\n", 100 * chair_i(&u), u.hallucinated_mentions, u.mentions);
        fprintf(t, "  CHAIR_s refine  %6.2f   (%ld of %ld answers that name an object: Object HalBench's \"Response Hall\")\n",
                100 * refine, c.hallucinated_captions, with_objects);
        fprintf(t, "  recall          %6.2f   (%ld of %ld true objects named)\n", 100 * recall, recall_hit, recall_total);
    }
}

static void score_amber(const Bench *b, const Answer *ans, int n, StrBuf *j, FILE *t, StrBuf *per) {
    AmberCount c;
    amber_count_init(b->amber, &c);
    for (int i = 0; i < n; i++) {
        char hall[4096];
        amber_add_generative(b->amber, &c, b->amber_id[ans[i].item], ans[i].answer, hall, sizeof hall);
        if (per) {
            int m = amber_nouns(b->amber, ans[i].answer, NULL, 0);
            const char **nouns = malloc_check((size_t)(m ? m : 1) * sizeof *nouns);
            amber_nouns(b->amber, ans[i].answer, nouns, m);
            per_line_lists(per, b->items[ans[i].item].id, "nouns", nouns, m, hall);
            free(nouns);
        }
    }
    AmberGenMetrics m = amber_gen_metrics(&c, false), r = amber_gen_metrics(&c, true);
    json_num(j, "CHAIR", m.chair, false);
    json_num(j, "Cover", m.cover, false);
    json_num(j, "Hal", m.hal, false);
    json_num(j, "Cog", m.cog, false);
    strbuf_printf(j, "  \"official_rounded\": {\"CHAIR\": %.1f, \"Cover\": %.1f, \"Hal\": %.1f, \"Cog\": %.1f},\n", r.chair, r.cover, r.hal, r.cog);
    strbuf_printf(j, "  \"nouns\": %.0f,\n  \"hallucinated_nouns\": %.0f,\n", c.chair_num - 0.001, c.chair_score);
    if (t) {
        fprintf(t, "  CHAIR   %5.1f   (%.0f of %.0f vocabulary nouns not in the image)\n", r.chair, c.chair_score, c.chair_num - 0.001);
        fprintf(t, "  Cover   %5.1f   (true objects mentioned)\n", r.cover);
        fprintf(t, "  Hal     %5.1f   (answers with at least one hallucinated noun)\n", r.hal);
        fprintf(t, "  Cog     %5.1f   (the annotated likely hallucinations that were named)\n", r.cog);
    }
}

static YesNo read_answer(const char *a, bool exact) {
    if (exact) return !strcmp(a, "Yes") ? YESNO_YES : !strcmp(a, "No") ? YESNO_NO : YESNO_UNKNOWN;
    return yesno_read(a, strlen(a));
}

static void per_line_read(StrBuf *per, const char *id, bool truth_yes, YesNo read) {
    if (!per) return;
    strbuf_str(per, "{\"id\": ");
    strbuf_json_str(per, id);
    strbuf_printf(per, ", \"truth\": \"%s\", \"read\": \"%s\"}\n", truth_yes ? "yes" : "no", yesno_name(read));
}

static void score_amber_disc(const Bench *b, const Answer *ans, int n, bool exact, StrBuf *j, FILE *t, StrBuf *per) {
    AmberCount c;
    amber_count_init(b->amber, &c);
    for (int i = 0; i < n; i++) {
        int id = b->amber_id[ans[i].item];
        amber_add_discriminative(b->amber, &c, id, ans[i].answer, exact);
        per_line_read(per, b->items[ans[i].item].id, amber_truth_yes(b->amber, id), read_answer(ans[i].answer, exact));
    }
    strbuf_printf(j, "  \"unreadable\": %ld,\n  \"yes_no_rule\": \"%s\",\n", c.unreadable, exact ? "exact" : "lpoi");
    if (t) fprintf(t, "  %-10s %8s %9s %7s %6s\n", "dimension", "accuracy", "precision", "recall", "F1");
    for (int d = 0; d < 7; d++) {
        AmberDiscMetrics m = amber_disc_metrics(&c, d, true);
        strbuf_printf(j, "  \"%s\": {\"accuracy\": %.1f, \"precision\": %.1f, \"recall\": %.1f, \"F1\": %.1f},\n",
                      amber_disc_dim_name(d), m.accuracy, m.precision, m.recall, m.f1);
        if (t) fprintf(t, "  %-10s %8.1f %9.1f %7.1f %6.1f\n", amber_disc_dim_name(d), m.accuracy, m.precision, m.recall, m.f1);
    }
    if (t) fprintf(t, "  (positive class \"No\", as AMBER; %ld answers read as neither Yes nor No, by the %s rule)\n", c.unreadable,
                   exact ? "exact-string" : "lpoi yes/no");
}

static void score_pope(const Bench *b, const Answer *ans, int n, bool exact, StrBuf *j, FILE *t, StrBuf *per) {
    PopeCount c[POPE_SETTINGS] = {{0}};
    for (int i = 0; i < n; i++) {
        const PopeQuestion *q = &b->pope[ans[i].item];
        YesNo yn = read_answer(ans[i].answer, exact);
        pope_count_add(&c[q->setting], q->present, yn);
        per_line_read(per, b->items[ans[i].item].id, q->present, yn);
    }
    if (t) fprintf(t, "  %-12s %9s %8s %9s %7s %6s %10s\n", "setting", "questions", "accuracy", "precision", "recall", "F1", "yes ratio");
    for (int s = 0; s < POPE_SETTINGS; s++) {
        PopeMetrics m = pope_metrics(&c[s]);
        strbuf_printf(j, "  \"%s\": {\"questions\": %ld, \"accuracy\": %.10g, \"precision\": %.10g, \"recall\": %.10g, \"F1\": %.10g, "
                         "\"yes_ratio\": %.10g, \"unreadable\": %ld},\n",
                      pope_setting_name((PopeSetting)s), c[s].total, 100 * m.accuracy, 100 * m.precision, 100 * m.recall, 100 * m.f1,
                      100 * m.yes_ratio, c[s].unreadable);
        if (t) fprintf(t, "  %-12s %9ld %8.2f %9.2f %7.2f %6.2f %10.2f\n", pope_setting_name((PopeSetting)s), c[s].total, 100 * m.accuracy,
                       100 * m.precision, 100 * m.recall, 100 * m.f1, 100 * m.yes_ratio);
    }
    if (t) fprintf(t, "  (positive class \"yes\", as POPE)\n");
}

bool bench_score_file_opts(BenchKind kind, const char *data_dir, const char *answers_path, const char *out_json, FILE *table,
                           const BenchOptions *opt, char *err, size_t errlen) {
    BenchOptions none = {0};
    if (!opt) opt = &none;
    Bench b;
    if (!bench_open(&b, kind, data_dir, opt, err, errlen)) return false;
    Answer *ans = NULL;
    int n = 0;
    long empty = 0;
    if (!read_answers(&b, answers_path, &ans, &n, &empty, err, errlen)) { bench_close(&b); return false; }
    long missing = b.n - n - empty;
    if (n == 0) {   // nothing to average: every metric would be 0/0
        snprintf(err, errlen, "%s: no answers to score (%ld empty, %ld of %d items unanswered)", answers_path, empty, missing, b.n);
        bench_close(&b);
        free(ans);
        return false;
    }
    StrBuf j = {0};
    strbuf_str(&j, "{\n  \"bench\": ");
    strbuf_json_str(&j, bench_name(kind));
    strbuf_str(&j, ",\n  \"answers_file\": ");
    strbuf_json_str(&j, answers_path);
    strbuf_printf(&j, ",\n  \"items\": %d,\n  \"scored\": %d,\n  \"skipped_empty\": %ld,\n  \"missing\": %ld,\n", b.n, n, empty, missing);
    if (table) fprintf(table, "lpoi score --bench %s: %d of %d items scored (%ld empty answers skipped, %ld items unanswered)\n",
                       bench_name(kind), n, b.n, empty, missing);
    StrBuf per = {0}, *perp = opt->per_answer ? &per : NULL;
    strbuf_str(&per, "");
    if (kind == BENCH_CHAIR) score_chair(&b, ans, n, &j, table, perp, opt->chair_rlhfv);
    else if (kind == BENCH_AMBER) score_amber(&b, ans, n, &j, table, perp);
    else if (kind == BENCH_AMBER_DISC) score_amber_disc(&b, ans, n, opt->exact_yes_no, &j, table, perp);
    else score_pope(&b, ans, n, opt->exact_yes_no, &j, table, perp);
    strbuf_str(&j, "  \"scorer\": \"lpoi\"\n}\n");
    bool ok = true;
    LpoiErr e = {{0}};
    if (opt->per_answer && !file_write_atomic(opt->per_answer, per.s, per.len, &e)) { snprintf(err, errlen, "%s", e.msg); ok = false; }
    if (ok && out_json && !file_write_atomic(out_json, j.s, j.len, &e)) { snprintf(err, errlen, "%s", e.msg); ok = false; }
    free(j.s);
    free(per.s);
    for (int i = 0; i < n; i++) free(ans[i].answer);
    free(ans);
    bench_close(&b);
    return ok;
}

bool bench_score_file(BenchKind b, const char *data_dir, const char *answers_path, const char *out_json, FILE *table, char *err,
                      size_t errlen) {
    return bench_score_file_opts(b, data_dir, answers_path, out_json, table, NULL, err, errlen);
}
