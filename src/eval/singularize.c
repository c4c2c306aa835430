// singularize.c — pattern.en.singularize (clips/pattern master, pattern/text/en/inflect.py, BSD;
// Copyright (c) 2010 University of Antwerp, Belgium): the same word lists and the same regex rules in
// the same order, each regex written out as the suffix test it performs. The first rule that matches
// decides, as in pattern; tools/pattern_singularize.py is the verbatim Python the oracle runs.
#include "eval/singularize.h"
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const PLURAL_PREPOSITIONS[] = {
    "about", "before", "during", "of", "till", "above", "behind", "except", "off", "to", "across", "below",
    "for", "on", "under", "after", "beneath", "from", "onto", "until", "among", "beside", "in", "out", "unto",
    "around", "besides", "into", "over", "upon", "at", "between", "near", "since", "with", "athwart",
    "betwixt", "beyond", "but", "by"};
static const char *const UNINFLECTED[] = {
    "bison", "debris", "headquarters", "pincers", "trout", "bream", "diabetes", "herpes", "pliers", "tuna",
    "breeches", "djinn", "high-jinks", "proceedings", "whiting", "britches", "eland", "homework", "rabies",
    "wildebeest", "carp", "elk", "innings", "salmon", "chassis", "flounder", "jackanapes", "scissors",
    "christmas", "gallows", "mackerel", "series", "clippers", "georgia", "measles", "shears", "cod",
    "graffiti", "mews", "species", "contretemps", "mumps", "swine", "corps", "news", "swiss"};
static const char *const UNCOUNTABLE[] = {
    "advice", "equipment", "happiness", "luggage", "news", "software", "bread", "fruit", "information",
    "mathematics", "progress", "understanding", "butter", "furniture", "ketchup", "mayonnaise", "research",
    "water", "cheese", "garbage", "knowledge", "meat", "rice", "electricity", "gravel", "love", "mustard", "sand"};
// "^pie" and "^tie" are pattern's: in an ends-with test they are literal text, so they never match.
static const char *const IE[] = {
    "alergie", "cutie", "hoagie", "newbie", "softie", "veggie", "auntie", "doggie", "hottie", "nightie",
    "sortie", "weenie", "beanie", "eyrie", "indie", "oldie", "stoolie", "yuppie", "birdie", "freebie",
    "junkie", "^pie", "sweetie", "zombie", "bogie", "goonie", "laddie", "pixie", "techie", "bombie",
    "groupie", "laramie", "quickie", "^tie", "collie", "hankie", "lingerie", "reverie", "toughie",
    "cookie", "hippie", "meanie", "rookie", "valkyrie"};
static const char *const IRREGULAR[][2] = {
    {"atlantes", "atlas"}, {"atlases", "atlas"}, {"axes", "axe"}, {"beeves", "beef"}, {"brethren", "brother"},
    {"children", "child"}, {"corpora", "corpus"}, {"corpuses", "corpus"}, {"ephemerides", "ephemeris"},
    {"feet", "foot"}, {"ganglia", "ganglion"}, {"geese", "goose"}, {"genera", "genus"}, {"genii", "genie"},
    {"graffiti", "graffito"}, {"helves", "helve"}, {"kine", "cow"}, {"leaves", "leaf"}, {"loaves", "loaf"},
    {"men", "man"}, {"mongooses", "mongoose"}, {"monies", "money"}, {"moves", "move"}, {"mythoi", "mythos"},
    {"numena", "numen"}, {"occipita", "occiput"}, {"octopodes", "octopus"}, {"opera", "opus"},
    {"opuses", "opus"}, {"our", "my"}, {"oxen", "ox"}, {"penes", "penis"}, {"penises", "penis"},
    {"people", "person"}, {"sexes", "sex"}, {"soliloquies", "soliloquy"}, {"teeth", "tooth"},
    {"testes", "testis"}, {"trilbys", "trilby"}, {"turves", "turf"}, {"zoa", "zoon"}};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static bool ends(const char *w, size_t n, const char *suf) {
    size_t l = strlen(suf);
    return n >= l && !memcmp(w + n - l, suf, l);
}
static bool in(char c, const char *set) { return c && strchr(set, c) != NULL; }

