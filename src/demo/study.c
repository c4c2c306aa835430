// study.c — `lpoi study` (study.h): base → DPO / mDPO / LPOI adapters in the demo world over several
// seeds, held-out descriptions scored with CHAIR, mean ± standard deviation per variant.
#include "demo/study.h"
#include "demo/synth.h"
#include "demo/tiny_model.h"
#include "eval/chair.h"
#include "lpoi/generate_llava.h"
#include "lpoi/negatives.h"
#include "lpoi/trainer.h"
#include "image/plot.h"
#include "backend/backend.h"
#include "base/check.h"
#include "base/file.h"
#include "base/json.h"
#include "base/strbuf.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

// What is trained, in table order. L and the visual prompt matter to LPOI only (the baselines are
// trained on the same records; mDPO's crop and DPO ignore the lists).
typedef struct {
    const char *name, *label;   // folder / table name, plot label (upper case, short)
    bool trained;
    ObjKind objective;
    int list_size;
    bool visual_prompt;
    const char *what;
} StudyVariant;

static const StudyVariant VARIANTS[] = {
    {"base", "BASE", false, OBJ_LPOI, 0, false, "the random base model, no training"},
    {"dpo", "DPO", true, OBJ_DPO, 5, true, "text DPO"},
    {"mdpo", "MDPO", true, OBJ_MDPO, 5, true, "mDPO: DPO + anchor + image-conditional crop term"},
    {"lpoi", "LPOI", true, OBJ_LPOI, 5, true, "LPOI, L = 5, visual prompt on (the paper's setting)"},
    {"lpoi-L3", "L3", true, OBJ_LPOI, 3, true, "LPOI, list size 3"},
    {"lpoi-L4", "L4", true, OBJ_LPOI, 4, true, "LPOI, list size 4"},
    {"lpoi-novp", "NOVP", true, OBJ_LPOI, 5, false, "LPOI, L = 5, visual prompt off"},
};
#define NV ((int)(sizeof VARIANTS / sizeof *VARIANTS))

// The metrics of one (variant, seed), all fractions in [0, 1] but `mentions`.
// M_FIRST_COLOUR / M_FIRST_SHAPE: of the answers that name an object, how often the first one named
// has the main object's colour / shape (which of the two the model gets wrong when it hallucinates).
enum { M_CHAIR_S, M_CHAIR_I, M_SHAPE_CHAIR_I, M_MAIN, M_COVER, M_FIRST_COLOUR, M_FIRST_SHAPE, M_MENTIONS, NM };
static const char *const METRIC_KEYS[NM] = {"chair_s", "chair_i", "shape_chair_i", "main_named", "cover",
                                            "first_colour_right", "first_shape_right", "mentions"};
static const char *const METRIC_HEADS[NM] = {"CHAIR_s", "CHAIR_i", "CHAIR_i (shape)", "main object named", "Cover",
                                             "1st named: colour right", "1st named: shape right",
                                             "objects / answer"};

