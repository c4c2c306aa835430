// coco.c — see coco.h.
#include "eval/coco.h"
#include "base/check.h"
#include "base/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_obj(CocoImage *im, int obj) {
    for (int i = 0; i < im->n_objs; i++)
        if (im->objs[i] == obj) return;
    im->objs = realloc_check(im->objs, (size_t)(im->n_objs + 1) * sizeof *im->objs);
    int i = im->n_objs++;
    while (i > 0 && im->objs[i - 1] > obj) { im->objs[i] = im->objs[i - 1]; i--; }
    im->objs[i] = obj;
}

static int cmp_image(const void *a, const void *b) {
    int64_t x = ((const CocoImage *)a)->id, y = ((const CocoImage *)b)->id;
    return (x > y) - (x < y);
}

int coco_gt_find(const CocoGt *gt, int64_t id) {
    int lo = 0, hi = gt->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (gt->images[mid].id == id) return mid;
        if (gt->images[mid].id < id) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

bool coco_gt_load(CocoGt *gt, const ChairVocab *v, const char *instances_path, const char *captions_path,
                  char *err, size_t errlen) {
    *gt = (CocoGt){0};
    LpoiErr e = {{0}};
    JsonDoc *doc = json_load_file(instances_path, 512u << 20, &e);
    if (!doc) { snprintf(err, errlen, "%s", e.msg); return false; }
    JsonValue *root = json_root(doc);
    JsonValue *images = json_get(root, "images"), *anns = json_get(root, "annotations"), *cats = json_get(root, "categories");
    if (!images || images->type != JSON_ARRAY || !anns || anns->type != JSON_ARRAY || !cats || cats->type != JSON_ARRAY) {
        snprintf(err, errlen, "%s: expected a COCO instances file (arrays \"images\", \"annotations\", \"categories\")", instances_path);
        json_free(doc);
        return false;
    }
    // category id -> canonical object
    int64_t *cat_ids = malloc_check((cats->count + 1) * sizeof *cat_ids);
    int *cat_obj = malloc_check((cats->count + 1) * sizeof *cat_obj);
    bool ok = true;
    for (size_t i = 0; i < cats->count && ok; i++) {
        const char *name = json_get_str(cats->items[i], "name");
        if (!name || !json_get_i64(cats->items[i], "id", &cat_ids[i])) {
            snprintf(err, errlen, "%s: categories[%zu]: needs \"id\" and \"name\"", instances_path, i);
            ok = false;
            break;
        }
        ChairMention m[4];
        cat_obj[i] = chair_vocab_find(v, name);
        if (cat_obj[i] < 0 && chair_mentions_all(v, name, m, 4) == 1) cat_obj[i] = m[0].obj;
        if (cat_obj[i] < 0) {
            snprintf(err, errlen, "%s: categories[%zu]: \"%s\" is not in the CHAIR vocabulary", instances_path, i, name);
            ok = false;
        }
    }
    if (ok) {
        gt->images = calloc_check(images->count + 1, sizeof *gt->images);
        for (size_t i = 0; i < images->count && ok; i++) {
            CocoImage *im = &gt->images[gt->n];
            const char *fn = json_get_str(images->items[i], "file_name");
            if (!json_get_i64(images->items[i], "id", &im->id)) {
                snprintf(err, errlen, "%s: images[%zu]: needs an integer \"id\"", instances_path, i);
                ok = false;
                break;
            }
            im->file_name = strdup(fn ? fn : "");
            gt->n++;
        }
        if (ok) qsort(gt->images, (size_t)gt->n, sizeof *gt->images, cmp_image);
        for (int i = 1; i < gt->n && ok; i++)
            if (gt->images[i].id == gt->images[i - 1].id) {
                snprintf(err, errlen, "%s: image id %lld appears twice", instances_path, (long long)gt->images[i].id);
                ok = false;
            }
    }
    for (size_t i = 0; i < anns->count && ok; i++) {
        int64_t img, cat;
        if (!json_get_i64(anns->items[i], "image_id", &img) || !json_get_i64(anns->items[i], "category_id", &cat)) {
            snprintf(err, errlen, "%s: annotations[%zu]: needs integer \"image_id\" and \"category_id\"", instances_path, i);
            ok = false;
            break;
        }
        int k = coco_gt_find(gt, img);
        if (k < 0) continue;
        size_t c = 0;
        while (c < cats->count && cat_ids[c] != cat) c++;
        if (c == cats->count) {
            snprintf(err, errlen, "%s: annotations[%zu]: unknown category_id %lld", instances_path, i, (long long)cat);
            ok = false;
            break;
        }
        add_obj(&gt->images[k], cat_obj[c]);
    }
    free(cat_ids);
    free(cat_obj);
    json_free(doc);
    if (ok && captions_path) {
        JsonDoc *cd = json_load_file(captions_path, 512u << 20, &e);
        if (!cd) { snprintf(err, errlen, "%s", e.msg); ok = false; }
        // A COCO captions file, or a results-format list of {"image_id", "caption"}.
        JsonValue *ca = !cd ? NULL : json_root(cd)->type == JSON_ARRAY ? json_root(cd) : json_get(json_root(cd), "annotations");
        if (cd && (!ca || ca->type != JSON_ARRAY)) {
            snprintf(err, errlen, "%s: expected a COCO captions file (an array \"annotations\") or a list of captions", captions_path);
            ok = false;
        }
        for (size_t i = 0; ok && i < ca->count; i++) {
            int64_t img;
            const char *cap = json_get_str(ca->items[i], "caption");
            if (!cap || !json_get_i64(ca->items[i], "image_id", &img)) {
                snprintf(err, errlen, "%s: annotations[%zu]: needs \"image_id\" and \"caption\"", captions_path, i);
                ok = false;
                break;
            }
            int k = coco_gt_find(gt, img);
            if (k < 0) continue;
            int n = chair_mentions_all(v, cap, NULL, 0);
            ChairMention *m = malloc_check((size_t)(n ? n : 1) * sizeof *m);
            chair_mentions_all(v, cap, m, n);
            for (int j = 0; j < n; j++) add_obj(&gt->images[k], m[j].obj);
            free(m);
        }
        json_free(cd);
    }
    if (!ok) coco_gt_free(gt);
    return ok;
}

void coco_gt_free(CocoGt *gt) {
    for (int i = 0; i < gt->n; i++) {
        free(gt->images[i].file_name);
        free(gt->images[i].objs);
    }
    free(gt->images);
    *gt = (CocoGt){0};
}
