// adapter_io.c — LoRA adapters as PEFT folders, the layout PeftModel.save_pretrained writes and
// PeftModel.from_pretrained reads (tools/test_peft_roundtrip.py checks it against PEFT itself):
//   adapter_model.safetensors  every lora_A / lora_B under the names llava_lora_tensor gives
//                              (transformers 5 + PEFT: "base_model.model.model.language_model.layers.
//                              0.self_attn.q_proj.lora_A.weight"), fp32, __metadata__ {"format": "pt"}
//   adapter_config.json        LoraConfig fields that every PEFT since 0.5 knows (newer ones such as
//                              use_dora, exclude_modules are left out: they default to off, and old
//                              PEFT raised TypeError on unknown keys)
// target_modules is what PEFT itself saves for "all-linear" (the list of Linear names it matched)
// whenever list semantics give exactly our targets; otherwise (targets restricted to one part,
// e.g. only the language model's q_proj) a regex that PEFT full-matches against module names.
// Loading goes the other way: targets from the tensor names, r from the shapes, alpha from the config.
#include "lpoi/adapter_io.h"
#include "base/check.h"
#include "base/json.h"
#include "base/safetensors.h"
#include "base/file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PART_VISION, PART_PROJ, PART_TEXT, NPARTS };
static const char *const PART_MODULE[NPARTS] = {"model.vision_tower", "model.multi_modal_projector",
                                                "model.language_model"};
static const char *const PART_QUAL[NPARTS] = {"vision_tower.", "multi_modal_projector.", "language_model."};
static const char *const PROJ_SHORT[LLAVA_NPROJ] = {"linear_1", "linear_2"};

static const char *short_name(const char *path) {   // "self_attn.q_proj" → "q_proj"
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

static int part_count(int p) { return p == PART_VISION ? CLIP_NPROJ : p == PART_PROJ ? LLAVA_NPROJ : LLAMA_NPROJ; }
static const char *part_proj(int p, int k) {
    return p == PART_VISION ? short_name(CLIP_PROJ_PATH[k]) : p == PART_PROJ ? PROJ_SHORT[k] : short_name(LLAMA_PROJ_PATH[k]);
}
static unsigned part_bits(const LlavaLoraTargets *t, int p) {
    return p == PART_VISION ? t->vision : p == PART_PROJ ? t->projector : t->text;
}

static void append(char *buf, size_t cap, const char *fmt, const char *s) {
    size_t n = strlen(buf);
    if (n < cap) snprintf(buf + n, cap - n, fmt, s);
}

// One part of a model as target_modules sees it: its PEFT module prefix, its kinds' short names
// and the kinds adapted (bits).
typedef struct {
    const char *module;          // "model.language_model"
    const char *names[16];       // short kind names ("q_proj")
    int n;
    bool layers;                 // the kinds sit under numbered layers (regex ".*\\." before them)
    unsigned bits;
} TargetPart;
typedef bool (*ListCheck)(const char *spec, const void *ctx);   // list semantics give exactly the targets

// target_modules as JSON text: the sorted list of adapted short names when list semantics reproduce
// the targets (check), else a full-match regex over the parts' module names.
static void target_modules_json(const TargetPart *parts, int nparts, ListCheck check, const void *ctx, char *buf,
                                size_t cap) {
    // The names adapted anywhere, then check that list semantics reproduce the targets exactly.
    const char *names[64];
    int n = 0;
    for (int p = 0; p < nparts; p++)
        for (int k = 0; k < parts[p].n; k++)
            if (parts[p].bits & (1u << k)) {
                const char *s = parts[p].names[k];
                bool seen = false;
                for (int j = 0; j < n; j++) seen |= !strcmp(names[j], s);
                if (!seen) names[n++] = s;
            }
    for (int i = 1; i < n; i++)   // sorted, as PEFT's saved set usually reads
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *x = names[j]; names[j] = names[j - 1]; names[j - 1] = x;
        }
    char spec[512] = "";
    for (int i = 0; i < n; i++) append(spec, sizeof spec, i ? ",%s" : "%s", names[i]);
    bool list_ok = n > 0 && check(spec, ctx);
    buf[0] = 0;
    if (list_ok) {
        append(buf, cap, "%s", "[");
        for (int i = 0; i < n; i++) {
            append(buf, cap, i ? ", \"%s\"" : "\"%s\"", names[i]);
        }
        append(buf, cap, "%s", "]");
        return;
    }
    // Regex, JSON-escaped (each regex backslash is written as two).
    append(buf, cap, "%s", "\"(");
    bool first_part = true;
    for (int p = 0; p < nparts; p++) {
        unsigned bits = parts[p].bits;
        if (!bits) continue;
        if (!first_part) append(buf, cap, "%s", "|");
        first_part = false;
        char mod[64];
        snprintf(mod, sizeof mod, "%s", parts[p].module);
        for (char *c = mod; *c; c++)
            if (*c == '.') { append(buf, cap, "%s", "\\\\."); } else { char one[2] = {*c, 0}; append(buf, cap, "%s", one); }
        append(buf, cap, "%s", parts[p].layers ? "\\\\..*\\\\.(" : "\\\\.(");
        bool first = true;
        for (int k = 0; k < parts[p].n; k++)
            if (bits & (1u << k)) { append(buf, cap, first ? "%s" : "|%s", parts[p].names[k]); first = false; }
        append(buf, cap, "%s", ")");
    }
    append(buf, cap, "%s", ")\"");
}

