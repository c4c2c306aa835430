// gdino_postprocess.h — GroundingDinoProcessor.post_process_grounded_object_detection
// (transformers 5.24) on one image, and the boxes file `lpoi negatives` reads.
//
// For each query q (logits [Q, L], L = 256 text positions, -inf past the caption):
//   prob[q, t] = sigmoid(logits[q, t]), score[q] = max_t prob[q, t]; q is kept when
//   score > box_threshold (strictly, compared in float32);
//   its box: cxcywh → xyxy (cx − 0.5·w, cy − 0.5·h, cx + 0.5·w, cy + 0.5·h), times (W, H, W, H) of
//   the original image when a size is given (float32, as torch);
//   its label: the caption ids at the positions with prob > text_threshold, positions 0 and
//   L − 1 and beyond excluded (HF's get_phrases_from_posmap: [CLS] never shows, but [SEP] can),
//   decoded by the tokenizer (wordpiece_decode: skip_special_tokens=False, cleanup).
// Detections keep HF's order (query order). sigmoid may differ from torch's by an ulp, which could
// flip a decision only for a probability within an ulp of a threshold.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"
#include "base/strbuf.h"
#include "text/wordpiece.h"

typedef struct {
    int32_t query;       // index of the query
    float score;         // max sigmoid over the text positions
    float box[4];        // x0, y0, x1, y1: pixels of the original image (or [0, 1] without a size)
    char *label;         // the phrase (malloc'ed; "" when no token passes text_threshold; NULL without a tokenizer)
} GdinoDetection;

typedef struct { GdinoDetection *v; size_t n; } GdinoDetections;
void gdino_detections_free(GdinoDetections *d);

typedef struct {
    float box_threshold;     // HF default 0.25; lpoi detect 0.35 (the paper's)
    float text_threshold;    // 0.25
    int image_w, image_h;    // target size; 0, 0: boxes stay normalised
} GdinoPostOptions;

// logits [Q, L], boxes [Q, 4] (cx, cy, w, h in [0, 1]), input_ids[T] of the caption (T ≤ L). wp may
// be NULL (no labels). false + err for thresholds outside [0, 1], T > L, or a negative size.
bool gdino_post_process(const float *logits, const float *boxes_cxcywh, size_t Q, size_t L, const int32_t *input_ids,
                        size_t T, const WordPiece *wp, const GdinoPostOptions *opt, GdinoDetections *out, LpoiErr *err);

// One JSON line for `lpoi negatives` / `lpoi train` (no newline): {"img_path": ..., "caption": ...,
// "boxes": [[x0, y0, x1, y1], ...], "scores": [...], "labels": [...]}, the detections sorted by
// score, highest first (stable), because negatives uses the FIRST box; a non-finite number is
// written as null (negatives then refuses that record by name). Appended to out.
void gdino_detections_json(const GdinoDetections *d, const char *img_path, const char *caption, StrBuf *out);
