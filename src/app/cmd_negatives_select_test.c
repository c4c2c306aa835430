// cmd_negatives_select_test.c — `lpoi negatives --object-from-text` and `--verify` on the committed
// 13 x 7 test image: the box chosen by the text's candidate order and the box rule (same pixels as
// a run given that box alone), records without a usable try skipped with their reason in
// skipped.jsonl and the summary, bad labels, verification with testdata/tiny_llava (decision and
// scores in the manifest; a margin that fails every try), and unchanged output with --verify none.
#include "test/test.h"
#include "app/commands.h"
#include "base/file.h"
#include "base/json.h"
#include "image/image.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *read_out(const char *dir, const char *name) { return test_read_text(test_path(dir, name)); }

static int count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

TEST(cmd_negatives_object_from_text) {
    char dir[256], cwd[PATH_MAX], img[PATH_MAX + 64];
    static char text[8 * PATH_MAX];
    test_tmp_dir(dir, sizeof dir, "neg_select");
    if (!getcwd(cwd, sizeof cwd)) return;
    snprintf(img, sizeof img, "%s/%s/images/rgb.png", cwd, test_data_dir());
    snprintf(text, sizeof text,
             // 0: the cat (first sentence) has box 1; the remote scores higher but comes later.
             "{\"img_path\": \"%s\", \"prompt\": \"What is on the couch?\", \"chosen\": \"A cat sleeps. A remote lies by it.\","
             " \"rejected\": \"A dog sleeps.\", \"boxes\": [[0, 0, 3, 3], [5, 1, 9, 6], [1, 1, 4, 4]],"
             " \"labels\": [\"remote\", \"cats\", \"dog\"], \"scores\": [0.9, 0.5, 0.99]}\n"
             // 1: the text names no object.
             "{\"img_path\": \"%s\", \"prompt\": \"How is it?\", \"chosen\": \"Nice weather.\", \"boxes\": [[0, 0, 3, 3]], \"labels\": [\"dog\"]}\n"
             // 2: a dog is named, but the only box is a bird.
             "{\"img_path\": \"%s\", \"prompt\": \"What is it?\", \"chosen\": \"A dog.\", \"boxes\": [[0, 0, 3, 3]], \"labels\": [\"bird\"]}\n"
             // 3: the dog's box is below the threshold: no matching box.
             "{\"img_path\": \"%s\", \"prompt\": \"What is it?\", \"chosen\": \"A dog.\", \"boxes\": [[0, 0, 3, 3]], \"labels\": [\"dog\"], \"scores\": [0.2]}\n",
             img, img, img, img);
    const char *data = test_path(dir, "data.jsonl"), *out = test_path(dir, "out");
    test_write_text(data, text);
    char data_s[400], out_s[400];
    snprintf(data_s, sizeof data_s, "%s", data);
    snprintf(out_s, sizeof out_s, "%s", out);
    char *argv[] = {"negatives", "--data", data_s, "--out", out_s, "--list-size", "3", "--object-from-text", NULL};
    char *printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_negatives, 8, argv, &printed), 0);
    EXPECT_MSG(printed && strstr(printed, "records 4: 1 lists, 0 verified (--verify none); skipped 3 (no_object_named 1, "
                                          "no_matching_box 2, verification_failed 0, bad 0)"), "%s", printed);
    free(printed);
    char *man = read_out(out_s, "manifest.jsonl"), *sk = read_out(out_s, "skipped.jsonl");
    EXPECT_EQ_INT(count_lines(man), 1);
    EXPECT_MSG(man && strstr(man, "\"box\": [5, 1, 9, 6]") && strstr(man, "\"box_index\": 1, \"object\": \"cat\", "
                                                                    "\"object_part\": \"first_sentence\", \"candidates\": 3"),
               "%s", man);
    EXPECT_EQ_INT(count_lines(sk), 3);
    EXPECT_MSG(sk && strstr(sk, "\"index\": 1, \"line\": 2,") && strstr(sk, "\"reason\": \"no_object_named\", \"candidates\": 0") &&
                   strstr(sk, "\"index\": 3, \"line\": 4,") && strstr(sk, "\"reason\": \"no_matching_box\", \"candidates\": 1"),
               "%s", sk);
    // --resume keeps every record's line, skipped ones included, as it was.
    char *argv_r[] = {"negatives", "--data", data_s, "--out", out_s, "--list-size", "3", "--object-from-text", "--resume", NULL};
    printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_negatives, 9, argv_r, &printed), 0);
    EXPECT_MSG(printed && strstr(printed, "resumed: 4 records") &&
                   strstr(printed, "skipped 3 (no_object_named 1, no_matching_box 2, verification_failed 0, bad 0)"), "%s", printed);
    free(printed);
    char *man_r = read_out(out_s, "manifest.jsonl"), *sk_r = read_out(out_s, "skipped.jsonl");
    EXPECT(man && man_r && !strcmp(man, man_r) && sk && sk_r && !strcmp(sk, sk_r));
    free(man_r);
    free(sk_r);
    free(man);
    free(sk);

    // The same pixels as a run given that box alone (the existing path).
    snprintf(text, sizeof text, "{\"img_path\": \"%s\", \"boxes\": [[5, 1, 9, 6]]}\n", img);
    const char *data1 = test_path(dir, "one.jsonl"), *out1 = test_path(dir, "one");
    test_write_text(data1, text);
    char data1_s[400], out1_s[400];
    snprintf(data1_s, sizeof data1_s, "%s", data1);
    snprintf(out1_s, sizeof out1_s, "%s", out1);
    char *argv1[] = {"negatives", "--data", data1_s, "--out", out1_s, "--list-size", "3", NULL};
    EXPECT_COMMAND_EXIT(cmd_negatives, 0, 7, argv1);
    LpoiErr err = {{0}};
    for (int k = 1; k <= 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "0/%d.png", k);
        Image x, y;
        bool ok = image_decode_file(&x, test_path(out_s, name), NULL, &err) && image_decode_file(&y, test_path(out1_s, name), NULL, &err);
        EXPECT_MSG(ok && image_equal(&x, &y), "image %d differs (%s)", k, err.msg);
        if (ok) { image_free(&x); image_free(&y); }
    }
    EXPECT(access(test_path(out1_s, "skipped.jsonl"), F_OK) != 0);   // only with the new options

    // A detection outside the image is unusable, not a bad record: the next matching box is chosen
    // (it was exit 1 for the whole record before).
    snprintf(text, sizeof text,
             "{\"img_path\": \"%s\", \"chosen\": \"A dog.\", \"boxes\": [[5000, 5000, 6000, 6000], [5, 1, 9, 6]], "
             "\"labels\": [\"dog\", \"dog\"], \"scores\": [0.9, 0.8]}\n", img);
    const char *dataO = test_path(dir, "outside.jsonl"), *outO = test_path(dir, "outside");
    test_write_text(dataO, text);
    char dataO_s[400], outO_s[400];
    snprintf(dataO_s, sizeof dataO_s, "%s", dataO);
    snprintf(outO_s, sizeof outO_s, "%s", outO);
    char *argvO[] = {"negatives", "--data", dataO_s, "--out", outO_s, "--list-size", "3", "--object-from-text", NULL};
    EXPECT_COMMAND_EXIT(cmd_negatives, 0, 8, argvO);
    char *manO = read_out(outO_s, "manifest.jsonl");
    EXPECT_MSG(manO && strstr(manO, "\"box_index\": 1"), "%s", manO ? manO : "(no manifest)");
    free(manO);

    // Bad labels are bad records: exit 1, or counted with --skip-bad.
    snprintf(text, sizeof text,
             "{\"img_path\": \"%s\", \"chosen\": \"A dog.\", \"boxes\": [[0, 0, 3, 3]]}\n"
             "{\"img_path\": \"%s\", \"chosen\": \"A dog.\", \"boxes\": [[0, 0, 3, 3]], \"labels\": [\"dog\", \"cat\"]}\n"
             "{\"img_path\": \"%s\", \"chosen\": \"A dog.\", \"boxes\": [[0, 0, 3, 3], [0, 0, 99, 99]], \"labels\": [\"dog\", \"cat\"]}\n"
             "{\"img_path\": \"%s\", \"chosen\": \"A dog.\", \"boxes\": [[0, 0, 3, 3]], \"labels\": [\"dog\"], \"scores\": [\"x\"]}\n"
             "{\"img_path\": \"%s\", \"boxes\": [[0, 0, 3, 3]], \"labels\": [\"dog\"]}\n",
             img, img, img, img, img);
    test_write_text(data_s, text);
    printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_negatives, 8, argv, &printed), 1);
    EXPECT_MSG(printed && strstr(printed, ":1: labels: missing"), "%s", printed);
    free(printed);
    char *argv2[] = {"negatives", "--data", data_s, "--out", out_s, "--object-from-text", "--skip-bad", NULL};
    printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_negatives, 7, argv2, &printed), 0);
    EXPECT_MSG(printed && strstr(printed, ":2: labels: must be an array of 1 strings") &&
                   strstr(printed, ":3: boxes[1]: box [0, 0, 99, 99]") == NULL &&   // clipped to the image: fine
                   strstr(printed, ":4: scores[0]: must be a number") && strstr(printed, ":5: chosen: missing") &&
                   strstr(printed, "records 5: 1 lists, 0 verified (--verify none); skipped 4 (no_object_named 0, "
                                   "no_matching_box 0, verification_failed 0, bad 4)"),
               "%s", printed);
    free(printed);
    // Usage: --objects without --object-from-text; a bad --box-threshold; a missing --objects file.
    char *u1[] = {"negatives", "--data", data_s, "--out", out_s, "--objects", "x.txt", NULL};
    char *u2[] = {"negatives", "--data", data_s, "--out", out_s, "--object-from-text", "--box-threshold", "1.5", NULL};
    char *u3[] = {"negatives", "--data", data_s, "--out", out_s, "--object-from-text", "--objects", "/nonexistent/o.txt", NULL};
    EXPECT_COMMAND_EXIT(cmd_negatives, 2, 7, u1);
    EXPECT_COMMAND_EXIT(cmd_negatives, 2, 8, u2);
    EXPECT_COMMAND_EXIT(cmd_negatives, 1, 8, u3);
    file_rmtree(dir);
}