static bool llava_list_check(const char *spec, const void *ctx) {
    const LlavaLoraTargets *t = ctx;
    LlavaLoraTargets back;
    LpoiErr e;
    return llava_lora_parse_targets(spec, NULL, &back, &e) && back.vision == t->vision &&
           back.projector == t->projector && back.text == t->text;
}

void adapter_target_modules_json(const LlavaLoraTargets *t, char *buf, size_t cap) {
    TargetPart parts[NPARTS];
    for (int p = 0; p < NPARTS; p++) {
        parts[p] = (TargetPart){.module = PART_MODULE[p], .n = part_count(p), .layers = p != PART_PROJ, .bits = part_bits(t, p)};
        for (int k = 0; k < parts[p].n; k++) parts[p].names[k] = part_proj(p, k);
    }
    target_modules_json(parts, NPARTS, llava_list_check, t, buf, cap);
}

// The module's last name part before ".lora_A.weight" / ".lora_B.weight" of tensor s into kind
// ("...self_attn.q_proj.lora_A.weight" → "q_proj"); false + "s: reason".
static bool lora_kind_of(const char *s, char *kind, size_t cap, LpoiErr *err) {
    const char *lora = strstr(s, ".lora_A.weight");
    if (!lora) lora = strstr(s, ".lora_B.weight");
    if (!lora || lora[14] != 0) return err_set(err, "%s: not a lora_A / lora_B weight", s);
    const char *start = lora;
    while (start > s && start[-1] != '.') start--;
    size_t len = (size_t)(lora - start);
    if (len == 0 || len >= cap) return err_set(err, "%s: no module name before lora_", s);
    memcpy(kind, start, len);
    kind[len] = 0;
    return true;
}

bool adapter_targets_from_names(const char *const *names, size_t n, LlavaLoraTargets *t, LpoiErr *err) {
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        const char *s = names[i];
        char proj[32];
        const char *lora = strstr(s, ".lora_A.weight");
        if (!lora) lora = strstr(s, ".lora_B.weight");
        if (!lora || lora[14] != 0) return err_set(err, "%s: not a lora_A / lora_B weight", s);
        int part = strstr(s, "vision_tower") ? PART_VISION
                   : strstr(s, "multi_modal_projector") ? PART_PROJ
                   : strstr(s, "language_model") ? PART_TEXT : -1;
        if (part < 0) return err_set(err, "%s: belongs to no part of LLaVA (vision_tower, multi_modal_projector, language_model)", s);
        if (!lora_kind_of(s, proj, sizeof proj, err)) return false;
        bool hit = false;
        for (int k = 0; k < part_count(part); k++)
            if (!strcmp(proj, part_proj(part, k))) {
                if (part == PART_VISION) t->vision |= 1u << k;
                else if (part == PART_PROJ) t->projector |= 1u << k;
                else t->text |= 1u << k;
                hit = true;
            }
        if (!hit) return err_set(err, "%s: \"%s\" is no Linear of the %s", s, proj, PART_QUAL[part]);
    }
    if (!t->vision && !t->projector && !t->text) return err_set(err, "no LoRA tensors");
    return true;
}

// Tensor i of a model's adapters: PEFT name, shape, parameter (backend).
typedef void (*AdapterTensorAt)(const void *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param);

