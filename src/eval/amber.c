// amber.c — AMBER's inference.py in C (see amber.h). Line references are to inference.py @534babf.
#include "eval/amber.h"
#include "eval/strmap.h"
#include "eval/wordnet_lemmas.h"
#include "eval/words.h"
#include "base/check.h"
#include "base/file.h"
#include "base/json.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


typedef enum { T_GENERATIVE, T_STATE, T_NUMBER, T_ACTION, T_EXISTENCE, T_RELATION } AmberType;

typedef struct {
    AmberType type;
    bool truth_yes;             // discriminative
    int *truth, n_truth;        // generative: vocabulary ids
    int *hallu, n_hallu;
    char *image, *query;
} AmberRecord;

struct AmberData {
    char **vocab;               // the 418 words (relation.json keys and values), in first-seen order
    int n_vocab;
    StrMap vocab_id;
    int **assoc, *n_assoc;      // [vocab id] -> association list (vocab ids), keys only
    StrMap global_safe;         // safe_words.txt
    StrMap similar;             // "a b" -> 1 for each similar pair (both orders)
    AmberRecord *rec;           // [id - 1]
    int n_rec;
    double init[64];            // metrics.txt values by name, see counter_names
};

// metrics.txt's names, in the order AmberCount is filled.
static const char *const GEN_NAMES[] = {"chair_score", "chair_num", "safe_cover_score", "safe_cover_num",
                                        "hallu_cover_score", "hallu_cover_num", "non_hallu_score", "non_hallu_num"};
static const char *const DIM_PREFIX[] = {"", "as_", "an_", "aa_", "ha_", "asso_"};
static const char *const DISC_NAMES[] = {"qa_correct_score", "qa_correct_num", "qa_no_score", "qa_no_num",
                                         "qa_ans_no_score", "qa_ans_no_num"};

static int vocab_add(AmberData *a, const char *w) {
    int id = strmap_get(&a->vocab_id, w, -1);
    if (id >= 0) return id;
    a->vocab = realloc_check(a->vocab, (size_t)(a->n_vocab + 1) * sizeof *a->vocab);
    a->vocab[a->n_vocab] = strdup(w);
    strmap_add(&a->vocab_id, w, a->n_vocab);
    return a->n_vocab++;
}

static JsonDoc *load_json(const char *dir, const char *name, char *err, size_t errlen) {
    char *path = file_path_join(dir, name);
    LpoiErr e = {{0}};
    JsonDoc *d = json_load_file(path, 64u << 20, &e);
    if (!d) snprintf(err, errlen, "%s", e.msg);
    free(path);
    return d;
}

static bool load_words(AmberData *a, const JsonValue *list, const char *path, size_t i, const char *field, int **out, int *n,
                       char *err, size_t errlen) {
    if (!list || list->type != JSON_ARRAY) {
        snprintf(err, errlen, "%s: record %zu: \"%s\" must be a list of words", path, i, field);
        return false;
    }
    *out = malloc_check((list->count + 1) * sizeof **out);
    *n = 0;
    for (size_t k = 0; k < list->count; k++) {
        const JsonValue *w = list->items[k];
        int id = w->type == JSON_STRING ? strmap_get(&a->vocab_id, w->str, -1) : -1;
        if (id < 0 || !a->assoc[id]) {   // keys have a list (maybe empty), other words none
            snprintf(err, errlen, "%s: record %zu: \"%s\" word %zu is not a key of relation.json", path, i, field, k);
            return false;
        }
        (*out)[(*n)++] = id;
    }
    return true;
}