StudyArgs study_defaults(bool quick) {
    if (quick)
        return (StudyArgs){.device = "cpu", .seeds = 2, .steps = 3, .examples = 16, .heldout = 6, .batch = 4,
                           .image_size = 32, .patch_size = 16, .max_new = 8, .lr = 6e-3, .beta = 0.1};
    return (StudyArgs){.device = "cpu", .seeds = 3, .steps = 500, .examples = 1024, .heldout = 200, .batch = 8,
                       .image_size = 64, .patch_size = 16, .max_new = 16, .lr = 6e-3, .beta = 0.1};
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static SynthOptions study_world(const StudyArgs *a, int seed) {
    SynthOptions so = synth_options_default();
    so.image_size = a->image_size;
    so.n_train = a->examples;
    so.n_heldout = a->heldout;
    so.seed = (uint64_t)seed;
    return so;
}

// ---- the vocabularies: the world's objects in the CHAIR synonym format ----
// CHAIR (Rohrbach et al.) matches single words, and two-word objects only from its fixed COCO list,
// so an object "red circle" is glued into one word on both sides: the vocabulary holds "redcircle,
// redcircles" and study_glue_objects rewrites "Red circles" as "Redcircles" before CHAIR reads the text.
// The shape vocabulary ("circle, circles") reads the text as it is.
static ChairVocab *world_vocab(bool with_colour, LpoiErr *err) {
    StrBuf b = {0};
    for (int c = 0; c < (with_colour ? SYNTH_NCOLOURS : 1); c++)
        for (int s = 0; s < SYNTH_NSHAPES; s++) {
            const char *col = with_colour ? SYNTH_COLOUR_NAMES[c] : "";
            strbuf_printf(&b, "%s%s, %s%ss\n", col, SYNTH_SHAPE_NAMES[s], col, SYNTH_SHAPE_NAMES[s]);
        }
    ChairVocab *v = chair_vocab_parse(b.s, with_colour ? "the demo world's objects" : "the demo world's shapes", err->msg,
                                      sizeof err->msg);
    free(b.s);
    return v;
}

static bool word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

char *study_glue_objects(const char *text) {
    size_t n = strlen(text);
    char *out = malloc_check(n + 1), *o = out;
    for (size_t i = 0; i < n;) {
        size_t skip = 0;
        for (int c = 0; !skip && c < SYNTH_NCOLOURS && (i == 0 || !word_char(text[i - 1])); c++) {
            size_t cl = strlen(SYNTH_COLOUR_NAMES[c]);
            if (strncasecmp(text + i, SYNTH_COLOUR_NAMES[c], cl) || text[i + cl] != ' ') continue;
            for (int s = 0; s < SYNTH_NSHAPES; s++) {
                size_t sl = strlen(SYNTH_SHAPE_NAMES[s]), e = i + cl + 1 + sl;
                if (!strncasecmp(text + i + cl + 1, SYNTH_SHAPE_NAMES[s], sl) &&
                    (!word_char(text[e]) || ((text[e] == 's' || text[e] == 'S') && !word_char(text[e + 1])))) {
                    skip = cl;
                    break;
                }
            }
        }
        if (skip) {
            memcpy(o, text + i, skip);   // the colour, then the shape right after it
            o += skip;
            i += skip + 1;
        } else {
            *o++ = text[i++];
        }
    }
    *o = 0;
    return out;
}

static int object_id(const ChairVocab *v, const SynthObject *o, bool with_colour) {
    char name[64];
    snprintf(name, sizeof name, "%s%s", with_colour ? SYNTH_COLOUR_NAMES[o->colour] : "", SYNTH_SHAPE_NAMES[o->shape]);
    int id = chair_vocab_find(v, name);
    LPOI_ASSERT(id >= 0);
    return id;
}

// ---- visual prompt off: the lists as a negatives manifest (the trainer draws them with it on) ----
static bool write_lists_without_prompt(const SynthOptions *so, int L, const char *dir, char **manifest, LpoiErr *err) {
    if (!file_mkdir_p(dir, err)) return false;
    NegOptions no = negatives_default_options();
    no.visual_prompt = false;
    StrBuf m = {0};
    bool ok = true;
    Image list[NEGATIVES_MAX_LIST];
    for (int i = 0; ok && i < so->n_train; i++) {
        SynthExample ex;
        synth_example(so, SYNTH_TRAIN, i, &ex);
        negatives_render_list(&ex.image, ex.objects[0].box, L, &no, list);
        strbuf_printf(&m, "{\"line\": %d, \"img_path\": \"images/train_%05d.png\", \"images\": [", i + 1, i);
        for (int k = 0; k < L; k++) {
            char rel[64];
            snprintf(rel, sizeof rel, "%05d_%d.png", i, k + 1);
            char *p = file_path_join(dir, rel);
            if (ok && k > 0) ok = image_write_png(&list[k], p, err);   // image 1 is the original itself
            free(p);
            strbuf_printf(&m, "%s\"%s\"", k ? ", " : "", rel);
            image_free(&list[k]);
        }
        strbuf_str(&m, "]}\n");
        synth_example_free(&ex);
    }
    *manifest = file_path_join(dir, "manifest.jsonl");
    if (ok) ok = file_write_atomic(*manifest, m.s, m.len, err);
    free(m.s);
    return ok;
}

// ---- scoring one variant's descriptions ----
typedef struct {
    ChairVocab *objects, *shapes;
} Vocabs;

static void score_answers(const Vocabs *v, const SynthOptions *so, char *const *answers, double *metric) {
    ChairCount obj = {0}, shp = {0};
    long main_named = 0, truths = 0, covered = 0, naming = 0, colour_right = 0, shape_right = 0;
    int ids[64], truth[SYNTH_MAX_OBJECTS], sids[64], struth[SYNTH_MAX_OBJECTS];
    for (int i = 0; i < so->n_heldout; i++) {
        SynthExample ex;
        synth_example(so, SYNTH_HELDOUT, i, &ex);
        for (int k = 0; k < ex.n_objects; k++) {
            truth[k] = object_id(v->objects, &ex.objects[k], true);
            struth[k] = object_id(v->shapes, &ex.objects[k], false);
        }
        char *glued = study_glue_objects(answers[i]);
        int n = LPOI_MIN(chair_mentions(v->objects, glued, ids, 64), 64);
        free(glued);
        int ns = LPOI_MIN(chair_mentions(v->shapes, answers[i], sids, 64), 64);
        chair_count_add(&obj, ids, n, truth, ex.n_objects);
        chair_count_add(&shp, sids, ns, struth, ex.n_objects);
        for (int k = 0; k < ex.n_objects; k++) {
            bool named = false;
            for (int j = 0; j < n; j++) named |= ids[j] == truth[k];
            covered += named;
            if (k == 0) main_named += named;
        }
        truths += ex.n_objects;
        if (n > 0) {   // the vocabulary's names are "<colour><shape>"
            const char *first = chair_vocab_name(v->objects, ids[0]), *col = SYNTH_COLOUR_NAMES[ex.objects[0].colour];
            const char *shape = SYNTH_SHAPE_NAMES[ex.objects[0].shape];
            size_t fl = strlen(first), sl = strlen(shape);
            naming++;
            colour_right += !strncmp(first, col, strlen(col));
            shape_right += fl >= sl && !strcmp(first + fl - sl, shape);
        }
        synth_example_free(&ex);
    }
    int N = so->n_heldout;
    metric[M_CHAIR_S] = chair_s(&obj);
    metric[M_CHAIR_I] = obj.mentions ? chair_i(&obj) : 0;
    metric[M_SHAPE_CHAIR_I] = shp.mentions ? chair_i(&shp) : 0;
    metric[M_MAIN] = N ? (double)main_named / N : 0;
    metric[M_COVER] = truths ? (double)covered / truths : 0;
    metric[M_FIRST_COLOUR] = naming ? (double)colour_right / naming : 0;
    metric[M_FIRST_SHAPE] = naming ? (double)shape_right / naming : 0;
    metric[M_MENTIONS] = N ? (double)obj.mentions / N : 0;
}

// Greedy descriptions of every held-out picture with the session's current adapter, kept in answers
// and written to path as JSONL ({"index", "objects": [...], "answer"}).
static bool describe(LlavaSession *s, const StudyArgs *a, const SynthOptions *so, const char *data_dir, const char *path,
                     char **answers, LpoiErr *err) {
    StrBuf out = {0};
    bool ok = true;
    for (int i = 0; ok && i < so->n_heldout; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "images/heldout_%05d.png", i);
        char *img = file_path_join(data_dir, rel);
        LlavaGenArgs g = {.image = img, .prompt = SYNTH_PROMPT, .max_new = a->max_new, .temperature = 0, .top_p = 1};
        LlavaAnswer ans;
        if (!llava_session_answer(s, &g, &ans, NULL, err)) {
            ok = false;
        } else {
            answers[i] = strndup(ans.text, ans.text_len);
            if (!answers[i]) LPOI_DIE("out of memory");
            SynthExample ex;
            synth_example(so, SYNTH_HELDOUT, i, &ex);
            strbuf_printf(&out, "{\"index\": %d, \"objects\": [", i);
            for (int k = 0; k < ex.n_objects; k++)
                strbuf_printf(&out, "%s\"%s %s\"", k ? ", " : "", SYNTH_COLOUR_NAMES[ex.objects[k].colour],
                              SYNTH_SHAPE_NAMES[ex.objects[k].shape]);
            strbuf_str(&out, "], \"answer\": ");
            // The tiny model can emit any byte: keep the line valid JSON.
            for (size_t k = 0; answers[i][k]; k++)   // strndup stopped at any NUL byte
                if ((unsigned char)answers[i][k] >= 0x80 || answers[i][k] < 0x20) answers[i][k] = '?';
            strbuf_json_str(&out, answers[i]);
            strbuf_str(&out, "}\n");
            synth_example_free(&ex);
            llava_answer_free(&ans);
        }
        free(img);
    }
    if (ok) ok = file_write_atomic(path, out.s, out.len, err);
    free(out.s);
    return ok;
}

