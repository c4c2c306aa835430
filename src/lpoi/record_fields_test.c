// record_fields_test.c — the record layouts users bring, read by one loader everywhere: TRL's vision
// preference records (an "images" list, prompt / chosen / rejected as chat messages or plain strings),
// img_path / image / images in training and in `generate --batch`, and boxes as xyxy / xywh /
// normalised with warnings for boxes that look normalised or are tiny.
#include "test/test.h"
#include "lpoi/dataset.h"
#include "lpoi/generate_llava.h"
#include "base/check.h"
#include "base/file.h"
#include "base/json.h"
#include "image/image.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// A temp folder with a.png (40 x 30) and the records in d.jsonl.
static bool load_records(char *dir, size_t cap, const char *records, BoxFormat f, Dataset *d, LpoiErr *err) {
    test_tmp_dir(dir, cap, "records");
    Image img = image_new(40, 30);
    for (size_t i = 0; i < (size_t)40 * 30 * 3; i++) img.data[i] = (uint8_t)(i * 7);
    EXPECT(image_write_png(&img, test_path(dir, "a.png"), err));
    image_free(&img);
    EXPECT(test_write_text(test_path(dir, "d.jsonl"), records));
    DatasetOptions o = {.list_size = 5, .check_files = true, .box_format = f};
    return dataset_load(d, test_path(dir, "d.jsonl"), &o, err);
}

