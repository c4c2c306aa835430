// demo.c — `lpoi demo` (demo.h): the embedded end-to-end job. With no download and no GPU it
//   1. writes a synthetic preference data set (demo/synth.h: coloured shapes, the chosen answer
//      names the main object, the rejected one an absent object, true boxes) to OUT/data;
//   2. writes a tiny random LLaVA-1.5-architecture model in HF format (demo/tiny_model.h) to
//      OUT/model, plus OUT/model_check.safetensors (lpoi's logits for one input, which
//      tools/test_demo_model_loads.py compares with transformers');
//   3. evaluates the held-out lists with the initial adapter (PEFT init, B = 0: the policy IS the
//      reference, so every S_k = 0 — a tie, which counts as a wrong order);
//   4. trains LoRA adapters with LPOI (text DPO + anchor + listwise Plackett–Luce over the L masked
//      images) through the trainer (lpoi/trainer.h) into OUT/run;
//   5. evaluates again, prints the before/after table (list accuracies and S_1 − S_L, plus the text
//      preference chosen vs rejected, scored through OUT/eval/heldout_rejected.jsonl: the held-out
//      records with the two answers swapped), writes OUT/list_strip.png (one held-out list with
//      S_k after training), OUT/loss_curves.png and OUT/adapter_check.safetensors (lpoi's logits
//      with the adapter, for the HF + PEFT check), and exits 1 unless the held-out full-order list
//      accuracy ended well above chance (1/L!).
// --objective dpo|mdpo trains a baseline instead, scored the same way (exit 0: no accuracy is
// demanded of it). `--char-model` runs the older character-model smoke test (demo_char.c).
#include "demo/demo.h"
#include "demo/synth.h"
#include "demo/tiny_model.h"
#include "backend/backend.h"
#include "base/check.h"
#include "base/file.h"
#include "base/safetensors.h"
#include "image/image.h"
#include "image/plot.h"
#include "lpoi/train_log.h"
#include "lpoi/negatives.h"
#include "lpoi/trainer.h"
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