// out = w[0..keep) + add
static char *emit(char *out, size_t cap, const char *w, size_t keep, const char *add) {
    snprintf(out, cap, "%.*s%s", (int)keep, w, add);
    return out;
}

// The rule table (singular_rules), in pattern's order. Returns false when no rule matches.
static bool rules(const char *w, size_t n, char *out, size_t cap) {
#define R(keep, add) return emit(out, cap, w, (keep), (add)), true
    if (n >= 3 && ends(w, n, "ae")) R(n - 1, "");                         // (.)ae$ -> \1a
    if (n >= 5 && ends(w, n, "itis")) R(n, "");                           // (.)itis$
    if (n >= 5 && ends(w, n, "eaux")) R(n - 1, "");                       // (.)eaux$ -> \1eau
    if (ends(w, n, "quizzes")) R(n - 3, "");                              // (quiz)zes$
    if (ends(w, n, "matrices")) R(n - 4, "ix");                           // (matr)ices$
    if (ends(w, n, "apices") || ends(w, n, "vertices") || ends(w, n, "indices")) R(n - 4, "ex");
    if (n >= 4 && !memcmp(w, "oxen", 4)) {                                // ^(ox)en (no $)
        snprintf(out, cap, "ox%s", w + 4);
        return true;
    }
    if (ends(w, n, "aliases") || ends(w, n, "statuses")) R(n - 2, "");    // (alias|status)es$
    if (n >= 2 && w[n - 1] == 'i' && in(w[n - 2], "octp|vir")) R(n - 1, "us");   // ([octop|vir])i$
    if (ends(w, n, "crises") || ends(w, n, "axes") || ends(w, n, "testes")) R(n - 2, "is");
    if (ends(w, n, "shoes")) R(n - 1, "");                                // (shoe)s$
    if (ends(w, n, "oes")) R(n - 2, "");                                  // (o)es$
    if (ends(w, n, "buses")) R(n - 2, "");                                // (bus)es$
    if (n >= 4 && ends(w, n, "ice") && in(w[n - 4], "m|l")) R(n - 3, "ouse");   // ([m|l])ice$
    if (ends(w, n, "xes") || ends(w, n, "ches") || ends(w, n, "sses") || ends(w, n, "shes")) R(n - 2, "");
    if (ends(w, n, "movies")) R(n - 1, "");                               // (m)ovies$
    if (n >= 7 && ends(w, n, "ombies")) R(n - 1, "");                     // (.)ombies$
    if (ends(w, n, "series")) R(n, "");                                   // (s)eries$
    if (n >= 4 && ends(w, n, "ies") && (!in(w[n - 4], "aeiouy") || (n >= 5 && !memcmp(w + n - 5, "qu", 2))))
        R(n - 3, "y");                                                    // ([^aeiouy]|qu)ies$
    if (n >= 5 && ends(w, n, "ves")) {
        char c4 = w[n - 4], c5 = w[n - 5];
        if (c4 == 'l' && in(c5, "aeo")) R(n - 3, "f");                  // ([aeo]l)ves$
        if (n >= 6 && c5 == 'e' && c4 == 'a' && w[n - 6] != 'd') R(n - 3, "f");   // ([^d]ea)ves$
        if (ends(w, n, "arves")) R(n - 5, "arf");
        if (ends(w, n, "erves")) R(n - 1, "");                            // erves$ -> erve
        if (c4 == 'i' && in(c5, "nlw")) R(n - 3, "fe");                  // ([nlw]i)ves$
        if (in(c4, "lr")) R(n - 3, "f");                                  // ([lr])ves$
        if (in(c4, "aeo")) R(n - 1, "");                                  // ([aeo])ves$ -> \1ve
    }
    if (ends(w, n, "sives") || ends(w, n, "tives") || ends(w, n, "hives")) R(n - 1, "");
    if (n >= 4 && ends(w, n, "ves") && w[n - 4] != 'f') R(n - 3, "fe");  // ([^f])ves$
    if (n == 8 && !strcmp(w, "analyses")) R(5, "sis");                   // (^analy)ses$
    if (ends(w, n, "ses")) {
        // ((a)naly|(b)a|(d)iagno|(p)arenthe|(p)rogno|(s)ynop|(t)he)ses$ -> \1\2sis: the leftmost match
        // is the longest stem; \2 (the "a" of "analy") is set only by the first alternative.
        static const char *const STEMS[] = {"parenthe", "diagno", "progno", "analy", "synop", "the", "ba"};
        for (size_t i = 0; i < N_OF(STEMS); i++) {
            size_t l = strlen(STEMS[i]);
            if (n >= l + 3 && !memcmp(w + n - 3 - l, STEMS[i], l)) {
                snprintf(out, cap, "%.*s%s%ssis", (int)(n - 3 - l), w, STEMS[i], !strcmp(STEMS[i], "analy") ? "a" : "");
                return true;
            }
        }
    }
    if (n >= 6 && ends(w, n, "opses")) R(n - 5, "opsis");                 // (.)opses$
    if (n >= 5 && ends(w, n, "yses")) R(n - 4, "ysis");                   // (.)yses$
    if (ends(w, n, "oses") && ((n >= 5 && in(w[n - 5], "hdronbp")) || ends(w, n, "closes"))) R(n - 1, "");
    static const char *const OSE[] = {"fructose", "glucose", "galactose", "lactose", "ketose", "maltose",
                                      "ribose", "saccharose", "cellulose"};
    for (size_t i = 0; i < N_OF(OSE); i++)
        if (ends(w, n, OSE[i])) R(n, "");
    if (n >= 5 && ends(w, n, "oses")) R(n - 4, "osis");                   // (.)oses$
    if (n >= 2 && w[n - 1] == 'a' && in(w[n - 2], "ti")) R(n - 1, "um"); // ([ti])a$
    if (ends(w, n, "news")) R(n, "");                                     // (n)ews$
    if (ends(w, n, "s")) R(n - 1, "");                                    // s$
#undef R
    return false;
}

