// trainer_options.c — TrainOptions: the paper's defaults, `lpoi train` flags (one table, also used
// for --config JSON files, whose keys are the flag names without "--"), checks and --help.
#include "lpoi/trainer_options.h"
#include "backend/backend.h"
#include "base/check.h"
#include "base/json.h"
#include "base/file.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void train_options_default(TrainOptions *o) {
    memset(o, 0, sizeof *o);
    o->device = "cpu";
    o->objective = OBJ_LPOI;
    o->beta = 0.1;
    o->w_dpo = o->w_anchor = o->w_list = o->w_cond = 1.0;
    o->list_size = 5;
    o->lora_r = 8;
    o->lora_alpha = 8;
    o->lora_targets = "all-linear";
    o->lr = 1e-6;
    o->warmup_steps = -1;
    o->adam_beta1 = 0.9;
    o->adam_beta2 = 0.999;
    o->adam_eps = 1e-8;
    o->clip = 1.0;
    o->epochs = 1;
    o->micro_batch = 1;
    o->grad_accum = 64;
    o->seed = 42;
    o->max_length = 512;
    o->max_prompt_length = 128;
    o->keep_checkpoints = 2;
}

typedef enum { F_STR, F_INT, F_DBL, F_U64, F_BOOL, F_OBJ, F_BATCH, F_BOX, F_SCHED, F_LOSS } FlagType;
typedef struct {
    const char *name;
    FlagType type;
    size_t off;
    const char *help;       // NULL: hidden (tests)
} Flag;