// ---- one seed ----
// Trains every variant and describes the held-out pictures with each (answers[vi][i]), before any
// scoring: a scorer failure leaves the runs and their descriptions on disk.
static bool run_seed(const StudyArgs *a, int seed, char **answers, LpoiErr *err) {
    char name[32];
    snprintf(name, sizeof name, "seed-%d", seed);
    char *dir = file_path_join(a->out, name), *data = file_path_join(dir, "data"), *model = file_path_join(dir, "model");
    char *novp = file_path_join(dir, "lists-novp"), *manifest = NULL, *train_jsonl = NULL, *heldout_jsonl = NULL;
    LlavaSession *s = NULL;
    SynthOptions so = study_world(a, seed);
    TinyModelOptions mo = tiny_model_default();
    mo.image_size = a->image_size;
    mo.patch_size = a->patch_size;
    mo.words = SYNTH_WORDS;
    mo.seed = (uint64_t)seed;
    double t = now_s();
    bool ok = file_mkdir_p(dir, err) && synth_write(&so, data, &train_jsonl, &heldout_jsonl, err) &&
              tiny_model_write(&mo, model, err) && write_lists_without_prompt(&so, 5, novp, &manifest, err);
    if (ok && !a->quiet) printf("seed %d: world and base model in %s (%.1f s)\n", seed, dir, now_s() - t);
    for (int vi = 0; ok && vi < NV; vi++) {
        const StudyVariant *var = &VARIANTS[vi];
        char *run = file_path_join(dir, var->name), *adapter = file_path_join(run, "adapter");
        char *desc = file_path_join(run, "descriptions.jsonl");
        t = now_s();
        if (var->trained) {
            TrainOptions o;   // lpoi demo's recipe
            train_options_default(&o);
            o.model_dir = model;
            o.data_path = train_jsonl;
            o.negatives = var->visual_prompt ? NULL : manifest;
            o.out_dir = run;
            o.device = a->device;
            o.objective = var->objective;
            o.beta = a->beta;
            o.list_size = var->list_size;
            o.lora_r = 8;
            o.lr = a->lr;
            o.warmup_steps = a->steps / 20;
            o.micro_batch = a->batch;
            o.grad_accum = 1;
            o.epochs = 1000000;   // max_steps decides
            o.max_steps = a->steps;
            o.seed = (uint64_t)seed;
            o.save_every = 0;
            o.keep_checkpoints = 1;
            o.quiet = true;
            TrainResult res = {0};
            TrainExit trc = train_run_result(&o, &res);
            if (trc != TRAIN_OK) ok = err_set(err, "seed %d: training %s failed (exit %d; its messages are above)", seed, var->name, trc);
        } else {
            ok = file_mkdir_p(run, err);
        }
        if (ok && !s) ok = (s = llava_session_open(model, a->device, NULL, err)) != NULL;
        if (ok) ok = llava_session_set_adapter(s, var->trained ? adapter : NULL, err);
        if (ok) ok = describe(s, a, &so, data, desc, answers + (size_t)vi * a->heldout, err);
        if (ok && !a->quiet) {
            printf("seed %d: %-9s %s in %.1f s; e.g. \"%s\"\n", seed, var->name, var->trained ? "trained and described" : "described",
                   now_s() - t, answers[(size_t)vi * a->heldout]);
            fflush(stdout);
        }
        free(run); free(adapter); free(desc);
    }
    llava_session_close(s);
    free(dir); free(data); free(model); free(novp); free(manifest); free(train_jsonl); free(heldout_jsonl);
    return ok;
}