// adapter_model.safetensors (n tensors, downloaded from be) and adapter_config.json (targets: the
// target_modules JSON text) into dir.
static bool save_folder(const void *m, Backend *be, size_t n, AdapterTensorAt at, const char *targets, const char *dir,
                        const char *base_model, int r, double alpha, LpoiErr *err) {
    StWriter *w = st_writer_new();
    float **host = calloc_check(n ? n : 1, sizeof *host);
    for (size_t i = 0; i < n; i++) {
        char name[256];
        int64_t shape[2];
        float *param;
        at(m, i, name, sizeof name, shape, &param);
        size_t k = (size_t)(shape[0] * shape[1]);
        host[i] = malloc_check(k * sizeof(float));
        be->download(be, host[i], param, k * sizeof(float));
        uint64_t sh[2] = {(uint64_t)shape[0], (uint64_t)shape[1]};
        st_writer_add_f32(w, name, 2, sh, host[i]);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    bool ok = st_writer_write(w, path, err);
    st_writer_free(w);
    for (size_t i = 0; i < n; i++) free(host[i]);
    free(host);
    if (!ok) return false;

    char base[1200];
    json_escape(base, sizeof base, base_model, strlen(base_model));
    char json[4800];
    int len = snprintf(json, sizeof json,
                       "{\n"
                       "  \"alpha_pattern\": {},\n"
                       "  \"auto_mapping\": null,\n"
                       "  \"base_model_name_or_path\": %s,\n"
                       "  \"bias\": \"none\",\n"
                       "  \"fan_in_fan_out\": false,\n"
                       "  \"inference_mode\": true,\n"
                       "  \"init_lora_weights\": true,\n"
                       "  \"layers_pattern\": null,\n"
                       "  \"layers_to_transform\": null,\n"
                       "  \"lora_alpha\": %.17g,\n"
                       "  \"lora_dropout\": 0.0,\n"
                       "  \"modules_to_save\": null,\n"
                       "  \"peft_type\": \"LORA\",\n"
                       "  \"r\": %d,\n"
                       "  \"rank_pattern\": {},\n"
                       "  \"revision\": null,\n"
                       "  \"target_modules\": %s,\n"
                       "  \"task_type\": \"CAUSAL_LM\"\n"
                       "}\n",
                       base, alpha, r, targets);
    if (len <= 0 || (size_t)len >= sizeof json) return err_set(err, "%s: adapter_config.json too long", dir);
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    return file_write_atomic(path, json, (size_t)len, err);
}

static void llava_at(const void *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param) {
    llava_lora_tensor(m, i, name, cap, shape, param, NULL);
}

bool adapter_save_dir(const LlavaModel *m, const char *dir, const char *base_model, int r, double alpha,
                      LpoiErr *err) {
    LlavaLoraTargets t = {m->vision.lora.targets, m->proj_lora.targets, m->lm.lora.targets};
    char targets[2048];
    adapter_target_modules_json(&t, targets, sizeof targets);
    return save_folder(m, m->be, llava_lora_count(m), llava_at, targets, dir, base_model, r, alpha, err);
}

bool adapter_config_read(const char *dir, int *r_out, double *alpha_out, LpoiErr *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    JsonDoc *doc = json_load_file(path, 1u << 20, err);
    if (!doc) return false;
    int64_t r;
    double alpha;
    bool ok = adapter_config_parse(json_root(doc), path, &r, &alpha, err);
    json_free(doc);
    *r_out = (int)r;
    *alpha_out = alpha;
    return ok;
}

// adapter_config.json (r, alpha) and the opened adapter_model.safetensors (path) of an adapter folder,
// whose every lora_A is [r, in] (the config's r, or the file is not that adapter).
static bool adapter_open(const char *dir, int *r, double *alpha, StFile *f, char *path, size_t cap, LpoiErr *err) {
    if (!adapter_config_read(dir, r, alpha, err)) return false;
    snprintf(path, cap, "%s/adapter_model.safetensors", dir);
    if (!st_open(f, path, err)) return false;
    for (size_t i = 0; i < f->count; i++)
        if (strstr(f->tensors[i].name, ".lora_A.") && (f->tensors[i].ndim != 2 || f->tensors[i].shape[0] != (uint64_t)*r)) {
            err_set(err, "%s: %s: shape does not have r = %d rows", path, f->tensors[i].name, *r);
            st_close(f);
            return false;
        }
    return true;
}

bool adapter_load_dir(LlavaModel *m, const char *dir, LpoiErr *err) {
    int r;
    double alpha;
    char path[4200];
    StFile f;
    if (!adapter_open(dir, &r, &alpha, &f, path, sizeof path, err)) return false;
    bool ok;
    const char **names = malloc_check((f.count ? f.count : 1) * sizeof *names);
    for (size_t i = 0; i < f.count; i++) names[i] = f.tensors[i].name;
    LlavaLoraTargets t;
    LpoiErr e = {{0}};
    ok = adapter_targets_from_names(names, f.count, &t, &e);
    free(names);
    if (!ok) err_set(err, "%s: %s", path, e.msg);
    if (ok) {
        llava_lora_create(m, (int)r, (float)alpha, &t);
        WeightSource src = {.file = &f, .what = path};
        ok = llava_lora_load(m, &src, err);
    }
    st_close(&f);
    return ok;
}

bool adapter_load_llama_dir(LlamaModel *m, const char *dir, LpoiErr *err) {
    int r;
    double alpha;
    char path[4200];
    StFile f;
    if (!adapter_open(dir, &r, &alpha, &f, path, sizeof path, err)) return false;
    // Targets from the names' last module part ("...self_attn.q_proj.lora_A.weight" → q_proj);
    // llama_lora_load then checks every layer, shape and stray tensor.
    unsigned targets = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < f.count; i++) {
        const char *s = f.tensors[i].name, *lora = strstr(s, ".lora_A.weight");
        if (!lora) lora = strstr(s, ".lora_B.weight");
        if (!lora || lora[14] != 0) { ok = err_set(err, "%s: %s: not a lora_A / lora_B weight", path, s); break; }
        if (strstr(s, "vision_tower") || strstr(s, "multi_modal_projector")) {
            ok = err_set(err, "%s: %s: an adapter of a LLaVA's vision part; give an image (--image) to use it", path, s);
            break;
        }
        if (strstr(s, "model.vision_model.") || strstr(s, "model.connector.")) {
            ok = err_set(err, "%s: %s: an adapter of an Idefics2's vision model or connector; give an image (--image) to use it",
                         path, s);
            break;
        }
        int hit = -1;
        for (int k = 0; k < LLAMA_NPROJ; k++) {
            size_t n = strlen(LLAMA_PROJ_PATH[k]);
            if ((size_t)(lora - s) >= n + 1 && lora[-(ptrdiff_t)n - 1] == '.' && !strncmp(lora - n, LLAMA_PROJ_PATH[k], n)) hit = k;
        }
        if (hit < 0) { ok = err_set(err, "%s: %s: names no LLaMA Linear (self_attn.q_proj ... mlp.down_proj)", path, s); break; }
        targets |= 1u << hit;
    }
    if (ok && !targets) ok = err_set(err, "%s: no LoRA tensors", path);
    if (ok) {
        llama_lora_create(m, r, (float)alpha, targets);
        WeightSource src = {.file = &f, .what = path};
        ok = llama_lora_load(m, &src, err);
    }
    st_close(&f);
    return ok;
}

