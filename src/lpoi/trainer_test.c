// trainer_test.c — `lpoi train` on testdata/tiny_llava with a synthetic data set under /tmp:
// resume is bit-identical to an uninterrupted run (losses, gradient norms, final adapter bytes);
// a NaN loss stops the run and keeps the last checkpoint whole; the reference model runs exactly
// once per example (and not at all on resume); adapter names and shapes are the ones HF + PEFT
// create for tiny_llava; adapter_config.json; target_modules list vs regex; options; evaluation.
// Issue 16 (hardening): special-token text in a record is refused / skipped; --overwrite and
// --resume validate before they change anything; changed inputs are refused by name; a torn
// checkpoint falls back to an older verified one; a full-disk log is an error; and the real binary
// killed at injected file-operation points resumes bit-identically.
#include "test/test.h"
#include "lpoi/trainer.h"
#include "lpoi/trainer_internal.h"
#include "base/check.h"
#include "base/json.h"
#include "base/safetensors.h"
#include "base/file.h"
#include "base/strbuf.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[256];

static const char *path_in(const char *name) { return test_path(root, name); }

static const char *model_dir(void) {
    static char p[512];
    snprintf(p, sizeof p, "%s/tiny_llava", test_data_dir());
    return p;
}

// n images of coloured boxes and one JSONL record per image (chosen names the box, rejected
// hallucinates something else).
static const char *make_data(const char *tag, int n) {
    snprintf(root, sizeof root, "/tmp/lpoi_trainer_test_%d_%s", (int)getpid(), tag);
    file_rmtree(root);
    mkdir(root, 0755);
    FILE *f = fopen(path_in("data.jsonl"), "w");
    for (int i = 0; i < n; i++) {
        int w = 40 + 3 * i, h = 32 + (i % 3) * 5, x0 = (i * 7) % 20, y0 = (i * 5) % 12;
        Image img = image_new(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t *p = image_pixel(&img, x, y);
                bool in = x >= x0 && x < x0 + 16 && y >= y0 && y < y0 + 14;
                p[0] = in ? 230 : (uint8_t)(40 + 9 * i);
                p[1] = in ? 30 : (uint8_t)(120 + x);
                p[2] = in ? 40 : (uint8_t)(90 + y);
            }
        char name[64];
        snprintf(name, sizeof name, "img%d.png", i);
        LpoiErr err;
        EXPECT(image_write_png(&img, path_in(name), &err));
        image_free(&img);
        fprintf(f, "{\"img_path\": \"%s\", \"prompt\": \"What is in the picture?\", \"chosen\": \"A red box%s.\", "
                   "\"rejected\": \"A %s dog.\", \"boxes\": [[%d, %d, %d, %d]]}\n",
                name, i % 2 ? " on the wall" : "", i % 3 ? "blue" : "green", x0, y0, x0 + 16, y0 + 14);
    }
    fclose(f);
    return path_in("data.jsonl");
}

static TrainOptions tiny_options(const char *data, const char *out) {
    TrainOptions o;
    train_options_default(&o);
    o.model_dir = model_dir();
    o.data_path = data;
    o.out_dir = out;
    o.lr = 5e-3;
    o.grad_accum = 2;
    o.micro_batch = 2;
    o.epochs = 2;
    o.quiet = true;
    o.warmup_steps = 1;
    return o;
}

// make_data(tag, n) and the tiny options of a one-epoch run into ROOT/run.
static TrainOptions one_epoch_run(const char *tag, int n) {
    static char out[600];
    const char *data = make_data(tag, n);
    snprintf(out, sizeof out, "%s", path_in("run"));
    TrainOptions o = tiny_options(data, out);
    o.epochs = 1;
    return o;
}

// The "loss" and "grad_norm" fields of each log line, as printed (%.17g: exact doubles).
static int log_values(const char *path, char vals[][80], int cap) {
    char *t = test_read_text(path);
    if (!t) return -1;
    int n = 0;
    for (char *p = t; (p = strstr(p, "\"loss\": ")) && n < cap; p++) {
        char *g = strstr(p, "\"grad_norm\": ");
        if (!g) break;
        int a = (int)strcspn(p + 8, ","), b = (int)strcspn(g + 13, ",");
        snprintf(vals[n++], 80, "%.*s|%.*s", a, p + 8, b, g + 13);
    }
    free(t);
    return n;
}

