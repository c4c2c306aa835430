// amber.h — AMBER (junyangwang0410/AMBER, inference.py): the generative metrics CHAIR, Cover, Hal and
// Cog over the 1,004 "Describe this image." answers, and the discriminative accuracy / precision /
// recall / F1 (positive class "No") for existence, attribute (state, number, action) and relation.
//
// The generative pipeline is inference.py's, step for step (its list-index bookkeeping and its 0.001
// starting denominators included), with two offline substitutes, both documented in amber.c:
//  * nouns: nltk.pos_tag cannot run offline (its tagger weights are not downloadable), so a vocabulary
//    word counts as a noun unless a small rule reads it as an adjective ("an orange cat", "hot dog",
//    "the cat is orange"), a modal ("you can see") or a verb ("to watch", not "next to water"); lemmas
//    are WordNet's (wordnet_lemmas.h, generated).
//  * spaCy similarity > 0.8 (en_core_web_lg, not obtainable offline): identical words only, plus an
//    optional table of similar word pairs (amber_similar_load) for whoever can compute it.
#pragma once
#include "eval/yesno.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct AmberData AmberData;

// dir: annotations.json, relation.json, safe_words.txt, metrics.txt, query_all.json. NULL + reason.
AmberData *amber_load(const char *dir, char *err, size_t errlen);
void amber_free(AmberData *a);
int amber_count(const AmberData *a);                              // annotation records (ids 1..count)
bool amber_is_generative(const AmberData *a, int id);
const char *amber_image(const AmberData *a, int id);              // "AMBER_<n>.jpg" (NULL when unknown)
const char *amber_query(const AmberData *a, int id);
bool amber_truth_yes(const AmberData *a, int id);                 // discriminative: the answer is "yes"
// Pairs of vocabulary words that count as similar (one pair per line, two words separated by spaces;
// '#' starts a comment), standing in for spaCy similarity > 0.8.
bool amber_similar_load(AmberData *a, const char *path, char *err, size_t errlen);

// The official counters (metrics.txt names), starting from metrics.txt's values.
typedef struct {
    double chair_score, chair_num, safe_cover_score, safe_cover_num, hallu_cover_score, hallu_cover_num,
        non_hallu_score, non_hallu_num;
    // discriminative, per dimension d: 0 all, 1 state, 2 number, 3 action, 4 existence, 5 relation
    double correct_score[6], correct_num[6], no_score[6], no_num[6], ans_no_score[6], ans_no_num[6];
    long unreadable;   // discriminative answers read as neither Yes nor No
} AmberCount;

void amber_count_init(const AmberData *a, AmberCount *c);
// The vocabulary nouns of a response, in order, repeats included (inference.py's after_process_nouns);
// returns the count (at most max; words may be NULL to count). words[i] points into the vocabulary.
int amber_nouns(const AmberData *a, const char *text, const char **words, int max);
// Adds one generative answer; hallucinated (may be NULL) gets the nouns judged hallucinated, "a|b".
void amber_add_generative(const AmberData *a, AmberCount *c, int id, const char *response, char *hallucinated, size_t cap);
// Adds one discriminative answer, read by yesno_read (exact: only the strings "Yes" and "No" count,
// the official script's comparison).
void amber_add_discriminative(const AmberData *a, AmberCount *c, int id, const char *response, bool exact);

// Final metrics in percent, as inference.py prints them (rounded to 0.1 when official_rounding).
typedef struct { double chair, cover, hal, cog; } AmberGenMetrics;
typedef struct { double accuracy, precision, recall, f1; } AmberDiscMetrics;
AmberGenMetrics amber_gen_metrics(const AmberCount *c, bool official_rounding);
// dim: 0 all, 1 attribute (state + number + action), 2 state, 3 number, 4 action, 5 existence, 6 relation
AmberDiscMetrics amber_disc_metrics(const AmberCount *c, int dim, bool official_rounding);
const char *amber_disc_dim_name(int dim);