AmberData *amber_load(const char *dir, char *err, size_t errlen) {
    AmberData *a = calloc_check(1, sizeof *a);
    JsonDoc *rel = NULL, *ann = NULL, *qry = NULL;
    char *text = NULL;
    bool ok = false;
    // relation.json: {word: [associated words]}; keys and values form the vocabulary (inference.py:56-61).
    if (!(rel = load_json(dir, "relation.json", err, errlen))) goto done;
    JsonValue *r = json_root(rel);
    if (r->type != JSON_OBJECT) { snprintf(err, errlen, "%s/relation.json: expected an object", dir); goto done; }
    size_t most = r->count;   // vocabulary size bound: every key and every listed word
    for (size_t i = 0; i < r->count; i++) most += r->items[i]->type == JSON_ARRAY ? r->items[i]->count : 0;
    a->assoc = calloc_check(most + 1, sizeof *a->assoc);
    a->n_assoc = calloc_check(most + 1, sizeof *a->n_assoc);
    for (size_t i = 0; i < r->count; i++) {
        const JsonValue *v = r->items[i];
        if (v->type != JSON_ARRAY) { snprintf(err, errlen, "%s/relation.json: \"%s\": expected a list", dir, r->keys[i]); goto done; }
        int key = vocab_add(a, r->keys[i]);
        int *list = malloc_check((v->count + 1) * sizeof *list);
        for (size_t k = 0; k < v->count; k++) {
            if (v->items[k]->type != JSON_STRING) { free(list); snprintf(err, errlen, "%s/relation.json: \"%s\": words must be strings", dir, r->keys[i]); goto done; }
            list[k] = vocab_add(a, v->items[k]->str);
        }
        if (a->assoc[key]) free(a->assoc[key]);   // a repeated key: json.load keeps the last
        a->assoc[key] = list;
        a->n_assoc[key] = (int)v->count;
    }
    // safe_words.txt: one word a line (inference.py:63-67).
    char *path = file_path_join(dir, "safe_words.txt");
    LpoiErr e = {{0}};
    size_t len;
    text = file_read_all(path, 1u << 20, &len, &e);
    free(path);
    if (!text) { snprintf(err, errlen, "%s", e.msg); goto done; }
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        strmap_add(&a->global_safe, p, 1);
        p = nl ? nl + 1 : NULL;
    }
    free(text);
    // metrics.txt: name=value starting values (the 0.001 denominators).
    path = file_path_join(dir, "metrics.txt");
    text = file_read_all(path, 1u << 20, &len, &e);
    free(path);
    if (!text) { snprintf(err, errlen, "%s", e.msg); goto done; }
    for (int i = 0; i < 64; i++) a->init[i] = NAN;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        char *eq = strchr(p, '=');
        if (eq) {
            *eq = 0;
            char name[64];
            snprintf(name, sizeof name, "%s", p);
            for (char *t = name + strlen(name); t > name && isspace((unsigned char)t[-1]);) *--t = 0;
            int idx = -1;
            for (int g = 0; g < 8; g++) if (!strcmp(name, GEN_NAMES[g])) idx = g;
            for (int d = 0; d < 6; d++)
                for (int k = 0; k < 6; k++) {
                    char full[64];
                    snprintf(full, sizeof full, "%s%s", DIM_PREFIX[d], DISC_NAMES[k]);
                    if (!strcmp(name, full)) idx = 8 + d * 6 + k;
                }
            if (idx >= 0) a->init[idx] = strtod(eq + 1, NULL);
        }
        p = nl ? nl + 1 : NULL;
    }
    for (int i = 0; i < 44; i++)
        if (isnan(a->init[i])) { snprintf(err, errlen, "%s/metrics.txt: a counter is missing (expected the 44 of AMBER's file)", dir); goto done; }
    // annotations.json: records in id order (inference.py indexes ground_truth[id-1]).
    if (!(ann = load_json(dir, "annotations.json", err, errlen))) goto done;
    JsonValue *arr = json_root(ann);
    if (arr->type != JSON_ARRAY) { snprintf(err, errlen, "%s/annotations.json: expected a list", dir); goto done; }
    a->rec = calloc_check(arr->count + 1, sizeof *a->rec);
    for (size_t i = 0; i < arr->count; i++) {
        const JsonValue *x = arr->items[i];
        int64_t id;
        const char *type = json_get_str(x, "type");
        if (!json_get_i64(x, "id", &id) || id != (int64_t)i + 1 || !type) {
            snprintf(err, errlen, "%s/annotations.json: record %zu: needs \"id\" = %zu and a \"type\"", dir, i, i + 1);
            goto done;
        }
        AmberRecord *rc = &a->rec[a->n_rec++];
        if (!strcmp(type, "generative")) {
            rc->type = T_GENERATIVE;
            if (!load_words(a, json_get(x, "truth"), "annotations.json", i, "truth", &rc->truth, &rc->n_truth, err, errlen) ||
                !load_words(a, json_get(x, "hallu"), "annotations.json", i, "hallu", &rc->hallu, &rc->n_hallu, err, errlen))
                goto done;
        } else {
            // inference.py:126-135: the four named types, everything else is relation.
            rc->type = !strcmp(type, "discriminative-attribute-state")    ? T_STATE
                     : !strcmp(type, "discriminative-attribute-number")   ? T_NUMBER
                     : !strcmp(type, "discriminative-attribute-action")   ? T_ACTION
                     : !strcmp(type, "discriminative-hallucination")      ? T_EXISTENCE
                                                                          : T_RELATION;
            const char *t = json_get_str(x, "truth");
            if (!t || (strcmp(t, "yes") && strcmp(t, "no"))) {
                snprintf(err, errlen, "%s/annotations.json: record %zu: \"truth\" must be \"yes\" or \"no\"", dir, i);
                goto done;
            }
            rc->truth_yes = !strcmp(t, "yes");
        }
    }
    // query_all.json: the question and image of every id.
    if (!(qry = load_json(dir, "query_all.json", err, errlen))) goto done;
    JsonValue *q = json_root(qry);
    for (size_t i = 0; q->type == JSON_ARRAY && i < q->count; i++) {
        int64_t id;
        const char *img = json_get_str(q->items[i], "image"), *query = json_get_str(q->items[i], "query");
        if (!json_get_i64(q->items[i], "id", &id) || id < 1 || id > a->n_rec || !img || !query) {
            snprintf(err, errlen, "%s/query_all.json: entry %zu: needs \"id\" (1..%d), \"image\", \"query\"", dir, i, a->n_rec);
            goto done;
        }
        free(a->rec[id - 1].image);
        free(a->rec[id - 1].query);
        a->rec[id - 1].image = strdup(img);
        a->rec[id - 1].query = strdup(query);
    }
    ok = true;
