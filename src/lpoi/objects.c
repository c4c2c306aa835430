// objects.c — object mentions and the paper's candidate order (rules in objects.h).
// The lexicon is a sorted array of phrases (words joined by one space, singular and plural forms)
// searched by binary search for the longest phrase at each word; text is cut into words once.
#include "lpoi/objects.h"
#include "base/check.h"
#include "base/file.h"
#include "base/strbuf.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char OBJ_RULE_TEXT[] =
    "Objects named in the text (lexicon: COCO's 80 classes with synonyms, plus --objects FILE):\n"
    "words are lower-cased; hyphens separate words; possessive 's is dropped; plurals match; the\n"
    "longest phrase wins (\"hot dog\" is not a dog); a mention within 3 words after no/not/without/\n"
    "never/nor/neither/none/...n't (no punctuation between) is negated and never a candidate.\n"
    "Order: the chosen answer's first sentence, then the question, then the rest of the answer,\n"
    "each class once; classes only the rejected answer names are hallucination candidates.\n";

// COCO-80 class names (public) with synonyms chosen by us; format of --objects FILE.
const char OBJ_BUILTIN_LEXICON[] =
    "person, man, woman, boy, girl, child, kid, baby, people, lady, guy, player, adult\n"
    "bicycle, bike\n"
    "car, automobile, taxi, sedan\n"
    "motorcycle, motorbike, motor bike, scooter\n"
    "airplane, plane, jet, aircraft, airliner\n"
    "bus\n"
    "train, locomotive\n"
    "truck, lorry\n"
    "boat, ship, sailboat, canoe, kayak\n"
    "traffic light, traffic signal, stoplight\n"
    "fire hydrant, hydrant\n"
    "stop sign\n"
    "parking meter\n"
    "bench\n"
    "bird\n"
    "cat, kitten\n"
    "dog, puppy\n"
    "horse, pony\n"
    "sheep, lamb\n"
    "cow, cattle, calf\n"
    "elephant\n"
    "bear\n"
    "zebra\n"
    "giraffe\n"
    "backpack, rucksack\n"
    "umbrella\n"
    "handbag, purse\n"
    "tie, necktie\n"
    "suitcase, luggage\n"
    "frisbee\n"
    "skis, ski\n"
    "snowboard\n"
    "sports ball, ball, football, soccer ball, basketball, baseball, tennis ball\n"
    "kite\n"
    "baseball bat, bat\n"
    "baseball glove, glove, mitt\n"
    "skateboard\n"
    "surfboard\n"
    "tennis racket, racket, racquet\n"
    "bottle\n"
    "wine glass\n"
    "cup, mug\n"
    "fork\n"
    "knife\n"
    "spoon\n"
    "bowl\n"
    "banana\n"
    "apple\n"
    "sandwich, burger, hamburger\n"
    "orange\n"
    "broccoli\n"
    "carrot\n"
    "hot dog\n"
    "pizza\n"
    "donut, doughnut\n"
    "cake, cupcake\n"
    "chair, stool\n"
    "couch, sofa\n"
    "potted plant, plant, houseplant\n"
    "bed\n"
    "dining table, table\n"
    "toilet\n"
    "tv, television, tv monitor\n"
    "laptop, notebook computer\n"
    "mouse, computer mouse\n"
    "remote, remote control\n"
    "keyboard\n"
    "cell phone, phone, cellphone, mobile phone, smartphone\n"
    "microwave, microwave oven\n"
    "oven, stove\n"
    "toaster\n"
    "sink\n"
    "refrigerator, fridge\n"
    "book\n"
    "clock\n"
    "vase\n"
    "scissors\n"
    "teddy bear, teddy\n"
    "hair drier, hair dryer, blow dryer\n"
    "toothbrush\n";

enum { OBJ_MAX_WORDS = 6 };   // longest phrase the lexicon holds (longer lines are refused)

typedef struct {
    char *key;      // words joined by one space
    int cls, nwords;
    size_t order;   // insertion order: the first class to claim a phrase keeps it
} Entry;

struct ObjLexicon {
    char **names;   // [nclass] canonical names, as keys
    int nclass, cap_class;
    Entry *e;
    size_t n, cap;
    size_t next_order;
    int max_words;
};

ObjLexicon *obj_lexicon_new(void) { return calloc_check(1, sizeof(ObjLexicon)); }