// --rescore: the answers of a finished (or scorer-failed) study from its descriptions.jsonl files.
static bool read_seed(const StudyArgs *a, int seed, char **answers, LpoiErr *err) {
    bool ok = true;
    for (int vi = 0; ok && vi < NV; vi++) {
        char rel[96];
        snprintf(rel, sizeof rel, "seed-%d/%s/descriptions.jsonl", seed, VARIANTS[vi].name);
        char *path = file_path_join(a->out, rel);
        size_t size;
        char *text = file_read_all(path, (size_t)1 << 30, &size, err);
        int i = 0;
        for (char *p = text, *nl; ok && p && (nl = memchr(p, '\n', (size_t)(text + size - p))); p = nl + 1, i++) {
            JsonDoc *d = i < a->heldout ? json_parse(p, (size_t)(nl - p), err) : NULL;
            const char *ans = d ? json_get_str(json_root(d), "answer") : NULL;
            if (ans) answers[(size_t)vi * a->heldout + i] = strdup(ans);
            else ok = err_set(err, "%s:%d: no \"answer\" (or more than --heldout %d lines)", path, i + 1, a->heldout);
            json_free(d);
        }
        if (ok && text && i != a->heldout) ok = err_set(err, "%s: %d answers, --heldout is %d", path, i, a->heldout);
        if (!text) ok = false;
        free(text);
        free(path);
    }
    return ok;
}