static bool same_file(const char *a, const char *b) {
    LpoiErr err;
    size_t na, nb;
    char *x = file_read_all(a, 1 << 26, &na, &err), *y = file_read_all(b, 1 << 26, &nb, &err);
    bool same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

// Two runs of `steps` steps in folders a and b logged the same loss and gradient norm at every
// step and wrote byte-identical final adapters.
static void expect_same_run(const char *a, const char *b, int steps) {
    char va[16][80], vb[16][80], pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/log.jsonl", a);
    snprintf(pb, sizeof pb, "%s/log.jsonl", b);
    int na = log_values(pa, va, 16), nb = log_values(pb, vb, 16);
    EXPECT_EQ_INT(na, steps);
    EXPECT_EQ_INT(nb, steps);
    for (int i = 0; i < na && i < nb; i++) EXPECT_MSG(!strcmp(va[i], vb[i]), "step %d: %s vs %s", i + 1, va[i], vb[i]);
    snprintf(pa, sizeof pa, "%s/adapter/adapter_model.safetensors", a);
    snprintf(pb, sizeof pb, "%s/adapter/adapter_model.safetensors", b);
    EXPECT_MSG(same_file(pa, pb), "%s and %s: the final adapters differ", a, b);
}

TEST(train_resume_is_bit_identical) {
    const char *data = make_data("resume", 6);   // 6 examples, batch 4: steps of 4, 2, 4, 2 (epoch boundary)
    char straight[600], split[600];
    snprintf(straight, sizeof straight, "%s", path_in("straight"));
    snprintf(split, sizeof split, "%s", path_in("split"));
    TrainOptions o = tiny_options(data, straight);
    TrainResult r1, r2, r3;
    EXPECT_EQ_INT(train_run_result(&o, &r1), 0);
    EXPECT_EQ_INT(r1.steps, 4);
    EXPECT_EQ_INT(r1.ref_forward_examples, 6);   // once per example, although there are 2 epochs
    // Interrupted after step 3 (the checkpoint is at step 2, so step 3 is redone), then resumed.
    o.out_dir = split;
    o.save_every = 2;
    o.stop_after = 3;
    EXPECT_EQ_INT(train_run_result(&o, &r2), 0);
    EXPECT_EQ_INT(r2.steps, 3);
    char ck[700];
    snprintf(ck, sizeof ck, "%s/checkpoint-2/training_state.safetensors", split);
    EXPECT(access(ck, F_OK) == 0);
    o.stop_after = 0;
    o.resume = true;
    EXPECT_EQ_INT(train_run_result(&o, &r3), 0);
    EXPECT_EQ_INT(r3.steps, 4);
    EXPECT_EQ_INT(r3.ref_forward_examples, 0);   // from ref_logps.safetensors
    char a[8][80], b[8][80], la[700], lb[700];
    snprintf(la, sizeof la, "%s/log.jsonl", straight);
    snprintf(lb, sizeof lb, "%s/log.jsonl", split);
    int na = log_values(la, a, 8), nb = log_values(lb, b, 8);
    EXPECT_EQ_INT(na, 4);
    EXPECT_EQ_INT(nb, 4);
    for (int i = 0; i < na && i < nb; i++) EXPECT_MSG(!strcmp(a[i], b[i]), "step %d: %s vs %s", i + 1, a[i], b[i]);
    // Losses move (the test would be empty if nothing trained) ...
    if (na == 4) EXPECT(strcmp(a[0], a[3]) != 0);
    // ... and the final adapters are byte-identical.
    snprintf(la, sizeof la, "%s/adapter/adapter_model.safetensors", straight);
    snprintf(lb, sizeof lb, "%s/adapter/adapter_model.safetensors", split);
    EXPECT(same_file(la, lb));
    // A fresh run into a folder with checkpoints is refused.
    o.resume = false;
    EXPECT_EQ_INT(train_run(&o), 1);
    // Changed settings are refused on resume.
    o.resume = true;
    o.lr = 1e-3;
    EXPECT_EQ_INT(train_run(&o), 1);
    // --overwrite starts afresh in that folder and repeats the uninterrupted run exactly.
    o.resume = false;
    o.overwrite = true;
    o.lr = 5e-3;
    o.save_every = 0;
    EXPECT_EQ_INT(train_run(&o), 0);
    snprintf(lb, sizeof lb, "%s/log.jsonl", split);
    nb = log_values(lb, b, 8);
    EXPECT_EQ_INT(nb, 4);
    for (int i = 0; i < na && i < nb; i++) EXPECT_MSG(!strcmp(a[i], b[i]), "overwrite step %d: %s vs %s", i + 1, a[i], b[i]);
    file_rmtree(root);
}

// A finished one-step run minus its adapter and checkpoint: a new run, but the reference cache stays.
static void remove_adapter_and_checkpoint(const char *out) {
    file_rmtree(test_path(out, "adapter"));
    file_rmtree(test_path(out, "checkpoint-1"));
}

TEST(train_reference_cache_reuse_and_invalidation) {
    TrainOptions o = one_epoch_run("refcache", 3);
    const char *data = o.data_path, *out = o.out_dir;
    TrainResult r;
    EXPECT_EQ_INT(train_run_result(&o, &r), 0);
    EXPECT_EQ_INT(r.ref_forward_examples, 3);
    // A new run (no checkpoints) with the same model and data reuses the cache ...
    remove_adapter_and_checkpoint(out);
    EXPECT_EQ_INT(train_run_result(&o, &r), 0);
    EXPECT_EQ_INT(r.ref_forward_examples, 0);
    // ... but not once the data file was rewritten (same path, new modification time).
    char *text = test_read_text(data);
    usleep(20000);
    FILE *f = fopen(data, "w");
    if (text) fputs(text, f);
    fclose(f);
    free(text);
    remove_adapter_and_checkpoint(out);
    EXPECT_EQ_INT(train_run_result(&o, &r), 0);
    EXPECT_EQ_INT(r.ref_forward_examples, 3);
    file_rmtree(root);
}

TEST(train_nan_stops_and_keeps_last_checkpoint) {
    TrainOptions o = one_epoch_run("nan", 8);
    const char *out = o.out_dir;
    o.micro_batch = 1;
    o.grad_accum = 2;          // 4 steps
    o.save_every = 1;
    o.keep_checkpoints = 0;
    o.inject_nan_at = 3;
    EXPECT_EQ_INT(train_run(&o), 1);
    char p[700], q[700];
    snprintf(p, sizeof p, "%s/checkpoint-2/adapter_model.safetensors", out);
    snprintf(q, sizeof q, "%s/checkpoint-2/training_state.safetensors", out);
    EXPECT(access(p, F_OK) == 0 && access(q, F_OK) == 0);
    snprintf(p, sizeof p, "%s/checkpoint-3", out);
    EXPECT(access(p, F_OK) != 0);
    snprintf(p, sizeof p, "%s/adapter", out);
    EXPECT(access(p, F_OK) != 0);
    // The checkpoint is whole: resuming from it finishes the run.
    o.inject_nan_at = 0;
    o.resume = true;
    TrainResult r;
    EXPECT_EQ_INT(train_run_result(&o, &r), 0);
    EXPECT_EQ_INT(r.steps, 4);
    // A kill during a save leaves only a .tmp folder, which a resumed run removes.
    snprintf(p, sizeof p, "%s/checkpoint-9.tmp", out);
    mkdir(p, 0755);
    o.max_steps = 4;
    EXPECT_EQ_INT(train_run_result(&o, &r), 0);
    EXPECT(access(p, F_OK) != 0);
    file_rmtree(root);
}

TEST(train_adapter_names_and_shapes_match_peft) {
    TrainOptions o = one_epoch_run("names", 2);
    const char *out = o.out_dir;
    o.objective = OBJ_DPO;
    EXPECT_EQ_INT(train_run(&o), 0);
    char p[700];
    snprintf(p, sizeof p, "%s/adapter/adapter_model.safetensors", out);
    StFile f;
    LpoiErr err = {{0}};
    if (!st_open(&f, p, &err)) { EXPECT_MSG(false, "%s", err.msg); return; }
    // What HF LlavaForConditionalGeneration (transformers 5) + PEFT all-linear create for tiny_llava:
    // vision 3 layers x {q,k,v,out_proj [32,32], fc1 [40,32], fc2 [32,40]}, projector linear_1 [32,32],
    // linear_2 [32,32], text 2 layers x {q [32,32], k,v [16,32], o [32,32], gate,up [48,32], down [32,48]}.
    int count = 0;
    struct { const char *fmt; int L, out, in; } mods[] = {
        {"model.vision_tower.encoder.layers.%d.self_attn.q_proj", 3, 32, 32},
        {"model.vision_tower.encoder.layers.%d.self_attn.k_proj", 3, 32, 32},
        {"model.vision_tower.encoder.layers.%d.self_attn.v_proj", 3, 32, 32},
        {"model.vision_tower.encoder.layers.%d.self_attn.out_proj", 3, 32, 32},
        {"model.vision_tower.encoder.layers.%d.mlp.fc1", 3, 40, 32},
        {"model.vision_tower.encoder.layers.%d.mlp.fc2", 3, 32, 40},
        {"model.multi_modal_projector.linear_1", 1, 32, 32},
        {"model.multi_modal_projector.linear_2", 1, 32, 32},
        {"model.language_model.layers.%d.self_attn.q_proj", 2, 32, 32},
        {"model.language_model.layers.%d.self_attn.k_proj", 2, 16, 32},
        {"model.language_model.layers.%d.self_attn.v_proj", 2, 16, 32},
        {"model.language_model.layers.%d.self_attn.o_proj", 2, 32, 32},
        {"model.language_model.layers.%d.mlp.gate_proj", 2, 48, 32},
        {"model.language_model.layers.%d.mlp.up_proj", 2, 48, 32},
        {"model.language_model.layers.%d.mlp.down_proj", 2, 32, 48},
    };
    for (size_t m = 0; m < LPOI_ARRAY_LEN(mods); m++)
        for (int l = 0; l < mods[m].L; l++)
            for (int ab = 0; ab < 2; ab++) {
                char mod[200], name[300];
                snprintf(mod, sizeof mod, mods[m].fmt, l);
                snprintf(name, sizeof name, "base_model.model.%s.lora_%c.weight", mod, ab ? 'B' : 'A');
                const StTensor *t = st_find(&f, name);
                EXPECT_MSG(t != NULL, "missing %s", name);
                if (!t) continue;
                count++;
                uint64_t r0 = ab ? (uint64_t)mods[m].out : 8, r1 = ab ? 8 : (uint64_t)mods[m].in;
                EXPECT_MSG(t->dtype == DTYPE_F32 && t->ndim == 2 && t->shape[0] == r0 && t->shape[1] == r1,
                           "%s is [%llu, %llu]", name, (unsigned long long)t->shape[0], (unsigned long long)t->shape[1]);
            }
    EXPECT_EQ_INT(count, 68);
    EXPECT_EQ_INT(f.count, 68);
    EXPECT_STREQ(st_meta(&f, "format"), "pt");
    st_close(&f);
    // adapter_config.json
    snprintf(p, sizeof p, "%s/adapter/adapter_config.json", out);
    char *text = test_read_text(p);
    JsonDoc *doc = text ? json_parse(text, strlen(text), &err) : NULL;
    EXPECT(doc != NULL);
    if (doc) {
        const JsonValue *r = json_root(doc);
        int64_t rank;
        double alpha;
        EXPECT_STREQ(json_get_str(r, "peft_type"), "LORA");
        EXPECT_STREQ(json_get_str(r, "task_type"), "CAUSAL_LM");
        EXPECT_STREQ(json_get_str(r, "base_model_name_or_path"), model_dir());
        EXPECT_STREQ(json_get_str(r, "bias"), "none");
        EXPECT(json_get_i64(r, "r", &rank) && rank == 8);
        EXPECT(json_get_f64(r, "lora_alpha", &alpha) && alpha == 8);
        const JsonValue *tm = json_get(r, "target_modules");
        EXPECT(tm && tm->type == JSON_ARRAY && tm->count == 12);
        json_free(doc);
    }
    free(text);
    // The folder loads back into lpoi with the same targets.
    Backend *be = backend_cpu_create();
    LlavaModel m;
    EXPECT(llava_open(&m, be, model_dir(), &err));
    snprintf(p, sizeof p, "%s/adapter", out);
    EXPECT_MSG(adapter_load_dir(&m, p, &err), "%s", err.msg);
    EXPECT_EQ_INT(llava_lora_count(&m), 68);
    llava_free(&m);
    backend_destroy(be);
    file_rmtree(root);
}

TEST(train_target_modules_list_or_regex) {
    LlavaLoraTargets t, back;
    LpoiErr err = {{0}};
    char buf[1024];
    EXPECT(llava_lora_parse_targets("q_proj,v_proj", NULL, &t, &err));
    adapter_target_modules_json(&t, buf, sizeof buf);
    EXPECT_STREQ(buf, "[\"q_proj\", \"v_proj\"]");
    EXPECT(llava_lora_parse_targets("language_model.q_proj,multi_modal_projector.linear_2", NULL, &t, &err));
    adapter_target_modules_json(&t, buf, sizeof buf);
    EXPECT_STREQ(buf, "\"(model\\\\.multi_modal_projector\\\\.(linear_2)|model\\\\.language_model\\\\..*\\\\.(q_proj))\"");
    const char *names[] = {"base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight",
                           "base_model.model.language_model.model.layers.1.mlp.down_proj.lora_B.weight",
                           "base_model.model.model.vision_tower.encoder.layers.0.mlp.fc1.lora_A.weight",
                           "base_model.model.multi_modal_projector.linear_1.lora_B.weight"};
    EXPECT(adapter_targets_from_names(names, 4, &back, &err));
    EXPECT_EQ_INT(back.text, (1u << LLAMA_Q) | (1u << LLAMA_DOWN));
    EXPECT_EQ_INT(back.vision, 1u << CLIP_FC1);
    EXPECT_EQ_INT(back.projector, 1u << LLAVA_PROJ_1);
    const char *bad[] = {"base_model.model.model.language_model.layers.0.self_attn.q_proj.weight"};
    EXPECT(!adapter_targets_from_names(bad, 1, &back, &err));
}

TEST(train_options_flags_and_config) {
    TrainOptions o;
    train_options_default(&o);
    EXPECT_EQ_INT(o.lora_r, 8);
    EXPECT(o.lora_alpha == 8 && o.lr == 1e-6 && o.beta == 0.1 && o.clip == 1.0 && o.epochs == 1);
    EXPECT_EQ_INT(o.micro_batch * o.grad_accum, 64);
    EXPECT_EQ_INT(o.list_size, 5);
    snprintf(root, sizeof root, "/tmp/lpoi_trainer_test_%d_cfg.json", (int)getpid());
    FILE *f = fopen(root, "w");
    fputs("{\"objective\": \"mdpo\", \"lr\": 2e-5, \"skip-bad\": true, \"lora-targets\": \"q_proj\"}", f);
    fclose(f);
    char *argv[] = {"train", "--config", root, "--micro-batch", "4", "--batch", "32", "--beta=0.2", "--model", "m",
                    "--data", "d", "--out", "o"};
    LpoiErr err = {{0}};
    EXPECT_MSG(train_options_parse(&o, (int)LPOI_ARRAY_LEN(argv), argv, &err), "%s", err.msg);
    EXPECT(o.objective == OBJ_MDPO && o.lr == 2e-5 && o.skip_bad && o.beta == 0.2);
    EXPECT_EQ_INT(o.grad_accum, 8);
    EXPECT_STREQ(o.lora_targets, "q_proj");
    EXPECT(train_options_check(&o, &err));
    char *bad[] = {"train", "--objective", "ipo"};
    EXPECT(!train_options_parse(&o, 3, bad, &err));
    char *bad2[] = {"train", "--lr"};
    EXPECT(!train_options_parse(&o, 2, bad2, &err));
    unlink(root);
}

TEST(train_mdpo_dpo_and_evaluate) {
    const char *data = make_data("eval", 4);
    char out[600], out2[600];
    snprintf(out, sizeof out, "%s", path_in("mdpo"));
    snprintf(out2, sizeof out2, "%s", path_in("lpoi"));
    TrainOptions o = tiny_options(data, out);
    o.objective = OBJ_MDPO;
    o.epochs = 1;
    TrainResult r;
    EXPECT_EQ_INT(train_run_result(&o, &r), 0);
    EXPECT_EQ_INT(r.steps, 1);
    EXPECT(isfinite(r.last_loss) && r.last_loss > 0);
    // LPOI with a large learning rate, then the list rewards before (no adapter) and after.
    o = tiny_options(data, out2);
    o.lr = 0.02;
    o.epochs = 3;
    EXPECT_EQ_INT(train_run(&o), 0);
    TrainEval before, after;
    LpoiErr err = {{0}};
    EXPECT_MSG(train_evaluate(&o, NULL, &before, &err), "%s", err.msg);
    char ad[700];
    snprintf(ad, sizeof ad, "%s/adapter", out2);
    EXPECT_MSG(train_evaluate(&o, ad, &after, &err), "%s", err.msg);
    EXPECT_EQ_INT(before.n, 4);
    EXPECT_EQ_INT(after.L, 5);
    if (before.S && after.S) {
        for (int k = 0; k < 4 * 5; k++) EXPECT(before.S[k] == 0);
        EXPECT(before.full_acc == 0 && before.gap == 0);
        EXPECT(after.gap > 0);   // training pushes S_1 above S_L
        for (int k = 0; k < 4 * 5; k++) EXPECT(before.ref[k] == after.ref[k]);   // the reference is the base model
    }
    train_eval_free(&before);
    train_eval_free(&after);
    file_rmtree(root);
}

TEST(train_bad_image_skip_or_stop) {
    TrainOptions o = one_epoch_run("bad", 4);
    // Record 3's image is corrupt (a PNG signature and nothing else): found by the reference pass.
    EXPECT(test_write_text(path_in("img2.png"), "\x89PNG\r\n\x1a\ntruncated"));
    EXPECT_EQ_INT(train_run(&o), 1);
    file_rmtree(o.out_dir);
    o.skip_bad = true;
    TrainResult r;
    EXPECT_EQ_INT(train_run_result(&o, &r), 0);
    EXPECT_EQ_INT(r.skipped_records, 1);
    EXPECT_EQ_INT(r.ref_forward_examples, 3);
    // Resume keeps the record dropped (the reference cache holds the 3 good ones).
    o.resume = true;
    o.epochs = 2;
    EXPECT_EQ_INT(train_run_result(&o, &r), 1);   // epochs changed: refused
    file_rmtree(root);
}

// The whole chain — sequences per example, list image 1 = the chosen forward, the mDPO crop, the
// objective's gradients mapped back to their sequences, llava backward — against central finite
// differences of the micro-batch loss in the LoRA parameters, for every objective.
TEST(train_gradients_match_finite_differences) {
    const char *data = make_data("fd", 3);
    const ObjKind kinds[4] = {OBJ_LPOI, OBJ_MDPO, OBJ_DPO, OBJ_LPOI};
    for (int kk = 0; kk < 4; kk++) {
        char out[600];
        snprintf(out, sizeof out, "%s", path_in("run"));
        TrainOptions o = tiny_options(data, out);
        o.objective = kinds[kk];
        o.beta = 0.5;   // larger rewards: every term of the objective is far from its flat start
        if (kk == 3) o.loss_type = OBJ_LOSS_IPO;   // each log-ratio over its answer's tokens
        Trainer tr;
        LpoiErr err = {{0}};
        if (!trainer_open(&tr, &o, false, &err) || !trainer_reference_pass(&tr, &err)) {
            EXPECT_MSG(false, "%s", err.msg);
            trainer_close(&tr);
            continue;
        }
        Backend *be = tr.be;
        Rng rng;
        rng_seed(&rng, 11 + (uint64_t)kk);
        for (size_t i = 0; i < tr.nt; i++) {   // policy != reference: random A and B
            float *h = malloc_check(tr.t[i].n * sizeof *h);
            for (size_t j = 0; j < tr.t[i].n; j++) h[j] = 0.3f * (2 * rng_uniform(&rng) - 1);
            be->upload(be, tr.t[i].param, h, tr.t[i].n * sizeof *h);
            free(h);
        }
        const int ex[3] = {0, 1, 2};
        double loss, lp, lm;
        ObjStats st;
        long nt;
        llava_lora_zero_grad(&tr.m);
        EXPECT_EQ_INT(trainer_micro_step(&tr, ex, 3, 3, &loss, &st, &nt, &err), TRAIN_STEP_OK);
        // A few tensors of each part: the largest-gradient coordinate of each. (Gradients are read
        // before any finite-difference call: those accumulate into them too.)
        float **grads = calloc_check(tr.nt, sizeof *grads);
        for (size_t i = 0; i < tr.nt; i += 7) {
            grads[i] = malloc_check(tr.t[i].n * sizeof **grads);
            be->download(be, grads[i], tr.t[i].grad, tr.t[i].n * sizeof **grads);
        }
        int checked = 0;
        for (size_t i = 0; i < tr.nt; i += 7) {
            TrainTensor *t = &tr.t[i];
            float *g = grads[i], *p = malloc_check(t->n * sizeof *p);
            be->download(be, p, t->param, t->n * sizeof *p);
            size_t j = 0;
            for (size_t q = 1; q < t->n; q++) if (fabsf(g[q]) > fabsf(g[j])) j = q;
            const float h = 1e-2f, keep = p[j];
            p[j] = keep + h;
            be->upload(be, t->param, p, t->n * sizeof *p);
            trainer_micro_step(&tr, ex, 3, 3, &lp, &st, &nt, &err);
            p[j] = keep - h;
            be->upload(be, t->param, p, t->n * sizeof *p);
            trainer_micro_step(&tr, ex, 3, 3, &lm, &st, &nt, &err);
            p[j] = keep;
            be->upload(be, t->param, p, t->n * sizeof *p);
            double fd = (lp - lm) / (2.0 * ((double)(keep + h) - (double)keep));
            if (fabs(g[j]) > 1e-3) {
                EXPECT_MSG(fabs(fd - g[j]) <= 5e-4 + 5e-3 * fabs(g[j]), "%s %s[%zu]: analytic %.6g, finite difference %.6g",
                           obj_kind_name(kinds[kk]), t->name, j, g[j], fd);
                checked++;
            }
            free(g);
            free(p);
        }
        free(grads);
        EXPECT_MSG(checked >= 5, "%s: only %d coordinates had a gradient", obj_kind_name(kinds[kk]), checked);
        trainer_close(&tr);
    }
    file_rmtree(root);
}

// --loss-type ipo in the trainer (it was refused: the trainer summed the log-probs TRL averages).
// Policy log-probs from a forward of the same batch, the answer token counts from its labels, and
// TRL 1.16's IPO written out here: mean over examples of ((h_w/n_w - h_l/n_l) - 1/(2 beta))^2.
// With lpoi the anchor and listwise terms are the sigmoid run's (summed log-probs).
static double micro_loss(const char *data, ObjKind kind, ObjLossType lt, double *pol, int *ntok) {
    char out[600];
    snprintf(out, sizeof out, "%s", path_in("run"));
    TrainOptions o = tiny_options(data, out);
    o.objective = kind;
    o.loss_type = lt;
    o.beta = 0.5;
    Trainer tr;
    LpoiErr err = {{0}};
    double loss = NAN;
    if (!trainer_open(&tr, &o, false, &err) || !trainer_reference_pass(&tr, &err)) {
        EXPECT_MSG(false, "%s", err.msg);
        trainer_close(&tr);
        return loss;
    }
    Rng rng;
    rng_seed(&rng, 5);
    for (size_t i = 0; i < tr.nt; i++) {   // the same random adapter in every run
        float *h = malloc_check(tr.t[i].n * sizeof *h);
        for (size_t j = 0; j < tr.t[i].n; j++) h[j] = 0.3f * (2 * rng_uniform(&rng) - 1);
        tr.be->upload(tr.be, tr.t[i].param, h, tr.t[i].n * sizeof *h);
        free(h);
    }
    const int ex[3] = {0, 1, 2};
    ObjStats st;
    long nt;
    EXPECT_EQ_INT(trainer_micro_step(&tr, ex, 3, 3, &loss, &st, &nt, &err), TRAIN_STEP_OK);
    if (pol) {   // this batch's policy log-probs, [3, n_seq], and its scored tokens per row
        LlavaBatch b;
        float lp[3 * 8];
        EXPECT(tr.n_seq <= 8 && trainer_build_batch(&tr, ex, 3, false, &b, NULL, &err) &&
               llava_logps_forward(&tr.m, &b, false, lp, &err));
        for (int r = 0; r < 3 * tr.n_seq; r++) {
            pol[r] = lp[r] - tr.ref[r];   // examples 0..2 are the first rows of the cache: a log-ratio
            ntok[r] = 0;
            for (int t = 0; t < b.T; t++) ntok[r] += b.labels[(size_t)r * b.T + t] != -100;
        }
    }
    trainer_close(&tr);
    return loss;
}

TEST(train_ipo_averages_log_ratios_per_answer_token) {
    const char *data = make_data("ipo", 3);
    double h[3 * 2];
    int n[3 * 2];
    const double ipo = micro_loss(data, OBJ_DPO, OBJ_LOSS_IPO, h, n), beta = 0.5;
    double want = 0;
    for (int e = 0; e < 3; e++) {
        EXPECT(n[2 * e] > 3 && n[2 * e + 1] > 3 && n[2 * e] != n[2 * e + 1]);   // averaging is not a no-op
        const double u = h[2 * e] / n[2 * e] - h[2 * e + 1] / n[2 * e + 1] - 1 / (2 * beta);
        want += u * u / 3;
    }
    EXPECT_NEAR(ipo, want, 1e-6, 1e-5);
    // lpoi: the same IPO term plus the anchor and listwise terms of the sigmoid run
    const double lpoi_ipo = micro_loss(data, OBJ_LPOI, OBJ_LOSS_IPO, NULL, NULL);
    const double lpoi_sig = micro_loss(data, OBJ_LPOI, OBJ_LOSS_SIGMOID, NULL, NULL);
    const double dpo_sig = micro_loss(data, OBJ_DPO, OBJ_LOSS_SIGMOID, NULL, NULL);
    EXPECT_NEAR(lpoi_ipo - ipo, lpoi_sig - dpo_sig, 1e-6, 1e-5);
    file_rmtree(root);
}

// Finding 1 of issue 16: "<image>" (or any special token) in an answer overflowed the batch buffer.
// Now the record is refused with FILE:LINE: field, and --skip-bad skips it.
TEST(train_special_token_text_refused_or_skipped) {
    TrainOptions o = one_epoch_run("special", 5);
    char *text = test_read_text(o.data_path);
    if (!text) return;
    // Line 2: "<image>" in chosen; line 4: "<image>" in rejected; line 5: "</s>" in chosen.
    StrBuf s = {0};
    int line = 1;
    for (char *p = text; *p; line++) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        char *rec = strndup(p, n);
        char *at = strstr(rec, line == 4 ? "\"rejected\": \"A " : "\"chosen\": \"A ");
        if (at && (line == 2 || line == 4 || line == 5)) {
            at = strchr(at + 10, '"') + 1;   // start of the text
            strbuf_put(&s, rec, (size_t)(at - rec));
            strbuf_str(&s, line == 5 ? "</s> " : "<image> ");
            strbuf_str(&s, at);
        } else {
            strbuf_put(&s, rec, n);
        }
        free(rec);
        p += n;
    }
    EXPECT(test_write_text(o.data_path, s.s));
    free(text);
    free(s.s);
    Trainer tr;
    LpoiErr err = {{0}};
    EXPECT(!trainer_open(&tr, &o, false, &err));
    EXPECT_MSG(strstr(err.msg, "data.jsonl:2: chosen: holds the special token \"<image>\"") != NULL, "%s", err.msg);
    trainer_close(&tr);
    EXPECT_EQ_INT(train_run(&o), 1);
    o.skip_bad = true;
    TrainResult r;
    EXPECT_EQ_INT(train_run_result(&o, &r), 0);
    EXPECT_EQ_INT(r.skipped_records, 3);
    EXPECT_EQ_INT(r.ref_forward_examples, 2);
    file_rmtree(root);
}