DemoArgs demo_defaults(void) {
    return (DemoArgs){.out = NULL, .device = "cpu", .steps = 500, .examples = 1024, .heldout = 200, .list_size = 5,
                      .lora_r = 8, .batch = 8, .image_size = 64, .patch_size = 16, .seed = 1, .lr = 6e-3, .beta = 0.1, .objective = OBJ_LPOI};
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

// The output folder: --out (must be absent or empty), else the first free ./lpoi-demo[-N].
static char *choose_out(const char *given, LpoiErr *err) {
    if (given) {
        if (!file_dir_vacant(given)) {
            err_set(err, "%s exists and is not an empty folder; pick a new --out (the demo never overwrites)", given);
            return NULL;
        }
        return strdup(given);
    }
    for (int i = 1; i < 1000; i++) {
        char name[64];
        if (i == 1) snprintf(name, sizeof name, "lpoi-demo");
        else snprintf(name, sizeof name, "lpoi-demo-%d", i);
        struct stat st;
        if (stat(name, &st) != 0) return strdup(name);
    }
    err_set(err, "./lpoi-demo ... ./lpoi-demo-999 all exist; pass --out DIR");
    return NULL;
}

static uint64_t count_params(const char *path, LpoiErr *err) {
    StFile f;
    if (!st_open(&f, path, err)) return 0;
    uint64_t n = 0;
    for (size_t i = 0; i < f.count; i++) n += f.tensors[i].numel;
    st_close(&f);
    return n;
}

static bool write_loss_curves(const char *log_path, const char *png, int L, LpoiErr *err) {
    TrainLog l;
    if (!train_log_read(log_path, &l, err)) return false;
    if (l.n == 0) { train_log_free(&l); return err_set(err, "%s: no steps logged", log_path); }
    Image img = plot_canvas(760, 420);
    char title[64];
    snprintf(title, sizeof title, "LPOI TRAINING LOSSES (L = %d)", L);
    train_log_plot_losses(&img, (ImgRect){0, 0, img.w, img.h}, &l, title);
    bool ok = image_write_png(&img, png, err);
    image_free(&img);
    train_log_free(&l);
    return ok;
}

// One held-out list (example `index`) with S_k after training under each image.
static bool write_strip(const SynthOptions *so, int index, int L, const double *S, const char *png, LpoiErr *err) {
    SynthExample ex;
    synth_example(so, SYNTH_HELDOUT, index, &ex);
    ImgRect box = ex.objects[0].box;
    NegOptions no = negatives_default_options();
    Image *list = calloc_check((size_t)L, sizeof(Image));
    negatives_render_list(&ex.image, box, L, &no, list);
    char labels[NEGATIVES_MAX_LIST][32];
    const char *lp[NEGATIVES_MAX_LIST];
    for (int k = 0; k < L; k++) {
        snprintf(labels[k], sizeof labels[k], "X%d: %d%% MASKED", k + 1, (int)lround(100.0 * k / (L - 1)));
        lp[k] = labels[k];
    }
    char title[160];
    snprintf(title, sizeof title, "CHOSEN: \"%s\"  (REJECTED: \"%s\")", ex.chosen, ex.rejected);
    Image img = plot_strip(list, L, 3, lp, S, "BARS: S_K = BETA (LOG P_THETA - LOG P_REF) OF THE CHOSEN ANSWER AFTER TRAINING; LPOI WANTS S_1 > S_2 > ... > S_L",
                           title);
    bool ok = image_write_png(&img, png, err);
    image_free(&img);
    for (int k = 0; k < L; k++) image_free(&list[k]);
    free(list);
    synth_example_free(&ex);
    return ok;
}

// OUT/eval/heldout_rejected.jsonl: the held-out records with the REJECTED answer in the "chosen"
// field, so that train_evaluate scores log p(rejected | x_k) (column k = 1 is the original image):
// with the normal pass this gives the text preference chosen vs rejected before and after.
static bool write_swapped_heldout(const SynthOptions *so, const char *path, LpoiErr *err) {
    size_t cap = 4096, len = 0;
    char *buf = malloc_check(cap);
    buf[0] = 0;
    for (int i = 0; i < so->n_heldout; i++) {
        SynthExample ex;
        synth_example(so, SYNTH_HELDOUT, i, &ex);
        char tmp[sizeof ex.chosen], rel[64];
        memcpy(tmp, ex.chosen, sizeof tmp);
        memcpy(ex.chosen, ex.rejected, sizeof tmp);
        memcpy(ex.rejected, tmp, sizeof tmp);
        snprintf(rel, sizeof rel, "images/heldout_%05d.png", i);
        char *line = synth_jsonl_line(&ex, rel);
        size_t n = strlen(line);
        if (len + n + 2 > cap) { cap = 2 * (len + n + 2); buf = realloc_check(buf, cap); }
        memcpy(buf + len, line, n);
        len += n;
        buf[len++] = '\n';
        free(line);
        synth_example_free(&ex);
    }
    bool ok = file_write_atomic(path, buf, len, err);
    free(buf);
    return ok;
}

// Over examples: reward accuracy beta(pol_c - ref_c) > beta(pol_r - ref_r) (ties wrong) and the
// policy's own preference log p(chosen | x) > log p(rejected | x), both on the original image (k = 1).
static void text_preference(const TrainEval *c, const TrainEval *r, double *reward_acc, double *logp_acc) {
    int n = LPOI_MIN(c->n, r->n), L = c->L;
    double ra = 0, la = 0;
    for (int i = 0; i < n; i++) {
        size_t k = (size_t)i * L;
        ra += c->S[k] > r->S[k];
        la += c->pol[k] > r->pol[k];
    }
    *reward_acc = n ? ra / n : 0;
    *logp_acc = n ? la / n : 0;
}

static double factorial(int n) {
    double f = 1;
    for (int i = 2; i <= n; i++) f *= i;
    return f;
}

int demo_run(const DemoArgs *args) {
    const DemoArgs a = *args;
    const double t0 = now_s();
    LpoiErr err = {{0}};
    // The device first: a missing GPU should fail before anything is written.
    Backend *probe = backend_open(a.device, &err);
    if (!probe) { fprintf(stderr, "lpoi demo: --device %s: %s\n", a.device, err.msg); return 1; }
    char device_name[sizeof probe->device];
    snprintf(device_name, sizeof device_name, "%s", probe->device);
    backend_destroy(probe);
    char *out = choose_out(a.out, &err);
    if (!out) { fprintf(stderr, "lpoi demo: %s\n", err.msg); return 2; }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "lpoi demo: cannot create %s: %s\n", out, strerror(errno));
        free(out);
        return 1;
    }
    char *data_dir = file_path_join(out, "data"), *model_dir = file_path_join(out, "model"), *run_dir = file_path_join(out, "run");
    char *check_path = file_path_join(out, "model_check.safetensors"), *adapter_dir = file_path_join(run_dir, "adapter");
    char *strip_png = file_path_join(out, "list_strip.png"), *curves_png = file_path_join(out, "loss_curves.png");
    char *log_path = file_path_join(run_dir, "log.jsonl"), *adapter_check = file_path_join(out, "adapter_check.safetensors");
    char *train_jsonl = NULL, *heldout_jsonl = NULL;
    TrainEval before = {0}, after = {0}, before_rej = {0}, after_rej = {0};
    char *eval_dir = file_path_join(out, "eval"), *swapped_jsonl = file_path_join(eval_dir, "heldout_rejected.jsonl");
    int rc = 1;
    const int L = a.list_size;
    printf("lpoi demo: LPOI on a tiny LLaVA, everything in %s/ (device: %s)\n", out, device_name);

    // 1. data
    SynthOptions so = synth_options_default();
    so.image_size = a.image_size;
    so.n_train = a.examples;
    so.n_heldout = a.heldout;
    so.seed = a.seed;
    double t = now_s();
    if (!synth_write(&so, data_dir, &train_jsonl, &heldout_jsonl, &err)) { fprintf(stderr, "lpoi demo: %s\n", err.msg); goto done; }
    printf("[1/5] data   %d training + %d held-out examples, %dx%d px, in %s/ (%.1f s)\n", a.examples, a.heldout,
           a.image_size, a.image_size, data_dir, now_s() - t);
    {
        SynthExample ex;
        synth_example(&so, SYNTH_HELDOUT, 0, &ex);
        printf("             e.g. \"%s\" -> chosen \"%s\", rejected \"%s\"\n", SYNTH_PROMPT, ex.chosen, ex.rejected);
        synth_example_free(&ex);
    }

    // 2. model
    t = now_s();
    TinyModelOptions mo = tiny_model_default();
    mo.image_size = a.image_size;
    mo.patch_size = a.patch_size;
    mo.words = SYNTH_WORDS;
    mo.seed = a.seed;
    if (!tiny_model_write(&mo, model_dir, &err)) { fprintf(stderr, "lpoi demo: %s\n", err.msg); goto done; }
    char *weights = file_path_join(model_dir, "model.safetensors");
    uint64_t nparams = count_params(weights, &err);
    free(weights);
    {
        SynthExample ex;
        synth_example(&so, SYNTH_HELDOUT, 0, &ex);
        char *img = file_path_join(data_dir, "images/heldout_00000.png");
        TrainDumpArgs da = {.model_dir = model_dir, .image = img, .prompt = SYNTH_PROMPT, .answer = ex.chosen,
                            .out = check_path, .device = a.device};
        bool ok = train_dump_logits(&da, &err);
        free(img);
        synth_example_free(&ex);
        if (!ok) { fprintf(stderr, "lpoi demo: logits check: %s\n", err.msg); goto done; }
    }
    int G = a.image_size / a.patch_size;
    printf("[2/5] model  tiny LLaVA-1.5: CLIP (%d wide, %d layers, %d image tokens of %dx%d px), projector, LLaMA\n"
           "             (%d wide, %d layers); %.2f M parameters, random; HF format in %s/ (%.1f s)\n",
           mo.vision_hidden, mo.vision_layers, G * G, a.patch_size, a.patch_size, mo.text_hidden, mo.text_layers,
           nparams / 1e6, model_dir, now_s() - t);
    if (a.prepare_only) {
        printf("prepared; lpoi's logits for one input are in %s\n"
               "check them with transformers: tools/test_demo_model_loads.py --dir %s\n", check_path, out);
        rc = 0;
        goto done;
    }

    // 3. before
    TrainOptions o;
    train_options_default(&o);
    o.model_dir = model_dir;
    o.data_path = train_jsonl;
    o.out_dir = run_dir;
    o.device = a.device;
    o.objective = a.objective;
    o.beta = a.beta;
    o.list_size = L;
    o.lora_r = a.lora_r;
    if (a.lora_alpha > 0) o.lora_alpha = a.lora_alpha;   // else lpoi train's default, as a user would get
    o.lr = a.lr;
    o.warmup_steps = a.steps / 20;
    o.micro_batch = a.batch;
    o.grad_accum = 1;
    o.epochs = 1000000;   // max_steps decides
    o.max_steps = a.steps;
    o.seed = a.seed;
    o.save_every = 0;
    o.keep_checkpoints = 1;
    o.quiet = a.quiet;
    TrainOptions eo = o;
    eo.data_path = heldout_jsonl;
    t = now_s();
    TrainOptions ro = eo;   // the same lists, scored with the rejected answer
    ro.data_path = swapped_jsonl;
    ro.image_root = data_dir;
    if (mkdir(eval_dir, 0755) != 0 && errno != EEXIST) { fprintf(stderr, "lpoi demo: cannot create %s: %s\n", eval_dir, strerror(errno)); goto done; }
    if (!write_swapped_heldout(&so, swapped_jsonl, &err) || !train_evaluate(&eo, NULL, &before, &err) ||
        !train_evaluate(&ro, NULL, &before_rej, &err)) {
        fprintf(stderr, "lpoi demo: evaluation: %s\n", err.msg);
        goto done;
    }
    printf("[3/5] before training: held-out lists scored with the initial adapter (%.1f s)\n", now_s() - t);

    // 4. train
    if (a.objective == OBJ_LPOI)
        printf("[4/5] training: LPOI (text DPO + anchor + listwise over L = %d images), LoRA r = %d on all linear\n", L,
               a.lora_r);
    else
        printf("[4/5] training: the %s baseline (%s), LoRA r = %d on all linear\n", obj_kind_name(a.objective),
               a.objective == OBJ_DPO ? "text DPO only" : "text DPO + anchor + conditional crop term", a.lora_r);
    printf("      layers, %d steps x %d examples, lr %g, beta %g, %s\n", a.steps, a.batch, a.lr, a.beta, a.device);
    fflush(stdout);
    t = now_s();
    TrainResult res = {0};
    TrainExit trc = train_run_result(&o, &res);
    if (trc != TRAIN_OK) { fprintf(stderr, "lpoi demo: training failed (exit %d)\n", trc); goto done; }
    printf("      %d steps in %.1f s (%.1f examples/s, %.0f tokens/s), last loss %.4f\n", res.steps, now_s() - t,
           res.examples_per_s, res.tokens_per_s, res.last_loss);

    // 5. after
    t = now_s();
    if (!train_evaluate(&eo, adapter_dir, &after, &err) || !train_evaluate(&ro, adapter_dir, &after_rej, &err)) {
        fprintf(stderr, "lpoi demo: evaluation: %s\n", err.msg);
        goto done;
    }
    printf("[5/5] after training: held-out lists scored with the trained adapter (%.1f s)\n\n", now_s() - t);

    double chance = 1.0 / factorial(L);
    double pref_before, pref_after, logp_pref_before, logp_pref_after;
    text_preference(&before, &before_rej, &pref_before, &logp_pref_before);
    text_preference(&after, &after_rej, &pref_after, &logp_pref_after);
    printf("held-out: %d examples; each list has L = %d images, image k masking (k-1)/%d of the object that\n"
           "the chosen answer names (k = 1 the original, k = %d the object hidden)\n\n", after.n, L, L - 1, L);
    printf("                                                                 before     after    chance\n");
    printf("listwise ranking, S_k = beta * log(p_theta / p_ref)(chosen | x_k)\n");
    printf("  full-order accuracy    S_1 > S_2 > ... > S_%d                  %6.1f%%   %6.1f%%   %6.2f%%\n", L,
           100 * before.full_acc, 100 * after.full_acc, 100 * chance);
    printf("  pairwise accuracy      S_i > S_j for i < j                    %6.1f%%   %6.1f%%   %6.1f%%\n",
           100 * before.pair_acc, 100 * after.pair_acc, 50.0);
    printf("  mean S_1 - S_%d                                               %+7.3f   %+7.3f\n", L, before.gap, after.gap);
    printf("  full order of log p_theta(chosen | x_k) alone                 %6.1f%%   %6.1f%%   %6.2f%%\n",
           100 * before.logp_full_acc, 100 * after.logp_full_acc, 100 * chance);
    printf("text preference on the original image (chosen = true object, rejected = absent object)\n");
    printf("  reward accuracy        S(chosen) > S(rejected)                %6.1f%%   %6.1f%%   %6.1f%%\n",
           100 * pref_before, 100 * pref_after, 50.0);
    printf("  log p_theta(chosen | x) > log p_theta(rejected | x)           %6.1f%%   %6.1f%%   %6.1f%%\n",
           100 * logp_pref_before, 100 * logp_pref_after, 50.0);
    printf("\nBefore training the LoRA adapter is the identity (B = 0, as PEFT initialises it): p_theta = p_ref,\n"
           "so every S and every reward is exactly 0, a tie, which counts as wrong. The rows on log p_theta\n"
           "alone rank by the model's own probabilities, which are meaningful before training too.\n\n");

    if (!write_strip(&so, 0, L, after.S, strip_png, &err)) fprintf(stderr, "lpoi demo: warning: %s\n", err.msg);
    else {
        printf("  %s: held-out list 0, images x_1..x_%d, S_k after training:", strip_png, L);
        for (int k = 0; k < L; k++) printf(" %+.3f", after.S[k]);
        printf("\n");
    }
    if (!write_loss_curves(log_path, curves_png, L, &err)) fprintf(stderr, "lpoi demo: warning: %s\n", err.msg);
    else printf("  %s: total, text DPO, anchor and listwise loss per step\n", curves_png);
    printf("  %s/: the trained LoRA adapter (PEFT format: adapter_model.safetensors + adapter_config.json)\n",
           adapter_dir);
    {   // lpoi's logits with the trained adapter, for tools/test_demo_model_loads.py (HF + PEFT)
        SynthExample ex;
        synth_example(&so, SYNTH_HELDOUT, 0, &ex);
        char *img = file_path_join(data_dir, "images/heldout_00000.png");
        TrainDumpArgs da = {.model_dir = model_dir, .adapter_dir = adapter_dir, .image = img, .prompt = SYNTH_PROMPT,
                            .answer = ex.chosen, .out = adapter_check, .device = a.device};
        if (!train_dump_logits(&da, &err)) fprintf(stderr, "lpoi demo: warning: adapter logits: %s\n", err.msg);
        else printf("  %s: lpoi's logits with the adapter\n"
                    "    (tools/test_demo_model_loads.py --dir %s checks them against transformers + PEFT)\n",
                    adapter_check, out);
        free(img);
        synth_example_free(&ex);
    }

    bool learned = after.full_acc >= chance + 0.25 && after.gap > 0;
    double total = now_s() - t0;
    const char *verdict = learned ? "the model learned to trust its answer less as the object disappears"
                          : a.objective == OBJ_LPOI ? "TRAINING DID NOT RAISE THE LIST ACCURACY WELL ABOVE CHANCE"
                                                    : "the list order stayed far from what LPOI reaches";
    printf("\nlpoi demo (%s): %s:\n  held-out full-order accuracy %.1f%% -> %.1f%% (chance %.2f%%), mean S_1 - S_%d %+.3f -> %+.3f; "
           "%.0f s in all\n",
           obj_kind_name(a.objective), verdict, 100 * before.full_acc, 100 * after.full_acc, 100 * chance, L, before.gap,
           after.gap, total);
    if (a.objective != OBJ_LPOI)
        printf("  (a baseline: nothing in its loss ranks the partly masked images; compare with --objective lpoi)\n");
    if (total > 300)
        printf("  note: this took over 5 minutes; on a busy machine try --steps 250 (or set LPOI_THREADS)\n");
    rc = learned || a.objective != OBJ_LPOI ? 0 : 1;
done:
    train_eval_free(&before);
    train_eval_free(&after);
    train_eval_free(&before_rej);
    train_eval_free(&after_rej);
    free(eval_dir); free(swapped_jsonl);
    free(train_jsonl); free(heldout_jsonl);
    free(data_dir); free(model_dir); free(run_dir); free(check_path); free(adapter_dir);
    free(strip_png); free(curves_png); free(log_path); free(adapter_check);
    free(out);
    return rc;
}