TEST(records_trl_vision_layouts) {
    const char *text =
        // TRL conversational (rlaif-v formatted, images as paths)
        "{\"images\": [\"a.png\"], \"prompt\": [{\"role\": \"user\", \"content\": [{\"type\": \"image\"}, "
        "{\"type\": \"text\", \"text\": \"What is on the table?\"}]}], \"chosen\": [{\"role\": \"assistant\", \"content\": "
        "[{\"type\": \"text\", \"text\": \"A red cup.\"}]}], \"rejected\": [{\"role\": \"assistant\", \"content\": "
        "\"A blue cat.\"}], \"boxes\": [[1, 2, 20, 22]]}\n"
        // TRL plain strings with the image placeholder, HF datasets' {"path": ...} image
        "{\"images\": [{\"path\": \"a.png\", \"bytes\": null}], \"prompt\": \"<image>What is on the table?\", "
        "\"chosen\": \"A red cup.\", \"rejected\": \"A blue cat.\", \"boxes\": [[1, 2, 20, 22]]}\n"
        // LLaVA-style "image"
        "{\"image\": \"a.png\", \"prompt\": \"What is on the table?\", \"chosen\": \"A red cup.\", \"rejected\": "
        "\"A blue cat.\", \"boxes\": [[1, 2, 20, 22]]}\n";
    char dir[64];
    Dataset d;
    LpoiErr err = {{0}};
    bool ok = load_records(dir, sizeof dir, text, BOX_XYXY, &d, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (ok) {
        EXPECT_EQ_INT(d.n, 3);
        for (int i = 0; i < d.n; i++) {
            EXPECT_STREQ(d.rec[i].question, "What is on the table?");
            EXPECT_STREQ(d.rec[i].chosen, "A red cup.");
            EXPECT_STREQ(d.rec[i].rejected, "A blue cat.");
            EXPECT_STREQ(d.rec[i].img_given, "a.png");
        }
        dataset_free(&d);
    }
    file_rmtree(dir);

    static const struct { const char *rec, *why; } BAD[] = {
        {"{\"images\": [\"a.png\", \"a.png\"], \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\"}", "images: holds 2 images"},
        {"{\"images\": [{\"bytes\": \"...\"}], \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\"}", "\"path\" string"},
        {"{\"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\"}", "img_path: missing (give the image as"},
        {"{\"images\": [\"a.png\"], \"prompt\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", "
         "\"content\": \"q\"}], \"chosen\": \"c\", \"rejected\": \"r\"}", "prompt[0]: role \"system\""},
        {"{\"images\": [\"a.png\"], \"prompt\": [{\"role\": \"user\", \"content\": [{\"type\": \"image\"}, {\"type\": "
         "\"image\"}, {\"type\": \"text\", \"text\": \"q\"}]}], \"chosen\": \"c\", \"rejected\": \"r\"}", "prompt: 2 image parts"},
        {"{\"images\": [\"a.png\"], \"prompt\": \"q\", \"chosen\": [{\"role\": \"user\", \"content\": \"c\"}], \"rejected\": "
         "\"r\"}", "chosen[0]: role \"user\""},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        char line[1024];
        snprintf(line, sizeof line, "%s\n", BAD[i].rec);
        EXPECT_MSG(!load_records(dir, sizeof dir, line, BOX_XYXY, &d, &err), "accepted: %s", BAD[i].rec);
        EXPECT_MSG(strstr(err.msg, BAD[i].why) && strstr(err.msg, "d.jsonl:1: "), "%s", err.msg);
        file_rmtree(dir);
    }
}

TEST(records_box_formats_and_warnings) {
    char dir[64];
    Dataset d;
    LpoiErr err = {{0}};
    // xywh: [4, 3, 10, 20] is the corners [4, 3, 14, 23].
    bool ok = load_records(dir, sizeof dir, "{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": "
                           "\"r\", \"boxes\": [[4, 3, 10, 20]]}\n", BOX_XYWH, &d, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (ok) {
        EXPECT(d.rec[0].box[2] == 14 && d.rec[0].box[3] == 23 && !d.rec[0].box_normalised);
        EXPECT_EQ_INT(d.boxes_look_normalised + d.boxes_tiny, 0);
        dataset_free(&d);
    }
    file_rmtree(dir);
    // normalised corners scale by the image's width and height.
    ok = load_records(dir, sizeof dir, "{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": "
                      "\"r\", \"boxes\": [[0.25, 0.1, 0.75, 0.5]]}\n", BOX_NORM_XYXY, &d, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (ok) {
        double px[4];
        const double *b = data_box_pixels(&d.rec[0], 40, 30, px);
        EXPECT(b[0] == 10 && b[1] == 3 && b[2] == 30 && b[3] == 15);
        EXPECT_EQ_INT(d.boxes_look_normalised, 0);
        dataset_free(&d);
    }
    file_rmtree(dir);
    // The same box read as pixels looks normalised (and is tiny): counted and warned about.
    ok = load_records(dir, sizeof dir, "{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": "
                      "\"r\", \"boxes\": [[0.29, 0.05, 0.68, 0.75]]}\n"
                      "{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\", \"boxes\": "
                      "[[5, 5, 7, 25]]}\n", BOX_XYXY, &d, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    if (ok) {
        EXPECT_EQ_INT(d.boxes_look_normalised, 1);
        EXPECT_EQ_INT(d.boxes_tiny, 2);
        dataset_free(&d);
    }
    file_rmtree(dir);
    // A normalised format refuses coordinates beyond 1, and an empty xywh box.
    EXPECT(!load_records(dir, sizeof dir, "{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": "
                         "\"r\", \"boxes\": [[4, 3, 10, 20]]}\n", BOX_NORM_XYWH, &d, &err));
    EXPECT_MSG(strstr(err.msg, "boxes[0]: ") && strstr(err.msg, "leaves [0, 1]"), "%s", err.msg);
    file_rmtree(dir);
    EXPECT(!load_records(dir, sizeof dir, "{\"img_path\": \"a.png\", \"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": "
                         "\"r\", \"boxes\": [[4, 3, 0, 20]]}\n", BOX_XYWH, &d, &err));
    EXPECT_MSG(strstr(err.msg, "is empty as xywh"), "%s", err.msg);
    file_rmtree(dir);
    BoxFormat f;
    EXPECT(box_format_parse("norm-xywh", &f) && f == BOX_NORM_XYWH && !box_format_parse("cxcywh", &f));
}

// `generate --batch` reads the image and prompt fields as training does.
TEST(records_batch_accepts_training_layouts) {
    if (access("testdata/tiny_llava/config.json", R_OK)) { test_skip("testdata/tiny_llava not found"); return; }
    char dir[64];
    test_tmp_dir(dir, sizeof dir, "batch_fields");
    Image img = image_new(20, 20);
    for (size_t i = 0; i < (size_t)20 * 20 * 3; i++) img.data[i] = (uint8_t)(i * 5);
    LpoiErr err = {{0}};
    EXPECT(image_write_png(&img, test_path(dir, "a.png"), &err));
    image_free(&img);
    EXPECT(test_write_text(test_path(dir, "in.jsonl"),
                           "{\"image\": \"a.png\", \"prompt\": \"What is it?\"}\n"
                           "{\"img_path\": \"a.png\", \"prompt\": \"What is it?\"}\n"
                           "{\"images\": [\"a.png\"], \"prompt\": [{\"role\": \"user\", \"content\": [{\"type\": \"image\"}, "
                           "{\"type\": \"text\", \"text\": \"What is it?\"}]}]}\n"));
    LlavaBatchArgs b = {.model_dir = "testdata/tiny_llava", .device = "cpu", .batch = test_path(dir, "in.jsonl"),
                        .out = test_path(dir, "out.jsonl"), .max_new = 4};
    LlavaBatchStats st;
    bool ok = llava_batch(&b, &st, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    EXPECT_EQ_INT(st.answered, 3);
    char *out = test_read_text(test_path(dir, "out.jsonl"));
    const char *answers[3] = {0};
    JsonDoc *docs[3] = {0};
    int n = 0;
    for (char *p = out; p && *p && n < 3;) {
        char *nl = strchr(p, '\n');
        docs[n] = json_parse(p, (size_t)(nl - p), &err);
        answers[n] = docs[n] ? json_get_str(json_root(docs[n]), "answer") : NULL;
        n++;
        p = nl + 1;
    }
    EXPECT_EQ_INT(n, 3);
    for (int i = 1; i < n; i++) EXPECT(answers[0] && answers[i] && !strcmp(answers[0], answers[i]));
    for (int i = 0; i < n; i++) json_free(docs[i]);
    free(out);
    file_rmtree(dir);
}