// Finding 7 of issue 16: "--batch 99999999" said "--grad-accum must be >= 1".
TEST(train_options_huge_batch_names_batch) {
    TrainOptions o;
    train_options_default(&o);
    char *argv[] = {"train", "--model", "m", "--data", "d", "--out", "o", "--batch", "99999999"};
    LpoiErr err = {{0}};
    bool ok = train_options_parse(&o, (int)LPOI_ARRAY_LEN(argv), argv, &err) && train_options_check(&o, &err);
    EXPECT(!ok);
    EXPECT_MSG(strstr(err.msg, "--batch") != NULL, "%s", err.msg);
}

// train_run_result with stderr captured into *printed (malloc'ed).
static int train_capture(const TrainOptions *o, TrainResult *r, char **printed) {
    char cap[] = "/tmp/lpoi_train_err_XXXXXX";
    int fd = mkstemp(cap);
    fflush(stderr);
    int e = dup(2);
    dup2(fd, 2);
    int rc = train_run_result(o, r);
    fflush(stderr);
    dup2(e, 2);
    close(e);
    close(fd);
    *printed = test_read_text(cap);
    if (!*printed) *printed = strdup("");
    unlink(cap);
    return rc;
}

// The run's identity is hashed once, from what trainer_open loaded: a data file edited on disk
// while the run goes on is not what its checkpoints record (each save re-hashed the files, so the
// edit was recorded and a resume on the ORIGINAL data, the data actually trained on, was refused).
TEST(train_run_identity_is_what_was_loaded) {
    TrainOptions o = one_epoch_run("runid", 4);
    o.grad_accum = 1;
    Trainer tr;
    LpoiErr err = {{0}};
    mkdir(o.out_dir, 0755);
    EXPECT_MSG(trainer_open(&tr, &o, false, &err) && trainer_reference_pass(&tr, &err), "%s", err.msg);
    char *text = test_read_text(o.data_path), *edited = text ? strdup(text) : NULL;
    for (char *p = edited; p && (p = strstr(p, "red box")); p += 7) memcpy(p, "red bot", 7);
    EXPECT(edited && test_write_text(o.data_path, edited));   // changed on disk after loading
    tr.eff_batch = 2, tr.steps_per_epoch = 2, tr.total_steps = 2, tr.warmup = 1;   // what train_run sets
    EXPECT_MSG(checkpoint_save(&tr, &err), "%s", err.msg);
    trainer_close(&tr);
    EXPECT(text && test_write_text(o.data_path, text));      // back to what was trained on
    o.resume = true;
    char *printed;
    TrainResult r;
    int rc = train_capture(&o, &r, &printed);
    EXPECT_MSG(rc == 0 && !strstr(printed, "changed since that run"), "%s", printed);
    free(printed);
    free(text);
    free(edited);
    file_rmtree(root);
}

