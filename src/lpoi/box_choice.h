// box_choice.h — which detected box to hide for a candidate object (issue 13 part 2): the rule that
// turns Grounding DINO's post-processed detections (HF post_process_grounded_object_detection: box
// in pixels, score = max over text tokens of sigmoid(logit), the phrase read back from the tokens
// above the text threshold) and the ordered candidates of objects.h into one box. Pure functions.
//
// Rule (BOX_CHOICE_RULE_TEXT):
//  - A detection is usable when its box is finite with x1 > x0 and y1 > y0 and its score is finite
//    and strictly above the box threshold (HF keeps `score > threshold`).
//  - Its phrase matches candidate class c when the lexicon reads the phrase as naming c and no other
//    class (obj_phrase_classes: the same words, plurals and synonyms as the text; "dogs" and
//    "puppy" match dog, "hot dog" does not; a label "dog cat" that merged two phrases names two
//    classes and is trusted for neither; a partial label such as "traffic" names none).
//  - For one candidate: the usable matching detection with the highest score; ties go to the first
//    in the detector's order. None: the candidate has no box and the next candidate is tried;
//    after the last, the record has no box (skipped with a reason by the caller).
//  - The paper also hides "a detected object that is not in the text", picked at random: among the
//    usable detections whose phrase names exactly one lexicon class that is no candidate, one drawn
//    uniformly by a seeded RNG (box_choose_other). That needs a detector prompted with more than the
//    candidates (e.g. the whole lexicon).
//  - The detector's caption for a list of candidates: their canonical names, lower-cased, joined by
//    ". " and ending with "." (Grounding DINO's phrase format), e.g. "dog. hot dog. traffic light.".
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "base/strbuf.h"
#include "lpoi/objects.h"

extern const char BOX_CHOICE_RULE_TEXT[];   // for --help (ends with '\n')

typedef struct {
    double box[4];        // x0, y0, x1, y1 in pixels of the original image
    double score;         // in [0, 1]
    const char *phrase;   // the detector's label (NULL: matches nothing)
} Detection;

bool box_detection_usable(const Detection *d, double box_threshold);
bool box_phrase_matches(const ObjLexicon *lx, const char *phrase, int cls);
// The index of the chosen detection for class cls, or -1.
int box_choose(const ObjLexicon *lx, int cls, const Detection *dets, int n_det, double box_threshold);

typedef struct {
    int candidate;   // index into the candidate list, -1 when none has a box
    int detection;   // index into dets, -1 when none
} BoxPick;
// The first candidate (in order) that has a box; false (pick = {-1, -1}) when none has.
bool box_choose_first(const ObjLexicon *lx, const ObjMention *cands, int n_cand, const Detection *dets, int n_det,
                      double box_threshold, BoxPick *pick);
// A usable detection of an object the text does not name, drawn with seed; -1 when there is none.
int box_choose_other(const ObjLexicon *lx, const ObjMention *cands, int n_cand, const Detection *dets, int n_det,
                     double box_threshold, uint64_t seed);
// Appends the caption for the candidates to out ("" when n_cand is 0).
void box_caption(const ObjLexicon *lx, const ObjMention *cands, int n_cand, StrBuf *out);