ObjLexicon *obj_lexicon_builtin(void) {
    ObjLexicon *lx = obj_lexicon_new();
    LpoiErr err = {{0}};
    if (!obj_lexicon_add_text(lx, OBJ_BUILTIN_LEXICON, strlen(OBJ_BUILTIN_LEXICON), "builtin", &err)) LPOI_DIE("%s", err.msg);
    return lx;
}

void obj_lexicon_free(ObjLexicon *lx) {
    if (!lx) return;
    for (int i = 0; i < lx->nclass; i++) free(lx->names[i]);
    for (size_t i = 0; i < lx->n; i++) free(lx->e[i].key);
    free(lx->names);
    free(lx->e);
    free(lx);
}

int obj_lexicon_classes(const ObjLexicon *lx) { return lx->nclass; }
const char *obj_lexicon_class_name(const ObjLexicon *lx, int cls) {
    return cls >= 0 && cls < lx->nclass ? lx->names[cls] : "?";
}
int obj_lexicon_find_class(const ObjLexicon *lx, const char *canonical) {
    for (int i = 0; i < lx->nclass; i++)
        if (!strcmp(lx->names[i], canonical)) return i;
    return -1;
}

const char *obj_part_name(ObjPart p) {
    static const char *names[] = {"first_sentence", "question", "answer", "rejected"};
    return (unsigned)p < 4 ? names[p] : "?";
}

// ---- words ----
typedef struct {
    size_t start, end;    // bytes in the text (end exclusive; a dropped possessive is outside)
    size_t norm;          // offset of the lower-cased NUL-terminated form in Words.buf
    bool break_before;    // punctuation between the previous word and this one
} Word;

typedef struct {
    Word *w;
    size_t n, cap;
    char *buf;
    size_t blen, bcap;
} Words;

static void words_free(Words *ws) { free(ws->w); free(ws->buf); *ws = (Words){0}; }