// Finding 3 of issue 16: --overwrite with a bad --data or --model deleted the earlier run first.
TEST(train_overwrite_validates_before_removing) {
    TrainOptions o = one_epoch_run("overwrite", 3);
    EXPECT_EQ_INT(train_run(&o), 0);
    char ck[700], ad[700];
    snprintf(ck, sizeof ck, "%s/checkpoint-1/training_state.safetensors", o.out_dir);
    snprintf(ad, sizeof ad, "%s/adapter/adapter_model.safetensors", o.out_dir);
    EXPECT(access(ck, F_OK) == 0 && access(ad, F_OK) == 0);
    o.overwrite = true;
    o.data_path = path_in("missing.jsonl");
    EXPECT_EQ_INT(train_run(&o), 1);
    EXPECT_MSG(access(ck, F_OK) == 0 && access(ad, F_OK) == 0, "a bad --data removed the earlier run");
    o.data_path = path_in("data.jsonl");
    o.model_dir = path_in("no_model");
    EXPECT_EQ_INT(train_run(&o), 1);
    EXPECT_MSG(access(ck, F_OK) == 0 && access(ad, F_OK) == 0, "a missing --model removed the earlier run");
    file_rmtree(root);
}

// Finding 4 of issue 16: a refused --resume had already replaced ref_logps.safetensors; a data
// file changed in content (same line count) resumed silently.
TEST(train_resume_refuses_changed_inputs_untouched) {
    TrainOptions o = one_epoch_run("resumeid", 4);
    o.grad_accum = 1;
    o.save_every = 1;
    o.stop_after = 1;
    EXPECT_EQ_INT(train_run(&o), 0);
    char ref[700];
    snprintf(ref, sizeof ref, "%s/ref_logps.safetensors", o.out_dir);
    char *before = test_read_text(ref);
    size_t nb = 0, na = 0;
    LpoiErr e;
    free(before);
    before = file_read_all(ref, 1 << 26, &nb, &e);
    o.stop_after = 0;
    o.resume = true;
    o.seed = 7;   // changes the reference cache's key too
    char *printed;
    TrainResult r;
    EXPECT_EQ_INT(train_capture(&o, &r, &printed), 1);
    EXPECT_MSG(strstr(printed, "seed was 42 in that run, now 7") != NULL, "%s", printed);
    EXPECT_EQ_INT(r.ref_forward_examples, 0);   // refused before the reference pass
    free(printed);
    char *after = file_read_all(ref, 1 << 26, &na, &e);
    EXPECT_MSG(before && after && na == nb && !memcmp(before, after, na), "ref_logps.safetensors changed");
    free(after);
    free(before);
    o.seed = 42;
    // Settings that change every later step's numbers are part of the run too.
    o.lr_scheduler = LR_COSINE;
    EXPECT_EQ_INT(train_capture(&o, &r, &printed), 1);
    EXPECT_MSG(strstr(printed, "lr_scheduler was linear in that run, now cosine") != NULL, "%s", printed);
    free(printed);
    o.lr_scheduler = LR_LINEAR;
    o.loss_type = OBJ_LOSS_HINGE;
    EXPECT_EQ_INT(train_capture(&o, &r, &printed), 1);
    EXPECT_MSG(strstr(printed, "loss_type was sigmoid in that run, now hinge") != NULL, "%s", printed);
    free(printed);
    o.loss_type = OBJ_LOSS_SIGMOID;
    o.precision = "bf16";   // 16-bit Linear weights: every number of every later step changes
    EXPECT_EQ_INT(train_capture(&o, &r, &printed), 1);
    EXPECT_MSG(strstr(printed, "precision was fp32 in that run, now bf16") != NULL, "%s", printed);
    free(printed);
    o.precision = NULL;
    // Same lines, other content: "A red box" -> "A red cube".
    char *text = test_read_text(o.data_path);
    for (char *p = text; p && (p = strstr(p, "red box")); p += 7) memcpy(p, "red bot", 7);
    EXPECT(text && test_write_text(o.data_path, text));
    free(text);
    EXPECT_EQ_INT(train_capture(&o, &r, &printed), 1);
    EXPECT_MSG(strstr(printed, "the data file (and negatives manifest) changed since that run") != NULL, "%s", printed);
    free(printed);
    o.allow_changed_data = true;
    EXPECT_EQ_INT(train_capture(&o, &r, &printed), 0);
    EXPECT_MSG(strstr(printed, "changed since that run (--allow-changed-data)") != NULL, "%s", printed);
    free(printed);
    file_rmtree(root);
}

