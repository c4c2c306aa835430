// box_choice.c — the box choice rule of box_choice.h.
#include "lpoi/box_choice.h"
#include "base/check.h"
#include "base/rng.h"
#include <math.h>
#include <stdlib.h>

const char BOX_CHOICE_RULE_TEXT[] =
    "Box choice: among detections with a finite, non-empty box and score > the box threshold whose\n"
    "label names the candidate's class and no other (same words, plurals, synonyms as the text),\n"
    "the highest score (ties: the detector's order); none: the next candidate; after the last, the\n"
    "record is skipped.\n";

bool box_detection_usable(const Detection *d, double thr) {
    const double *b = d->box;
    return isfinite(b[0]) && isfinite(b[1]) && isfinite(b[2]) && isfinite(b[3]) && b[2] > b[0] && b[3] > b[1] &&
           isfinite(d->score) && d->score > thr;
}

// The one class the phrase names, or -1 (none, or several).
static int phrase_class(const ObjLexicon *lx, const char *phrase) {
    if (!phrase) return -1;
    int cls[2];
    return obj_phrase_classes(lx, phrase, cls, 2) == 1 ? cls[0] : -1;
}

bool box_phrase_matches(const ObjLexicon *lx, const char *phrase, int cls) {
    return cls >= 0 && phrase_class(lx, phrase) == cls;
}

int box_choose(const ObjLexicon *lx, int cls, const Detection *dets, int n_det, double thr) {
    int best = -1;
    for (int i = 0; i < n_det; i++)
        if (box_detection_usable(&dets[i], thr) && box_phrase_matches(lx, dets[i].phrase, cls) &&
            (best < 0 || dets[i].score > dets[best].score))
            best = i;
    return best;
}

bool box_choose_first(const ObjLexicon *lx, const ObjMention *cands, int n_cand, const Detection *dets, int n_det,
                      double thr, BoxPick *pick) {
    for (int c = 0; c < n_cand; c++) {
        int d = box_choose(lx, cands[c].cls, dets, n_det, thr);
        if (d >= 0) { *pick = (BoxPick){c, d}; return true; }
    }
    *pick = (BoxPick){-1, -1};
    return false;
}

int box_choose_other(const ObjLexicon *lx, const ObjMention *cands, int n_cand, const Detection *dets, int n_det,
                     double thr, uint64_t seed) {
    int *pool = malloc_check((size_t)(n_det > 0 ? n_det : 1) * sizeof *pool), n = 0;
    for (int i = 0; i < n_det; i++) {
        int cls = box_detection_usable(&dets[i], thr) ? phrase_class(lx, dets[i].phrase) : -1;
        bool named = cls < 0;
        for (int c = 0; c < n_cand && !named; c++) named = cands[c].cls == cls;
        if (!named) pool[n++] = i;
    }
    Rng r;
    rng_seed(&r, seed);
    int pick = n ? pool[rng_below(&r, (uint64_t)n)] : -1;
    free(pool);
    return pick;
}

void box_caption(const ObjLexicon *lx, const ObjMention *cands, int n_cand, StrBuf *out) {
    for (int c = 0; c < n_cand; c++)
        strbuf_printf(out, "%s%s.", c ? " " : "", obj_lexicon_class_name(lx, cands[c].cls));
}
