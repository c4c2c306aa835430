// coco.h — the ground truth CHAIR and POPE score against: each image's objects from COCO instance
// annotations (category names mapped through the CHAIR vocabulary), plus the objects mined from
// reference captions (COCO captions format) with the same extraction as the answers, as the original
// CHAIR builds it.
#pragma once
#include "eval/chair.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t id;
    char *file_name;
    int *objs, n_objs;         // canonical ids, each once, ascending
} CocoImage;

typedef struct { CocoImage *images; int n; } CocoGt;

// instances_path: COCO instances JSON (images, annotations, categories). captions_path: a COCO captions
// JSON ({"annotations": [{"image_id", "caption"}]}), a results-format list [{"image_id", "caption"}],
// or NULL. A category whose name is not in the
// vocabulary is an error; caption annotations of other images are ignored.
bool coco_gt_load(CocoGt *gt, const ChairVocab *v, const char *instances_path, const char *captions_path,
                  char *err, size_t errlen);
int coco_gt_find(const CocoGt *gt, int64_t id);   // index or -1
void coco_gt_free(CocoGt *gt);