// Finding 4 of issue 16: a torn newest checkpoint made --resume fail instead of using the older
// intact one. Now it falls back, says so, and still repeats the uninterrupted run bit for bit.
TEST(train_resume_falls_back_to_verified_checkpoint) {
    const char *data = make_data("fallback", 6);
    char straight[600], split[600];
    snprintf(straight, sizeof straight, "%s", path_in("straight"));
    snprintf(split, sizeof split, "%s", path_in("split"));
    TrainOptions o = tiny_options(data, straight);
    EXPECT_EQ_INT(train_run(&o), 0);
    o.out_dir = split;
    o.save_every = 1;
    o.keep_checkpoints = 0;
    o.stop_after = 3;
    EXPECT_EQ_INT(train_run(&o), 0);
    char p[700];
    snprintf(p, sizeof p, "%s/checkpoint-3/adapter_model.safetensors", split);
    EXPECT(truncate(p, 100) == 0);
    // A kill in the middle of a prune (folder renamed aside) and of a save (.tmp) are finished too.
    snprintf(p, sizeof p, "%s/deleting-checkpoint-1", split);
    EXPECT(mkdir(p, 0755) == 0);
    snprintf(p, sizeof p, "%s/checkpoint-9.tmp", split);
    EXPECT(mkdir(p, 0755) == 0);
    // The log's last line cut (a kill mid-write): resume drops it with the lines after the checkpoint.
    char *log = test_read_text(test_path(split, "log.jsonl"));
    char *last = log ? strrchr(log, '{') : NULL;
    if (last) {
        last[12] = 0;   // keeps `{"step": 3, ` only
        EXPECT(test_write_text(test_path(split, "log.jsonl"), log));
    }
    free(log);
    o.stop_after = 0;
    o.resume = true;
    char *printed;
    TrainResult r;
    EXPECT_EQ_INT(train_capture(&o, &r, &printed), 0);
    EXPECT_MSG(strstr(printed, "checkpoint-3 does not verify") && strstr(printed, "resuming from the older") &&
                   strstr(printed, "checkpoint-2"),
               "%s", printed);
    free(printed);
    snprintf(p, sizeof p, "%s/deleting-checkpoint-1", split);
    EXPECT(access(p, F_OK) != 0);
    snprintf(p, sizeof p, "%s/checkpoint-9.tmp", split);
    EXPECT(access(p, F_OK) != 0);
    expect_same_run(straight, split, 4);
    // Every checkpoint torn: refused (never a silent restart from step 0 over them).
    for (int s = 1; s <= 4; s++) {
        snprintf(p, sizeof p, "%s/checkpoint-%d/training_state.safetensors", split, s);
        if (access(p, F_OK) == 0) EXPECT(truncate(p, 10) == 0);
    }
    EXPECT_EQ_INT(train_capture(&o, &r, &printed), 1);
    EXPECT_MSG(strstr(printed, "checkpoints verifies") != NULL, "%s", printed);
    free(printed);
    file_rmtree(root);
}