done:
    json_free(rel);
    json_free(ann);
    json_free(qry);
    free(text);
    if (!ok) { amber_free(a); return NULL; }
    return a;
}

void amber_free(AmberData *a) {
    if (!a) return;
    for (int i = 0; i < a->n_vocab; i++) { free(a->vocab[i]); free(a->assoc[i]); }
    free(a->vocab);
    free(a->assoc);
    free(a->n_assoc);
    for (int i = 0; i < a->n_rec; i++) {
        free(a->rec[i].truth);
        free(a->rec[i].hallu);
        free(a->rec[i].image);
        free(a->rec[i].query);
    }
    free(a->rec);
    strmap_free(&a->vocab_id);
    strmap_free(&a->global_safe);
    strmap_free(&a->similar);
    free(a);
}

int amber_count(const AmberData *a) { return a->n_rec; }
bool amber_is_generative(const AmberData *a, int id) { return id >= 1 && id <= a->n_rec && a->rec[id - 1].type == T_GENERATIVE; }
const char *amber_image(const AmberData *a, int id) { return id >= 1 && id <= a->n_rec ? a->rec[id - 1].image : NULL; }
const char *amber_query(const AmberData *a, int id) { return id >= 1 && id <= a->n_rec ? a->rec[id - 1].query : NULL; }
bool amber_truth_yes(const AmberData *a, int id) { return id >= 1 && id <= a->n_rec && a->rec[id - 1].truth_yes; }

bool amber_similar_load(AmberData *a, const char *path, char *err, size_t errlen) {
    LpoiErr e = {{0}};
    size_t len;
    char *text = file_read_all(path, 16u << 20, &len, &e);
    if (!text) { snprintf(err, errlen, "%s", e.msg); return false; }
    int line_no = 0;
    bool ok = true;
    for (char *p = text; ok && p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        line_no++;
        char *hash = strchr(p, '#');
        if (hash) *hash = 0;
        char w1[128], w2[128], extra[2];
        int n = sscanf(p, "%127s %127s %1s", w1, w2, extra);
        if (n == 2) {
            if (strmap_get(&a->vocab_id, w1, -1) < 0 || strmap_get(&a->vocab_id, w2, -1) < 0) {
                snprintf(err, errlen, "%s:%d: \"%s\" or \"%s\" is not an AMBER vocabulary word", path, line_no, w1, w2);
                ok = false;
            }
            char key[260];
            snprintf(key, sizeof key, "%s %s", w1, w2);
            strmap_add(&a->similar, key, 1);
            snprintf(key, sizeof key, "%s %s", w2, w1);
            strmap_add(&a->similar, key, 1);
        } else if (n > 0) {
            snprintf(err, errlen, "%s:%d: expected two words", path, line_no);
            ok = false;
        }
        p = nl ? nl + 1 : NULL;
    }
    free(text);
    return ok;
}

