// pope.h — POPE-style yes/no object probing (Li et al. 2023) on the COCO images with instance
// annotations: for each image, "Is there a <object> in the image?" for up to 3 objects that are there
// and as many that are not, the absent ones drawn three ways, all deterministic:
//   random       uniformly from the absent objects (a fixed-seed generator, seeded per image)
//   popular      the absent objects that appear in the most images of the set
//   adversarial  the absent objects that co-occur most often with the image's objects
// Scored as POPE does: positive class "yes"; accuracy, precision, recall, F1 and the yes ratio.
#pragma once
#include "eval/coco.h"
#include "eval/yesno.h"

typedef enum { POPE_RANDOM, POPE_POPULAR, POPE_ADVERSARIAL } PopeSetting;
#define POPE_SETTINGS 3
#define POPE_PER_IMAGE 3

typedef struct {
    PopeSetting setting;
    int64_t image_id;
    int obj;          // canonical id in the vocabulary
    bool present;     // the truth: "yes" when the object is annotated in the image
} PopeQuestion;

const char *pope_setting_name(PopeSetting s);   // "random", "popular", "adversarial"
// All questions, setting by setting, images in id order, positives first. Free with free().
PopeQuestion *pope_questions(const CocoGt *gt, int n_objs, int *n);
// "Is there a <name> in the image?" (POPE's template) into buf.
void pope_question_text(const ChairVocab *v, const PopeQuestion *q, char *buf, size_t cap);
// "random/42/dog": the item id lpoi uses.
void pope_item_id(const ChairVocab *v, const PopeQuestion *q, char *buf, size_t cap);

typedef struct { long tp, fp, tn, fn, unreadable, answered_yes, total; } PopeCount;
void pope_count_add(PopeCount *c, bool present, YesNo answer);
typedef struct { double accuracy, precision, recall, f1, yes_ratio; } PopeMetrics;
PopeMetrics pope_metrics(const PopeCount *c);   // fractions in [0, 1]; 0 where a denominator is 0
