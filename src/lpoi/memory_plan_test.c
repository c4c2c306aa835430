// memory_plan_test.c — the estimate printed before `lpoi train` loads anything: the weights equal
// the checkpoint's fp32 bytes (tiny_llava), the real llava-1.5-7b config needs ~28 GB of fp32
// weights, and the refusal names the right cause: weights that cannot fit (no batch hint) versus
// activations (lower the micro-batch).
#include "lpoi/memory_plan.h"
#include "backend/backend.h"
#include "lpoi/trainer.h"
#include "base/file.h"
#include <sys/stat.h>
#include "test/test.h"
#include <string.h>
#include <unistd.h>

TEST(memory_plan_weights_and_hints) {
    if (access("testdata/tiny_llava/config.json", R_OK)) { test_skip("testdata/tiny_llava not found"); return; }
    TrainOptions o;
    train_options_default(&o);
    o.model_dir = "testdata/tiny_llava";
    MemPlan p;
    LpoiErr err = {{0}};
    EXPECT_MSG(memory_plan(&o, &p, &err), "%s", err.msg);
    EXPECT_NEAR(p.weights, 411872, 0, 0);   // model.safetensors holds 411872 bytes of F32 data
    EXPECT(p.adapters > 0 && p.optimizer == p.adapters && p.activations > 0);
    EXPECT_EQ_INT(p.sequences, 6);          // LPOI, L = 5: the rejected answer and the chosen one on 5 images
    char why[400], text[400];
    memory_plan_text(&p, text, sizeof text);
    EXPECT_MSG(strstr(text, "weights 412 kB (fp32)") && strstr(text, "6 sequences x 516 tokens"), "%s", text);
    EXPECT(memory_plan_fits(&p, p.total, "the CPU", why, sizeof why));
    EXPECT(!memory_plan_fits(&p, p.weights + p.adapters + p.optimizer + p.activations / 2, "the CPU", why, sizeof why));
    EXPECT_MSG(strstr(why, "lower --micro-batch"), "%s", why);
    EXPECT(!memory_plan_fits(&p, p.weights / 2, "the CPU", why, sizeof why));
    EXPECT_MSG(strstr(why, "weights alone") && !strstr(why, "micro-batch"), "%s", why);
}

TEST(memory_plan_llava_7b_weights) {
    const char *dir = "../shared/data/hf/llava-hf__llava-1.5-7b-hf";
    if (access("../shared/data/hf/llava-hf__llava-1.5-7b-hf/config.json", R_OK)) { test_skip("../shared/data/hf/llava-hf__llava-1.5-7b-hf absent"); return; }
    TrainOptions o;
    train_options_default(&o);
    o.model_dir = dir;
    MemPlan p;
    LpoiErr err = {{0}};
    EXPECT_MSG(memory_plan(&o, &p, &err), "%s", err.msg);
    EXPECT_MSG(p.weights > 28.0e9 && p.weights < 28.5e9, "%g", p.weights);   // 7.06 B parameters in fp32
    char why[400];
    EXPECT(!memory_plan_fits(&p, 24e9, "the GPU", why, sizeof why));
    EXPECT_MSG(strstr(why, "weights alone"), "%s", why);
}

// `--device auto` (train's default) without a usable GPU runs on the CPU, so the CPU check applies:
// it was skipped for anything but "cpu", and such a run went on towards running out of memory.
TEST(memory_check_auto_without_gpu_is_a_cpu_run) {
    const char *dir = "../shared/data/hf/llava-hf__llava-1.5-7b-hf";
    if (access("../shared/data/hf/llava-hf__llava-1.5-7b-hf/config.json", R_OK)) { test_skip("../shared/data/hf/llava-hf__llava-1.5-7b-hf absent"); return; }
    LpoiErr err = {{0}};
    Backend *gpu = backend_cuda_create(0, &err);
    if (gpu) { backend_destroy(gpu); test_skip("a GPU is usable here: auto is not a CPU run"); return; }
    TrainOptions o;
    train_options_default(&o);
    o.model_dir = dir;
    o.quiet = true;
    MemPlan p;
    EXPECT_MSG(memory_plan(&o, &p, &err), "%s", err.msg);
    if (memory_available_host() > p.total) { test_skip("this machine has memory for the 7B CPU run"); return; }
    o.device = "auto";
    EXPECT(!train_memory_check(&o, &err));
    EXPECT_MSG(strstr(err.msg, "cannot train on the CPU here") != NULL, "%s", err.msg);
}

// A run that never starts (bad data) leaves no run folder behind, and keeps one the user made.
TEST(train_failed_start_leaves_nothing) {
    if (access("testdata/tiny_llava/config.json", R_OK)) { test_skip("testdata/tiny_llava not found"); return; }
    char dir[64];
    test_tmp_dir(dir, sizeof dir, "nostart");
    EXPECT(test_write_text(test_path(dir, "d.jsonl"), "{\"img_path\": \"missing.png\", \"prompt\": \"q\", \"chosen\": "
                                                      "\"c\", \"rejected\": \"r\", \"boxes\": [[1, 1, 5, 5]]}\n"));
    TrainOptions o;
    train_options_default(&o);
    o.model_dir = "testdata/tiny_llava";
    o.data_path = test_path(dir, "d.jsonl");
    o.out_dir = test_path(dir, "run");
    o.quiet = true;
    EXPECT(train_run(&o) != TRAIN_OK);
    EXPECT(access(test_path(dir, "run"), F_OK) != 0);
    EXPECT(mkdir(test_path(dir, "mine"), 0755) == 0);
    o.out_dir = test_path(dir, "mine");
    EXPECT(train_run(&o) != TRAIN_OK);
    EXPECT(access(test_path(dir, "mine"), F_OK) == 0);
    file_rmtree(dir);
}
