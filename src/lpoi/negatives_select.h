// negatives_select.h — which of a record's boxes `lpoi negatives` masks (issue 13 parts 2-4 for
// records that bring their boxes; Algorithm 1 lines 5-12 without the detector):
//  - By default the first box, as before.
//  - With a lexicon (--object-from-text) the record's boxes are read as detections (each with its
//    "labels" entry and optional "scores" entry, 1 when absent) and tried in the order of the
//    text's candidates (objects.h), each candidate's box chosen by box_choice.h's rule.
//  - With a verifier (--verify MODEL_DIR) each try's fully masked image x_L is scored (verify.h); a
//    failed try moves on to the next candidate's box. Without one, the first try is taken.
// Outcomes: a chosen try, or a reason the record has none (NegPickStatus), with every try's scores.
#pragma once
#include <stdbool.h>
#include "image/image.h"
#include "lpoi/negatives.h"
#include "lpoi/objects.h"
#include "lpoi/verify.h"

typedef struct {
    ImgRect rect;          // the whole-pixel box (negatives_box_to_rect)
    double corners[4];     // the box in pixels, as given
    const char *label;     // the record's label for it, or NULL
    double score;          // the record's score for it, or 1
} NegBox;

typedef enum {
    NEG_PICK_OK,
    NEG_PICK_NO_OBJECT_NAMED,     // the text names no object of the lexicon (or, for --verify-rule
                                  // object, the box has no name to ask about)
    NEG_PICK_NO_MATCHING_BOX,     // no box's label matches a candidate above the threshold
    NEG_PICK_VERIFY_FAILED,       // every try failed verification
    NEG_PICK_NSTATUS
} NegPickStatus;
const char *neg_pick_status_name(NegPickStatus s);   // "ok", "no_object_named", "no_matching_box", "verification_failed"

typedef struct {
    int box;            // index into the record's boxes
    int cls;            // the candidate's lexicon class, -1 when not chosen from the text
    ObjPart part;       // where the candidate was named (cls >= 0)
    bool scored;        // a verifier scored it
    VerifyScore score;
} NegTry;

typedef struct {
    NegPickStatus status;
    int chosen;         // index into tries, -1 unless status is NEG_PICK_OK
    NegTry *tries;
    int n_tries;
    int n_candidates;   // text candidates (with a lexicon)
} NegPick;
void neg_pick_free(NegPick *p);

typedef struct {
    const ObjLexicon *lx;   // non-NULL: choose by the text (--object-from-text)
    Verifier *verifier;     // non-NULL: verify x_L
    double box_threshold;
    int list_size;
    const NegOptions *opt;  // how x_L is rendered (as the list will be)
} NegPickConfig;

// false + err only when the verifier cannot score (a model error); every other outcome is a status.
bool neg_pick(const NegPickConfig *c, const Image *src, const NegBox *boxes, int n_boxes, const char *question,
              const char *chosen, const char *rejected, NegPick *out, LpoiErr *err);
