// negatives_preview_test.c — `lpoi negatives --preview`: a sheet with one row per list (the first
// --preview-rows), each list image as a thumbnail whose pixels come from that image.
#include "app/commands.h"
#include "lpoi/negatives_preview.h"
#include "test/test.h"
#include "base/file.h"
#include "image/image.h"
#include <stdio.h>
#include <string.h>

TEST(negatives_preview_sheet) {
    char dir[64];
    test_tmp_dir(dir, sizeof dir, "preview");
    Image img = image_new(80, 40);   // green, with a blue object at [20, 10, 40, 30)
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 80; x++) {
            uint8_t *p = image_pixel(&img, x, y);
            bool obj = x >= 20 && x < 40 && y >= 10 && y < 30;
            p[0] = 0, p[1] = obj ? 0 : 200, p[2] = obj ? 220 : 0;
        }
    LpoiErr err = {{0}};
    EXPECT(image_write_png(&img, test_path(dir, "a.png"), &err));
    image_free(&img);
    char jsonl[600] = "";
    for (int i = 0; i < 3; i++)
        strcat(jsonl, "{\"img_path\": \"a.png\", \"boxes\": [[20, 10, 40, 30]]}\n");
    EXPECT(test_write_text(test_path(dir, "d.jsonl"), jsonl));
    char *argv[] = {"negatives", "--data", (char *)test_path(dir, "d.jsonl"), "--out", (char *)test_path(dir, "out"),
                    "--preview", (char *)test_path(dir, "sheet.png"), "--preview-rows", "2", "--crop-size", "0"};
    EXPECT_COMMAND_EXIT(cmd_negatives, 0, 11, argv);
    Image sheet;
    EXPECT_MSG(image_decode_file(&sheet, test_path(dir, "sheet.png"), NULL, &err), "%s", err.msg);
    // 2 rows of 5 cells of 96 px (+ header, captions, gaps): a fixed layout.
    EXPECT_EQ_INT(sheet.w, 2 * 10 + 5 * 96 + 4 * 6);
    EXPECT_EQ_INT(sheet.h, 34 + 2 * (16 + 96 + 6) + 10);
    // The first cell of row 1 shows the object (blue); the last cell hides it (no blue left in it).
    int blue_first = 0, blue_last = 0;
    for (int y = 34 + 16; y < 34 + 16 + 96; y++)
        for (int x = 0; x < 96; x++) {
            const uint8_t *a = image_pixel(&sheet, 10 + x, y), *b = image_pixel(&sheet, 10 + 4 * 102 + x, y);
            blue_first += a[2] > 150 && a[1] < 80;
            blue_last += b[2] > 150 && b[1] < 80;
        }
    EXPECT_MSG(blue_first > 200 && blue_last == 0, "blue pixels: %d first, %d last", blue_first, blue_last);
    image_free(&sheet);
    file_rmtree(dir);
}
