// device_auto_test.c — `--device auto`, the default of `lpoi generate` and `lpoi train`: without an
// NVIDIA driver the command runs on the CPU and says why in one line; `--device cuda` without one
// says that the driver is missing. (Skipped where a driver is there: the GPU is then used.)
#include "app/commands.h"
#include "backend/backend.h"
#include "test/test.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(device_auto_falls_back_with_a_reason) {
    LpoiErr err = {{0}};
    Backend *be = backend_open("cuda", &err);
    if (be) { backend_destroy(be); test_skip("a CUDA driver is present"); return; }
    if (!strstr(err.msg, "libcuda.so.1 not found")) { test_skip("the driver loads but no GPU works"); return; }
    EXPECT_MSG(strstr(err.msg, "no NVIDIA driver") != NULL, "%s", err.msg);
    if (access("testdata/tiny_llava/config.json", R_OK)) { test_skip("testdata/tiny_llava not found"); return; }
    char *argv[] = {"generate", "--model", "testdata/tiny_llava", "--prompt", "hello", "--max-new", "2"};
    char *printed = NULL;
    EXPECT_EQ_INT(test_run_command(cmd_generate, 7, argv, &printed), 0);
    EXPECT_MSG(printed && strstr(printed, "device auto: using the CPU (no NVIDIA driver"), "%s", printed);
    free(printed);
}
