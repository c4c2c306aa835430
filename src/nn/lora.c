// lora.c — the LoRA set (see lora.h).
#include "nn/lora.h"
#include "base/check.h"
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *lora_kind_name(const LoraModules *k, int kind) {
    const char *dot = strrchr(k->paths[kind], '.');
    return dot ? dot + 1 : k->paths[kind];
}

// PEFT's module name of (part, layer, kind): prefix + layer path + kind path.
static void module_name(char *buf, size_t cap, const char *prefix, const LoraModules *m, int layer, int kind) {
    char lp[64];
    snprintf(lp, sizeof lp, m->layer_fmt, layer);
    snprintf(buf, cap, "%s%s%s", prefix, lp, m->paths[kind]);
}

// PEFT target_modules as a string: re.fullmatch against each module name. Python's syntax is taken
// to POSIX extended regex (\d, \D, (?:, lazy quantifiers; inside [...] the class escapes \d \w \s
// and escaped characters, where POSIX reads a backslash literally); lookaround has no POSIX form.
static bool regex_compile(regex_t *re, const char *spec, LpoiErr *err) {
    size_t n = strlen(spec);
    char *pat = malloc_check(12 * n + 8), *o = pat;
    *o++ = '^';
    *o++ = '(';
    bool in_class = false;
    for (size_t i = 0; i < n; i++) {
        const char *c = spec + i;
        if (in_class) {
            if (c[0] == ']') { *o++ = ']'; in_class = false; continue; }
            if (c[0] != '\\') { *o++ = c[0]; continue; }
            i++;
            if (c[1] == 'd') o += sprintf(o, "0-9");
            else if (c[1] == 'w') o += sprintf(o, "[:alnum:]_");
            else if (c[1] == 's') o += sprintf(o, "[:space:]");
            else if (c[1] && !strchr("DWS]^-[", c[1])) *o++ = c[1];   // \. \_ \\ : the character itself
            else {
                free(pat);
                return err_set(err, "LoRA target regex \"%.80s\": \"\\%c\" inside [...] is not supported; write the "
                               "module names as a list instead", spec, c[1] ? c[1] : ' ');
            }
            continue;
        }
        if (c[0] == '[') {   // a class: "[^" and a leading "]" are taken as they are
            *o++ = '[';
            in_class = true;
            if (c[1] == '^') { *o++ = '^'; i++; c++; }
            if (c[1] == ']') { *o++ = ']'; i++; }
            continue;
        }
        if (c[0] == '\\' && (c[1] == 'd' || c[1] == 'D')) { o += sprintf(o, c[1] == 'd' ? "[0-9]" : "[^0-9]"); i++; }
        else if (c[0] == '\\' && c[1]) { *o++ = c[0]; *o++ = c[1]; i++; }
        else if (c[0] == '(' && c[1] == '?' && c[2] == ':') { *o++ = '('; i += 2; }
        else if (c[0] == '(' && c[1] == '?') {
            free(pat);
            return err_set(err, "LoRA target regex \"%.80s\": \"(?%c\" (lookaround, flags) is not supported; write the "
                           "module names as a list instead", spec, c[2] ? c[2] : ' ');
        } else if (c[0] == '?' && i > 0 && (c[-1] == '*' || c[-1] == '+' || c[-1] == '?' || c[-1] == '}') && (i < 2 || c[-2] != '\\')) {
            // lazy quantifier: the same set under full-match semantics
        } else *o++ = c[0];
    }
    *o++ = ')';
    *o++ = '$';
    *o = 0;
    int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
    free(pat);
    if (rc) {
        char why[128];
        regerror(rc, re, why, sizeof why);
        return err_set(err, "LoRA target regex \"%.80s\": %s", spec, why);
    }
    return true;
}

// PEFT's list semantics for one entry: the module name equals it or ends with "." + it.
static bool name_matches(const char *name, const char *item) {
    size_t n = strlen(name), k = strlen(item);
    return !strcmp(name, item) || (n > k && name[n - k - 1] == '.' && !strcmp(name + n - k, item));
}