char *singularize(const char *word, char *out, size_t cap) {
    size_t n = strlen(word);
    // Compound words: "mothers-in-law" -> "mother-in-law" (only when the second part is a preposition).
    const char *dash = strchr(word, '-');
    if (dash) {
        const char *second = dash + 1, *end2 = strchr(second, '-');
        size_t l2 = end2 ? (size_t)(end2 - second) : strlen(second);
        for (size_t i = 0; i < N_OF(PLURAL_PREPOSITIONS); i++)
            if (strlen(PLURAL_PREPOSITIONS[i]) == l2 && !memcmp(second, PLURAL_PREPOSITIONS[i], l2)) {
                char head[256], sing[256];
                snprintf(head, sizeof head, "%.*s", (int)(dash - word), word);
                singularize(head, sing, sizeof sing);
                snprintf(out, cap, "%s%s", sing, dash);
                return out;
            }
    }
    if (n && word[n - 1] == '\'') {                                       // dogs' -> dog's
        char head[256], sing[256];
        snprintf(head, sizeof head, "%.*s", (int)(n - 1), word);
        singularize(head, sing, sizeof sing);
        snprintf(out, cap, "%s's", sing);
        return out;
    }
    char w[256];
    snprintf(w, sizeof w, "%s", word);
    for (char *c = w; *c; c++) *c = (char)tolower((unsigned char)*c);
    n = strlen(w);
    for (size_t i = 0; i < N_OF(UNINFLECTED); i++)
        if (ends(UNINFLECTED[i], strlen(UNINFLECTED[i]), w)) return snprintf(out, cap, "%s", word), out;
    for (size_t i = 0; i < N_OF(UNCOUNTABLE); i++)
        if (ends(UNCOUNTABLE[i], strlen(UNCOUNTABLE[i]), w)) return snprintf(out, cap, "%s", word), out;
    for (size_t i = 0; i < N_OF(IE); i++) {
        char xs[32];
        snprintf(xs, sizeof xs, "%ss", IE[i]);
        if (ends(w, n, xs)) return snprintf(out, cap, "%s", w), out;
    }
    for (size_t i = 0; i < N_OF(IRREGULAR); i++)
        if (ends(w, n, IRREGULAR[i][0])) {
            snprintf(out, cap, "%.*s%s", (int)(n - strlen(IRREGULAR[i][0])), word, IRREGULAR[i][1]);
            return out;
        }
    if (!rules(word, strlen(word), out, cap)) snprintf(out, cap, "%s", word);
    return out;
}
