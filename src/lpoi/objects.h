// objects.h — which object to hide (paper §3.1, Algorithm 1 line 5): the detectable objects an
// English (question, chosen, rejected) record names, in the paper's priority order. Issue 13 part 1.
//
// Lexicon. Classes of detectable objects, each a canonical name and synonyms ("person: man, woman,
// people, ..."). Built in: the 80 COCO class names with a few common synonyms written by us
// (OBJ_BUILTIN_LEXICON); extended with `--objects FILE` in the format of CHAIR's synonym lists
// (../shared/data/chair/synonyms_*.txt): one class a line, "canonical, synonym, synonym, ...";
// blank lines and lines starting with '#' are skipped. A line whose canonical name is already a
// class adds its synonyms to that class; a phrase already claimed by another class keeps its first
// class (so the built-in table wins ties, and the order of lines in FILE matters).
//
// Text → mentions (obj_find_mentions), rule OBJ_RULE_TEXT:
//  - Words are runs of ASCII letters and digits (and any non-ASCII byte, so "café" is one word
//    that matches nothing), lower-cased. Everything else separates words, hyphens included:
//    "hot-dog" is "hot dog", "dog-shaped" names a dog (over-matching only costs a detector query;
//    under-matching would lose the object).
//  - Apostrophes (' and ’) inside a word: "'s" and a trailing "'" are possessive and dropped
//    ("dog's" → dog, "dogs'" → dogs); other contractions stay one word ("isn't").
//  - A lexicon phrase matches the same words in order, separated only by spaces or hyphens (not
//    across punctuation); each lexicon phrase also matches its plural (regular -s/-es/-ies, -fe →
//    -ves, -man → -men, and a small irregular table: person/people, child/children, mouse/mice,
//    sheep, ...). Longest match first: "hot dog" is a hot dog, not a dog; matched words are used up.
//  - Negation: a mention is negated when one of no, not, without, never, nor, neither, none, or a
//    word ending in "n't", appears among the 3 words before it with no punctuation in between
//    ("there is no dog", "no dogs or cats"; but "No, a dog is there" is not negated). Negated
//    mentions are reported but are never candidates: the answer says the object is absent, so
//    hiding it cannot make the answer wrong (and the detector would find nothing to hide).
//
// Candidates (obj_candidates): the classes the chosen answer's first sentence names, then those the
// question names, then the rest of the chosen answer; each class once, at its first mention, in
// order of first mention within each part. Separately, the hallucination candidates: the classes
// the rejected answer names (not negated) that the chosen answer does not name at all. The first
// sentence ends at the first '.', '!' or '?' followed by white space or the end of the text, or at
// the first line break ("Mr. Smith" ends a sentence: abbreviations are not special).
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "base/error.h"

extern const char OBJ_RULE_TEXT[];        // the rules above in a few lines for --help (ends with '\n')
extern const char OBJ_BUILTIN_LEXICON[];  // the built-in table, in the --objects FILE format

typedef struct ObjLexicon ObjLexicon;
ObjLexicon *obj_lexicon_new(void);                 // empty
ObjLexicon *obj_lexicon_builtin(void);             // OBJ_BUILTIN_LEXICON
void obj_lexicon_free(ObjLexicon *lx);
// Adds classes from text in the FILE format; `what` names it in errors ("FILE:LINE: reason").
bool obj_lexicon_add_text(ObjLexicon *lx, const char *text, size_t len, const char *what, LpoiErr *err);
bool obj_lexicon_add_file(ObjLexicon *lx, const char *path, LpoiErr *err);
int obj_lexicon_classes(const ObjLexicon *lx);
const char *obj_lexicon_class_name(const ObjLexicon *lx, int cls);
int obj_lexicon_find_class(const ObjLexicon *lx, const char *canonical);   // -1 when absent
// The classes a short phrase names (e.g. a detector's label "two dogs"), first mention first,
// negation ignored; returns how many were written to cls[cap] (at most cap).
int obj_phrase_classes(const ObjLexicon *lx, const char *phrase, int *cls, int cap);

typedef enum { OBJ_FIRST_SENTENCE, OBJ_QUESTION, OBJ_ANSWER_REST, OBJ_REJECTED } ObjPart;
const char *obj_part_name(ObjPart p);   // "first_sentence", "question", "answer", "rejected"

typedef struct {
    int cls;              // lexicon class
    ObjPart part;         // where it was found
    size_t offset, len;   // bytes of the matched words in that part's text (the whole text, for
                          // OBJ_FIRST_SENTENCE and OBJ_ANSWER_REST: the chosen answer)
    bool negated;
} ObjMention;

typedef struct {
    ObjMention *items;
    int n, cap;
} ObjMentions;
void obj_mentions_free(ObjMentions *m);

// Every mention in text[len], in order (each occurrence), with part set to `part`.
void obj_find_mentions(const ObjLexicon *lx, const char *text, size_t len, ObjPart part, ObjMentions *out);
// Bytes of the first sentence of text[len] (the rule above; len when there is one sentence).
size_t obj_first_sentence_len(const char *text, size_t len);

typedef struct {
    ObjMentions candidates;     // ordered, one per class, never negated
    ObjMentions hallucinated;   // rejected-only classes, in order of first mention
    ObjMentions negated;        // negated mentions of chosen/question (each class once), for the record
} ObjCandidates;
// question, chosen, rejected: NUL-terminated; any may be NULL (treated as empty).
void obj_candidates(const ObjLexicon *lx, const char *question, const char *chosen, const char *rejected,
                    ObjCandidates *out);
void obj_candidates_free(ObjCandidates *c);
