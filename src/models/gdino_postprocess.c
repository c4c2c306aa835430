// gdino_postprocess.c — HF's post_process_grounded_object_detection (gdino_postprocess.h).
#include "models/gdino_postprocess.h"
#include "base/check.h"
#include "base/strbuf.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void gdino_detections_free(GdinoDetections *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->v[i].label);
    free(d->v);
    *d = (GdinoDetections){0};
}

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

bool gdino_post_process(const float *logits, const float *boxes, size_t Q, size_t L, const int32_t *input_ids, size_t T,
                        const WordPiece *wp, const GdinoPostOptions *opt, GdinoDetections *out, LpoiErr *err) {
    *out = (GdinoDetections){0};
    if (!(opt->box_threshold >= 0 && opt->box_threshold <= 1) || !(opt->text_threshold >= 0 && opt->text_threshold <= 1))
        return err_set(err, "thresholds must lie in [0, 1] (box %g, text %g)", opt->box_threshold, opt->text_threshold);
    if (T > L) return err_set(err, "%zu caption ids for %zu text positions", T, L);
    if (opt->image_w < 0 || opt->image_h < 0) return err_set(err, "image size %dx%d is negative", opt->image_w, opt->image_h);
    bool scale = opt->image_w > 0 || opt->image_h > 0;
    float sw = (float)opt->image_w, sh = (float)opt->image_h;
    int32_t *label_ids = malloc_check((T ? T : 1) * sizeof *label_ids);
    for (size_t q = 0; q < Q; q++) {
        const float *lg = logits + q * L;
        float score = 0;
        for (size_t t = 0; t < L && !isnan(score); t++) {   // torch.max: a NaN wins
            float p = sigmoidf(lg[t]);
            if (p > score || isnan(p)) score = p;
        }
        if (!(score > opt->box_threshold)) continue;
        const float *b = boxes + q * 4;
        GdinoDetection d = {.query = (int32_t)q, .score = score};
        float hw = 0.5f * b[2], hh = 0.5f * b[3];
        d.box[0] = b[0] - hw;
        d.box[1] = b[1] - hh;
        d.box[2] = b[0] + hw;
        d.box[3] = b[1] + hh;
        if (scale) { d.box[0] *= sw; d.box[1] *= sh; d.box[2] *= sw; d.box[3] *= sh; }
        if (wp) {
            size_t n = 0;
            for (size_t t = 1; t + 1 < L && t < T; t++)   // positions 0 and L − 1 never count
                if (sigmoidf(lg[t]) > opt->text_threshold) label_ids[n++] = input_ids[t];
            d.label = wordpiece_decode(wp, label_ids, n, NULL);
        }
        if ((out->n & (out->n - 1)) == 0) out->v = realloc_check(out->v, (out->n ? 2 * out->n : 1) * sizeof *out->v);
        out->v[out->n++] = d;
    }
    free(label_ids);
    return true;
}

// A JSON number, or null for a non-finite value (a broken model output must not break the file).
static void put_num(StrBuf *o, const char *sep, float v) {
    if (isfinite(v)) strbuf_printf(o, "%s%.9g", sep, v);
    else strbuf_printf(o, "%snull", sep);
}

static int by_score_desc(const void *a, const void *b) {
    const GdinoDetection *x = *(const GdinoDetection *const *)a, *y = *(const GdinoDetection *const *)b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->query < y->query ? -1 : x->query > y->query;   // stable: query order
}

void gdino_detections_json(const GdinoDetections *d, const char *img_path, const char *caption, StrBuf *o) {
    const GdinoDetection **order = malloc_check((d->n ? d->n : 1) * sizeof *order);
    for (size_t i = 0; i < d->n; i++) order[i] = &d->v[i];
    qsort(order, d->n, sizeof *order, by_score_desc);
    strbuf_str(o, "{\"img_path\": ");
    strbuf_json_str(o, img_path);
    strbuf_str(o, ", \"caption\": ");
    strbuf_json_str(o, caption);
    strbuf_str(o, ", \"boxes\": [");
    for (size_t i = 0; i < d->n; i++) {
        strbuf_str(o, i ? ", [" : "[");
        for (int k = 0; k < 4; k++) put_num(o, k ? ", " : "", order[i]->box[k]);
        strbuf_str(o, "]");
    }
    strbuf_str(o, "], \"scores\": [");
    for (size_t i = 0; i < d->n; i++) put_num(o, i ? ", " : "", order[i]->score);
    strbuf_str(o, "], \"labels\": [");
    for (size_t i = 0; i < d->n; i++) {
        if (i) strbuf_str(o, ", ");
        strbuf_json_str(o, order[i]->label ? order[i]->label : "");
    }
    strbuf_str(o, "]}");
    free(order);
}
