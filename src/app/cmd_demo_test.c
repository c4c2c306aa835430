// cmd_demo_test.c — `lpoi demo` end to end on a small budget (a few seconds): data, model, both
// evaluations, LPOI training, pictures and adapter all written, and the held-out full-order list
// accuracy rising well above chance (the demo's own exit status); usage errors and the refusal to
// write into a folder that is not empty.
#include "test/test.h"
#include "app/commands.h"
#include "base/check.h"
#include "base/safetensors.h"
#include "image/image.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static bool exists(const char *dir, const char *rel) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    struct stat st;
    return stat(p, &st) == 0 && st.st_size > 0;
}

TEST(cmd_demo_small_run_learns) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "demo_test");
    char out[300];
    snprintf(out, sizeof out, "%s/demo", dir);
    char *argv[] = {"demo", "--out", out, "--steps", "40", "--examples", "64", "--heldout", "24", "--list-size", "4",
                    "--quiet"};
    EXPECT_COMMAND_EXIT(cmd_demo, 0, (int)LPOI_ARRAY_LEN(argv), argv);
    const char *files[] = {"data/train.jsonl", "data/heldout.jsonl", "data/images/heldout_00023.png", "model/config.json",
                           "model/model.safetensors", "model/tokenizer.json", "model/processor_config.json",
                           "model_check.safetensors", "run/log.jsonl", "run/adapter/adapter_model.safetensors",
                           "run/adapter/adapter_config.json", "eval/heldout_rejected.jsonl", "list_strip.png",
                           "loss_curves.png", "adapter_check.safetensors"};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(files); i++) EXPECT_MSG(exists(out, files[i]), "%s/%s missing", out, files[i]);
    char png[400];
    snprintf(png, sizeof png, "%s/list_strip.png", out);
    Image img;
    LpoiErr err = {{0}};
    if (image_decode_file(&img, png, NULL, &err)) {
        EXPECT(img.w > 4 * 3 * 64 && img.h > 3 * 64);   // four images magnified 3x side by side
        image_free(&img);
    } else test_fail_at(__FILE__, __LINE__, "%s", err.msg);

    // The folder is not empty now: a second run refuses (usage error) and changes nothing.
    EXPECT_COMMAND_EXIT(cmd_demo, 2, (int)LPOI_ARRAY_LEN(argv), argv);
    char *bad[] = {"demo", "--list-size", "9"};
    EXPECT_COMMAND_EXIT(cmd_demo, 2, 3, bad);
    char *bad2[] = {"demo", "--bogus"};
    EXPECT_COMMAND_EXIT(cmd_demo, 2, 2, bad2);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) test_fail_at(__FILE__, __LINE__, "cleanup failed");
}

TEST(cmd_demo_prepare_only) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "demo_prep");
    // test_tmp_dir made an EMPTY folder: the demo takes it.
    char *argv[] = {"demo", "--out", dir, "--examples", "4", "--heldout", "2", "--prepare-only"};
    EXPECT_COMMAND_EXIT(cmd_demo, 0, (int)LPOI_ARRAY_LEN(argv), argv);
    EXPECT(exists(dir, "model/model.safetensors") && exists(dir, "model_check.safetensors"));
    EXPECT(exists(dir, "data/images/train_00003.png") && !exists(dir, "data/images/train_00004.png"));
    EXPECT(!exists(dir, "run/log.jsonl"));
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) test_fail_at(__FILE__, __LINE__, "cleanup failed");
}
