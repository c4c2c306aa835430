// chair.h — CHAIR over any object vocabulary (COCO's, or the demo world's object names).
// Rohrbach et al. 2018: a caption's words are singularised, two-word objects merged, and every word
// found in the synonym table counts as one mention of its canonical object; CHAIR_i is the share of
// mentions whose object is not in the image, CHAIR_s the share of captions with at least one such.
#pragma once
#include <stdbool.h>
#include <stddef.h>

typedef struct ChairVocab ChairVocab;
// text: one object per line, "canonical, synonym, synonym, ..." (the format of
// ../shared/data/chair/synonyms_rohrbach2018.txt). NULL + one-line reason in err on bad input.
ChairVocab *chair_vocab_parse(const char *text, const char *source_name, char *err, size_t errlen);
void chair_vocab_free(ChairVocab *v);
int chair_vocab_size(const ChairVocab *v);
const char *chair_vocab_name(const ChairVocab *v, int obj);       // canonical name
int chair_vocab_find(const ChairVocab *v, const char *canonical); // -1 when absent
// Objects mentioned in text: canonical ids, each once, in order of first mention; returns the count
// (at most max; objs may be NULL to count).
int chair_mentions(const ChairVocab *v, const char *text, int *objs, int max);
typedef struct { long captions, hallucinated_captions, mentions, hallucinated_mentions; } ChairCount;
// Adds one caption: mentioned objects vs the image's true objects (both canonical ids).
void chair_count_add(ChairCount *c, const int *mentioned, int n_mentioned, const int *truth, int n_truth);
double chair_s(const ChairCount *c);   // hallucinated_captions / captions
double chair_i(const ChairCount *c);   // hallucinated_mentions / mentions

// ---- additions to the seam ----
// The two rule-based CHAIR variants:
//  CHAIR_ORIGINAL  Rohrbach et al. 2018 (LisaAnne/Hallucination utils/chair.py): pattern's singularize on
//                  every token, entries split on ", " as they are, the original's fixed two-word list.
//                  The default: it is the metric the CHAIR paper defines, and all of it is reproducible
//                  offline, quirks included.
//  CHAIR_RLHFV     Object HalBench's rule-based path (RLHF-V/RLAIF-V eval_gpt_obj_halbench.py without GPT):
//                  nltk's WordNet lemmatizer instead (wordnet_lemmas.h), entries stripped, every
//                  multi-word entry of the table (meant for synonyms_refine_rlhfv.txt) as a two-word object.
// Both share the tokenizer, the baby/adult/passenger/bow tie/toilet seat/wine glas cases and the
// toilet/seat rule.
typedef enum { CHAIR_ORIGINAL, CHAIR_RLHFV } ChairVariant;
ChairVocab *chair_vocab_parse_variant(const char *text, const char *source_name, ChairVariant variant, char *err, size_t errlen);
ChairVocab *chair_vocab_load_variant(const char *path, ChairVariant variant, char *err, size_t errlen);
// The vocabulary file at path (chair_vocab_parse on its text; the path names it in errors).
ChairVocab *chair_vocab_load(const char *path, char *err, size_t errlen);
// Every mention in order, repeats included: what the original's CHAIR_i counts. word: the token (after
// singularising and merging two-word objects) that fired, as the original's "words" list has it.
typedef struct { int obj; char word[48]; } ChairMention;
int chair_mentions_all(const ChairVocab *v, const char *text, ChairMention *out, int max);
