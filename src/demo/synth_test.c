// synth_test.c — the synthetic shapes data set: determinism, the geometry the answers and boxes
// claim (every box is the tight box of its shape's pixels, objects never overlap, the main object
// is the largest), chosen = the main object, rejected = an absent object, disjoint splits, and the
// files synth_write produces read back through the trainer's dataset loader.
#include "test/test.h"
#include "demo/synth.h"
#include "lpoi/dataset.h"
#include "base/check.h"
#include "base/json.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool rgb_is(const Image *img, int x, int y, const uint8_t rgb[3]) { return !memcmp(image_pixel(img, x, y), rgb, 3); }

TEST(synth_deterministic_and_splits_disjoint) {
    SynthOptions o = synth_options_default();
    SynthExample a, b, c, d;
    synth_example(&o, SYNTH_TRAIN, 7, &a);
    synth_example(&o, SYNTH_TRAIN, 7, &b);
    synth_example(&o, SYNTH_TRAIN, 8, &c);
    synth_example(&o, SYNTH_HELDOUT, 7, &d);
    EXPECT(image_equal(&a.image, &b.image));
    EXPECT_STREQ(a.chosen, b.chosen);
    EXPECT_STREQ(a.rejected, b.rejected);
    EXPECT(!image_equal(&a.image, &c.image));
    EXPECT(!image_equal(&a.image, &d.image));
    SynthOptions o2 = o;
    o2.seed = 2;
    SynthExample e;
    synth_example(&o2, SYNTH_TRAIN, 7, &e);
    EXPECT(!image_equal(&a.image, &e.image));
    synth_example_free(&a); synth_example_free(&b); synth_example_free(&c); synth_example_free(&d); synth_example_free(&e);
}

TEST(synth_geometry_and_answers) {
    int sizes[] = {32, 64, 97};
    int counts[SYNTH_MAX_OBJECTS + 1] = {0}, backgrounds[SYNTH_NBG] = {0};
    for (size_t si = 0; si < LPOI_ARRAY_LEN(sizes); si++) {
        SynthOptions o = synth_options_default();
        o.image_size = sizes[si];
        for (int i = 0; i < 60; i++) {
            SynthExample ex;
            synth_example(&o, i % 2 ? SYNTH_HELDOUT : SYNTH_TRAIN, i, &ex);
            const int R = o.image_size;
            EXPECT(ex.image.w == R && ex.image.h == R);
            EXPECT(ex.n_objects >= 1 && ex.n_objects <= SYNTH_MAX_OBJECTS);
            counts[ex.n_objects]++;
            backgrounds[ex.background]++;
            for (int k = 0; k < ex.n_objects; k++) {
                const SynthObject *ob = &ex.objects[k];
                EXPECT(ob->box.x0 >= 0 && ob->box.y0 >= 0 && ob->box.x1 <= R && ob->box.y1 <= R);
                EXPECT(img_rect_contains(ob->cell, ob->box));
                if (k > 0) {
                    EXPECT(img_rect_area(ob->box) < img_rect_area(ex.objects[0].box));
                    EXPECT(!(ob->colour == ex.objects[0].colour && ob->shape == ex.objects[0].shape));
                }
                for (int j = 0; j < k; j++) {   // cells (hence shapes) apart
                    ImgRect p = ex.objects[j].cell, q = ob->cell;
                    EXPECT(p.x1 + 2 <= q.x0 || q.x1 + 2 <= p.x0 || p.y1 + 2 <= q.y0 || q.y1 + 2 <= p.y0);
                }
                // The box is exactly the bounding box of the covered pixels, which all have the colour.
                ImgRect tight = {R, R, 0, 0};
                int bad = 0;
                for (int y = 0; y < R; y++)
                    for (int x = 0; x < R; x++)
                        if (synth_object_covers(ob, x, y)) {
                            bad += !rgb_is(&ex.image, x, y, SYNTH_COLOUR_RGB[ob->colour]);
                            tight.x0 = LPOI_MIN(tight.x0, x); tight.y0 = LPOI_MIN(tight.y0, y);
                            tight.x1 = LPOI_MAX(tight.x1, x + 1); tight.y1 = LPOI_MAX(tight.y1, y + 1);
                        }
                EXPECT_EQ_INT(bad, 0);
                EXPECT(tight.x0 == ob->box.x0 && tight.y0 == ob->box.y0 && tight.x1 == ob->box.x1 && tight.y1 == ob->box.y1);
                // The main object is big: at least a third of the image side.
                if (k == 0) EXPECT(ob->box.x1 - ob->box.x0 >= R / 3 && ob->box.y1 - ob->box.y0 >= R / 3);
            }
            // Background pixels (covered by no object) are muted: channels in [70, 225].
            int outside = 0;
            for (int y = 0; y < R; y += 3)
                for (int x = 0; x < R; x += 3) {
                    bool cov = false;
                    for (int k = 0; k < ex.n_objects; k++) cov = cov || synth_object_covers(&ex.objects[k], x, y);
                    if (cov) continue;
                    const uint8_t *p = image_pixel(&ex.image, x, y);
                    for (int c = 0; c < 3; c++) outside += p[c] < 70 || p[c] > 225;
                }
            EXPECT_EQ_INT(outside, 0);
            // Answers.
            char want[48];
            synth_answer(&ex.objects[0], want, sizeof want);
            EXPECT_STREQ(ex.chosen, want);
            synth_answer(&ex.absent, want, sizeof want);
            EXPECT_STREQ(ex.rejected, want);
            bool shape_present = false, pair_present = false;
            for (int k = 0; k < ex.n_objects; k++) {
                shape_present = shape_present || ex.objects[k].shape == ex.absent.shape;
                pair_present = pair_present || (ex.objects[k].shape == ex.absent.shape && ex.objects[k].colour == ex.absent.colour);
            }
            EXPECT(!pair_present);
            if (ex.n_objects < SYNTH_NSHAPES) EXPECT(!shape_present);
            synth_example_free(&ex);
        }
    }
    for (int n = 1; n <= SYNTH_MAX_OBJECTS; n++) EXPECT_MSG(counts[n] > 0, "no example with %d objects", n);
    for (int b = 0; b < SYNTH_NBG; b++) EXPECT_MSG(backgrounds[b] > 0, "no %s background", SYNTH_BACKGROUND_NAMES[b]);
}