// spaCy's token1.similarity(token2) > 0.8, offline: identical words (similarity 1), or a listed pair.
static bool similar(const AmberData *a, int w1, int w2) {
    if (w1 == w2) return true;
    if (!a->similar.n) return false;
    char key[260];
    snprintf(key, sizeof key, "%s %s", a->vocab[w1], a->vocab[w2]);
    return strmap_get(&a->similar, key, 0) != 0;
}

// ---- the noun reading that stands in for nltk.pos_tag (tools/amber_reference.py has the same rule) ----
static bool in_list(const char *w, const char *const *list) {
    for (; *list; list++)
        if (!strcmp(w, *list)) return true;
    return false;
}
// Vocabulary words that are adjectives before another word ("an orange cat", "light blue", "hot dog").
static const char *const ADJECTIVES[] = {"orange", "light", "hot", "individual", "cream", NULL};
// Words after which such a word is still a noun ("an orange and a banana", "the light is on").
static const char *const FUNCTION_WORDS[] = {
    "and", "or", "but", "is", "are", "was", "were", "be", "been", "in", "on", "at", "of", "with", "to", "from",
    "by", "near", "next", "under", "over", "behind", "above", "below", "that", "which", "who", "while", "as",
    "for", "into", "onto", "the", "a", "an", "this", "these", "those", "it", "its", "there", "here", "has",
    "have", "had", "can", "could", "will", "would", "also", "too", NULL};
// Vocabulary words that are verbs after "to", a modal or a pronoun ("to watch", "they leave").
static const char *const VERBS[] = {
    "watch", "leave", "sound", "support", "switch", "ring", "note", "spray", "tape", "file", "ski", "skate",
    "drink", "grill", "rock", "lock", "pack", "paddle", "shovel", "sponge", "drain", "plug", "pipe", "rope",
    "line", "board", "bill", "bat", "hose", "fish", "water", "bail", "warp", "pen", "net", "saddle", "star",
    "sign", "signal", "stage", "tie", "track", "train", "cash", "brush", "mat", "pad", "cable", "wire",
    "string", "rack", "rail", "pot", "pan", NULL};
static const char *const VERB_BEFORE[] = {"to", "can", "could", "will", "would", "should", "may", "might", "must",
                                          "not", "n't", "they", "we", "i", "you", "'ll", "do", "does", "did",
                                          "'re", "let", NULL};
// Linking verbs: an adjective word right after one is a predicate adjective ("the cat is orange").
static const char *const COPULAS[] = {"is", "are", "was", "were", "be", "been", "being", "'s", "looks", "look",
                                      "appears", "appear", "seems", "seem", "remains", "remain", NULL};
// "to" after these is a preposition, not an infinitive ("next to water").
static const char *const TO_PREPOSITION[] = {"next", "close", "closer", "near", "nearer", "up", "attached", "similar",
                                             "adjacent", "due", "back", "down", "leading", "according", "opposite",
                                             "parallel", "connected", "tied", NULL};
// "can" is a noun only after these ("a can", "soda cans" is the plural and always a noun).
static const char *const CAN_BEFORE[] = {"a", "an", "the", "this", "that", "one", "each", "every", "soda", "beer",
                                         "trash", "tin", "metal", "paint", "watering", "garbage", "aluminum", NULL};

static bool alpha_word(const char *w) {
    if (!*w) return false;
    for (; *w; w++)
        if (!islower((unsigned char)*w) && *w != '-') return false;
    return true;
}

static void lower_into(char *dst, size_t cap, const char *src) {
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++) dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = 0;
}

static bool read_as_noun(const Words *w, int i) {
    const char *t = w->tok[i];
    char prev[64] = "", prev2[64] = "", next[64] = "";
    if (i > 0) lower_into(prev, sizeof prev, w->tok[i - 1]);
    if (i > 1) lower_into(prev2, sizeof prev2, w->tok[i - 2]);
    if (i + 1 < w->n) snprintf(next, sizeof next, "%s", w->tok[i + 1]);
    if (!strcmp(t, "can")) return in_list(prev, CAN_BEFORE);
    if (in_list(t, ADJECTIVES) && ((alpha_word(next) && !in_list(next, FUNCTION_WORDS)) || in_list(prev, COPULAS))) return false;
    if (in_list(t, VERBS) && in_list(prev, VERB_BEFORE) && !(!strcmp(prev, "to") && in_list(prev2, TO_PREPOSITION))) return false;
    return true;
}

