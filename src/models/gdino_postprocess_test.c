// gdino_postprocess_test.c — post_process_grounded_object_detection against transformers 5.24 on
// random logits and boxes (testdata/gdino/postprocess.json, tools/golden_gdino_post.py): the kept
// queries, scores, pixel boxes and (with ../shared/data/hf's tokenizer) the phrases; the JSON line
// `lpoi negatives` reads; bad options refused.
#include "test/test.h"
#include "models/gdino_postprocess.h"
#include "base/json.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GDINO_DIR "../shared/data/hf/IDEA-Research__grounding-dino-tiny"

static float num(const JsonValue *v) { return v && v->type == JSON_NUMBER ? (float)v->number : -INFINITY; }

TEST(gdino_postprocess_matches_hf) {
    char path[512];
    snprintf(path, sizeof path, "%s/gdino/postprocess.json", test_data_dir());
    LpoiErr err = {{0}};
    JsonDoc *doc = json_load_file(path, (size_t)1 << 26, &err);
    EXPECT_MSG(doc, "%s", err.msg);
    if (!doc) return;
    WordPiece *wp = NULL;
    if (access(GDINO_DIR "/tokenizer.json", F_OK) == 0) EXPECT_MSG((wp = wordpiece_load_dir(GDINO_DIR, &err)), "%s", err.msg);
    const JsonValue *cases = json_get(json_root(doc), "cases");
    EXPECT(cases && cases->count >= 7);
    size_t total_kept = 0;
    for (size_t c = 0; cases && c < cases->count; c++) {
        const JsonValue *cs = cases->items[c], *ids_j = json_get(cs, "input_ids"), *want = json_get(cs, "want");
        const JsonValue *lg_j = json_get(cs, "logits"), *bx_j = json_get(cs, "boxes_cxcywh"), *size = json_get(cs, "target_size");
        const char *name = json_get_str(cs, "name");
        int64_t Q = 0;
        json_get_i64(cs, "queries", &Q);
        size_t T = ids_j->count, L = 256;
        int32_t ids[256];
        for (size_t t = 0; t < T; t++) ids[t] = (int32_t)ids_j->items[t]->number;
        float *logits = malloc((size_t)Q * L * sizeof *logits), *boxes = malloc((size_t)Q * 4 * sizeof *boxes);
        for (size_t q = 0; q < (size_t)Q; q++)
            for (size_t t = 0; t < L; t++) logits[q * L + t] = t < T ? num(lg_j->items[q * T + t]) : -INFINITY;
        for (size_t i = 0; i < (size_t)Q * 4; i++) boxes[i] = num(bx_j->items[i]);
        double bt = 0, tt = 0;
        json_get_f64(cs, "box_threshold", &bt);
        json_get_f64(cs, "text_threshold", &tt);
        GdinoPostOptions opt = {(float)bt, (float)tt, 0, 0};
        if (size && size->type == JSON_ARRAY) { opt.image_h = (int)size->items[0]->number; opt.image_w = (int)size->items[1]->number; }
        GdinoDetections d;
        EXPECT_MSG(gdino_post_process(logits, boxes, (size_t)Q, L, ids, T, wp, &opt, &d, &err), "%s", err.msg);
        const JsonValue *keep = json_get(want, "keep"), *scores = json_get(want, "scores"), *wboxes = json_get(want, "boxes");
        const JsonValue *labels = json_get(want, "labels");
        EXPECT_MSG(d.n == keep->count, "%s: kept %zu, want %zu", name, d.n, keep->count);
        for (size_t i = 0; i < d.n && i < keep->count; i++) {
            EXPECT_EQ_INT(d.v[i].query, (int64_t)keep->items[i]->number);
            EXPECT_NEAR(d.v[i].score, scores->items[i]->number, 0, 2.5e-7);   // sigmoid: an ulp or so
            for (int k = 0; k < 4; k++)   // the same float32 operations as torch: identical
                EXPECT_MSG(d.v[i].box[k] == num(wboxes->items[i]->items[k]), "%s: box %zu[%d] = %.9g, want %.9g", name, i, k,
                           d.v[i].box[k], num(wboxes->items[i]->items[k]));
            if (wp) {
                const JsonValue *l = labels->items[i];
                EXPECT_MSG(d.v[i].label && strlen(d.v[i].label) == l->len && !memcmp(d.v[i].label, l->str, l->len),
                           "%s: label %zu \"%s\", want \"%s\"", name, i, d.v[i].label ? d.v[i].label : "(null)", l->str);
            }
        }
        total_kept += d.n;
        gdino_detections_free(&d);
        free(logits);
        free(boxes);
    }
    EXPECT(total_kept > 400);
    if (!wp) test_skip("../shared/data/hf is absent (labels not checked)");
    wordpiece_free(wp);
    json_free(doc);
}