// ---- Idefics2 ----------------------------------------------------------------------------------------
// PEFT module names of the four parts (transformers 5.24 Idefics2ForConditionalGeneration), their
// qualifiers in target specs, and their kinds.
enum { I2_PART_VISION, I2_PART_MODALITY, I2_PART_PERCEIVER, I2_PART_TEXT, I2_NPARTS };
static const char *const I2_MODULE[I2_NPARTS] = {"model.vision_model", "model.connector.modality_projection",
                                                 "model.connector.perceiver_resampler", "model.text_model"};
static const char *const I2_QUAL[I2_NPARTS] = {"vision_model.", "modality_projection.", "perceiver_resampler.",
                                               "text_model."};
static const LoraModules *i2_kinds(int p) {
    return p == I2_PART_VISION ? &CLIP_LORA_MODULES : p == I2_PART_MODALITY ? &MODALITY_LORA_MODULES
         : p == I2_PART_PERCEIVER ? &PERCEIVER_LORA_MODULES : &LLAMA_LORA_MODULES;
}
static unsigned i2_bits(const Idefics2LoraTargets *t, int p) {
    return p == I2_PART_VISION ? t->vision : p == I2_PART_MODALITY ? t->modality : p == I2_PART_PERCEIVER ? t->perceiver : t->text;
}

typedef struct { const Idefics2LoraTargets *t; const Idefics2Config *cfg; } I2Check;
static bool idefics2_list_check(const char *spec, const void *ctx) {
    const I2Check *c = ctx;
    Idefics2LoraTargets back;
    LpoiErr e;
    return idefics2_lora_parse_targets(spec, c->cfg, &back, &e) && back.vision == c->t->vision &&
           back.modality == c->t->modality && back.perceiver == c->t->perceiver && back.text == c->t->text;
}