int amber_nouns(const AmberData *a, const char *text, const char **out, int max) {
    Words w = {0};
    words_tokenize(&w, text, strlen(text));   // no lowercasing (inference.py:33)
    int n = 0;
    for (int i = 0; i < w.n; i++) {
        if (!read_as_noun(&w, i)) continue;
        int id = strmap_get(&a->vocab_id, wordnet_lemma(w.tok[i]), -1);
        if (id < 0) continue;
        if (out && n < max) out[n] = a->vocab[id];
        n++;
    }
    words_free(&w);
    return out ? LPOI_MIN(n, max) : n;
}

void amber_count_init(const AmberData *a, AmberCount *c) {
    memset(c, 0, sizeof *c);
    double *g = &c->chair_score;
    for (int i = 0; i < 8; i++) g[i] = a->init[i];
    for (int d = 0; d < 6; d++) {
        c->correct_score[d] = a->init[8 + d * 6 + 0];
        c->correct_num[d] = a->init[8 + d * 6 + 1];
        c->no_score[d] = a->init[8 + d * 6 + 2];
        c->no_num[d] = a->init[8 + d * 6 + 3];
        c->ans_no_score[d] = a->init[8 + d * 6 + 4];
        c->ans_no_num[d] = a->init[8 + d * 6 + 5];
    }
}

// inference.py's word lists: the association words of every object, then the objects; owner[j] is the
// object index for association entries and 0 for the object part, which `mark` then flips to 1.
typedef struct { int *word, *owner, n, n_objs; } TargetList;

static void target_build(const AmberData *a, TargetList *t, const int *objs, int n_objs) {
    int total = n_objs;
    for (int i = 0; i < n_objs; i++) total += a->n_assoc[objs[i]];
    t->word = malloc_check((size_t)(total + 1) * sizeof *t->word);
    t->owner = malloc_check((size_t)(total + 1) * sizeof *t->owner);
    t->n = 0;
    t->n_objs = n_objs;
    for (int i = 0; i < n_objs; i++)
        for (int k = 0; k < a->n_assoc[objs[i]]; k++) { t->word[t->n] = a->assoc[objs[i]][k]; t->owner[t->n++] = i; }
    for (int i = 0; i < n_objs; i++) { t->word[t->n] = objs[i]; t->owner[t->n++] = 0; }
}

// inference.py:100-104: mark the object behind entry j.
static void mark(TargetList *t, int j) {
    int assoc_len = t->n - t->n_objs;
    if (j < assoc_len) t->owner[t->owner[j] + assoc_len] = 1;
    else t->owner[j] = 1;
}

// sum(list[-len:]) and len(list[-len:]) — with len 0 Python's [-0:] is the whole list.
static void tail_sum(const TargetList *t, double *sum, double *count) {
    int from = t->n_objs ? t->n - t->n_objs : 0;
    for (int j = from; j < t->n; j++) *sum += t->owner[j];
    *count += t->n - from;
}

void amber_add_generative(const AmberData *a, AmberCount *c, int id, const char *response, char *hall_out, size_t cap) {
    const AmberRecord *rc = &a->rec[id - 1];
    if (hall_out && cap) hall_out[0] = 0;
    int n = amber_nouns(a, response, NULL, 0);
    const char **nouns = malloc_check((size_t)(n ? n : 1) * sizeof *nouns);
    amber_nouns(a, response, nouns, n);
    TargetList safe, ha;
    target_build(a, &safe, rc->truth, rc->n_truth);
    target_build(a, &ha, rc->hallu, rc->n_hallu);
    int flagged = 0;
    for (int i = 0; i < n; i++) {
        if (strmap_get(&a->global_safe, nouns[i], 0)) continue;
        int w = strmap_get(&a->vocab_id, nouns[i], -1);
        int j = 0;
        while (j < safe.n && safe.word[j] != w) j++;
        if (j < safe.n) { mark(&safe, j); continue; }
        for (j = 0; j < ha.n; j++)
            if (ha.word[j] == w) { mark(&ha, j); break; }
        for (j = 0; j < ha.n; j++)
            if (similar(a, w, ha.word[j])) { mark(&ha, j); break; }
        bool rescued = false;
        for (j = 0; j < safe.n && !rescued; j++)
            if (similar(a, w, safe.word[j])) { mark(&safe, j); rescued = true; }
        if (rescued) continue;
        flagged++;
        if (hall_out && cap) {
            size_t l = strlen(hall_out);
            snprintf(hall_out + l, cap - l, "%s%s", l ? "|" : "", nouns[i]);
        }
    }
    c->chair_score += flagged;
    c->chair_num += n;
    tail_sum(&safe, &c->safe_cover_score, &c->safe_cover_num);
    tail_sum(&ha, &c->hallu_cover_score, &c->hallu_cover_num);
    if (flagged == 0) c->non_hallu_score += 1;
    c->non_hallu_num += 1;
    free(safe.word); free(safe.owner); free(ha.word); free(ha.owner);
    free(nouns);
}

