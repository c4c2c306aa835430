// negatives_select.c — the box a record's list masks: the text's order, the box rule, verification.
#include "lpoi/negatives_select.h"
#include "lpoi/box_choice.h"
#include "base/check.h"
#include <stdlib.h>

const char *neg_pick_status_name(NegPickStatus s) {
    static const char *names[NEG_PICK_NSTATUS] = {"ok", "no_object_named", "no_matching_box", "verification_failed"};
    return (unsigned)s < NEG_PICK_NSTATUS ? names[s] : "?";
}

void neg_pick_free(NegPick *p) { free(p->tries); *p = (NegPick){0}; }

static void push_try(NegPick *p, NegTry t, int cap) {
    LPOI_ASSERT(p->n_tries < cap);
    p->tries[p->n_tries++] = t;
}

bool neg_pick(const NegPickConfig *c, const Image *src, const NegBox *boxes, int n_boxes, const char *question,
              const char *chosen, const char *rejected, NegPick *out, LpoiErr *err) {
    *out = (NegPick){.chosen = -1};
    int cap = n_boxes > 0 ? n_boxes : 1;
    out->tries = calloc_check((size_t)cap, sizeof *out->tries);
    // The order of tries: one per candidate that has a box (each box at most once), or the first box.
    if (c->lx) {
        ObjCandidates oc;
        obj_candidates(c->lx, question, chosen, rejected, &oc);
        out->n_candidates = oc.candidates.n;
        Detection *d = calloc_check((size_t)cap, sizeof *d);
        for (int i = 0; i < n_boxes; i++)
            d[i] = (Detection){{boxes[i].corners[0], boxes[i].corners[1], boxes[i].corners[2], boxes[i].corners[3]},
                               boxes[i].score, boxes[i].label};
        for (int k = 0; k < oc.candidates.n; k++) {
            const ObjMention *m = &oc.candidates.items[k];
            int b = box_choose(c->lx, m->cls, d, n_boxes, c->box_threshold);
            bool dup = false;
            for (int t = 0; t < out->n_tries && b >= 0; t++) dup |= out->tries[t].box == b;
            if (b >= 0 && !dup) push_try(out, (NegTry){.box = b, .cls = m->cls, .part = m->part}, cap);
        }
        free(d);
        obj_candidates_free(&oc);
        if (out->n_tries == 0) {
            out->status = out->n_candidates ? NEG_PICK_NO_MATCHING_BOX : NEG_PICK_NO_OBJECT_NAMED;
            return true;
        }
    } else if (n_boxes > 0) {
        push_try(out, (NegTry){.box = 0, .cls = -1}, cap);
    }
    if (!c->verifier) {
        out->chosen = out->n_tries ? 0 : -1;
        out->status = out->n_tries ? NEG_PICK_OK : NEG_PICK_NO_MATCHING_BOX;
        return true;
    }
    bool asks_object = verifier_rule(c->verifier) == VERIFY_OBJECT;
    for (int t = 0; t < out->n_tries; t++) {
        NegTry *tr = &out->tries[t];
        const char *object = tr->cls >= 0 ? obj_lexicon_class_name(c->lx, tr->cls) : boxes[tr->box].label;
        if (asks_object && !object) { out->status = NEG_PICK_NO_OBJECT_NAMED; out->n_tries = t; return true; }
        Image x_l;
        negatives_render(src, boxes[tr->box].rect, c->list_size, c->list_size, c->opt, &x_l);
        bool ok = verifier_check(c->verifier, &x_l, question, chosen, object, &tr->score, err);
        image_free(&x_l);
        if (!ok) return false;
        tr->scored = true;
        if (!tr->score.masking_failed) {
            out->chosen = t;
            out->n_tries = t + 1;
            out->status = NEG_PICK_OK;
            return true;
        }
    }
    out->status = NEG_PICK_VERIFY_FAILED;
    return true;
}
