// pope.c — see pope.h.
#include "eval/pope.h"
#include "base/check.h"
#include "base/rng.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SETTING_NAMES[] = {"random", "popular", "adversarial"};
const char *pope_setting_name(PopeSetting s) { return (unsigned)s < POPE_SETTINGS ? SETTING_NAMES[s] : "?"; }

static bool has(const CocoImage *im, int obj) {
    for (int i = 0; i < im->n_objs; i++)
        if (im->objs[i] == obj) return true;
    return false;
}

// Sort key for the ranked settings: higher score first, then more frequent, then lower id.
typedef struct { int obj; long score, freq; } Ranked;
static int cmp_ranked(const void *a, const void *b) {
    const Ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    if (x->freq != y->freq) return x->freq > y->freq ? -1 : 1;
    return x->obj - y->obj;
}

PopeQuestion *pope_questions(const CocoGt *gt, int n_objs, int *n) {
    long *freq = calloc_check((size_t)n_objs, sizeof *freq);            // images containing each object
    long *co = calloc_check((size_t)n_objs * (size_t)n_objs, sizeof *co); // images containing both
    for (int i = 0; i < gt->n; i++) {
        const CocoImage *im = &gt->images[i];
        for (int a = 0; a < im->n_objs; a++) {
            freq[im->objs[a]]++;
            for (int b = 0; b < im->n_objs; b++) co[(size_t)im->objs[a] * (size_t)n_objs + (size_t)im->objs[b]]++;
        }
    }
    PopeQuestion *q = malloc_check((size_t)(gt->n * POPE_SETTINGS * 2 * POPE_PER_IMAGE + 1) * sizeof *q);
    Ranked *absent = malloc_check((size_t)(n_objs + 1) * sizeof *absent);
    int k = 0;
    for (int s = 0; s < POPE_SETTINGS; s++)
        for (int i = 0; i < gt->n; i++) {
            const CocoImage *im = &gt->images[i];
            if (im->n_objs == 0) continue;   // nothing to ask "yes" about: POPE skips such images
            Rng rng;
            rng_seed(&rng, 0x9e3779b97f4a7c15ull ^ (uint64_t)im->id);
            // Positives: up to POPE_PER_IMAGE of the image's objects, drawn with the image's generator
            // (the same in every setting, so the settings differ only in their negatives).
            int pos[256], npos = 0;
            int pool[256], npool = im->n_objs < 256 ? im->n_objs : 256;
            memcpy(pool, im->objs, (size_t)npool * sizeof *pool);
            while (npos < POPE_PER_IMAGE && npool > 0) {
                int j = (int)rng_below(&rng, (uint64_t)npool);
                pos[npos++] = pool[j];
                pool[j] = pool[--npool];
            }
            int nabs = 0;
            for (int o = 0; o < n_objs; o++) {
                if (has(im, o)) continue;
                long score = 0;
                if (s == POPE_POPULAR) score = freq[o];
                if (s == POPE_ADVERSARIAL)
                    for (int a = 0; a < im->n_objs; a++) score += co[(size_t)im->objs[a] * (size_t)n_objs + (size_t)o];
                absent[nabs++] = (Ranked){o, score, freq[o]};
            }
            if (s == POPE_RANDOM) {   // a partial Fisher-Yates shuffle picks the first npos
                Rng r2;
                rng_seed(&r2, 0xd1b54a32d192ed03ull ^ (uint64_t)im->id);
                for (int j = 0; j < npos && j < nabs; j++) {
                    int t = j + (int)rng_below(&r2, (uint64_t)(nabs - j));
                    Ranked tmp = absent[j]; absent[j] = absent[t]; absent[t] = tmp;
                }
            } else {
                qsort(absent, (size_t)nabs, sizeof *absent, cmp_ranked);
            }
            for (int j = 0; j < npos; j++) q[k++] = (PopeQuestion){(PopeSetting)s, im->id, pos[j], true};
            for (int j = 0; j < npos && j < nabs; j++) q[k++] = (PopeQuestion){(PopeSetting)s, im->id, absent[j].obj, false};
        }
    free(freq);
    free(co);
    free(absent);
    *n = k;
    return q;
}

void pope_question_text(const ChairVocab *v, const PopeQuestion *q, char *buf, size_t cap) {
    snprintf(buf, cap, "Is there a %s in the image?", chair_vocab_name(v, q->obj));
}

void pope_item_id(const ChairVocab *v, const PopeQuestion *q, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%lld/%s", pope_setting_name(q->setting), (long long)q->image_id, chair_vocab_name(v, q->obj));
}

void pope_count_add(PopeCount *c, bool present, YesNo a) {
    c->total++;
    if (a == YESNO_UNKNOWN) {   // neither yes nor no: wrong (accuracy), a missed yes (recall), no false yes
        c->unreadable++;
        if (present) c->fn++;
        return;
    }
    if (a == YESNO_YES) c->answered_yes++;
    if (present) { if (a == YESNO_YES) c->tp++; else c->fn++; }
    else { if (a == YESNO_NO) c->tn++; else c->fp++; }
}

PopeMetrics pope_metrics(const PopeCount *c) {
    PopeMetrics m = {0};
    if (c->total) m.accuracy = (double)(c->tp + c->tn) / (double)c->total;
    if (c->tp + c->fp) m.precision = (double)c->tp / (double)(c->tp + c->fp);
    if (c->tp + c->fn) m.recall = (double)c->tp / (double)(c->tp + c->fn);
    if (m.precision + m.recall > 0) m.f1 = 2 * m.precision * m.recall / (m.precision + m.recall);
    if (c->total) m.yes_ratio = (double)c->answered_yes / (double)c->total;
    return m;
}