void amber_add_discriminative(const AmberData *a, AmberCount *c, int id, const char *response, bool exact) {
    const AmberRecord *rc = &a->rec[id - 1];
    int d = (int)rc->type;   // 1 state .. 5 relation, as in AmberCount
    YesNo ans = exact ? (!strcmp(response, "Yes") ? YESNO_YES : !strcmp(response, "No") ? YESNO_NO : YESNO_UNKNOWN)
                      : yesno_read(response, strlen(response));
    if (ans == YESNO_UNKNOWN) c->unreadable++;
    int dims[2] = {0, d};
    for (int k = 0; k < 2; k++) {
        int x = dims[k];
        c->correct_num[x] += 1;
        if (rc->truth_yes) {
            if (ans == YESNO_YES) c->correct_score[x] += 1;
        } else {
            c->no_num[x] += 1;
            if (ans == YESNO_NO) { c->correct_score[x] += 1; c->no_score[x] += 1; }
        }
        if (ans == YESNO_NO) {
            c->ans_no_num[x] += 1;
            if (!rc->truth_yes) c->ans_no_score[x] += 1;
        }
    }
}

// Python's round(x, 1) on a double: the nearest of the representable neighbours, ties to even.
// x*10 in long double keeps the tie test close to Python's exact-decimal one.
static double round1(double x) {
    long double e = (long double)x * 10.0L, fl = floorl(e), diff = e - fl;
    if (diff > 0.5L) return (double)((fl + 1) / 10.0L);
    if (diff < 0.5L) return (double)(fl / 10.0L);
    return (double)((fmodl(fl, 2.0L) == 0 ? fl : fl + 1) / 10.0L);
}

static double pct(double num, double den, bool rnd) { double v = num / den * 100; return rnd ? round1(v) : v; }

AmberGenMetrics amber_gen_metrics(const AmberCount *c, bool rnd) {
    AmberGenMetrics m;
    m.chair = pct(c->chair_score, c->chair_num, rnd);
    m.cover = pct(c->safe_cover_score, c->safe_cover_num, rnd);
    m.cog = pct(c->hallu_cover_score, c->hallu_cover_num, rnd);
    double hal = 100 - c->non_hallu_score / c->non_hallu_num * 100;
    m.hal = rnd ? round1(hal) : hal;
    return m;
}

static const char *const DIM_NAMES[] = {"overall", "attribute", "state", "number", "action", "existence", "relation"};
const char *amber_disc_dim_name(int dim) { return dim >= 0 && dim < 7 ? DIM_NAMES[dim] : "?"; }

AmberDiscMetrics amber_disc_metrics(const AmberCount *c, int dim, bool rnd) {
    // Counter sums per reported dimension (attribute = state + number + action, inference.py:246-249).
    static const int MAP[7][4] = {{0, -1}, {1, 2, 3, -1}, {1, -1}, {2, -1}, {3, -1}, {4, -1}, {5, -1}};
    double cs = 0, cn = 0, ans = 0, ann = 0, ns = 0, nn = 0;
    for (int k = 0; k < 4 && MAP[dim][k] >= 0; k++) {
        int d = MAP[dim][k];
        cs += c->correct_score[d]; cn += c->correct_num[d];
        ans += c->ans_no_score[d]; ann += c->ans_no_num[d];
        ns += c->no_score[d]; nn += c->no_num[d];
    }
    AmberDiscMetrics m;
    m.accuracy = pct(cs, cn, rnd);
    m.precision = pct(ans, ann, rnd);
    m.recall = pct(ns, nn, rnd);
    // F1 from the (rounded) precision and recall, with inference.py's epsilon: 0.001 for existence,
    // 0.0001 for the others.
    double eps = dim == 5 ? 0.001 : 0.0001, p = m.precision / 100, r = m.recall / 100;
    double f1 = 2 * p * r / (p + r + eps) * 100;
    m.f1 = rnd ? round1(f1) : f1;
    return m;
}