// The kinds of each part whose every layer (n_layers[p] of them) `match` selects; an error when a
// kind is selected in some layers only (PEFT's layers_to_transform has no lpoi counterpart).
static bool select_kinds(const char *what, bool (*match)(const char *, const void *), const void *arg,
                         const LoraTargetSpace *ts, unsigned *bits, bool *any, LpoiErr *err) {
    for (int p = 0; p < ts->nparts; p++)
        for (int q = 0; q < ts->parts[p]->n; q++) {
            int layers = ts->parts[p]->layer_fmt[0] ? ts->n_layers[p] : 1, hits = 0;
            char name[256];
            for (int l = 0; l < layers; l++) {
                module_name(name, sizeof name, ts->prefixes[p], ts->parts[p], l, q);
                hits += match(name, arg);
            }
            if (hits && hits != layers) {
                module_name(name, sizeof name, ts->prefixes[p], ts->parts[p], 0, q);
                return err_set(err, "LoRA target %s selects %s in some layers only (%d of %d): lpoi adapts a "
                               "Linear in every layer or none", what, name, hits, layers);
            }
            if (hits) { bits[p] |= 1u << q; *any = true; }
        }
    return true;
}

static bool match_regex(const char *name, const void *re) { return regexec(re, name, 0, NULL, 0) == 0; }
static bool match_item(const char *name, const void *item) { return name_matches(name, item); }

bool lora_parse_targets(const char *spec, const LoraTargetSpace *ts, unsigned *bits, LpoiErr *err) {
    const LoraModules *const *parts = ts->parts;
    const char *const *quals = ts->quals;
    const int nparts = ts->nparts;
    memset(bits, 0, (size_t)nparts * sizeof *bits);
    if (!strcmp(spec, "all-linear")) {
        for (int p = 0; p < nparts; p++) bits[p] = lora_all(parts[p]);
        return true;
    }
    bool any = false;
    if (strpbrk(spec, "\\()[]*+?|^${}")) {   // a regex string, as PEFT's str target_modules
        if (!ts->n_layers) return err_set(err, "LoRA target regex \"%.80s\": the model's layer counts are needed", spec);
        regex_t re;
        if (!regex_compile(&re, spec, err)) return false;
        char what[120];
        snprintf(what, sizeof what, "regex \"%.80s\"", spec);
        bool ok = select_kinds(what, match_regex, &re, ts, bits, &any, err);
        for (const char *const *u = ts->unadapted; ok && any && u && *u; u++)   // PEFT would adapt it too
            if (match_regex(*u, &re))
                ok = err_set(err, "LoRA target regex \"%.80s\" also selects %s, which lpoi does not adapt (PEFT would)",
                             spec, *u);
        regfree(&re);
        if (ok && !any) {
            char example[256];
            module_name(example, sizeof example, ts->prefixes[nparts - 1], parts[nparts - 1], 0, 0);
            return err_set(err, "LoRA target regex \"%.80s\" full-matches no %s Linear (module names such as \"%s\")", spec,
                           ts->model, example);
        }
        return ok;
    }
    for (const char *s = spec; *s;) {
        const char *e = strchr(s, ',');
        size_t k = e ? (size_t)(e - s) : strlen(s);
        char item[96];
        if (k == 0 || k >= sizeof item) return err_set(err, "LoRA target list \"%.64s\" has an empty or overlong entry", spec);
        memcpy(item, s, k);
        item[k] = 0;
        int only = -1;   // a part qualifier
        const char *name = item;
        for (int p = 0; quals && p < nparts; p++)
            if (str_starts(item, quals[p])) { only = p; name = item + strlen(quals[p]); }
        bool hit = false;
        for (int p = 0; p < nparts; p++)
            for (int q = 0; q < parts[p]->n; q++)
                if ((only < 0 || only == p) && !strcmp(name, lora_kind_name(parts[p], q))) { bits[p] |= 1u << q; hit = true; }
        if (!hit && ts->n_layers) {   // PEFT's list semantics on the full module names ("self_attn.q_proj")
            char what[120];
            snprintf(what, sizeof what, "\"%s\"", item);
            if (!select_kinds(what, match_item, item, ts, bits, &hit, err)) return false;
        }
        if (!hit) {
            char names[400] = "";
            for (int p = 0; p < nparts; p++) {
                size_t n = strlen(names);
                snprintf(names + n, sizeof names - n, "%s%s", p ? "; " : "", quals ? quals[p] : "");
                for (int q = 0; q < parts[p]->n; q++) {
                    n = strlen(names);
                    snprintf(names + n, sizeof names - n, "%s%s", q || quals ? " " : "", lora_kind_name(parts[p], q));
                }
            }
            return err_set(err, "LoRA target \"%s\" names no %s Linear (%s; or all-linear, a dotted module path, or a "
                           "regex)", item, ts->model, names);
        }
        any = true;
        s += k + (e ? 1 : 0);
    }
    if (!any) return err_set(err, "no LoRA target given");
    return true;
}

