// chair.c — CHAIR as the original computes it (LisaAnne/Hallucination utils/chair.py, Rohrbach et al.
// 2018): lowercase, nltk.word_tokenize (words.c), pattern's singularize on every token
// (singularize.c), merge two-word objects left to right, drop "seat" when "toilet" is there, keep the
// words of the synonym table and map each to its row's first entry. The Object HalBench variant
// (chair.h) swaps the singularizer, the entry stripping and the two-word list.
#include "eval/chair.h"
#include "eval/singularize.h"
#include "eval/strmap.h"
#include "eval/wordnet_lemmas.h"
#include "eval/words.h"
#include "base/check.h"
#include "base/file.h"
#include "base/json.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct ChairVocab {
    ChairVariant variant;
    char **names;       // [n] canonical names (each row's first entry)
    int n;
    StrMap word_obj;    // every table entry as split on ", " (stray spaces kept: such entries never match)
    StrMap double_out;  // "w1 w2" -> index into outs: the word the pair becomes
    char **outs;
    int n_outs;
};

// The original's hard-coded two-word objects and special cases (chair.py, CHAIR.__init__).
static const char *const COCO_DOUBLE_WORDS[] = {
    "motor bike", "motor cycle", "air plane", "traffic light", "street light", "traffic signal", "stop light",
    "fire hydrant", "stop sign", "parking meter", "suit case", "sports ball", "baseball bat", "baseball glove",
    "tennis racket", "wine glass", "hot dog", "cell phone", "mobile phone", "teddy bear", "hair drier",
    "potted plant", "bow tie", "laptop computer", "stove top oven", "home plate", "train track"};
// "baby dog" is a dog, not a person; "passenger train" a train.
static const char *const ANIMAL_WORDS[] = {"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear",
                                          "zebra", "giraffe", "animal", "cub"};

static void add_double(ChairVocab *v, const char *pair, const char *out, bool override) {
    int idx = strmap_get(&v->double_out, pair, -1);
    if (idx >= 0) {
        if (override) { free(v->outs[idx]); v->outs[idx] = strdup(out); }
        return;
    }
    v->outs = realloc_check(v->outs, (size_t)(v->n_outs + 1) * sizeof *v->outs);
    v->outs[v->n_outs] = strdup(out);
    strmap_add(&v->double_out, pair, v->n_outs++);
}

ChairVocab *chair_vocab_parse(const char *text, const char *source_name, char *err, size_t errlen) {
    return chair_vocab_parse_variant(text, source_name, CHAIR_ORIGINAL, err, errlen);
}

