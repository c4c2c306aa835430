// chair.c — stub: the real CHAIR lands next (see chair.h).
#include "eval/chair.h"
#include <stdio.h>

ChairVocab *chair_vocab_parse(const char *text, const char *source_name, char *err, size_t errlen) {
    (void)text;
    snprintf(err, errlen, "%s: CHAIR vocabulary: not implemented yet", source_name ? source_name : "(text)");
    return NULL;
}
void chair_vocab_free(ChairVocab *v) { (void)v; }
int chair_vocab_size(const ChairVocab *v) { (void)v; return 0; }
const char *chair_vocab_name(const ChairVocab *v, int obj) { (void)v; (void)obj; return NULL; }
int chair_vocab_find(const ChairVocab *v, const char *canonical) { (void)v; (void)canonical; return -1; }
int chair_mentions(const ChairVocab *v, const char *text, int *objs, int max) { (void)v; (void)text; (void)objs; (void)max; return 0; }
void chair_count_add(ChairCount *c, const int *mentioned, int n_mentioned, const int *truth, int n_truth) {
    (void)c; (void)mentioned; (void)n_mentioned; (void)truth; (void)n_truth;
}
double chair_s(const ChairCount *c) { return c->captions ? (double)c->hallucinated_captions / c->captions : 0; }
double chair_i(const ChairCount *c) { return c->mentions ? (double)c->hallucinated_mentions / c->mentions : 0; }