static Linear *lin_at(const LoraSet *s, int l, int k) {
    return (Linear *)((char *)s->lin0 + (size_t)l * s->layer_stride) + k;
}

void lora_create(LoraSet *s, Backend *be, const LoraModules *modules, Linear *lin0, size_t layer_stride, int n_layer,
                 int r, float alpha, unsigned targets) {
    LPOI_ASSERT(r > 0 && (targets & ~lora_all(modules)) == 0);
    *s = (LoraSet){.modules = modules, .r = r, .alpha = alpha, .targets = targets, .n_layer = n_layer, .lin0 = lin0,
                   .layer_stride = layer_stride, .be = be};
    for (int l = 0; l < n_layer; l++)
        for (int k = 0; k < modules->n; k++)
            if (targets & (1u << k)) s->floats += (size_t)r * ((size_t)lin_at(s, l, k)->C + (size_t)lin_at(s, l, k)->OC);
    size_t bytes = (s->floats ? s->floats : 1) * sizeof(float);
    s->mem = be->alloc(be, bytes);
    s->grad = be->alloc(be, bytes);
    be->fill_zero(be, s->mem, bytes);
    be->fill_zero(be, s->grad, bytes);
    size_t off = 0;
    for (int l = 0; l < n_layer; l++)
        for (int k = 0; k < modules->n; k++)
            if (targets & (1u << k)) off += linear_lora_attach(lin_at(s, l, k), r, alpha, s->mem + off, s->grad + off);
    LPOI_ASSERT(off == s->floats);
}

void lora_free(LoraSet *s) {
    if (s->mem) s->be->free(s->be, s->mem);
    if (s->grad) s->be->free(s->be, s->grad);
    memset(s, 0, sizeof *s);
}

void lora_remove(LoraSet *s) {
    for (int l = 0; s->r > 0 && l < s->n_layer; l++)
        for (int k = 0; k < s->modules->n; k++)
            if (s->targets & (1u << k)) {
                Linear *lin = lin_at(s, l, k);
                lin->r = 0, lin->scale = 0;
                lin->lora_a = lin->lora_b = NULL;
                lin->dlora_a = lin->dlora_b = NULL;
            }
    lora_free(s);
}

size_t lora_count(const LoraSet *s) {
    return s->r > 0 ? 2 * (size_t)s->n_layer * (size_t)__builtin_popcount(s->targets) : 0;
}

