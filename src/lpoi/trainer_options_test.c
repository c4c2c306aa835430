// trainer_options_test.c — `lpoi train` takes the names HF/TRL/PEFT users type (flags and --config
// keys), suggests the nearest option for a typo, and refuses what it cannot do with the reason:
// lora_dropout > 0 and label smoothing with loss_type ipo; a batch larger than the data is warned about.
#include "lpoi/trainer_options.h"
#include "test/test.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>

static bool parse(TrainOptions *o, int argc, char **argv, LpoiErr *err) {
    train_options_default(o);
    return train_options_parse(o, argc, argv, err);
}

TEST(train_options_hf_names) {
    char *argv[] = {"train", "--learning_rate", "2e-5", "--lora_r", "16", "--lora_alpha", "32",
                    "--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "4", "--num_train_epochs", "3.0",
                    "--lr_scheduler_type", "cosine", "--max_grad_norm", "0.5", "--max_length", "256", "--warmup_ratio", "0.1",
                    "--output_dir", "run", "--model_name_or_path", "m", "--loss_type", "hinge", "--save_total_limit", "3"};
    TrainOptions o;
    LpoiErr err = {{0}};
    EXPECT_MSG(parse(&o, (int)(sizeof argv / sizeof *argv), argv, &err), "%s", err.msg);
    EXPECT(o.lr == 2e-5 && o.lora_r == 16 && o.lora_alpha == 32 && o.micro_batch == 2 && o.grad_accum == 4);
    EXPECT(o.epochs == 3 && o.lr_scheduler == LR_COSINE && o.clip == 0.5 && o.max_length == 256);
    EXPECT(o.warmup_ratio == 0.1 && !strcmp(o.out_dir, "run") && !strcmp(o.model_dir, "m"));
    EXPECT(o.loss_type == OBJ_LOSS_HINGE && o.keep_checkpoints == 3);

    char dir[64];
    test_tmp_dir(dir, sizeof dir, "opts");
    EXPECT(test_write_text(test_path(dir, "c.json"),
                           "{\"learning_rate\": 1e-5, \"lora_alpha\": 16, \"r\": 4, \"target_modules\": [\"q_proj\", "
                           "\"self_attn.v_proj\"], \"warmup_steps\": 2, \"lr-scheduler\": \"constant_with_warmup\", "
                           "\"gradient_accumulation_steps\": 8}"));
    char *argv2[] = {"train", "--config", (char *)test_path(dir, "c.json")};
    EXPECT_MSG(parse(&o, 3, argv2, &err), "%s", err.msg);
    EXPECT(o.lr == 1e-5 && o.lora_alpha == 16 && o.lora_r == 4 && o.warmup_steps == 2 && o.grad_accum == 8);
    EXPECT(o.lr_scheduler == LR_CONSTANT_WITH_WARMUP && !strcmp(o.lora_targets, "q_proj,self_attn.v_proj"));
    // A regex inside a target_modules LIST: PEFT matches list entries literally (this selected nothing
    // in PEFT and was read here as a regex); a regex string is fine.
    EXPECT(test_write_text(test_path(dir, "re.json"), "{\"target_modules\": [\"q_proj\", \".*v_proj\"]}"));
    char *argv_re[] = {"train", "--config", (char *)test_path(dir, "re.json")};
    EXPECT(!parse(&o, 3, argv_re, &err) && strstr(err.msg, "\".*v_proj\" is a module name to PEFT, not a regex"));
    EXPECT(test_write_text(test_path(dir, "re.json"), "{\"target_modules\": \".*\\\\.(q_proj|v_proj)\"}"));
    EXPECT_MSG(parse(&o, 3, argv_re, &err) && !strcmp(o.lora_targets, ".*\\.(q_proj|v_proj)"), "%s", err.msg);
    EXPECT(test_write_text(test_path(dir, "bad.json"), "{\"learnig_rate\": 1e-5}"));
    char *argv3[] = {"train", "--config", (char *)test_path(dir, "bad.json")};
    EXPECT(!parse(&o, 3, argv3, &err));
    EXPECT_MSG(strstr(err.msg, "bad.json") && strstr(err.msg, "did you mean learning_rate, i.e. --lr?"), "%s", err.msg);
    file_rmtree(dir);
}

TEST(train_options_did_you_mean) {
    static const struct { const char *flag, *want; } CASES[] = {
        {"--lerning_rate", "did you mean --learning_rate, i.e. --lr?"},
        {"--lora-alpah", "did you mean --lora-alpha?"},
        {"--epoch", "did you mean --epochs?"},
        {"--gradient_accumulation", "did you mean --gradient_accumulation_steps, i.e. --grad-accum?"},
        {"--zzzzzz", "unknown option --zzzzzz (see --help)"},
        {"--stop_after", "unknown option --stop_after"},   // hidden test hooks are not offered
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        char *argv[] = {"train", (char *)CASES[i].flag, "1"};
        TrainOptions o;
        LpoiErr err = {{0}};
        EXPECT(!parse(&o, 3, argv, &err));
        EXPECT_MSG(strstr(err.msg, CASES[i].want) != NULL, "%s: %s", CASES[i].flag, err.msg);
    }
}

TEST(train_options_refusals_and_batch_warning) {
    static const struct { const char *flag, *val, *want; } CASES[] = {
        {"--lora-dropout", "0.05", "only 0 is supported"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        char *argv[] = {"train", "--model", "m", "--data", "d", "--out", "o", (char *)CASES[i].flag, (char *)CASES[i].val};
        TrainOptions o;
        LpoiErr err = {{0}};
        EXPECT_MSG(parse(&o, 9, argv, &err), "%s", err.msg);
        EXPECT(!train_options_check(&o, &err));
        EXPECT_MSG(strstr(err.msg, CASES[i].want) != NULL, "%s", err.msg);
    }
    char *bad[] = {"train", "--lr-scheduler", "polynomial"};
    TrainOptions o;
    LpoiErr err = {{0}};
    EXPECT(!parse(&o, 3, bad, &err) && strstr(err.msg, "cosine"));
    char *ipo[] = {"train", "--model", "m", "--data", "d", "--out", "o", "--loss-type", "ipo"};   // was refused
    EXPECT_MSG(parse(&o, 9, ipo, &err) && train_options_check(&o, &err) && o.loss_type == OBJ_LOSS_IPO, "%s", err.msg);
    o.label_smoothing = 0.1;
    EXPECT(!train_options_check(&o, &err) && strstr(err.msg, "sigmoid only"));
    train_options_default(&o);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    EXPECT(train_warn_batch(&o, 16, f));   // the paper's batch 64 on 16 records
    EXPECT(!train_warn_batch(&o, 64, f));
    fclose(f);
    EXPECT_MSG(text && strstr(text, "exceeds the 16 examples") && strstr(text, "ONE optimiser step"), "%s", text);
    free(text);
}

// The progress line's legend explains every column the line has (list and full only for lpoi).
TEST(train_progress_legend) {
    TrainOptions o;
    train_options_default(&o);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    train_print_legend(&o, f);
    o.objective = OBJ_DPO;
    train_print_legend(&o, f);
    fclose(f);
    char *second = text ? strchr(text, '\n') : NULL;
    EXPECT(second != NULL);
    if (second) {
        *second++ = 0;
        EXPECT_MSG(strstr(text, "list = ") && strstr(text, "full = ") && strstr(text, "margin = ") && strstr(text, "|g| = "), "%s", text);
        EXPECT_MSG(!strstr(second, "full = ") && strstr(second, "loss = "), "%s", second);
    }
    free(text);
}