// A newest checkpoint that does not verify must not count among the "newest kept" when the resumed
// run prunes: it did, and with --keep-checkpoints 1 every good checkpoint written after the
// fallback was deleted, leaving only the corrupt one.
TEST(train_resume_fallback_then_prune_keeps_good_checkpoints) {
    const char *data = make_data("fallprune", 6);
    char split[600], p[700];
    snprintf(split, sizeof split, "%s", path_in("split"));
    TrainOptions o = tiny_options(data, split);
    o.save_every = 1;
    o.keep_checkpoints = 0;
    o.stop_after = 2;
    EXPECT_EQ_INT(train_run(&o), 0);
    snprintf(p, sizeof p, "%s/checkpoint-8", split);   // a step this run never reaches, not verifying
    EXPECT(mkdir(p, 0755) == 0);
    EXPECT(test_write_text(test_path(p, "training_state.safetensors"), "torn"));
    o.stop_after = 0;
    o.resume = true;
    o.keep_checkpoints = 1;
    char *printed;
    TrainResult r;
    EXPECT_EQ_INT(train_capture(&o, &r, &printed), 0);
    EXPECT_MSG(strstr(printed, "checkpoint-8 does not verify") != NULL, "%s", printed);
    free(printed);
    snprintf(p, sizeof p, "%s/checkpoint-4/adapter_model.safetensors", split);
    EXPECT_MSG(access(p, F_OK) == 0, "the last good checkpoint was pruned");
    snprintf(p, sizeof p, "%s/checkpoint-8", split);
    EXPECT(access(p, F_OK) != 0);
    snprintf(p, sizeof p, "%s/corrupt-checkpoint-8", split);
    EXPECT(access(p, F_OK) == 0);
    file_rmtree(root);
}