// ---- summary: mean ± sample standard deviation over seeds ----
static void mean_sd(const double *metric, int seeds, int vi, int mi, double *mean, double *sd) {
    double s = 0, q = 0;
    for (int r = 0; r < seeds; r++) s += metric[((size_t)r * NV + vi) * NM + mi];
    *mean = s / seeds;
    for (int r = 0; r < seeds; r++) {
        double d = metric[((size_t)r * NV + vi) * NM + mi] - *mean;
        q += d * d;
    }
    *sd = seeds > 1 ? sqrt(q / (seeds - 1)) : 0;
}

static void fmt_cell(char *buf, size_t cap, int mi, double mean, double sd) {
    if (mi == M_MENTIONS) snprintf(buf, cap, "%.2f ± %.2f", mean, sd);
    else snprintf(buf, cap, "%.1f ± %.1f", 100 * mean, 100 * sd);
}

static char *table_markdown(const StudyArgs *a, const double *metric) {
    StrBuf b = {0};
    strbuf_printf(&b, "| variant | what |");
    for (int m = 0; m < NM; m++) strbuf_printf(&b, " %s%s |", METRIC_HEADS[m], m == M_MENTIONS ? "" : " (%)");
    strbuf_str(&b, "\n|---|---|");
    for (int m = 0; m < NM; m++) strbuf_str(&b, "---|");
    strbuf_str(&b, "\n");
    for (int v = 0; v < NV; v++) {
        strbuf_printf(&b, "| %s | %s |", VARIANTS[v].name, VARIANTS[v].what);
        for (int m = 0; m < NM; m++) {
            double mean, sd;
            char cell[48];
            mean_sd(metric, a->seeds, v, m, &mean, &sd);
            fmt_cell(cell, sizeof cell, m, mean, sd);
            strbuf_printf(&b, " %s |", cell);
        }
        strbuf_str(&b, "\n");
    }
    strbuf_printf(&b, "\nMean ± sample standard deviation over %d seed%s (world, base model and training change with "
                  "the seed); %d held-out pictures per seed; %d training steps of %d examples, lr %g, beta %g, LoRA r 8.\n"
                  "CHAIR over the world's objects (colour + shape: \"red circle\"); CHAIR_i (shape) counts a wrong shape "
                  "only. Lower CHAIR is better; \"main object named\" and Cover (true objects named) are higher-better; \"1st "
                  "named\": of the answers that name an object, how often the first one has the main object's colour / "
                  "shape (chance: 1/6 and 1/3 for a blind guess). CHAIR is 0 when nothing is named.\n",
                  a->seeds, a->seeds == 1 ? "" : "s", a->heldout, a->steps, a->batch, a->lr, a->beta);
    return b.s;
}