TEST(synth_words_cover_answers) {
    // Every word of the prompt and of every possible answer is in SYNTH_WORDS.
    char text[256];
    snprintf(text, sizeof text, "%s", SYNTH_PROMPT);
    for (int c = 0; c < SYNTH_NCOLOURS; c++)
        for (int s = 0; s < SYNTH_NSHAPES; s++) {
            char ans[48], buf[256];
            synth_answer(&(SynthObject){.colour = c, .shape = s}, ans, sizeof ans);
            snprintf(buf, sizeof buf, "%s %s", SYNTH_PROMPT, ans);
            for (char *w = strtok(buf, " ?."); w; w = strtok(NULL, " ?.")) {
                bool found = false;
                for (int i = 0; SYNTH_WORDS[i]; i++) found = found || !strcmp(SYNTH_WORDS[i], w);
                EXPECT_MSG(found, "word \"%s\" missing from SYNTH_WORDS", w);
            }
        }
}

TEST(synth_write_reads_back) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "synth_test");
    SynthOptions o = synth_options_default();
    o.n_train = 3;
    o.n_heldout = 2;
    o.image_size = 48;
    LpoiErr err = {{0}};
    char *train = NULL, *held = NULL;
    bool ok = synth_write(&o, dir, &train, &held, &err);
    EXPECT_MSG(ok, "synth_write: %s", err.msg);
    if (ok) {
        // Each JSONL line parses and its image is the example's image.
        size_t size;
        char *text = file_read_all(train, 1 << 20, &size, &err);
        EXPECT(text != NULL);
        int lines = 0;
        for (char *line = text, *nl; text && (nl = strchr(line, '\n')); line = nl + 1, lines++) {
            JsonDoc *doc = json_parse(line, (size_t)(nl - line), &err);
            EXPECT_MSG(doc, "line %d: %s", lines + 1, err.msg);
            if (!doc) continue;
            const JsonValue *r = json_root(doc);
            SynthExample ex;
            synth_example(&o, SYNTH_TRAIN, lines, &ex);
            EXPECT_STREQ(json_get_str(r, "prompt"), SYNTH_PROMPT);
            EXPECT_STREQ(json_get_str(r, "chosen"), ex.chosen);
            EXPECT_STREQ(json_get_str(r, "rejected"), ex.rejected);
            const JsonValue *boxes = json_get(r, "boxes");
            EXPECT(boxes && boxes->type == JSON_ARRAY && (int)boxes->count == ex.n_objects);
            int64_t x0 = -1;
            if (boxes && boxes->count) EXPECT(json_as_i64(json_at(json_at(boxes, 0), 0), &x0) && x0 == ex.objects[0].box.x0);
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, json_get_str(r, "img_path"));
            Image img;
            EXPECT_MSG(image_decode_file(&img, path, NULL, &err), "%s", err.msg);
            EXPECT(image_equal(&img, &ex.image));
            image_free(&img);
            synth_example_free(&ex);
            json_free(doc);
        }
        EXPECT_EQ_INT(lines, 3);
        free(text);
        // The trainer's loader takes it, with the first box as the list's box.
        Dataset d;
        DatasetOptions dopt = {.list_size = 5, .check_files = true};
        ok = dataset_load(&d, held, &dopt, &err);
        EXPECT_MSG(ok, "dataset_load: %s", err.msg);
        if (ok) {
            EXPECT_EQ_INT(d.n, 2);
            SynthExample ex;
            synth_example(&o, SYNTH_HELDOUT, 1, &ex);
            EXPECT(d.rec[1].has_box && d.rec[1].box[0] == ex.objects[0].box.x0 && d.rec[1].box[3] == ex.objects[0].box.y1);
            EXPECT_STREQ(d.rec[1].question, SYNTH_PROMPT);
            synth_example_free(&ex);
            dataset_free(&d);
        }
    }
    free(train);
    free(held);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) test_fail_at(__FILE__, __LINE__, "cleanup failed");
}