ChairVocab *chair_vocab_parse_variant(const char *text, const char *source_name, ChairVariant variant, char *err, size_t errlen) {
    const char *src = source_name ? source_name : "(vocabulary)";
    ChairVocab *v = calloc_check(1, sizeof *v);
    v->variant = variant;
    int line_no = 0;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        line_no++;
        // Python's str.strip(): leading and trailing whitespace of the line.
        const char *a = p, *b = p + len;
        while (a < b && isspace((unsigned char)*a)) a++;
        while (b > a && isspace((unsigned char)b[-1])) b--;
        if (b > a) {
            if (memchr(a, 0, (size_t)(b - a)) || !utf8_valid(a, (size_t)(b - a))) {
                snprintf(err, errlen, "%s:%d: not UTF-8 text", src, line_no);
                chair_vocab_free(v);
                return NULL;
            }
            int obj = v->n;
            v->names = realloc_check(v->names, (size_t)(v->n + 1) * sizeof *v->names);
            v->n++;
            // Split on ", " exactly (the original's split(', ')).
            int k = 0;
            for (const char *s = a; s <= b;) {
                const char *c = s;
                while (c + 1 < b && !(c[0] == ',' && c[1] == ' ')) c++;
                if (c + 1 >= b) c = b;
                char word[256];
                const char *ws = s, *we = c;
                if (variant == CHAIR_RLHFV) {   // s.strip() of every entry
                    while (ws < we && isspace((unsigned char)*ws)) ws++;
                    while (we > ws && isspace((unsigned char)we[-1])) we--;
                }
                snprintf(word, sizeof word, "%.*s", (int)(we - ws), ws);
                if (k == 0) {
                    v->names[obj] = strdup(word);
                    if (!word[0]) {
                        snprintf(err, errlen, "%s:%d: empty object name", src, line_no);
                        chair_vocab_free(v);
                        return NULL;
                    }
                }
                // A word in two rows: the later row wins in the original's dict; we keep that.
                int old = strmap_get(&v->word_obj, word, -1);
                if (old < 0) strmap_add(&v->word_obj, word, obj);
                else if (old != obj) {
                    for (size_t i = 0; i < v->word_obj.cap; i++)
                        if (v->word_obj.keys[i] && !strcmp(v->word_obj.keys[i], word)) v->word_obj.vals[i] = obj;
                }
                k++;
                if (c >= b) break;
                s = c + 2;
            }
        }
        if (!e) break;
        p = e + 1;
    }
    if (v->n == 0) {
        snprintf(err, errlen, "%s: no objects (expected lines \"name, synonym, ...\")", src);
        chair_vocab_free(v);
        return NULL;
    }
    if (variant == CHAIR_ORIGINAL) {
        for (size_t i = 0; i < LPOI_ARRAY_LEN(COCO_DOUBLE_WORDS); i++) add_double(v, COCO_DOUBLE_WORDS[i], COCO_DOUBLE_WORDS[i], false);
    } else {
        // Every entry of two or more words (the table's order does not matter: identity mappings), then
        // the two the original lists to silence "plate" and "train".
        for (size_t i = 0; i < v->word_obj.cap; i++)
            if (v->word_obj.keys[i] && strchr(v->word_obj.keys[i], ' ')) add_double(v, v->word_obj.keys[i], v->word_obj.keys[i], false);
        add_double(v, "home plate", "home plate", false);
        add_double(v, "train track", "train track", false);
    }
    char pair[64];
    for (size_t i = 0; i < LPOI_ARRAY_LEN(ANIMAL_WORDS); i++) {
        snprintf(pair, sizeof pair, "baby %s", ANIMAL_WORDS[i]);
        add_double(v, pair, ANIMAL_WORDS[i], true);
        snprintf(pair, sizeof pair, "adult %s", ANIMAL_WORDS[i]);
        add_double(v, pair, ANIMAL_WORDS[i], true);
    }
    add_double(v, "passenger jet", "jet", true);
    add_double(v, "passenger train", "train", true);
    add_double(v, "bow tie", "tie", true);
    add_double(v, "toilet seat", "toilet", true);
    add_double(v, "wine glas", "wine glass", true);   // singularize turned "glass" into "glas"
    // Two-word entries of another vocabulary (the demo world's "red ball") need the pair too; for COCO's
    // table the only one missing ("dining table") already fires through "table", so nothing changes.
    for (size_t i = 0; i < v->word_obj.cap; i++) {
        const char *w = v->word_obj.keys[i];
        const char *sp = w ? strchr(w, ' ') : NULL;
        if (!sp || sp == w || strchr(sp + 1, ' ') || !sp[1]) continue;
        if (strmap_get(&v->word_obj, sp + 1, -1) == v->word_obj.vals[i]) continue;
        add_double(v, w, w, false);
    }
    return v;
}

ChairVocab *chair_vocab_load(const char *path, char *err, size_t errlen) {
    return chair_vocab_load_variant(path, CHAIR_ORIGINAL, err, errlen);
}

ChairVocab *chair_vocab_load_variant(const char *path, ChairVariant variant, char *err, size_t errlen) {
    LpoiErr e = {{0}};
    size_t n;
    char *text = file_read_all(path, 16u << 20, &n, &e);
    if (!text) { snprintf(err, errlen, "%s", e.msg); return NULL; }
    ChairVocab *v = chair_vocab_parse_variant(text, path, variant, err, errlen);
    free(text);
    return v;
}

void chair_vocab_free(ChairVocab *v) {
    if (!v) return;
    for (int i = 0; i < v->n; i++) free(v->names[i]);
    free(v->names);
    for (int i = 0; i < v->n_outs; i++) free(v->outs[i]);
    free(v->outs);
    strmap_free(&v->word_obj);
    strmap_free(&v->double_out);
    free(v);
}

