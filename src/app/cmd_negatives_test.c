// cmd_negatives_test.c — `lpoi negatives` end to end on the committed test images: PNG lists and
// manifest written, paths relative to the JSONL, blank lines, exit codes for bad records with and
// without --skip-bad, usage errors, and no stale manifest after a failed run.
#include "test/test.h"
#include "app/commands.h"
#include "base/check.h"
#include "base/json.h"
#include "base/file.h"
#include "image/image.h"
#include "lpoi/negatives.h"
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


TEST(cmd_negatives_end_to_end) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "neg_cmd");
    char cwd[PATH_MAX], abs_img[PATH_MAX + 64], data[300], out[300], text[2 * PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) LPOI_DIE("getcwd failed");
    snprintf(abs_img, sizeof abs_img, "%s/%s/images/rgb.png", cwd, test_data_dir());
    // The JSONL sits in dir; record 0 uses a path relative to it (a symlinked folder), record 1
    // (after a blank line) an absolute path.
    char link[400];
    snprintf(link, sizeof link, "%s/imgs", dir);
    char target[PATH_MAX + 32];
    snprintf(target, sizeof target, "%s/%s/images", cwd, test_data_dir());
    if (symlink(target, link) != 0) LPOI_DIE("symlink failed");
    snprintf(data, sizeof data, "%s/data.jsonl", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(text, sizeof text,
             "{\"img_path\": \"imgs/rgb.png\", \"boxes\": [[0, 1.5, 6.2, 5], [1, 1, 2, 2]], \"prompt\": \"x\"}\n"
             "\n"
             "{\"img_path\": \"%s\", \"boxes\": [[9, 0, 13, 7]]}\n", abs_img);
    test_write_text(data, text);
    char *argv[] = {"negatives", "--data", data, "--out", out, "--list-size", "4", NULL};
    EXPECT_COMMAND_EXIT(cmd_negatives, 0, 7, argv);

    char path[400];
    snprintf(path, sizeof path, "%s/manifest.jsonl", out);
    LpoiErr err = {{0}};
    size_t n;
    char *man = file_read_all(path, 1 << 20, &n, &err);
    EXPECT_MSG(man, "%s", err.msg);
    if (!man) { file_rmtree(dir); return; }
    int lines = 0;
    Image src;
    EXPECT(image_decode_file(&src, abs_img, NULL, &err));
    for (char *p = man, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++) {
        JsonDoc *d = json_parse(p, (size_t)(nl - p), &err);
        EXPECT_MSG(d, "manifest line %d: %s", lines, err.msg);
        if (!d) continue;
        JsonValue *r = json_root(d);
        int64_t index = -1, line = -1, ls = -1;
        EXPECT(json_get_i64(r, "index", &index) && json_get_i64(r, "line", &line) && json_get_i64(r, "list_size", &ls));
        EXPECT_EQ_INT(index, lines);
        EXPECT_EQ_INT(line, lines == 0 ? 1 : 3);   // the blank line 2 is not a record
        EXPECT_EQ_INT(ls, 4);
        EXPECT_STREQ(json_get_str(r, "side"), lines == 0 ? "left" : "right");
        JsonValue *box = json_get(r, "box"), *imgs = json_get(r, "images");
        EXPECT(box && box->count == 4 && imgs && imgs->count == 4);
        if (lines == 0 && box) {   // [0, 1.5, 6.2, 5] → [0, 1, 7, 5]
            int64_t b[4];
            for (int i = 0; i < 4; i++) json_as_i64(json_at(box, (size_t)i), &b[i]);
            EXPECT(b[0] == 0 && b[1] == 1 && b[2] == 7 && b[3] == 5);
        }
        // The PNGs: 1.png is the original; 4.png has no pixel of the original left in the box.
        for (size_t k = 0; imgs && k < imgs->count; k++) {
            snprintf(path, sizeof path, "%s/%s", out, json_at(imgs, k)->str);
            Image img;
            EXPECT_MSG(image_decode_file(&img, path, NULL, &err), "%s", err.msg);
            if (!img.data) continue;
            if (k == 0) EXPECT(src.data && image_equal(&img, &src));
            if (k == 3 && src.data) {
                ImgRect r = lines == 0 ? (ImgRect){0, 1, 7, 5} : (ImgRect){9, 0, 13, 7};
                int kept = 0;
                for (int y = r.y0; y < r.y1; y++)
                    for (int x = r.x0; x < r.x1; x++) kept += !memcmp(image_pixel(&img, x, y), image_pixel(&src, x, y), 3);
                EXPECT_EQ_INT(kept, 0);
            }
            image_free(&img);
        }
        json_free(d);
    }
    EXPECT_EQ_INT(lines, 2);
    free(man);
    image_free(&src);

    // A bad record stops the run (exit 1) and leaves no manifest; --skip-bad skips and counts it.
    snprintf(text, sizeof text,
             "{\"img_path\": \"imgs/rgb.png\", \"boxes\": [[0, 0, 3, 3]]}\n"
             "{\"img_path\": \"imgs/missing.png\", \"boxes\": [[0, 0, 3, 3]]}\n"
             "{\"img_path\": \"imgs/rgb.png\", \"boxes\": [[50, 50, 60, 60]]}\n"
             "not json\n"
             "{\"img_path\": \"imgs/rgb.png\", \"boxes\": [[1, 1, 3, 3]]}\n");
    test_write_text(data, text);
    EXPECT_COMMAND_EXIT(cmd_negatives, 1, 5, argv);
    snprintf(path, sizeof path, "%s/manifest.jsonl", out);
    EXPECT(access(path, F_OK) != 0);
    char *argv2[] = {"negatives", "--data", data, "--out", out, "--skip-bad", "--fill", "noise", "--no-visual-prompt", NULL};
    EXPECT_COMMAND_EXIT(cmd_negatives, 0, 9, argv2);
    man = file_read_all(path, 1 << 20, &n, &err);
    EXPECT(man && strstr(man, "\"index\": 0,") && strstr(man, "\"index\": 4,") && !strstr(man, "\"index\": 1,"));
    free(man);

    // Usage errors: exit 2.
    char *bad1[] = {"negatives", "--data", data, NULL};
    char *bad2[] = {"negatives", "--data", data, "--out", out, "--list-size", "1", NULL};
    char *bad3[] = {"negatives", "--data", data, "--out", out, "--fill", "blur", NULL};
    char *bad4[] = {"negatives", "--data", data, "--out", out, "--frobnicate", NULL};
    EXPECT_COMMAND_EXIT(cmd_negatives, 2, 3, bad1);
    EXPECT_COMMAND_EXIT(cmd_negatives, 2, 7, bad2);
    EXPECT_COMMAND_EXIT(cmd_negatives, 2, 7, bad3);
    EXPECT_COMMAND_EXIT(cmd_negatives, 2, 6, bad4);
    file_rmtree(dir);
}