void lora_tensor(const LoraSet *s, size_t i, const char *module, char *name, size_t cap, int64_t shape[2],
                 float **param, float **grad) {
    LPOI_ASSERT(i < lora_count(s));
    int per = __builtin_popcount(s->targets), l = (int)(i / 2 / (size_t)per), k = (int)(i / 2 % (size_t)per), kind = 0;
    bool is_b = i % 2;
    while (!(s->targets & (1u << kind)) || k-- > 0) kind++;   // the k-th targeted kind
    const Linear *lin = lin_at(s, l, kind);
    if (name) {
        char layer[64];
        snprintf(layer, sizeof layer, s->modules->layer_fmt, l);
        snprintf(name, cap, "base_model.model.%s%s%s.lora_%c.weight", module, layer, s->modules->paths[kind], is_b ? 'B' : 'A');
    }
    if (shape) {
        shape[0] = is_b ? lin->OC : lin->r;
        shape[1] = is_b ? lin->r : lin->C;
    }
    if (param) *param = (float *)(is_b ? lin->lora_b : lin->lora_a);
    if (grad) *grad = is_b ? lin->dlora_b : lin->dlora_a;
}

void lora_init(LoraSet *s, Rng *rng) {
    for (size_t i = 0; i < lora_count(s); i++) {
        int64_t shape[2];
        float *param;
        lora_tensor(s, i, NULL, NULL, 0, shape, &param, NULL);
        size_t k = (size_t)(shape[0] * shape[1]);
        float *h = malloc_check(k * sizeof *h);
        float bound = 1.0f / sqrtf((float)shape[1]);   // A: [r, in], fan_in = in
        for (size_t j = 0; j < k; j++) h[j] = i % 2 ? 0.0f : bound * (2.0f * rng_uniform(rng) - 1.0f);
        s->be->upload(s->be, param, h, k * sizeof *h);
        free(h);
    }
}

void lora_zero_grad(LoraSet *s) {
    if (s->grad) s->be->fill_zero(s->be, s->grad, (s->floats ? s->floats : 1) * sizeof(float));
}

const char *lora_find_module(const LoraSet *s, const WeightSource *src, const char *const *modules) {
    for (size_t k = 0; lora_count(s) && modules[k]; k++) {
        char name[256];
        lora_tensor(s, 0, modules[k], name, sizeof name, NULL, NULL, NULL);
        if (ws_find(src, name)) return modules[k];
    }
    return modules[0];
}

bool lora_plan(const LoraSet *s, const WeightSource *src, const char *module, const WeightRules *rules, WeightPlan *p) {
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < lora_count(s); i++) {
        int64_t shape[2];
        char name[256];
        lora_tensor(s, i, module, name, sizeof name, shape, NULL, NULL);
        SPEC2(&p->specs, NULL, shape[0], shape[1], "%s", name);
    }
    return weights_plan(p, src, rules);
}

float *lora_stage(const LoraSet *s, const WeightPlan *p, LpoiErr *err) {
    float *host = calloc_check(s->floats ? s->floats : 1, sizeof *host);   // the block's layout: A/B at their offsets
    for (size_t i = 0; i < p->specs.n; i++) {
        float *param;
        lora_tensor(s, i, "", NULL, 0, NULL, &param, NULL);
        if (!st_read_f32(p->found[i], host + (param - s->mem), err)) {
            free(host);
            return NULL;
        }
    }
    return host;
}

void lora_commit(LoraSet *s, float *staged) {
    if (s->floats) s->be->upload(s->be, s->mem, staged, s->floats * sizeof *staged);
    free(staged);
}

bool lora_upload(LoraSet *s, const WeightPlan *p, LpoiErr *err) {
    float *staged = lora_stage(s, p, err);
    if (staged) lora_commit(s, staged);
    return staged != NULL;
}

bool lora_load_planned(LoraSet *s, WeightPlan *p, const WeightSource *src, const char *title, LpoiErr *err) {
    char msg[480];
    bool ok = weights_clean(&p->errors);
    if (!ok)
        err_set(err, "%s: %s (r=%d) does not match the model: %s", ws_what(src, "adapter"), title, s->r,
                weights_errors_text(&p->errors, msg, sizeof msg));
    ok = ok && lora_upload(s, p, err);
    weights_plan_free(p);
    return ok;
}
