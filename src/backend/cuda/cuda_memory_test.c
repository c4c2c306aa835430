// cuda_memory_test.c — the device-memory query (Backend.mem_info: cuMemGetInfo) and what `lpoi train`
// does with it: the memory plan counts 16-bit Linear weights at 2 bytes under --precision, and a GPU run
// whose plan exceeds the device's free memory is refused before any weight is loaded, naming the cause.
// On the emulated driver the device has 1 GiB, so the real llava-1.5-7b config (config and tokenizer
// only in ../shared/data) cannot fit at any precision.
#include "backend/cuda/cuda_fixture_test.h"
#include "app/commands.h"
#include "lpoi/memory_plan.h"
#include "lpoi/trainer_options.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LLAVA_7B "../shared/data/hf/llava-hf__llava-1.5-7b-hf"

TEST(cuda_mem_info) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    size_t free0 = 0, total = 0, free1 = 0;
    EXPECT(gpu->mem_info && gpu->mem_info(gpu, &free0, &total));
    EXPECT(free0 > 0 && free0 <= total);
    void *p = gpu->alloc(gpu, 64u << 20);
    EXPECT(gpu->mem_info(gpu, &free1, &total));
    EXPECT_MSG(free1 + (64u << 20) <= free0, "free %zu -> %zu after a 64 MiB allocation", free0, free1);
    gpu->free(gpu, p);
    EXPECT(cpu_backend()->mem_info == NULL);   // the host's memory is memory_plan's business
}

TEST(memory_plan_precision_halves_linears) {
    if (access(LLAVA_7B "/config.json", R_OK)) { test_skip(LLAVA_7B " absent"); return; }
    TrainOptions o;
    train_options_default(&o);
    o.model_dir = LLAVA_7B;
    MemPlan p32, p16;
    LpoiErr err = {{0}};
    EXPECT_MSG(memory_plan(&o, &p32, &err), "%s", err.msg);
    o.precision = "bf16";
    EXPECT_MSG(memory_plan(&o, &p16, &err), "%s", err.msg);
    // 7.06 B parameters; all but the embeddings, lm_head, norms, biases, patch and position embeddings
    // (~0.27 B) are Linear weights: 28.2 GB in fp32, ~14.4 GB with 16-bit Linears.
    EXPECT_MSG(p16.weights > 14.0e9 && p16.weights < 14.8e9, "%g", p16.weights);
    EXPECT(p16.adapters == p32.adapters && p16.activations == p32.activations);
    char text[400], why[480];
    memory_plan_text(&p16, text, sizeof text);
    EXPECT_MSG(strstr(text, "16-bit Linear weights"), "%s", text);
    EXPECT(!memory_plan_fits(&p32, 24e9, "the GPU", why, sizeof why));
    EXPECT_MSG(strstr(why, "--precision bf16 or fp16"), "%s", why);   // the fp32 refusal points at the remedy
}

TEST(cuda_train_refuses_what_cannot_fit) {
    Backend *gpu = gpu_or_skip();
    if (!gpu) return;
    if (access(LLAVA_7B "/tokenizer.json", R_OK)) { test_skip(LLAVA_7B " absent"); return; }
    char dir[64];
    test_tmp_dir(dir, sizeof dir, "gpumem");
    char rec[1200];
    char *here = getcwd(NULL, 0);
    snprintf(rec, sizeof rec, "{\"img_path\": \"%s/testdata/images/expected_rgb.png.png\", \"prompt\": \"q\", \"chosen\": "
             "\"c\", \"rejected\": \"r\", \"boxes\": [[1, 1, 5, 5]]}\n", here);
    free(here);
    EXPECT(test_write_text(test_path(dir, "d.jsonl"), rec));
    char *argv[] = {"train", "--model", LLAVA_7B, "--data", (char *)test_path(dir, "d.jsonl"), "--out",
                    (char *)test_path(dir, "run"), "--device", "cuda", "--precision", "bf16", "--quiet", NULL};
    char *printed = NULL;
    int rc = test_run_command(cmd_train, 12, argv, &printed);
    EXPECT(rc != 0);
    EXPECT_MSG(printed && strstr(printed, "cannot train on the GPU") && strstr(printed, "16-bit Linears"), "%s",
               printed ? printed : "(nothing)");
    free(printed);
    file_rmtree(dir);
}

TEST(train_precision_option) {
    TrainOptions o;
    LpoiErr err = {{0}};
    char *ok[] = {"train", "--model", "m", "--data", "d", "--out", "o", "--precision", "fp16"};
    train_options_default(&o);
    EXPECT(train_options_parse(&o, 9, ok, &err) && train_options_check(&o, &err) && !strcmp(o.precision, "fp16"));
    char *bad[] = {"train", "--model", "m", "--data", "d", "--out", "o", "--precision", "fp64"};
    train_options_default(&o);
    err.msg[0] = 0;
    EXPECT(!(train_options_parse(&o, 9, bad, &err) && train_options_check(&o, &err)));
    EXPECT_MSG(strstr(err.msg, "--precision 'fp64'"), "%s", err.msg);
}