// HF's rule (TrainingArguments.get_warmup_steps): warmup_steps is used when > 0, else the ratio. An
// HF config carries "warmup_steps": 0 beside "warmup_ratio": 0.1, and took no warmup at all.
TEST(train_warmup_steps_zero_takes_the_ratio) {
    TrainOptions o = one_epoch_run("warm", 4);
    o.grad_accum = 1;
    o.warmup_steps = 0;
    o.warmup_ratio = 0.5;   // 2 steps (4 examples, micro-batch 2): 1 of warmup, so step 1 runs at lr · 0
    EXPECT_EQ_INT(train_run(&o), 0);
    char *log = test_read_text(test_path(o.out_dir, "log.jsonl"));
    EXPECT_MSG(log && strstr(log, "\"lr\": 0,") == strstr(log, "\"lr\": "), "%s", log ? log : "(no log)");
    free(log);
    file_rmtree(root);
}

// Finding 2 of issue 16: --log on a full disk exited 0 with a cut-off log.
TEST(train_log_write_failure_is_an_error) {
    TrainOptions o = one_epoch_run("logfull", 3);
    o.log_file = "/dev/full";
    char *printed;
    TrainResult r;
    EXPECT_EQ_INT(train_capture(&o, &r, &printed), 1);
    EXPECT_MSG(strstr(printed, "/dev/full: write failed: No space left on device") != NULL, "%s", printed);
    free(printed);
    file_rmtree(root);
}