#define O(f) offsetof(TrainOptions, f)
static const Flag FLAGS[] = {
    {"model", F_STR, O(model_dir), "DIR     HF LLaVA-1.5 folder (config.json, safetensors, tokenizer, processor) [required]"},
    {"data", F_STR, O(data_path), "FILE     preference records, JSONL or a JSON array (see below) [required]"},
    {"out", F_STR, O(out_dir), "DIR       run folder: log, reference cache, checkpoints, final adapter [required]"},
    {"image-root", F_STR, O(image_root), "DIR  base of relative img_path (default: the data file's folder)"},
    {"negatives", F_STR, O(negatives), "FILE  manifest.jsonl written by `lpoi negatives` (LPOI image lists)"},
    {"box-format", F_BOX, O(box_format), "F  how boxes are written: xyxy (pixel corners, default), xywh, norm-xyxy, norm-xywh"},
    {"base-model", F_STR, O(base_model_name), "NAME adapter_config base_model_name_or_path (default: --model)"},
    {"device", F_STR, O(device), "D      auto (default: the GPU when one works, else the CPU, saying why), cpu or cuda"},
    {"precision", F_STR, O(precision), "P   frozen Linear weights as fp32 (default, every device), bf16 or fp16 (half the memory; GEMMs round activations to it, fp32 sums)"},
    {"eval-data", F_STR, O(eval_data), "FILE held-out records (as --data, with lists): their list accuracy is logged"},
    {"eval-every", F_INT, O(eval_every), "N  evaluate --eval-data every N steps (0 = after the last step only)"},
    {"log", F_STR, O(log_file), "FILE      JSONL log (default OUT/log.jsonl)"},
    {"config", F_STR, 0, "FILE   JSON object of options, keys = flag names (flags after it override)"},
    {"objective", F_OBJ, O(objective), "O   lpoi (default), mdpo or dpo"},
    {"beta", F_DBL, O(beta), "B        DPO beta (0.1)"},
    {"delta", F_DBL, O(delta), "D       anchor margin (0)"},
    {"label-smoothing", F_DBL, O(label_smoothing), "E  cDPO label smoothing of the text term (0)"},
    {"loss-type", F_LOSS, O(loss_type), "T   text DPO term as TRL's loss_type: sigmoid (default), hinge or ipo (see below)"},
    {"w-dpo", F_DBL, O(w_dpo), "W       weight of the text DPO term (1)"},
    {"w-anchor", F_DBL, O(w_anchor), "W    weight of the anchor term (1)"},
    {"w-list", F_DBL, O(w_list), "W      weight of the listwise term (1)"},
    {"w-cond", F_DBL, O(w_cond), "W      weight of mDPO's conditional term (1)"},
    {"list-size", F_INT, O(list_size), "L   images per list, 2..32 (5)"},
    {"lora-r", F_INT, O(lora_r), "R      LoRA rank (8)"},
    {"lora-alpha", F_DBL, O(lora_alpha), "A  LoRA alpha (8; scale alpha/r)"},
    {"lora-targets", F_STR, O(lora_targets), "T all-linear (default), a list (q_proj,v_proj, self_attn.q_proj, language_model.q_proj) or a PEFT regex"},
    {"lora-dropout", F_DBL, O(lora_dropout), "P only 0 (dropout on the LoRA input is not in the analytic backward)"},
    {"lr", F_DBL, O(lr), "LR          peak learning rate (1e-6, the paper's for LLaVA-1.5-7B)"},
    {"lr-scheduler", F_SCHED, O(lr_scheduler), "S linear (default), cosine, constant, constant_with_warmup (HF's formulas)"},
    {"warmup-ratio", F_DBL, O(warmup_ratio), "F share of steps with linear warmup (0)"},
    {"warmup-steps", F_INT, O(warmup_steps), "N warmup steps (overrides --warmup-ratio)"},
    {"adam-beta1", F_DBL, O(adam_beta1), "B  (0.9)"},
    {"adam-beta2", F_DBL, O(adam_beta2), "B  (0.999)"},
    {"adam-eps", F_DBL, O(adam_eps), "E    (1e-8)"},
    {"weight-decay", F_DBL, O(weight_decay), "W (0)"},
    {"clip", F_DBL, O(clip), "C        global gradient-norm clip (1.0; 0 = off)"},
    {"epochs", F_INT, O(epochs), "N      (1)"},
    {"micro-batch", F_INT, O(micro_batch), "N examples per forward (1)"},
    {"grad-accum", F_INT, O(grad_accum), "N  micro-batches per optimiser step (64)"},
    {"batch", F_BATCH, 0, "N       effective batch: sets --grad-accum to N / micro-batch (64)"},
    {"max-steps", F_INT, O(max_steps), "N   stop after N optimiser steps (0 = epochs)"},
    {"seed", F_U64, O(seed), "N        data order, LoRA init, mDPO crops (42)"},
    {"max-length", F_INT, O(max_length), "N  prompt + response text tokens (512, keep_end truncation)"},
    {"max-prompt-length", F_INT, O(max_prompt_length), "N  (128)"},
    {"skip-bad", F_BOOL, O(skip_bad), "      skip bad records / images and count them instead of failing"},
    {"save-every", F_INT, O(save_every), "N  checkpoint every N steps (0 = only at the end)"},
    {"keep-checkpoints", F_INT, O(keep_checkpoints), "N  newest checkpoints kept (2; 0 = all)"},
    {"resume", F_BOOL, O(resume), "        continue from the newest checkpoint in OUT that verifies (bit-identical losses)"},
    {"allow-changed-data", F_BOOL, O(allow_changed_data), "  --resume although the data, model or tokenizer files changed"},
    {"overwrite", F_BOOL, O(overwrite), "     start afresh in an OUT holding an earlier run (removes its checkpoints, adapter, log)"},
    {"quiet", F_BOOL, O(quiet), "         no progress line"},
    {"stop-after", F_INT, O(stop_after), NULL},
    {"inject-nan-at", F_DBL, O(inject_nan_at), NULL},
};
#undef O

// HF TrainingArguments / TRL DPOConfig / PEFT LoraConfig names for the same options, accepted as
// flags and --config keys (any other name with '_' for '-' is tried as ours: max_length → max-length).
static const struct { const char *theirs, *ours; } ALIASES[] = {
    {"learning_rate", "lr"}, {"lora_r", "lora-r"}, {"r", "lora-r"}, {"lora_alpha", "lora-alpha"},
    {"per_device_train_batch_size", "micro-batch"}, {"gradient_accumulation_steps", "grad-accum"},
    {"num_train_epochs", "epochs"}, {"max_grad_norm", "clip"}, {"adam_epsilon", "adam-eps"},
    {"output_dir", "out"}, {"model_name_or_path", "model"}, {"lr_scheduler_type", "lr-scheduler"},
    {"save_steps", "save-every"}, {"eval_steps", "eval-every"}, {"save_total_limit", "keep-checkpoints"}, {"target_modules", "lora-targets"},
    {"lora_target_modules", "lora-targets"},
};