static char *table_json(const StudyArgs *a, const double *metric, double seconds) {
    StrBuf b = {0};
    strbuf_printf(&b, "{\"seeds\": %d, \"steps\": %d, \"examples\": %d, \"heldout\": %d, \"batch\": %d, \"lr\": %g, "
                  "\"beta\": %g, \"image_size\": %d, \"max_new\": %d, \"seconds\": %.1f,\n \"spread\": \"sample standard deviation\",\n"
                  " \"variants\": [",
                  a->seeds, a->steps, a->examples, a->heldout, a->batch, a->lr, a->beta, a->image_size, a->max_new, seconds);
    for (int v = 0; v < NV; v++) {
        strbuf_printf(&b, "%s\n  {\"name\": \"%s\", \"what\": ", v ? "," : "", VARIANTS[v].name);
        strbuf_json_str(&b, VARIANTS[v].what);
        for (int m = 0; m < NM; m++) {
            double mean, sd;
            mean_sd(metric, a->seeds, v, m, &mean, &sd);
            strbuf_printf(&b, ",\n   \"%s\": {\"mean\": %.6g, \"sd\": %.6g, \"per_seed\": [", METRIC_KEYS[m], mean, sd);
            for (int r = 0; r < a->seeds; r++) strbuf_printf(&b, "%s%.6g", r ? ", " : "", metric[((size_t)r * NV + v) * NM + m]);
            strbuf_str(&b, "]}");
        }
        strbuf_str(&b, "}");
    }
    strbuf_str(&b, "\n]}\n");
    return b.s;
}

// One bar panel: a metric's mean per variant (bar), ± sd (whisker), each seed (dot).
static void bar_panel(Image *img, ImgRect box, int mi, int seeds, const double *metric) {
    static const uint8_t AXIS[3] = {40, 40, 40}, BAR[3] = {120, 150, 210}, LPOI_BAR[3] = {230, 120, 60}, DOT[3] = {20, 20, 20};
    double top = mi == M_MENTIONS ? 0 : 0.1;
    for (int v = 0; v < NV; v++)
        for (int r = 0; r < seeds; r++) top = fmax(top, metric[((size_t)r * NV + v) * NM + mi]);
    // Round tops so the four tick steps are round numbers: 5 % (fractions) or 0.1 (objects per answer).
    top = mi == M_MENTIONS ? ceil(top / 0.4 - 1e-9) * 0.4 : fmin(1, ceil(top / 0.2 - 1e-9) * 0.2);
    if (top <= 0) top = 1;
    int x0 = box.x0 + 44, x1 = box.x1 - 8, y0 = box.y0 + 28, y1 = box.y1 - 24;
    char title[64];
    snprintf(title, sizeof title, "%s%s", METRIC_HEADS[mi], mi == M_MENTIONS ? "" : " (%)");
    plot_text(img, box.x0 + 8, box.y0 + 6, 2, title, AXIS);
    plot_line(img, x0, y1, x1, y1, 1, AXIS);
    plot_line(img, x0, y0, x0, y1, 1, AXIS);
    for (int t = 0; t <= 4; t++) {
        int y = y1 - (int)lround((y1 - y0) * t / 4.0);
        char lab[16];
        if (mi == M_MENTIONS) snprintf(lab, sizeof lab, "%.2g", top * t / 4);
        else snprintf(lab, sizeof lab, "%d", (int)lround(100 * top * t / 4));
        plot_line(img, x0 - 4, y, x0, y, 1, AXIS);
        plot_text(img, x0 - 6 - plot_text_width(lab, 1), y - 3, 1, lab, AXIS);
    }
    double slot = (double)(x1 - x0) / NV;
    for (int v = 0; v < NV; v++) {
        double mean, sd;
        mean_sd(metric, seeds, v, mi, &mean, &sd);
        int cx = x0 + (int)lround(slot * (v + 0.5)), hw = (int)(slot * 0.3);
        int yb = y1 - (int)lround((y1 - y0) * mean / top);
        draw_fill_rect(img, (ImgRect){cx - hw, yb, cx + hw, y1}, strncmp(VARIANTS[v].name, "lpoi", 4) ? BAR : LPOI_BAR);
        int ylo = y1 - (int)lround((y1 - y0) * fmax(0, mean - sd) / top), yhi = y1 - (int)lround((y1 - y0) * (mean + sd) / top);
        plot_line(img, cx, ylo, cx, yhi, 1, AXIS);
        plot_line(img, cx - 3, yhi, cx + 3, yhi, 1, AXIS);
        plot_line(img, cx - 3, ylo, cx + 3, ylo, 1, AXIS);
        for (int r = 0; r < seeds; r++) {
            int yd = y1 - (int)lround((y1 - y0) * metric[((size_t)r * NV + v) * NM + mi] / top);
            int xd = cx - 4 + (seeds > 1 ? 8 * r / (seeds - 1) : 4);
            draw_fill_rect(img, (ImgRect){xd - 1, yd - 1, xd + 2, yd + 2}, DOT);
        }
        plot_text(img, cx - plot_text_width(VARIANTS[v].label, 1) / 2, y1 + 8, 1, VARIANTS[v].label, AXIS);
    }
}