void adapter_idefics2_target_modules_json(const Idefics2LoraTargets *t, const Idefics2Config *cfg, char *buf, size_t cap) {
    TargetPart parts[I2_NPARTS];
    for (int p = 0; p < I2_NPARTS; p++) {
        const LoraModules *k = i2_kinds(p);
        parts[p] = (TargetPart){.module = I2_MODULE[p], .n = k->n, .layers = k->layer_fmt[0] != 0, .bits = i2_bits(t, p)};
        for (int j = 0; j < k->n; j++) parts[p].names[j] = lora_kind_name(k, j);
    }
    I2Check c = {t, cfg};
    target_modules_json(parts, I2_NPARTS, idefics2_list_check, &c, buf, cap);
}

static void idefics2_at(const void *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param) {
    idefics2_lora_tensor(m, i, name, cap, shape, param, NULL);
}

bool adapter_save_idefics2_dir(const Idefics2Model *m, const char *dir, const char *base_model, int r, double alpha,
                               LpoiErr *err) {
    Idefics2LoraTargets t = {m->vision.lora.targets, m->connector.mproj_lora.targets, m->connector.lora.targets,
                             m->lm.lora.targets};
    char targets[2048];
    adapter_idefics2_target_modules_json(&t, &m->cfg, targets, sizeof targets);
    return save_folder(m, m->be, idefics2_lora_count(m), idefics2_at, targets, dir, base_model, r, alpha, err);
}

bool adapter_idefics2_targets_from_names(const char *const *names, size_t n, const Idefics2Config *cfg,
                                         Idefics2LoraTargets *t, LpoiErr *err) {
    // Each tensor's part and kind as a qualified spec entry ("text_model.q_proj"), then the target
    // parser (list semantics per part) turns them into bits; idefics2_lora_load checks the rest.
    unsigned seen[I2_NPARTS] = {0};
    for (size_t i = 0; i < n; i++) {
        const char *s = names[i];
        char kind[32];
        if (!lora_kind_of(s, kind, sizeof kind, err)) return false;
        int part = -1;
        for (int p = 0; p < I2_NPARTS && part < 0; p++)
            if (strstr(s, I2_MODULE[p])) part = p;
        if (part < 0)
            return err_set(err, "%s: belongs to no part of Idefics2 (model.vision_model, model.connector.modality_projection, "
                                "model.connector.perceiver_resampler, model.text_model)", s);
        const LoraModules *k = i2_kinds(part);
        int hit = -1;
        for (int j = 0; j < k->n; j++)
            if (!strcmp(kind, lora_kind_name(k, j))) hit = j;
        if (hit < 0) return err_set(err, "%s: \"%s\" is no Linear of the %s", s, kind, I2_QUAL[part]);
        seen[part] |= 1u << hit;
    }
    char spec[2048] = "";
    for (int p = 0; p < I2_NPARTS; p++)
        for (int j = 0; j < i2_kinds(p)->n; j++)
            if (seen[p] & (1u << j)) {
                size_t len = strlen(spec);
                snprintf(spec + len, sizeof spec - len, "%s%s%s", len ? "," : "", I2_QUAL[p], lora_kind_name(i2_kinds(p), j));
            }
    if (!spec[0]) return err_set(err, "no LoRA tensors");
    return idefics2_lora_parse_targets(spec, cfg, t, err);
}

bool adapter_load_idefics2_dir(Idefics2Model *m, const char *dir, LpoiErr *err) {
    int r;
    double alpha;
    char path[4200];
    StFile f;
    if (!adapter_open(dir, &r, &alpha, &f, path, sizeof path, err)) return false;
    const char **names = malloc_check((f.count ? f.count : 1) * sizeof *names);
    for (size_t i = 0; i < f.count; i++) names[i] = f.tensors[i].name;
    Idefics2LoraTargets t;
    LpoiErr e = {{0}};
    bool ok = adapter_idefics2_targets_from_names(names, f.count, &m->cfg, &t, &e);
    free(names);
    if (!ok) err_set(err, "%s: %s", path, e.msg);
    if (ok) {
        idefics2_lora_create(m, r, (float)alpha, &t);
        WeightSource src = {.file = &f, .what = path};
        ok = idefics2_lora_load(m, &src, err);
    }
    st_close(&f);
    return ok;
}