static const Flag *find_own(const char *name) {
    for (size_t i = 0; i < LPOI_ARRAY_LEN(FLAGS); i++)
        if (!strcmp(FLAGS[i].name, name)) return &FLAGS[i];
    return NULL;
}

static const Flag *find_flag(const char *name) {
    const Flag *f = find_own(name);
    for (size_t i = 0; !f && i < LPOI_ARRAY_LEN(ALIASES); i++)
        if (!strcmp(ALIASES[i].theirs, name)) f = find_own(ALIASES[i].ours);
    if (!f && strchr(name, '_') && strlen(name) < 64) {
        char dashed[64];
        snprintf(dashed, sizeof dashed, "%s", name);
        for (char *c = dashed; *c; c++) if (*c == '_') *c = '-';
        f = find_own(dashed);
    }
    return f && f->help ? f : NULL;   // the hidden test hooks keep their exact names only
}

static size_t edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b), row[80];
    if (m >= LPOI_ARRAY_LEN(row)) return (size_t)-1;
    for (size_t j = 0; j <= m; j++) row[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[m];
}

// "unknown option --NAME", with the closest flag or alias when one is near (did you mean).
static bool unknown_option(const char *dashes, const char *name, LpoiErr *err) {
    const char *best = NULL, *via = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < LPOI_ARRAY_LEN(FLAGS); i++) {
        size_t d = FLAGS[i].help ? edit_distance(name, FLAGS[i].name) : (size_t)-1;
        if (d < best_d) best_d = d, best = FLAGS[i].name, via = NULL;
    }
    for (size_t i = 0; i < LPOI_ARRAY_LEN(ALIASES); i++) {
        size_t d = edit_distance(name, ALIASES[i].theirs);
        if (d < best_d) best_d = d, best = ALIASES[i].theirs, via = ALIASES[i].ours;
    }
    size_t len = strlen(name), limit = len / 3 > 2 ? len / 3 : 2;
    if (!best || best_d > limit) return err_set(err, "unknown option %s%s (see --help)", dashes, name);
    if (via) return err_set(err, "unknown option %s%s (did you mean %s%s, i.e. --%s?)", dashes, name, dashes, best, via);
    return err_set(err, "unknown option %s%s (did you mean %s%s?)", dashes, name, dashes, best);
}

static bool parse_config(TrainOptions *o, const char *path, LpoiErr *err);

// Sets one option from its text value (val NULL for a boolean flag).
static bool set_flag(TrainOptions *o, const Flag *f, const char *val, LpoiErr *err) {
    char *p = (char *)o + f->off, *end;
    errno = 0;
    switch (f->type) {
    case F_STR:
        if (!strcmp(f->name, "config")) return parse_config(o, val, err);
        *(const char **)p = val;
        return true;
    case F_BOOL: *(bool *)p = true; return true;
    case F_OBJ:
        if (!obj_kind_parse(val, (ObjKind *)p)) return err_set(err, "--%s: \"%s\" is not dpo, mdpo or lpoi", f->name, val);
        return true;
    case F_SCHED:
        if (!lr_schedule_parse(val, (LrSchedule *)p))
            return err_set(err, "--%s: \"%s\" is not linear, cosine, constant or constant_with_warmup", f->name, val);
        return true;
    case F_LOSS:
        if (!obj_loss_type_parse(val, (ObjLossType *)p))
            return err_set(err, "--%s: \"%s\" is not sigmoid, hinge or ipo", f->name, val);
        return true;
    case F_BOX:
        if (!box_format_parse(val, (BoxFormat *)p))
            return err_set(err, "--%s: \"%s\" is not xyxy, xywh, norm-xyxy or norm-xywh", f->name, val);
        return true;
    case F_INT:
    case F_BATCH: {
        long v = strtol(val, &end, 10);
        if (*end == '.' || *end == 'e' || *end == 'E') {   // "3.0" (HF's num_train_epochs is a float)
            double d = strtod(val, &end);
            v = d == floor(d) && fabs(d) <= INT32_MAX ? (long)d : LONG_MAX;
        }
        if (errno || *end || end == val || v < -1 || v > INT32_MAX) return err_set(err, "--%s: \"%s\" is not an integer", f->name, val);
        if (f->type == F_BATCH) {
            if (v < 1) return err_set(err, "--batch: must be >= 1");
            o->grad_accum = -(int)v;   // resolved in train_options_parse once micro-batch is known
        } else *(int *)p = (int)v;
        return true;
    }
    case F_U64: {
        if (*val == '-') return err_set(err, "--%s: must not be negative", f->name);
        unsigned long long v = strtoull(val, &end, 10);
        if (errno || *end || end == val) return err_set(err, "--%s: \"%s\" is not an integer", f->name, val);
        *(uint64_t *)p = v;
        return true;
    }
    case F_DBL: {
        double v = strtod(val, &end);
        if (errno || *end || end == val || !isfinite(v)) return err_set(err, "--%s: \"%s\" is not a number", f->name, val);
        *(double *)p = v;
        return true;
    }
    }
    return false;
}