int chair_vocab_size(const ChairVocab *v) { return v ? v->n : 0; }
const char *chair_vocab_name(const ChairVocab *v, int obj) { return v && obj >= 0 && obj < v->n ? v->names[obj] : NULL; }
int chair_vocab_find(const ChairVocab *v, const char *canonical) {
    for (int i = 0; v && canonical && i < v->n; i++)
        if (!strcmp(v->names[i], canonical)) return i;
    return -1;
}

int chair_mentions_all(const ChairVocab *v, const char *text, ChairMention *out, int max) {
    size_t len = strlen(text);
    char *lower = malloc_check(len + 1);
    for (size_t i = 0; i <= len; i++) lower[i] = (char)tolower((unsigned char)text[i]);
    Words w = {0};
    words_tokenize(&w, lower, len);
    free(lower);
    char (*sing)[64] = malloc_check((size_t)(w.n ? w.n : 1) * sizeof *sing);
    for (int i = 0; i < w.n; i++) {
        if (v->variant == CHAIR_ORIGINAL) singularize(w.tok[i], sing[i], sizeof sing[i]);
        else snprintf(sing[i], sizeof sing[i], "%s", wordnet_lemma(w.tok[i]));
    }
    // Merge two-word objects, greedily left to right.
    char (*merged)[64] = malloc_check((size_t)(w.n ? w.n : 1) * sizeof *merged);
    int m = 0;
    bool toilet = false, seat = false;
    for (int i = 0; i < w.n;) {
        int d = -1;
        if (i + 1 < w.n) {
            char pair[130];
            snprintf(pair, sizeof pair, "%s %s", sing[i], sing[i + 1]);
            d = strmap_get(&v->double_out, pair, -1);
        }
        snprintf(merged[m], sizeof merged[m], "%s", d >= 0 ? v->outs[d] : sing[i]);
        toilet |= !strcmp(merged[m], "toilet");
        seat |= !strcmp(merged[m], "seat");
        m++;
        i += d >= 0 ? 2 : 1;
    }
    int n = 0;
    for (int i = 0; i < m; i++) {
        if (toilet && seat && !strcmp(merged[i], "seat")) continue;   // "the seat of the toilet" is no chair
        int obj = strmap_get(&v->word_obj, merged[i], -1);
        if (obj < 0) continue;
        if (out && n < max) {
            out[n].obj = obj;
            snprintf(out[n].word, sizeof out[n].word, "%s", merged[i]);
        }
        n++;
    }
    free(sing);
    free(merged);
    words_free(&w);
    return out ? LPOI_MIN(n, max) : n;
}

int chair_mentions(const ChairVocab *v, const char *text, int *objs, int max) {
    int total = chair_mentions_all(v, text, NULL, 0);
    ChairMention *all = malloc_check((size_t)(total ? total : 1) * sizeof *all);
    chair_mentions_all(v, text, all, total);
    int n = 0;
    for (int i = 0; i < total; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) seen = all[j].obj == all[i].obj;
        if (seen) continue;
        if (objs && n < max) objs[n] = all[i].obj;
        n++;
    }
    free(all);
    return objs ? LPOI_MIN(n, max) : n;
}

void chair_count_add(ChairCount *c, const int *mentioned, int n_mentioned, const int *truth, int n_truth) {
    bool hallucinated = false;
    for (int i = 0; i < n_mentioned; i++) {
        bool present = false;
        for (int j = 0; j < n_truth && !present; j++) present = truth[j] == mentioned[i];
        c->mentions++;
        if (!present) { c->hallucinated_mentions++; hallucinated = true; }
    }
    c->captions++;
    c->hallucinated_captions += hallucinated;
}

double chair_s(const ChairCount *c) { return c->captions ? (double)c->hallucinated_captions / (double)c->captions : 0; }
double chair_i(const ChairCount *c) { return c->mentions ? (double)c->hallucinated_mentions / (double)c->mentions : 0; }