TEST(gdino_postprocess_json_line_and_refusals) {
    // two queries over 3 text positions: q1 scores higher and comes first in the JSON line
    float logits[2 * 4] = {-9, 0.5f, -9, -INFINITY, -9, 3, 2, -INFINITY};
    float boxes[2 * 4] = {0.5f, 0.5f, 0.25f, 0.5f, 0.25f, 0.75f, 0.5f, 0.5f};
    int32_t ids[3] = {101, 4937, 102};
    GdinoPostOptions opt = {0.35f, 0.25f, 200, 100};
    GdinoDetections d;
    LpoiErr err = {{0}};
    EXPECT(gdino_post_process(logits, boxes, 2, 4, ids, 3, NULL, &opt, &d, &err));
    EXPECT_EQ_INT(d.n, 2);
    if (d.n == 2) {
        EXPECT(d.v[0].box[0] == 75 && d.v[0].box[1] == 25 && d.v[0].box[2] == 125 && d.v[0].box[3] == 75);
        d.v[0].label = strdup("cat");
        d.v[1].label = strdup("cat [SEP]");
        StrBuf s = {0};
        gdino_detections_json(&d, "img/a.jpg", "a cat.", &s);
        EXPECT_MSG(strstr(s.s, "\"boxes\": [[0, 50, 100, 100], [75, 25, 125, 75]]") &&
                   strstr(s.s, "\"labels\": [\"cat [SEP]\", \"cat\"]") && strstr(s.s, "{\"img_path\": \"img/a.jpg\""), "%s", s.s);
        // it parses, and its first box is the best one
        JsonDoc *doc = json_parse(s.s, s.len, &err);
        EXPECT_MSG(doc, "%s", err.msg);
        json_free(doc);
        free(s.s);
        // a non-finite box coordinate is written as null: the line stays JSON
        d.v[0].box[2] = NAN;
        s = (StrBuf){0};
        gdino_detections_json(&d, "a.jpg", "x.", &s);
        EXPECT_MSG(strstr(s.s, "[75, 25, null, 75]") && (doc = json_parse(s.s, s.len, &err)), "%s", s.s);
        json_free(doc);
        free(s.s);
    }
    gdino_detections_free(&d);
    GdinoPostOptions bad = {1.5f, 0.25f, 0, 0};
    EXPECT(!gdino_post_process(logits, boxes, 2, 4, ids, 3, NULL, &bad, &d, &err) && strstr(err.msg, "[0, 1]"));
    bad = (GdinoPostOptions){0.3f, NAN, 0, 0};
    EXPECT(!gdino_post_process(logits, boxes, 2, 4, ids, 3, NULL, &bad, &d, &err) && strstr(err.msg, "[0, 1]"));
    EXPECT(!gdino_post_process(logits, boxes, 2, 4, ids, 5, NULL, &opt, &d, &err) && strstr(err.msg, "5 caption ids"));
    // a NaN logit makes the score NaN (torch.max), so the query is dropped
    float nan_logits[4] = {5, NAN, 5, -INFINITY};
    EXPECT(gdino_post_process(nan_logits, boxes, 1, 4, ids, 3, NULL, &opt, &d, &err) && d.n == 0);
    gdino_detections_free(&d);
}