TEST(cmd_negatives_verify_tiny_llava) {
    if (access("testdata/tiny_llava/config.json", R_OK)) { test_skip("testdata/tiny_llava not found"); return; }
    char dir[256], cwd[PATH_MAX], img[PATH_MAX + 64];
    static char text[8 * PATH_MAX];
    test_tmp_dir(dir, sizeof dir, "neg_verify");
    if (!getcwd(cwd, sizeof cwd)) return;
    snprintf(img, sizeof img, "%s/%s/images/rgb.png", cwd, test_data_dir());
    snprintf(text, sizeof text,
             "{\"img_path\": \"%s\", \"prompt\": \"<image>\\nWhat is it?\", \"chosen\": \"A dog and a cat.\", "
             "\"rejected\": \"A bird.\", \"boxes\": [[0, 0, 3, 3], [5, 1, 9, 6]], \"labels\": [\"cat\", \"dog\"]}\n"
             "{\"img_path\": \"%s\", \"prompt\": \"What is it?\", \"chosen\": \"A dog.\", \"boxes\": [[1, 1, 4, 4]],"
             " \"labels\": [\"bird\"]}\n",
             img, img);
    char data[400], out[400];
    snprintf(data, sizeof data, "%s", test_path(dir, "data.jsonl"));
    snprintf(out, sizeof out, "%s", test_path(dir, "out"));
    test_write_text(data, text);
    // The random tiny model prefers " No": every first try passes.
    char *argv[] = {"negatives", "--data", data, "--out", out, "--list-size", "3", "--verify", "testdata/tiny_llava",
                    "--device", "cpu", NULL};
    char *printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_negatives, 11, argv, &printed), 0);
    EXPECT_MSG(printed && strstr(printed, "records 2: 2 lists, 2 verified; skipped 0"), "%s", printed);
    free(printed);
    char *man = read_out(out, "manifest.jsonl");
    EXPECT_EQ_INT(count_lines(man), 2);
    EXPECT_MSG(man && strstr(man, "\"box\": [0, 0, 3, 3]") &&
                   strstr(man, "\"verify\": {\"rule\": \"answer\", \"margin\": 0, \"verified\": true, \"tries\": "
                               "[{\"box_index\": 0, \"object\": \"cat\", \"logp_yes\": -") &&
                   strstr(man, "\"failed\": false}]}"),
               "%s", man);
    free(man);
    // A margin no answer reaches fails every try: with the text rule the dog (first sentence),
    // then the cat are tried, each scored; without it the one box. Both records are skipped.
    char *argv2[] = {"negatives", "--data", data, "--out", out, "--list-size", "3", "--verify", "testdata/tiny_llava",
                     "--device", "cpu", "--verify-margin", "-100", "--object-from-text", "--verify-rule", "object", NULL};
    printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_negatives, 16, argv2, &printed), 0);
    EXPECT_MSG(printed && strstr(printed, "records 2: 0 lists, 0 verified; skipped 2 (no_object_named 0, "
                                          "no_matching_box 1, verification_failed 1, bad 0)"), "%s", printed);
    free(printed);
    char *sk = read_out(out, "skipped.jsonl"), *manO = read_out(out, "manifest.jsonl");
    EXPECT_EQ_INT(count_lines(manO), 0);
    EXPECT_MSG(sk && strstr(sk, "\"reason\": \"verification_failed\", \"candidates\": 2, \"verify\": {\"rule\": \"object\", "
                                "\"margin\": -100, \"verified\": false, \"tries\": [{\"box_index\": 1, \"object\": \"dog\", "
                                "\"logp_yes\": -") &&
                   strstr(sk, "{\"box_index\": 0, \"object\": \"cat\", \"logp_yes\": -") &&
                   strstr(sk, "\"reason\": \"no_matching_box\""),
               "%s", sk);
    free(sk);
    free(manO);
    // --verify-rule object without labels or the text rule has no object name to ask about; with a
    // label, the label is asked about.
    snprintf(text, 8 * PATH_MAX,
             "{\"img_path\": \"%s\", \"prompt\": \"What is it?\", \"chosen\": \"A dog.\", \"boxes\": [[1, 1, 4, 4]]}\n"
             "{\"img_path\": \"%s\", \"prompt\": \"What is it?\", \"chosen\": \"A dog.\", \"boxes\": [[1, 1, 4, 4]],"
             " \"labels\": [\"puppy\"]}\n",
             img, img);
    test_write_text(data, text);
    char *argv3[] = {"negatives", "--data", data, "--out", out, "--list-size", "3", "--verify", "testdata/tiny_llava",
                     "--device", "cpu", "--verify-rule", "object", NULL};
    printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_negatives, 13, argv3, &printed), 0);
    EXPECT_MSG(printed && strstr(printed, "records 2: 1 lists, 1 verified; skipped 1 (no_object_named 1,"), "%s", printed);
    free(printed);
    man = read_out(out, "manifest.jsonl");
    EXPECT_MSG(man && strstr(man, "\"box_index\": 0, \"object\": \"puppy\", \"verify\": {\"rule\": \"object\""), "%s", man);
    free(man);
    // A model folder that cannot be loaded: exit 1 before anything is written.
    char *argv4[] = {"negatives", "--data", data, "--out", out, "--verify", "/nonexistent/model", "--device", "cpu", NULL};
    EXPECT_COMMAND_EXIT(cmd_negatives, 1, 9, argv4);
    // --verify none is the existing path: byte-identical manifest.
    char *argv5[] = {"negatives", "--data", data, "--out", out, "--list-size", "3", NULL};
    char *argv6[] = {"negatives", "--data", data, "--out", out, "--list-size", "3", "--verify", "none", NULL};
    EXPECT_COMMAND_EXIT(cmd_negatives, 0, 7, argv5);
    char *m5 = read_out(out, "manifest.jsonl");
    EXPECT_COMMAND_EXIT(cmd_negatives, 0, 9, argv6);
    char *m6 = read_out(out, "manifest.jsonl");
    EXPECT(m5 && m6 && !strcmp(m5, m6) && !strstr(m6, "verify"));
    free(m5);
    free(m6);
    file_rmtree(dir);
}