// Config values live as long as the process: kept reachable here (TrainOptions only points at them).
static char **config_strings;
static size_t config_nstrings;
static char *config_strdup(const char *s) {
    char *p = strdup(s);
    if (!p) LPOI_DIE("out of memory");
    config_strings = realloc_check(config_strings, (config_nstrings + 1) * sizeof *config_strings);
    config_strings[config_nstrings++] = p;
    return p;
}

static bool parse_config(TrainOptions *o, const char *path, LpoiErr *err) {
    JsonDoc *doc = json_load_file(path, 1u << 20, err);
    if (!doc) return false;
    JsonCfg c;
    const JsonValue *root = json_root(doc);
    json_cfg_open(&c, root, path, err);   // keys = flag names
    for (size_t i = 0; c.ok && i < root->count; i++) {
        const char *key = root->keys[i];
        const JsonValue *v = root->items[i];
        const Flag *f = find_flag(key);
        const char *s = v->type == JSON_STRING || v->type == JSON_NUMBER ? v->str : NULL;
        char joined[1024];   // PEFT's target_modules list → our comma list
        if (f && f->off == offsetof(TrainOptions, lora_targets) && v->type == JSON_ARRAY && v->count) {
            bool strings = true;
            joined[0] = 0;
            for (size_t k = 0; k < v->count && strings; k++) {
                const JsonValue *it = v->items[k];
                size_t n = strlen(joined);
                strings = it->type == JSON_STRING && !strchr(it->str, ',') && n + it->len + 2 <= sizeof joined;
                if (strings) snprintf(joined + n, sizeof joined - n, "%s%s", k ? "," : "", it->str);
            }
            s = strings ? joined : NULL;
            for (size_t k = 0; s && k < v->count; k++)   // PEFT matches list entries literally, never as a regex
                if (strpbrk(v->items[k]->str, "\\()[]*+?|^${}")) {
                    json_cfg_fail(&c, "%s: list entry \"%.60s\" is a module name to PEFT, not a regex (give a regex as "
                                  "one string)", key, v->items[k]->str);
                    s = NULL;
                }
        }
        LpoiErr fe = {{0}};
        if (!f || !strcmp(key, "config")) {
            unknown_option("", key, &fe);
            json_cfg_fail(&c, "%s", fe.msg);
        }
        else if (f->type == F_BOOL) *(bool *)((char *)o + f->off) = json_cfg_bool(&c, key, false);
        else if (!s) json_cfg_fail(&c, "%s: must be a string or a number", key);
        else if (!set_flag(o, f, config_strdup(s), &fe)) json_cfg_fail(&c, "%s", fe.msg);
    }
    json_free(doc);
    return c.ok;
}

bool train_options_parse(TrainOptions *o, int argc, char **argv, LpoiErr *err) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) return err_set(err, "unexpected argument \"%s\"", a);
        const char *eq = strchr(a, '=');
        char name[64];
        size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (nl >= sizeof name) return err_set(err, "unknown option %s", a);
        memcpy(name, a + 2, nl);
        name[nl] = 0;
        const Flag *f = find_flag(name);
        if (!f) return unknown_option("--", name, err);
        const char *val = NULL;
        if (f->type != F_BOOL) {
            if (eq) val = eq + 1;
            else if (i + 1 < argc) val = argv[++i];
            else return err_set(err, "--%s needs a value", name);
        } else if (eq) return err_set(err, "--%s takes no value", name);
        if (!set_flag(o, f, val, err)) return false;
    }
    if (o->grad_accum < 0) {   // --batch N
        int b = -o->grad_accum, mb = o->micro_batch > 0 ? o->micro_batch : 1;
        if (b % mb) return err_set(err, "--batch %d is not a multiple of --micro-batch %d", b, mb);
        o->grad_accum = b / mb;
    }
    return true;
}