static bool write_plot(const StudyArgs *a, const double *metric, const char *path, LpoiErr *err) {
    static const int PANELS[] = {M_CHAIR_S, M_CHAIR_I, M_SHAPE_CHAIR_I, M_MAIN};
    const int np = (int)(sizeof PANELS / sizeof *PANELS), pw = 330, ph = 250;
    Image img = plot_canvas(2 * pw, 40 + 2 * ph);
    char title[160];
    snprintf(title, sizeof title, "THE DEMO WORLD: HELD-OUT DESCRIPTIONS, MEAN +- SD OVER %d SEEDS (DOTS: SEEDS). CHAIR: LOWER IS BETTER", a->seeds);
    static const uint8_t INK[3] = {0, 0, 0};
    plot_text(&img, 10, 12, 1, title, INK);
    for (int p = 0; p < np; p++)
        bar_panel(&img, (ImgRect){(p % 2) * pw, 40 + (p / 2) * ph, (p % 2 + 1) * pw, 40 + (p / 2 + 1) * ph}, PANELS[p], a->seeds,
                  metric);
    bool ok = image_write_png(&img, path, err);
    image_free(&img);
    return ok;
}

int study_run(const StudyArgs *a) {
    const double t0 = now_s();
    LpoiErr err = {{0}};
    if (!a->rescore && !file_dir_vacant(a->out)) {
        fprintf(stderr, "lpoi study: %s exists and is not an empty folder; pick a new --out\n", a->out);
        return 2;
    }
    Vocabs v = {0};
    double *metric = calloc_check((size_t)a->seeds * NV * NM, sizeof *metric);
    char *md = NULL, *js = NULL, *md_path = file_path_join(a->out, "study.md"), *js_path = file_path_join(a->out, "study.json");
    char *png = file_path_join(a->out, "study.png");
    char **answers = NULL;
    int rc = 1;
    if (!file_mkdir_p(a->out, &err)) { fprintf(stderr, "lpoi study: %s\n", err.msg); goto done; }
    printf("lpoi study: %d seeds x (base + %d trained variants), %d steps each, %d held-out pictures; in %s/\n", a->seeds,
           NV - 1, a->steps, a->heldout, a->out);
    fflush(stdout);
    answers = calloc_check((size_t)a->seeds * NV * a->heldout, sizeof *answers);
    for (int s = 1; s <= a->seeds; s++)
        if (!(a->rescore ? read_seed : run_seed)(a, s, answers + (size_t)(s - 1) * NV * a->heldout, &err)) {
            fprintf(stderr, "lpoi study: %s\n", err.msg);
            goto done;
        }
    if (!(v.objects = world_vocab(true, &err)) || !(v.shapes = world_vocab(false, &err))) {
        fprintf(stderr, "lpoi study: vocabulary: %s\n", err.msg);
        goto done;
    }
    for (int s = 1; s <= a->seeds; s++) {
        SynthOptions so = study_world(a, s);
        for (int vi = 0; vi < NV; vi++)
            score_answers(&v, &so, answers + ((size_t)(s - 1) * NV + vi) * a->heldout, metric + ((size_t)(s - 1) * NV + vi) * NM);
    }
    double seconds = now_s() - t0;
    md = table_markdown(a, metric);
    js = table_json(a, metric, seconds);
    if (!file_write_atomic(md_path, md, strlen(md), &err) || !file_write_atomic(js_path, js, strlen(js), &err) ||
        !write_plot(a, metric, png, &err)) {
        fprintf(stderr, "lpoi study: %s\n", err.msg);
        goto done;
    }
    printf("\n%s\n%s, %s, %s (%.0f s in all)\n", md, md_path, js_path, png, seconds);
    rc = 0;
done:
    chair_vocab_free(v.objects);
    chair_vocab_free(v.shapes);
    for (size_t i = 0; answers && i < (size_t)a->seeds * NV * a->heldout; i++) free(answers[i]);
    free(answers);
    free(metric); free(md); free(js); free(md_path); free(js_path); free(png);
    return rc;
}