// ---- crash consistency (issue 16) -------------------------------------------------------------------
// `lpoi train` (the real binary, one thread) killed at injected points — the N-th write, fsync,
// rename, unlink, rmdir or mkdir of the process (LPOI_FAULT, base/file.c: _exit(137) as kill -9
// would) — then resumed with --resume, must end bit-identical to an uninterrupted run: the same
// loss and gradient norm on every log line and the same final adapter bytes; and after every kill
// each folder named checkpoint-N must verify.
static int run_lpoi(char *const argv[], const char *fault) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 8);
    if (n <= 0) return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    snprintf(slash + 1, sizeof exe - (size_t)(slash + 1 - exe), "lpoi");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        setenv("LPOI_THREADS", "1", 1);
        if (fault) setenv("LPOI_FAULT", fault, 1);
        else unsetenv("LPOI_FAULT");
        execv(exe, argv);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static bool all_checkpoints_verify(const char *out, char *why, size_t cap) {
    DIR *d = opendir(out);
    bool ok = true;
    for (struct dirent *e; ok && d && (e = readdir(d));) {
        int step;
        char tail;
        if (sscanf(e->d_name, "checkpoint-%d%c", &step, &tail) != 1) continue;
        LpoiErr err = {{0}};
        if (!checkpoint_verify(test_path(out, e->d_name), &err)) {
            snprintf(why, cap, "%s", err.msg);
            ok = false;
        }
    }
    if (d) closedir(d);
    return ok;
}

TEST(train_killed_anywhere_resumes_bit_identical) {
    char data[600], ref_out[600], out[600], model[600];
    snprintf(data, sizeof data, "%s", make_data("crash", 5));   // path_in's buffer is reused below
    snprintf(ref_out, sizeof ref_out, "%s", path_in("reference"));
    snprintf(out, sizeof out, "%s", path_in("crashed"));
    if (!realpath(model_dir(), model)) { test_skip("testdata/tiny_llava not found"); return; }
    // 5 examples, steps of 2, 2 epochs: 6 steps, a checkpoint after each, two kept (pruning).
#define TRAIN_ARGS(dir)                                                                                                  \
    {"lpoi", "train", "--model", model, "--data", data, "--out", (dir), "--lr", "5e-3", "--grad-accum", "2", \
     "--micro-batch", "1", "--epochs", "2", "--warmup-steps", "1", "--save-every", "1", "--keep-checkpoints", "2",  \
     "--quiet", "--resume", NULL}
    char *ref_argv[] = TRAIN_ARGS(ref_out);
    EXPECT_EQ_INT(run_lpoi(ref_argv, NULL), 0);
    char want[8][80], got[8][80], log[700], ad_want[700], ad_got[700];
    snprintf(log, sizeof log, "%s/log.jsonl", ref_out);
    int nwant = log_values(log, want, 8);
    EXPECT_EQ_INT(nwant, 6);
    snprintf(ad_want, sizeof ad_want, "%s/adapter/adapter_model.safetensors", ref_out);
    snprintf(ad_got, sizeof ad_got, "%s/adapter/adapter_model.safetensors", out);
    static const char *const faults[] = {
        "mkdir:1", "mkdir:3", "mkdir:6", "write:1", "write:2", "write:7", "write:15", "write:31", "write:60",
        "fsync:1", "fsync:2", "fsync:9", "fsync:23", "fsync:40", "rename:1", "rename:2", "rename:5", "rename:8",
        "rename:13", "rename:22", "rename:30", "unlink:1", "unlink:2", "unlink:4", "unlink:9", "rmdir:1",
        "rmdir:2", "rmdir:3", "rmdir:5",
    };
    int killed = 0;
    for (size_t i = 0; i < LPOI_ARRAY_LEN(faults); i++) {
        file_rmtree(out);
        char *argv[] = TRAIN_ARGS(out);
        int rc = run_lpoi(argv, faults[i]);
        EXPECT_MSG(rc == 137 || rc == 0, "%s: exit %d", faults[i], rc);
        killed += rc == 137;
        char why[600] = "";
        EXPECT_MSG(all_checkpoints_verify(out, why, sizeof why), "%s: after the kill: %s", faults[i], why);
        EXPECT_MSG(run_lpoi(argv, NULL) == 0, "%s: the resumed run failed", faults[i]);
        snprintf(log, sizeof log, "%s/log.jsonl", out);
        int ngot = log_values(log, got, 8);
        EXPECT_MSG(ngot == nwant, "%s: %d log lines, want %d", faults[i], ngot, nwant);
        for (int k = 0; k < ngot && k < nwant; k++)
            EXPECT_MSG(!strcmp(want[k], got[k]), "%s: step %d: %s vs %s", faults[i], k + 1, got[k], want[k]);
        EXPECT_MSG(same_file(ad_want, ad_got), "%s: the final adapter differs", faults[i]);
    }
#undef TRAIN_ARGS
    EXPECT_MSG(killed >= 25, "only %d of the injected points were reached", killed);
    file_rmtree(root);
}

// Issue 16: every write of a run goes through a checked path. A write, fsync or rename that fails
// anywhere (reference cache, checkpoint files, checksums, the final adapter, the log) stops the run
// with exit 1 and a message naming the file — never exit 0 with a missing or cut file.
TEST(train_failed_writes_are_errors_naming_the_file) {
    TrainOptions o = one_epoch_run("writefail", 3);
    o.save_every = 1;
    o.grad_accum = 1;
    static const char *const specs[] = {"write:1:fail", "write:3:fail", "write:8:fail", "write:20:fail",
                                        "fsync:4:fail", "rename:3:fail", "rename:9:fail", "mkdir:2:fail"};
    for (size_t i = 0; i < LPOI_ARRAY_LEN(specs); i++) {
        file_rmtree(o.out_dir);
        file_fault_set(specs[i]);
        char *printed;
        TrainResult r;
        int rc = train_capture(&o, &r, &printed);
        file_fault_set(NULL);
        EXPECT_MSG(rc == 1, "%s: exit %d", specs[i], rc);
        EXPECT_MSG(strstr(printed, o.out_dir) && (strstr(printed, "failed") || strstr(printed, "cannot")), "%s: %s",
                   specs[i], printed);
        free(printed);
    }
    file_rmtree(root);
}