bool train_options_check(const TrainOptions *o, LpoiErr *err) {
    if (!o->model_dir) return err_set(err, "--model is required");
    if (!o->data_path) return err_set(err, "--data is required");
    if (!o->out_dir) return err_set(err, "--out is required");
    Precision prec;
    if (o->precision && !precision_parse(o->precision, &prec))
        return err_set(err, "--precision '%s': expected fp32, bf16 or fp16", o->precision);
    if (!(o->beta > 0)) return err_set(err, "--beta must be > 0");
    if (o->list_size < 2 || o->list_size > OBJ_MAX_L) return err_set(err, "--list-size must be 2..%d", OBJ_MAX_L);
    if (o->lora_r < 1 || o->lora_r > 4096) return err_set(err, "--lora-r must be 1..4096");
    if (!(o->lora_alpha > 0)) return err_set(err, "--lora-alpha must be > 0");
    if (!(o->lr >= 0)) return err_set(err, "--lr must be >= 0");
    if (!(o->warmup_ratio >= 0 && o->warmup_ratio <= 1)) return err_set(err, "--warmup-ratio must be in [0, 1]");
    if (o->warmup_steps < -1) return err_set(err, "--warmup-steps must be >= 0");
    if (!(o->adam_beta1 >= 0 && o->adam_beta1 < 1 && o->adam_beta2 >= 0 && o->adam_beta2 < 1))
        return err_set(err, "--adam-beta1/2 must be in [0, 1)");
    if (!(o->adam_eps > 0)) return err_set(err, "--adam-eps must be > 0");
    if (!(o->weight_decay >= 0)) return err_set(err, "--weight-decay must be >= 0");
    if (!(o->clip >= 0)) return err_set(err, "--clip must be >= 0");
    if (o->epochs < 1) return err_set(err, "--epochs must be >= 1");
    if (o->micro_batch < 1 || o->micro_batch > 4096) return err_set(err, "--micro-batch must be 1..4096");
    if (o->grad_accum < 1 || o->grad_accum > 1 << 20) return err_set(err, "--grad-accum must be 1..%d (--batch N sets it to N / --micro-batch)", 1 << 20);
    if (o->max_steps < 0) return err_set(err, "--max-steps must be >= 0");
    if (o->max_prompt_length < 1 || o->max_length <= o->max_prompt_length)
        return err_set(err, "--max-length must exceed --max-prompt-length >= 1");
    if (o->eval_every < 0) return err_set(err, "--eval-every must be >= 0");
    if (o->eval_every > 0 && !o->eval_data) return err_set(err, "--eval-every needs --eval-data FILE");
    if (o->save_every < 0 || o->keep_checkpoints < 0) return err_set(err, "--save-every / --keep-checkpoints must be >= 0");
    if (o->lora_dropout != 0)
        return err_set(err, "--lora-dropout %g: only 0 is supported (PEFT drops the LoRA input during training; the "
                       "analytic backward has no dropout mask yet)", o->lora_dropout);
    if (o->loss_type != OBJ_LOSS_SIGMOID && o->label_smoothing > 0)
        return err_set(err, "--label-smoothing applies to --loss-type sigmoid only");
    return true;
}

void train_print_legend(const TrainOptions *o, FILE *to) {
    fprintf(to, "lpoi train: columns: loss = the objective (batch mean)%s; margin = beta*(log-ratio chosen - log-ratio "
            "rejected); lr = this step's learning rate; |g| = gradient norm before clipping\n",
            obj_uses_list(o->objective) ? "; list = its listwise Plackett-Luce term; full = share of this step's lists "
                                          "ranked fully right, S_1 > ... > S_L (chance 1/L!)" : "");
}

bool train_warn_batch(const TrainOptions *o, int n, FILE *to) {
    long long eff = (long long)o->micro_batch * o->grad_accum;
    if (eff <= n) return false;
    fprintf(to, "lpoi train: warning: the effective batch %lld (--micro-batch %d x --grad-accum %d) exceeds the %d "
            "examples: each epoch is ONE optimiser step; lower --batch (e.g. --batch %d)\n", eff, o->micro_batch,
            o->grad_accum, n, n >= 8 ? n / 4 : 1);
    return true;
}