static bool is_apostrophe(const char *t, size_t len, size_t i, size_t *width) {
    if (t[i] == '\'') { *width = 1; return true; }
    if (i + 2 < len && (unsigned char)t[i] == 0xE2 && (unsigned char)t[i + 1] == 0x80 && (unsigned char)t[i + 2] == 0x99) {
        *width = 3;
        return true;
    }
    return false;
}
// U+2000..U+206F (dashes, quotes, ellipsis, ...) separate words like ASCII punctuation.
static bool is_general_punct(const char *t, size_t len, size_t i) {
    return i + 2 < len && (unsigned char)t[i] == 0xE2 && ((unsigned char)t[i + 1] == 0x80 || (unsigned char)t[i + 1] == 0x81);
}
static bool is_word_byte(const char *t, size_t len, size_t i) {
    unsigned char c = (unsigned char)t[i];
    if (c >= 0x80) return !is_general_punct(t, len, i);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
static bool is_soft_gap(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '-'; }

static void words_push_char(Words *ws, char c) {
    if (ws->blen + 1 >= ws->bcap) {
        ws->bcap = ws->bcap ? 2 * ws->bcap : 256;
        ws->buf = realloc_check(ws->buf, ws->bcap);
    }
    ws->buf[ws->blen++] = c;
}

static void split_words(const char *t, size_t len, Words *ws) {
    *ws = (Words){0};
    bool brk = false;
    size_t i = 0, aw;
    while (i < len) {
        if (!is_word_byte(t, len, i)) {
            if (!is_soft_gap(t[i])) brk = true;
            i += is_general_punct(t, len, i) ? 3 : 1;
            continue;
        }
        if (ws->n == ws->cap) { ws->cap = ws->cap ? 2 * ws->cap : 32; ws->w = realloc_check(ws->w, ws->cap * sizeof *ws->w); }
        Word *w = &ws->w[ws->n++];
        w->start = i;
        w->norm = ws->blen;
        w->break_before = brk;
        brk = false;
        for (;;) {
            if (i < len && is_word_byte(t, len, i)) {
                char c = t[i++];
                words_push_char(ws, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
                continue;
            }
            // An apostrophe followed by a word byte: possessive "'s" (then a non-word) is dropped,
            // anything else ("isn't") continues the word.
            if (i < len && is_apostrophe(t, len, i, &aw) && i + aw < len && is_word_byte(t, len, i + aw)) {
                size_t j = i + aw;
                bool poss = (t[j] == 's' || t[j] == 'S') && (j + 1 == len || !is_word_byte(t, len, j + 1));
                if (poss) { w->end = i; i = j + 1; goto word_done; }
                words_push_char(ws, '\'');
                i = j;
                continue;
            }
            w->end = i;
            break;
        }
    word_done:
        words_push_char(ws, '\0');
    }
}

// ---- lexicon building ----
static int entry_cmp(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

static const char *const IRREGULAR[][2] = {
    {"person", "people"}, {"child", "children"}, {"mouse", "mice"}, {"foot", "feet"}, {"tooth", "teeth"},
    {"goose", "geese"}, {"sheep", "sheep"}, {"deer", "deer"}, {"fish", "fish"}, {"skis", "skis"},
    {"scissors", "scissors"}, {"calf", "calves"}, {"leaf", "leaves"}, {"shelf", "shelves"}, {"wolf", "wolves"},
    {"loaf", "loaves"}, {"tomato", "tomatoes"}, {"potato", "potatoes"}, {"cattle", "cattle"}, {"people", "people"},
    {"luggage", "luggage"}, {"broccoli", "broccoli"},
};

static bool ends_with(const char *s, size_t n, const char *suf) {
    size_t m = strlen(suf);
    return n >= m && !memcmp(s + n - m, suf, m);
}
static bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// The plural of one lower-case word into out (cap >= strlen(w) + 4).
static void plural_of(const char *w, char *out, size_t cap) {
    size_t n = strlen(w);
    for (size_t i = 0; i < sizeof IRREGULAR / sizeof IRREGULAR[0]; i++)
        if (!strcmp(w, IRREGULAR[i][0])) { snprintf(out, cap, "%s", IRREGULAR[i][1]); return; }
    if (ends_with(w, n, "man")) snprintf(out, cap, "%.*smen", (int)(n - 3), w);            // policeman
    else if (ends_with(w, n, "fe") && !ends_with(w, n, "ffe")) snprintf(out, cap, "%.*sves", (int)(n - 2), w);   // knife
    else if (n >= 2 && w[n - 1] == 'y' && !is_vowel(w[n - 2])) snprintf(out, cap, "%.*sies", (int)(n - 1), w);   // puppy
    else if (ends_with(w, n, "s") || ends_with(w, n, "x") || ends_with(w, n, "z") || ends_with(w, n, "ch") ||
             ends_with(w, n, "sh"))
        snprintf(out, cap, "%ses", w);
    else snprintf(out, cap, "%ss", w);
}

static void add_entry(ObjLexicon *lx, const char *key, int cls, int nwords) {
    if (lx->n == lx->cap) { lx->cap = lx->cap ? 2 * lx->cap : 512; lx->e = realloc_check(lx->e, lx->cap * sizeof *lx->e); }
    char *k = strdup(key);
    if (!k) LPOI_DIE("out of memory");
    lx->e[lx->n] = (Entry){k, cls, nwords, lx->next_order++};
    lx->n++;
    if (nwords > lx->max_words) lx->max_words = nwords;
}

// A phrase's words, lower-cased and joined by one space (malloc'ed), or NULL when it has no word
// or more than OBJ_MAX_WORDS.
static char *phrase_key(const char *p, size_t len, int *nwords) {
    Words ws;
    split_words(p, len, &ws);
    StrBuf key = {0};
    if (ws.n >= 1 && ws.n <= OBJ_MAX_WORDS)
        for (size_t i = 0; i < ws.n; i++) strbuf_printf(&key, "%s%s", i ? " " : "", ws.buf + ws.w[i].norm);
    *nwords = (int)ws.n;
    words_free(&ws);
    return key.s;
}

// The key and its plural (the last word pluralised) for class cls.
static void add_phrase(ObjLexicon *lx, const char *key, int nwords, int cls) {
    add_entry(lx, key, cls, nwords);
    const char *sp = strrchr(key, ' ');
    const char *lastw = sp ? sp + 1 : key;
    size_t stem = (size_t)(lastw - key), cap = strlen(key) + 8;
    char *pk = malloc_check(cap);
    memcpy(pk, key, stem);
    plural_of(lastw, pk + stem, cap - stem);
    if (strcmp(pk, key)) add_entry(lx, pk, cls, nwords);
    free(pk);
}

static int new_class(ObjLexicon *lx, char *canon) {
    if (lx->nclass == lx->cap_class) {
        lx->cap_class = lx->cap_class ? 2 * lx->cap_class : 128;
        lx->names = realloc_check(lx->names, (size_t)lx->cap_class * sizeof *lx->names);
    }
    lx->names[lx->nclass] = canon;
    return lx->nclass++;
}

bool obj_lexicon_add_text(ObjLexicon *lx, const char *text, size_t len, const char *what, LpoiErr *err) {
    size_t lineno = 0;
    bool ok = true;
    for (size_t i = 0; i < len && ok;) {
        size_t e = i;
        while (e < len && text[e] != '\n') e++;
        lineno++;
        size_t s = i;
        while (s < e && (text[s] == ' ' || text[s] == '\t' || text[s] == '\r')) s++;
        i = e + 1;
        if (s == e || text[s] == '#') continue;
        // Fields separated by ','; the first is the canonical name (a class of its own, or more
        // synonyms for the class of that name).
        int cls = -1;
        for (size_t f = s; f <= e && ok;) {
            size_t g = f;
            while (g < e && text[g] != ',') g++;
            size_t a = f, b = g;
            f = g + 1;
            while (a < b && (text[a] == ' ' || text[a] == '\t')) a++;
            while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r')) b--;
            if (a == b) continue;   // an empty field (e.g. a trailing comma)
            int nw;
            char *key = phrase_key(text + a, b - a, &nw);
            if (!key) {
                ok = err_set(err, "%s:%zu: \"%.*s\" is not a name of 1 to %d words", what, lineno, (int)(b - a),
                             text + a, OBJ_MAX_WORDS);
                break;
            }
            if (cls < 0 && (cls = obj_lexicon_find_class(lx, key)) < 0) {
                cls = new_class(lx, strdup(key));
                if (!lx->names[cls]) LPOI_DIE("out of memory");
            }
            add_phrase(lx, key, nw, cls);
            free(key);
        }
    }
    // Sort, then keep the first-inserted entry of each key (entries of earlier calls come first too).
    qsort(lx->e, lx->n, sizeof *lx->e, entry_cmp);
    size_t out = 0;
    for (size_t k = 0; k < lx->n; k++) {
        if (out && !strcmp(lx->e[out - 1].key, lx->e[k].key)) { free(lx->e[k].key); continue; }
        lx->e[out++] = lx->e[k];
    }
    lx->n = out;
    return ok;
}

bool obj_lexicon_add_file(ObjLexicon *lx, const char *path, LpoiErr *err) {
    size_t n;
    char *text = file_read_all(path, 64u << 20, &n, err);
    if (!text) return false;
    bool ok = obj_lexicon_add_text(lx, text, n, path, err);
    free(text);
    return ok;
}

static const Entry *lookup(const ObjLexicon *lx, const char *key) {
    size_t lo = 0, hi = lx->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(lx->e[mid].key, key);
        if (!c) return &lx->e[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

// ---- mentions ----
static bool is_negation(const char *w) {
    static const char *const CUES[] = {"no", "not", "without", "never", "nor", "neither", "none", "cannot"};
    for (size_t i = 0; i < sizeof CUES / sizeof CUES[0]; i++)
        if (!strcmp(w, CUES[i])) return true;
    size_t n = strlen(w);
    return n > 3 && !strcmp(w + n - 3, "n't");
}

static void mentions_push(ObjMentions *m, ObjMention x) {
    if (m->n == m->cap) { m->cap = m->cap ? 2 * m->cap : 16; m->items = realloc_check(m->items, (size_t)m->cap * sizeof *m->items); }
    m->items[m->n++] = x;
}

void obj_mentions_free(ObjMentions *m) { free(m->items); *m = (ObjMentions){0}; }

void obj_find_mentions(const ObjLexicon *lx, const char *text, size_t len, ObjPart part, ObjMentions *out) {
    Words ws;
    split_words(text, len, &ws);
    for (size_t i = 0; i < ws.n;) {
        const Entry *hit = NULL;
        int maxn = lx->max_words < OBJ_MAX_WORDS ? lx->max_words : OBJ_MAX_WORDS;
        for (int n = maxn; n >= 1 && !hit; n--) {
            if (i + (size_t)n > ws.n) continue;
            char key[1024];
            size_t k = 0;
            bool joined = true;
            for (int j = 0; j < n && joined && k < sizeof key; j++) {
                if (j > 0 && ws.w[i + j].break_before) joined = false;
                k += (size_t)snprintf(key + k, sizeof key - k, "%s%s", j ? " " : "", ws.buf + ws.w[i + j].norm);
            }
            if (!joined || k >= sizeof key) continue;
            hit = lookup(lx, key);
        }
        if (!hit) { i++; continue; }
        bool neg = false;
        for (size_t b = 1; b <= 3 && b <= i && !neg; b++) {
            if (ws.w[i - b + 1].break_before) break;   // punctuation ends the negation's scope
            neg = is_negation(ws.buf + ws.w[i - b].norm);
        }
        const Word *last = &ws.w[i + (size_t)hit->nwords - 1];
        mentions_push(out, (ObjMention){.cls = hit->cls, .part = part, .offset = ws.w[i].start,
                                        .len = last->end - ws.w[i].start, .negated = neg});
        i += (size_t)hit->nwords;
    }
    words_free(&ws);
}

size_t obj_first_sentence_len(const char *t, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '\n') return i;
        if ((t[i] == '.' || t[i] == '!' || t[i] == '?') &&
            (i + 1 == len || t[i + 1] == ' ' || t[i + 1] == '\t' || t[i + 1] == '\n' || t[i + 1] == '\r'))
            return i + 1;
    }
    return len;
}

void obj_candidates(const ObjLexicon *lx, const char *question, const char *chosen, const char *rejected,
                    ObjCandidates *out) {
    *out = (ObjCandidates){0};
    size_t clen = chosen ? strlen(chosen) : 0;
    size_t first = obj_first_sentence_len(chosen ? chosen : "", clen);
    ObjMentions ch = {0}, q = {0}, rj = {0};
    obj_find_mentions(lx, chosen ? chosen : "", clen, OBJ_ANSWER_REST, &ch);
    for (int i = 0; i < ch.n; i++)
        if (ch.items[i].offset < first) ch.items[i].part = OBJ_FIRST_SENTENCE;
    obj_find_mentions(lx, question ? question : "", question ? strlen(question) : 0, OBJ_QUESTION, &q);
    obj_find_mentions(lx, rejected ? rejected : "", rejected ? strlen(rejected) : 0, OBJ_REJECTED, &rj);

    // Per class: 1 a candidate, 2 reported negated, 4 the chosen answer names it, 8 reported
    // hallucinated, 16 the chosen answer negates it.
    uint8_t *seen = calloc_check((size_t)lx->nclass + 1, 1);
    for (int i = 0; i < ch.n; i++) seen[ch.items[i].cls] |= ch.items[i].negated ? 16 : 4;
    // Priority: first sentence, question, rest of the answer.
    const ObjMentions *parts[3] = {&ch, &q, &ch};
    ObjPart want[3] = {OBJ_FIRST_SENTENCE, OBJ_QUESTION, OBJ_ANSWER_REST};
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < parts[p]->n; i++) {
            const ObjMention *m = &parts[p]->items[i];
            bool only_negated = (seen[m->cls] & (4 | 16)) == 16;   // "no cat" in the answer: no cat to hide
            if (m->part != want[p] || m->negated || only_negated || (seen[m->cls] & 1)) continue;
            seen[m->cls] |= 1;
            mentions_push(&out->candidates, *m);
        }
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < (p ? q.n : ch.n); i++) {
            const ObjMention *m = p ? &q.items[i] : &ch.items[i];
            if (!m->negated || (seen[m->cls] & 3)) continue;
            seen[m->cls] |= 2;
            mentions_push(&out->negated, *m);
        }
    for (int i = 0; i < rj.n; i++) {
        const ObjMention *m = &rj.items[i];
        if (m->negated || (seen[m->cls] & (4 | 8))) continue;
        seen[m->cls] |= 8;
        mentions_push(&out->hallucinated, *m);
    }
    free(seen);
    obj_mentions_free(&ch);
    obj_mentions_free(&q);
    obj_mentions_free(&rj);
}

void obj_candidates_free(ObjCandidates *c) {
    obj_mentions_free(&c->candidates);
    obj_mentions_free(&c->hallucinated);
    obj_mentions_free(&c->negated);
}

int obj_phrase_classes(const ObjLexicon *lx, const char *phrase, int *cls, int cap) {
    ObjMentions m = {0};
    obj_find_mentions(lx, phrase, strlen(phrase), OBJ_QUESTION, &m);
    int n = 0;
    for (int i = 0; i < m.n && n < cap; i++) {
        bool dup = false;
        for (int j = 0; j < n; j++) dup |= cls[j] == m.items[i].cls;
        if (!dup) cls[n++] = m.items[i].cls;
    }
    obj_mentions_free(&m);
    return n;
}