void train_print_usage(FILE *to) {
    fprintf(to,
            "usage: lpoi train --model DIR --data FILE --out DIR [options]\n"
            "\n"
            "LoRA preference training of LLaVA-1.5 with LPOI (listwise preference optimisation over images\n"
            "that hide more and more of the key object, arXiv 2505.21061), or the baselines mDPO and DPO.\n"
            "Per example: text DPO on (chosen, rejected) with the original image, the anchor term, and the\n"
            "Plackett-Luce loss of the order S_1 > ... > S_L of the chosen answer's implicit rewards on the L\n"
            "list images (lpoi) or the conditional term against a random 1-20%% crop (mdpo). The reference\n"
            "model is the same model with the adapter off; its log-probs are computed once, before the first\n"
            "step, and kept in OUT/ref_logps.safetensors.\n"
            "\n"
            "Options (defaults are the paper's):\n");
    for (size_t i = 0; i < LPOI_ARRAY_LEN(FLAGS); i++) {   // help = "METAVAR  description" (no metavar: flag)
        const char *h = FLAGS[i].help;
        if (!h) continue;
        int mv = (int)strcspn(h, " ");
        const char *desc = h + mv;
        while (*desc == ' ') desc++;
        char left[64];
        snprintf(left, sizeof left, "--%s%s%.*s", FLAGS[i].name, mv ? " " : "", mv, h);
        fprintf(to, "  %-24s %s\n", left, desc);
    }
    fprintf(to,
            "\n"
            "Data: one JSON object per line (or one JSON array: the mDPO / LPOI 10K release files) with\n"
            "  img_path (or image, or TRL's images: [path]), prompt (a bare question, mDPO's \"... USER: <image>\\n{q}\n"
            "  ASSISTANT:\", or TRL's [{\"role\": \"user\", \"content\": [{\"type\": \"image\"}, {\"type\": \"text\", ...}]}]),\n"
            "  chosen, rejected (strings, or TRL's one assistant message), and for lpoi: boxes [[x0,y0,x1,y1],...]\n"
            "  (the first box is masked; --box-format for xywh or normalised boxes), or --negatives MANIFEST,\n"
            "  or the released negatives beside the images (ours_cmask_until_list5/).\n"
            "HF/TRL/PEFT names work as flags and --config keys: --learning_rate, --lora_r, --lora_alpha,\n"
            "  --per_device_train_batch_size, --gradient_accumulation_steps, --num_train_epochs, --max_grad_norm,\n"
            "  --lr_scheduler_type, --loss_type, --warmup_ratio, --output_dir, target_modules (a list or a regex string), ...\n"
            "--loss-type ipo replaces only the text DPO term, as TRL 1.16: ((h_w/n_w - h_l/n_l) - 1/(2 beta))^2,\n"
            "  h = log-ratio to the reference of the chosen (w) or rejected (l) answer, n = its answer tokens; the\n"
            "  anchor, listwise (lpoi) and conditional (mdpo) terms keep summed log-probs and the sigmoid form.\n"
            "Bad records stop the run with FILE:LINE: field: reason (exit 1) unless --skip-bad.\n"
            "Text is data, not markup: prompt, chosen or rejected holding a special token's text (\"<image>\",\n"
            "  \"</s>\", ...) is a bad record (HF would read it as the control token itself).\n"
            "\n"
            "Output: OUT/log.jsonl (per step: losses, S_1..S_L, list accuracies, margin, lr, grad norm,\n"
            "tokens/s, examples/s), OUT/checkpoint-<step>/ (PEFT adapter + training_state.safetensors),\n"
            "OUT/adapter/ (the final PEFT adapter: PeftModel.from_pretrained(model, \"OUT/adapter\")).\n"
            "A NaN/Inf loss stops the run (exit 1) and keeps the last good checkpoint.\n"
            "\n"
            "Tools: --dump-logits FILE --adapter DIR --image IMG --prompt Q [--answer A] (with --model) writes\n"
            "input_ids, pixel_values and the logits with that adapter to FILE (safetensors), for\n"
            "tools/test_peft_roundtrip.py; a LLaVA or an Idefics2 folder (+ pixel_attention_mask);\n"
            "--write-adapter DIR2 also writes the adapter as lpoi writes them (the PEFT round trip).\n");
}
