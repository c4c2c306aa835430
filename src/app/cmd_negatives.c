// cmd_negatives.c — `lpoi negatives`: build LPOI's listwise negative image lists from a JSONL of
// (image, object box) records and write them as PNGs plus a manifest that training reads.
// Per record i (0-based among non-blank lines): DIR/<i>/<k>.png for k = 1..L (1.png is the original
// re-encoded losslessly) and one manifest line. A bad record is "FILE:LINE: field: reason" and stops
// the run with exit 1, or is skipped and counted with --skip-bad; a failure to write output always
// stops it. An old DIR/manifest.jsonl is removed first and the new one is written atomically at the
// end, after one syncfs of DIR, so a stopped run leaves no manifest rather than one that names
// missing or other PNGs; each PNG is renamed into place whole (write_png_renamed).
// Each finished record is also appended to DIR/journal.jsonl (negatives_journal.h), which --resume
// reads to keep what a killed run finished. --object-from-text and --verify choose among a record's
// boxes and check x_L (negatives_select.h); records left without a box go to DIR/skipped.jsonl.
#include "app/commands.h"
#include "base/check.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "base/file.h"
#include "image/image.h"
#include "image/preprocess.h"
#include "lpoi/dataset.h"
#include "lpoi/negatives.h"
#include "lpoi/negatives_preview.h"
#include "lpoi/negatives_journal.h"
#include "lpoi/negatives_select.h"
#include "lpoi/objects.h"
#include "lpoi/box_choice.h"
#include "lpoi/verify.h"
#include "lpoi/record_fields.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE_BYTES (64u << 20)

typedef struct {
    const char *data, *out, *preview;
    int list_size, crop_size, line_width, preview_rows;
    uint64_t seed, max_pixels;
    NegFill fill;
    BoxFormat box_format;
    bool visual_prompt, skip_bad, resume;
    // Object choice and verification (negatives_select.h); all off by default.
    bool object_from_text;
    const char *objects_file, *verify_dir, *device;   // verify_dir NULL: --verify none
    VerifyRule verify_rule;
    double verify_margin, box_threshold;
} NegArgs;

static void print_indented(FILE *to, const char *text) {   // each line of a shared rule text
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(to, "  %.*s\n", n, p);
        p += n + (nl != NULL);
    }
}

static int usage(FILE *to, int code) {
    fprintf(to,
            "usage: lpoi negatives --data FILE.jsonl --out DIR [--list-size L] [--fill black|mean|noise]\n"
            "                      [--no-visual-prompt] [--line-width N] [--seed N] [--crop-size R]\n"
            "                      [--max-pixels N] [--box-format F] [--preview SHEET.png [--preview-rows N]]\n"
            "                      [--skip-bad] [--resume] [--object-from-text [--objects FILE] [--box-threshold T]]\n"
            "                      [--verify none|MODEL_DIR [--verify-rule answer|object] [--verify-margin M]\n"
            "                       [--device D]]\n"
            "\n"
            "Builds LPOI's ranked image lists (arXiv 2505.21061, section 3.2): for each record, L images\n"
            "where image k masks (k-1)/(L-1) of the object box, image 1 being the untouched original and\n"
            "image L hiding the whole box, with a red ellipse outline marking the masked part.\n"
            "\n"
            "Input: one JSON object per line (blank lines are skipped; other fields are ignored):\n"
            "  \"img_path\"  the image (PNG, JPEG, BMP, GIF, PNM), relative to FILE.jsonl's folder or absolute\n"
            "              (also \"image\", or TRL's \"images\": [path], as lpoi train reads them)\n"
            "  \"boxes\"     [[x0, y0, x1, y1], ...] object boxes in pixels of that image (edges; x1, y1\n"
            "              exclusive, so [0, 0, W, H] is the whole image); only the FIRST box is used\n"
            "Output: DIR/<i>/<k>.png for record i (0-based count of non-blank lines) and k = 1..L, and\n"
            "DIR/manifest.jsonl with one line per written list: index, line, img_path (as given), source\n"
            "(resolved path), width, height, box (the whole-pixel box used), side, list_size, fill,\n"
            "visual_prompt, images (PNG paths relative to DIR), masks (the masked rectangle of each\n"
            "image, [x0, y0, x1, y1], [] for none) and, unless --crop-size 0, crop_kept (the share of the\n"
            "full mask that survives a shortest-edge-R resize and R x R centre crop).\n"
            "\n"
            "Growth rule:\n");
    print_indented(to, NEGATIVES_RULE_TEXT);
    fputc('\n', to);
    print_indented(to, OBJ_RULE_TEXT);
    fputc('\n', to);
    print_indented(to, BOX_CHOICE_RULE_TEXT);
    fputc('\n', to);
    print_indented(to, VERIFY_RULE_TEXT);
    fprintf(to,
            "\n"
            "Options:\n"
            "  --list-size L      images per list, 2..%d (default 5, as the paper's best and the released data)\n"
            "  --fill F           black (default, as the paper), mean (the whole image's mean colour) or\n"
            "                     noise (uniform RGB noise keyed by --seed, record index and pixel position)\n"
            "  --no-visual-prompt no red ellipse\n"
            "  --line-width N     ellipse stroke in pixels (default max(1, round(min(W, H) / 100)))\n"
            "  --seed N           noise seed (default 0)\n"
            "  --crop-size R      measure what a CLIP centre crop to R x R keeps of each mask and count the\n"
            "                     lists it cuts (default 336, LLaVA-1.5's CLIP; 0 = off)\n"
            "  --max-pixels N     refuse images with more than N pixels (default %llu)\n"
            "  --box-format F     how boxes are written: xyxy (pixel corners, default), xywh (corner + size),\n"
            "                     norm-xyxy, norm-xywh (normalised to [0, 1] by the image's width and height)\n"
            "  --preview SHEET    also write a contact sheet PNG of the first lists (one row per list, its L\n"
            "                     images as thumbnails), to check the boxes before training\n"
            "  --preview-rows N   lists on the sheet (default 8)\n"
            "  --skip-bad         skip bad records (malformed JSON, missing or invalid field, unreadable\n"
            "                     image) and report how many, instead of stopping at the first\n"
            "  --resume           continue a run that was stopped: records DIR/journal.jsonl (written by\n"
            "                     every run) lists as done, by a run with the same data file and options\n"
            "                     and with their PNGs present, are kept as they are, not made again\n"
            "  -h, --help         show this help\n"
            "\n"
            "Choosing and verifying the object (paper section 3.1, Algorithm 1 lines 5-12), for records that\n"
            "bring their boxes (a detector does not run here yet):\n"
            "  --object-from-text read every box with its \"labels\" entry (and \"scores\", 1 when absent) and\n"
            "                     try them in the order of the objects that \"prompt\", \"chosen\" and \"rejected\"\n"
            "                     name (rule above); without it the first box is used\n"
            "  --objects FILE     more object names, one class a line \"name, synonym, ...\" (the format of\n"
            "                     CHAIR's synonym lists), added to the built-in COCO-80 table\n"
            "  --box-threshold T  a box counts when its score is above T (default 0.35)\n"
            "  --verify DIR       check each try's fully masked image with the LLaVA-1.5 model in DIR and take\n"
            "                     the first that passes (default none: no check)\n"
            "  --verify-rule R    answer (default, the paper's) or object (rule above)\n"
            "  --verify-margin M  the masking failed when log p(Yes) - log p(No) >= M (default 0)\n"
            "  --device D         the verifier's device: auto (default), cpu or cuda\n"
            "A record with no usable try is not an error: it is skipped, counted by reason in the summary\n"
            "and listed in DIR/skipped.jsonl (index, line, img_path, reason, tries with their scores); the\n"
            "manifest lines of written lists gain box_index, object, object_part and verify.\n"
            "\n"
            "Errors name the record as FILE:LINE: field: reason. Exit status: 0 done, 1 a bad record\n"
            "(without --skip-bad) or an output error, 2 usage error.\n",
            NEGATIVES_MAX_LIST, (unsigned long long)IMAGE_DEFAULT_MAX_PIXELS);
    return code;
}

static bool parse_double(const char *s, double lo, double hi, double *out) {
    if (!s || !*s) return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out) {
    if (!s || !*s || *s == '-' || *s == '+') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return false;
    *out = v;
    return true;
}

typedef struct {
    char *img_path;       // as given (copied out of the JSON document)
    char *source;         // resolved
    double box[4];        // corners: pixels, or [0, 1] when box_normalised
    bool box_normalised;
    // With --object-from-text or --verify (NULL / 0 otherwise):
    char *question, *chosen, *rejected;
    int n_boxes;          // every box of "boxes" (--object-from-text), else 0
    double (*corners)[4]; // [n_boxes], like box
    char **labels;        // [n_boxes] "labels" (NULL when absent)
    double *scores;       // [n_boxes] "scores", 1 when absent
} Record;

// "boxes" (all of them), "labels" and "scores" for --object-from-text; labels also for --verify.
static bool parse_detections(const JsonValue *root, const NegArgs *a, Record *rec, LpoiErr *err) {
    const JsonValue *boxes = json_get(root, "boxes"), *labels = json_get(root, "labels"), *scores = json_get(root, "scores");
    int n = a->object_from_text ? (int)boxes->count : 1;   // boxes: checked by data_parse_box
    if (a->object_from_text) rec->n_boxes = n;   // record_free frees n labels
    if (labels && labels->type != JSON_NULL) {
        if (labels->type != JSON_ARRAY || (int)labels->count != (int)boxes->count)
            return err_set(err, "labels: must be an array of %zu strings, one per box", boxes->count);
        rec->labels = calloc_check((size_t)n, sizeof *rec->labels);
        for (int i = 0; i < n; i++) {
            const JsonValue *v = json_at(labels, (size_t)i);
            if (v->type != JSON_STRING || strlen(v->str) != v->len) return err_set(err, "labels[%d]: must be a string", i);
            rec->labels[i] = strdup(v->str);
            if (!rec->labels[i]) LPOI_DIE("out of memory");
        }
    } else if (a->object_from_text) {
        return err_set(err, "labels: missing (--object-from-text matches each box's label to the objects the text names)");
    }
    if (!a->object_from_text) return true;
    if (scores && scores->type != JSON_NULL && (scores->type != JSON_ARRAY || scores->count != boxes->count))
        return err_set(err, "scores: must be an array of %zu numbers, one per box", boxes->count);
    rec->corners = calloc_check((size_t)n, sizeof *rec->corners);
    rec->scores = calloc_check((size_t)n, sizeof *rec->scores);
    for (int i = 0; i < n; i++) {
        const JsonValue *b = json_at(boxes, (size_t)i);
        if (b->type != JSON_ARRAY || b->count != 4) return err_set(err, "boxes[%d]: must be an array of 4 numbers [x0, y0, x1, y1]", i);
        double given[4];
        for (int k = 0; k < 4; k++) {
            const JsonValue *v = json_at(b, (size_t)k);
            if (v->type != JSON_NUMBER) return err_set(err, "boxes[%d][%d]: must be a number", i, k);
            given[k] = v->number;
        }
        if (!box_to_corners(a->box_format, given, rec->corners[i], err)) return err_prefix(err, "boxes[%d]", i);
        rec->scores[i] = 1;
        const JsonValue *sc = scores && scores->type == JSON_ARRAY ? json_at(scores, (size_t)i) : NULL;
        if (sc && (sc->type != JSON_NUMBER || !isfinite(sc->number))) return err_set(err, "scores[%d]: must be a number", i);
        if (sc) rec->scores[i] = sc->number;
    }
    return true;
}

// Parses one JSONL line into rec; err gets "field: reason".
static bool parse_record(const char *line, size_t len, const char *data_dir, const NegArgs *a, Record *rec,
                         LpoiErr *err) {
    BoxFormat box_format = a->box_format;
    *rec = (Record){0};
    JsonDoc *doc = json_parse(line, len, err);
    if (!doc) return err_prefix(err, "json");
    JsonValue *root = json_root(doc);
    bool ok = false;
    if (root->type != JSON_OBJECT) { err_set(err, "json: a record must be a JSON object"); goto done; }
    const char *image_field;
    if (!record_image(root, "img_path", &rec->img_path, &image_field, err)) goto done;
    JsonValue *boxes = json_get(root, "boxes");
    if (!boxes) { err_set(err, "boxes: missing"); goto done; }
    if (!data_parse_box(boxes, box_format, rec->box, err)) goto done;
    rec->box_normalised = box_format_normalised(box_format);
    if (a->object_from_text || a->verify_dir) {
        if (json_get(root, "prompt") && !record_text(root, "prompt", "user", true, &rec->question, NULL, err)) goto done;
        if (!record_text(root, "chosen", "assistant", false, &rec->chosen, NULL, err)) goto done;
        if (json_get(root, "rejected") && !record_text(root, "rejected", "assistant", true, &rec->rejected, NULL, err)) goto done;
        if (!parse_detections(root, a, rec, err)) goto done;
    }
    if (rec->img_path[0] == '/' || !data_dir) {
        rec->source = strdup(rec->img_path);
    } else {
        size_t sl = strlen(data_dir) + strlen(rec->img_path) + 2;
        rec->source = malloc_check(sl);
        snprintf(rec->source, sl, "%s/%s", data_dir, rec->img_path);
    }
    if (!rec->img_path || !rec->source) LPOI_DIE("out of memory");
    ok = true;
done:
    json_free(doc);
    return ok;
}

// The selection's fields of a manifest or skipped.jsonl line: the chosen box and object, and each
// try with its verification scores.
static void put_selection(StrBuf *b, const NegArgs *a, const ObjLexicon *lx, const NegPick *p, const NegBox *nb) {
    if (p->chosen >= 0) {
        const NegTry *t = &p->tries[p->chosen];
        strbuf_printf(b, ", \"box_index\": %d, \"object\": ", t->box);
        if (t->cls >= 0) strbuf_json_str(b, obj_lexicon_class_name(lx, t->cls));
        else if (nb[t->box].label) strbuf_json_str(b, nb[t->box].label);
        else strbuf_str(b, "null");
        if (t->cls >= 0) strbuf_printf(b, ", \"object_part\": \"%s\"", obj_part_name(t->part));
    }
    if (lx) strbuf_printf(b, ", \"candidates\": %d", p->n_candidates);
    if (!a->verify_dir) return;
    strbuf_printf(b, ", \"verify\": {\"rule\": \"%s\", \"margin\": %.17g, \"verified\": %s, \"tries\": [",
                  verify_rule_name(a->verify_rule), a->verify_margin, p->status == NEG_PICK_OK ? "true" : "false");
    for (int i = 0; i < p->n_tries; i++) {
        const NegTry *t = &p->tries[i];
        strbuf_printf(b, "%s{\"box_index\": %d, \"object\": ", i ? ", " : "", t->box);
        if (t->cls >= 0) strbuf_json_str(b, obj_lexicon_class_name(lx, t->cls));
        else if (nb[t->box].label) strbuf_json_str(b, nb[t->box].label);
        else strbuf_str(b, "null");
        if (t->scored)
            strbuf_printf(b, ", \"logp_yes\": %.9g, \"logp_no\": %.9g, \"failed\": %s", t->score.logp_yes,
                          t->score.logp_no, t->score.masking_failed ? "true" : "false");
        strbuf_str(b, "}");
    }
    strbuf_str(b, "]}");
}

static void record_free(Record *r) {
    for (int i = 0; r->labels && i < (r->n_boxes ? r->n_boxes : 1); i++) free(r->labels[i]);
    free(r->labels);
    free(r->corners);
    free(r->scores);
    free(r->question);
    free(r->chosen);
    free(r->rejected);
    free(r->img_path);
    free(r->source);
    *r = (Record){0};
}

// Writes a PNG beside its final name and renames it into place: readers never see a partial file.
// No per-file fsync (it dominated the run time: ~80 ms a file here); durability comes from one
// syncfs over the output folder before the manifest, the run's commit point, is written.
static bool write_png_renamed(const Image *img, const char *path, LpoiErr *err) {
    uint8_t *png;
    size_t n;
    if (!png_encode(img, 1, &png, &n, err)) return err_prefix(err, "%s", path);
    bool ok = file_write_renamed(path, png, n, err);   // fsync later: one syncfs before the manifest
    free(png);
    return ok;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void progress(size_t done, size_t total, double t0, bool tty, bool final) {
    static double last = 0;
    static size_t last_decile = 0;
    double t = now_s();
    if (tty) {
        if (!final && t - last < 0.25) return;
        last = t;
        double rate = done / fmax(t - t0, 1e-9), eta = rate > 0 ? (double)(total - done) / rate : 0;
        fprintf(stderr, "\r  %zu/%zu records  %.1f/s  ETA %.0fs   ", done, total, rate, eta);
        if (final) fputc('\n', stderr);
    } else if (total >= 20) {
        size_t decile = done * 10 / total;
        if (decile > last_decile && !final) {
            last_decile = decile;
            fprintf(stderr, "  %zu/%zu records (%zu%%), %.0fs\n", done, total, decile * 10, t - t0);
        }
    }
}

int cmd_negatives(int argc, char **argv) {
    NegArgs a = {.list_size = 5, .crop_size = 336, .preview_rows = 8, .fill = NEG_FILL_BLACK, .visual_prompt = true,
                 .max_pixels = IMAGE_DEFAULT_MAX_PIXELS, .device = "auto", .verify_rule = VERIFY_ANSWER,
                 .box_threshold = 0.35};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) return usage(stdout, 0);
        if (!strcmp(arg, "--no-visual-prompt")) { a.visual_prompt = false; continue; }
        if (!strcmp(arg, "--skip-bad")) { a.skip_bad = true; continue; }
        if (!strcmp(arg, "--object-from-text")) { a.object_from_text = true; continue; }
        if (!strcmp(arg, "--resume")) { a.resume = true; continue; }
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool known = true, valid = val != NULL;
        uint64_t u = 0;
        if (!strcmp(arg, "--data")) a.data = val;
        else if (!strcmp(arg, "--out")) a.out = val;
        else if (!strcmp(arg, "--list-size")) { valid = valid && parse_u64(val, NEGATIVES_MAX_LIST, &u) && u >= 2; a.list_size = (int)u; }
        else if (!strcmp(arg, "--fill")) valid = valid && negatives_fill_parse(val, &a.fill);
        else if (!strcmp(arg, "--box-format")) valid = valid && box_format_parse(val, &a.box_format);
        else if (!strcmp(arg, "--preview")) a.preview = val;
        else if (!strcmp(arg, "--preview-rows")) { valid = valid && parse_u64(val, 1000, &u) && u >= 1; a.preview_rows = (int)u; }
        else if (!strcmp(arg, "--line-width")) { valid = valid && parse_u64(val, 10000, &u) && u >= 1; a.line_width = (int)u; }
        else if (!strcmp(arg, "--seed")) valid = valid && parse_u64(val, UINT64_MAX, &a.seed);
        else if (!strcmp(arg, "--crop-size")) { valid = valid && parse_u64(val, 100000, &u); a.crop_size = (int)u; }
        else if (!strcmp(arg, "--max-pixels")) valid = valid && parse_u64(val, UINT64_MAX, &a.max_pixels) && a.max_pixels > 0;
        else if (!strcmp(arg, "--objects")) a.objects_file = val;
        else if (!strcmp(arg, "--verify")) a.verify_dir = val && strcmp(val, "none") ? val : NULL;
        else if (!strcmp(arg, "--verify-rule")) valid = valid && verify_rule_parse(val, &a.verify_rule);
        else if (!strcmp(arg, "--device")) a.device = val;
        else if (!strcmp(arg, "--verify-margin")) valid = valid && parse_double(val, -1e6, 1e6, &a.verify_margin);
        else if (!strcmp(arg, "--box-threshold")) valid = valid && parse_double(val, 0, 1, &a.box_threshold);
        else known = false;
        if (!known) { fprintf(stderr, "lpoi negatives: unknown option %s\n\n", arg); return usage(stderr, 2); }
        if (!valid) { fprintf(stderr, "lpoi negatives: invalid or missing value for %s%s%s\n", arg, val ? ": " : "", val ? val : ""); return 2; }
        i++;
    }
    if (!a.data || !a.out) { fprintf(stderr, "lpoi negatives: --data and --out are required\n\n"); return usage(stderr, 2); }
    if (a.objects_file && !a.object_from_text) { fprintf(stderr, "lpoi negatives: --objects needs --object-from-text\n"); return 2; }

    LpoiErr err = {{0}};
    int rc = 0;
    char *line = NULL, *manifest_path = NULL, *data_dir = NULL;   // data_dir NULL: img_path used as is
    Image *list = NULL;
    StrBuf mline = {0};
    NegPreview preview = {0};
    // Object choice and verification (negatives_select.h): lexicon, verifier, DIR/skipped.jsonl.
    bool selecting = a.object_from_text || a.verify_dir;
    ObjLexicon *lx = NULL;
    Verifier *verifier = NULL;
    char *skipped_path = NULL;
    StrBuf sline = {0};
    size_t by_reason[NEG_PICK_NSTATUS] = {0}, verified = 0, resumed = 0;
    NegJournal journal = {0};
    FILE *f = fopen(a.data, "rb");
    if (!f) { fprintf(stderr, "lpoi negatives: %s: cannot open: %s\n", a.data, strerror(errno)); return 1; }
    if (!file_mkdir_p(a.out, &err)) { fprintf(stderr, "lpoi negatives: %s\n", err.msg); rc = 1; goto cleanup; }
    if (a.object_from_text) {
        lx = obj_lexicon_builtin();
        if (a.objects_file && !obj_lexicon_add_file(lx, a.objects_file, &err)) {
            fprintf(stderr, "lpoi negatives: --objects: %s\n", err.msg);
            rc = 1;
            goto cleanup;
        }
    }
    if (a.verify_dir && !(verifier = verifier_open(a.verify_dir, a.device, a.verify_rule, a.verify_margin, &err))) {
        fprintf(stderr, "lpoi negatives: --verify: %s\n", err.msg);
        rc = 1;
        goto cleanup;
    }
    const char *slash = strrchr(a.data, '/');
    if (slash) data_dir = strndup(a.data, slash == a.data ? 1 : (size_t)(slash - a.data));

    // Pass 1: count records (for progress and ETA).
    size_t cap = 0, total = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        bool blank = true;
        for (ssize_t j = 0; j < n && blank; j++) blank = line[j] == ' ' || line[j] == '\t' || line[j] == '\r' || line[j] == '\n';
        total += !blank;
    }
    rewind(f);

    size_t mp_len = strlen(a.out) + 32;
    manifest_path = malloc_check(mp_len);
    snprintf(manifest_path, mp_len, "%s/manifest.jsonl", a.out);
    // The journal (before the old manifest goes: a --resume that is refused leaves DIR as it was).
    {
        uint32_t crc;
        uint64_t size;
        if (!file_crc32(a.data, &crc, &size, &err)) { fprintf(stderr, "lpoi negatives: %s\n", err.msg); rc = 1; goto cleanup; }
        StrBuf fp = {0};
        strbuf_printf(&fp, "data crc32 %08x size %llu; list %d fill %s prompt %d line %d seed %llu crop %d max %llu box %s",
                      crc, (unsigned long long)size, a.list_size, negatives_fill_name(a.fill), a.visual_prompt,
                      a.line_width, (unsigned long long)a.seed, a.crop_size, (unsigned long long)a.max_pixels,
                      BOX_FORMAT_NAMES[a.box_format]);
        bool ok = true;
        if (a.object_from_text) {
            // the objects file by content, not only its path: an edited lexicon must not be mixed into a resume
            uint32_t ocrc = 0;
            uint64_t osize = 0;
            if (a.objects_file) ok = file_crc32(a.objects_file, &ocrc, &osize, &err);
            strbuf_printf(&fp, "; text objects %s crc32 %08x size %llu threshold %.17g", a.objects_file ? a.objects_file : "-",
                          ocrc, (unsigned long long)osize, a.box_threshold);
        }
        if (a.verify_dir)   // the device too: CPU and GPU log-probs may differ near the margin
            strbuf_printf(&fp, "; verify %s rule %s margin %.17g device %s", a.verify_dir, verify_rule_name(a.verify_rule),
                          a.verify_margin, a.device ? a.device : "auto");
        if (ok) ok = neg_journal_open(&journal, a.out, fp.s, a.resume, &err);
        free(fp.s);
        if (!ok) { fprintf(stderr, "lpoi negatives: %s\n", err.msg); rc = 1; goto cleanup; }
    }
    // An old manifest would name PNGs this run overwrites: remove it now, write the new one at the end.
    if (unlink(manifest_path) != 0 && errno != ENOENT) {
        fprintf(stderr, "lpoi negatives: %s: cannot remove the old manifest: %s\n", manifest_path, strerror(errno));
        rc = 1;
        goto cleanup;
    }
    skipped_path = file_path_join(a.out, "skipped.jsonl");
    if (unlink(skipped_path) != 0 && errno != ENOENT) {
        fprintf(stderr, "lpoi negatives: %s: cannot remove the old list: %s\n", skipped_path, strerror(errno));
        rc = 1;
        goto cleanup;
    }
    AtomicFile mf, sf;
    if (!atomic_file_begin(&mf, manifest_path, &err)) { fprintf(stderr, "lpoi negatives: %s\n", err.msg); rc = 1; goto cleanup; }
    if (selecting && !atomic_file_begin(&sf, skipped_path, &err)) {
        fprintf(stderr, "lpoi negatives: %s\n", err.msg);
        atomic_file_abort(&mf);
        rc = 1;
        goto cleanup;
    }

    ImageLimits limits = {.max_pixels = a.max_pixels};
    NegOptions opt = negatives_default_options();
    opt.fill = a.fill;
    opt.visual_prompt = a.visual_prompt;
    opt.line_width = a.line_width;
    list = calloc_check((size_t)a.list_size, sizeof(Image));
    if (a.preview) neg_preview_init(&preview, a.preview_rows, a.list_size, 96);
    size_t lineno = 0, index = 0, written = 0, skipped = 0, cut = 0;
    bool tty = isatty(2);
    double t0 = now_s();
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        bool blank = true;
        for (size_t j = 0; j < len && blank; j++) blank = line[j] == ' ' || line[j] == '\t' || line[j] == '\r';
        if (blank) continue;
        size_t rec_index = index++;
        const NegJournalEntry *done = neg_journal_find(&journal, rec_index);
        if (done && (!done->skipped || (selecting && done->reason > NEG_PICK_OK && done->reason < NEG_PICK_NSTATUS))) {
            // Finished by an earlier run: its line as it was, nothing made again.
            if (!atomic_file_write(done->skipped ? &sf : &mf, done->line, strlen(done->line), &err)) {
                fprintf(stderr, "lpoi negatives: %s\n", err.msg);
                rc = 1;
                break;
            }
            if (done->skipped) by_reason[done->reason]++;
            else written++, verified += done->verified, cut += done->cut;
            resumed++;
            progress(rec_index + 1, total, t0, tty, false);
            continue;
        }
        Record rec = {0};
        Image src = {0};
        ImgRect box;
        bool ok = len <= MAX_LINE_BYTES ? parse_record(line, len, data_dir, &a, &rec, &err)
                                        : err_set(&err, "json: line longer than %u bytes", MAX_LINE_BYTES);
        // Alpha is composited onto white first (preprocess_load_image, as transformers does), then the
        // masks are drawn: masks are drawn on the image the model will see.
        if (ok && !preprocess_load_image(&src, rec.source, &limits, &err)) { err_prefix(&err, "img_path"); ok = false; }
        double px[4];
        // (With --object-from-text the chosen box is checked below: boxes[0] may be a detection never chosen.)
        if (ok && !selecting &&
            !negatives_box_to_rect(src.w, src.h, data_box_to_pixels(rec.box, rec.box_normalised, src.w, src.h, px), &box,
                                   &err)) { err_prefix(&err, "boxes[0]"); ok = false; }
        // Noise differs per record but is reproducible: seed = (--seed) mixed with the record index.
        // (Set before the selection, whose x_L must equal the list's last image.)
        opt.seed = a.seed * 0x9E3779B97F4A7C15ull + rec_index;
        NegPick pick = {.chosen = -1};
        NegBox *nb = NULL;
        if (ok && selecting) {
            int nbx = rec.n_boxes ? rec.n_boxes : 1;
            nb = calloc_check((size_t)nbx, sizeof *nb);
            for (int i = 0; i < nbx && ok; i++) {
                const double *c = data_box_to_pixels(rec.n_boxes ? rec.corners[i] : rec.box, rec.box_normalised, src.w, src.h, px);
                memcpy(nb[i].corners, c, sizeof nb[i].corners);
                nb[i].label = rec.labels ? rec.labels[i] : NULL;
                nb[i].score = rec.scores ? rec.scores[i] : 1;
                // A detection that is empty, not finite or outside the image is unusable, as the box rule
                // says (a NaN score is never above the threshold), not a bad record: detectors emit such boxes.
                LpoiErr ignored = {{0}};
                if (!negatives_box_to_rect(src.w, src.h, nb[i].corners, &nb[i].rect, &ignored)) nb[i].score = NAN;
            }
            NegPickConfig pc = {.lx = lx, .verifier = verifier, .box_threshold = a.box_threshold, .list_size = a.list_size,
                                .opt = &opt};
            if (ok) ok = neg_pick(&pc, &src, nb, nbx, rec.question, rec.chosen, rec.rejected, &pick, &err);
            if (ok && pick.status == NEG_PICK_OK) box = nb[pick.tries[pick.chosen].box].rect;
        }
        if (ok && selecting && pick.status != NEG_PICK_OK) {   // no usable try: skipped, not an error
            NegPickStatus status = pick.status;
            by_reason[status]++;
            if (tty) fputc('\n', stderr);
            fprintf(stderr, "skipped: %s:%zu: %s\n", a.data, lineno, neg_pick_status_name(pick.status));
            sline.len = 0;
            strbuf_printf(&sline, "{\"index\": %zu, \"line\": %zu, \"img_path\": ", rec_index, lineno);
            strbuf_json_str(&sline, rec.img_path);
            strbuf_printf(&sline, ", \"reason\": \"%s\"", neg_pick_status_name(pick.status));
            put_selection(&sline, &a, lx, &pick, nb);
            strbuf_printf(&sline, "}\n");
            neg_pick_free(&pick);
            free(nb);
            record_free(&rec);
            image_free(&src);
            NegJournalEntry je = {.index = rec_index, .skipped = true, .reason = (int)status, .line = sline.s};
            if (!atomic_file_write(&sf, sline.s, sline.len, &err) || !neg_journal_append(&journal, &je, &err)) {
                fprintf(stderr, "lpoi negatives: %s\n", err.msg);
                rc = 1;
                break;
            }
            progress(rec_index + 1, total, t0, tty, false);
            continue;
        }
        if (!ok) {
            neg_pick_free(&pick);
            free(nb);
            if (tty) fputc('\n', stderr);
            fprintf(stderr, "%s%s:%zu: %s\n", a.skip_bad ? "skipped: " : "lpoi negatives: ", a.data, lineno, err.msg);
            record_free(&rec);
            image_free(&src);
            if (!a.skip_bad) { rc = 1; break; }
            skipped++;
            progress(rec_index + 1, total, t0, tty, false);
            continue;
        }
        negatives_render_list(&src, box, a.list_size, &opt, list);
        NegSide side = negatives_growth_side(src.w, src.h, box);
        if (a.preview) {
            char caption[160];
            snprintf(caption, sizeof caption, "LINE %zu: %.120s", lineno, rec.img_path);
            if (!neg_preview_add(&preview, list, caption, &err)) fprintf(stderr, "lpoi negatives: preview: %s\n", err.msg);
        }

        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%zu", a.out, rec_index);
        bool wrote = file_mkdir(dir, &err);
        mline.len = 0;
        strbuf_printf(&mline, "{\"index\": %zu, \"line\": %zu, \"img_path\": ", rec_index, lineno);
        strbuf_json_str(&mline, rec.img_path);
        strbuf_printf(&mline, ", \"source\": ");
        strbuf_json_str(&mline, rec.source);
        strbuf_printf(&mline, ", \"width\": %d, \"height\": %d, \"box\": [%d, %d, %d, %d], \"side\": \"%s\", "
                   "\"list_size\": %d, \"fill\": \"%s\", \"visual_prompt\": %s, \"images\": [",
                   src.w, src.h, box.x0, box.y0, box.x1, box.y1, negatives_side_name(side), a.list_size,
                   negatives_fill_name(a.fill), a.visual_prompt ? "true" : "false");
        for (int k = 1; k <= a.list_size && wrote; k++) {
            char path[4200], rel[64];
            snprintf(rel, sizeof rel, "%zu/%d.png", rec_index, k);
            snprintf(path, sizeof path, "%s/%s", a.out, rel);
            wrote = write_png_renamed(&list[k - 1], path, &err);
            strbuf_printf(&mline, "%s\"%s\"", k > 1 ? ", " : "", rel);
        }
        strbuf_printf(&mline, "], \"masks\": [");
        for (int k = 1; k <= a.list_size; k++) {
            ImgRect m = negatives_mask_rect(box, side, k, a.list_size);
            if (img_rect_empty(m)) strbuf_printf(&mline, "%s[]", k > 1 ? ", " : "");
            else strbuf_printf(&mline, "%s[%d, %d, %d, %d]", k > 1 ? ", " : "", m.x0, m.y0, m.x1, m.y1);
        }
        strbuf_printf(&mline, "]");
        bool this_cut = false;
        if (a.crop_size > 0) {
            double kept = negatives_crop_kept_fraction(src.w, src.h, box, a.crop_size);
            this_cut = kept < 1.0;
            cut += this_cut;
            strbuf_printf(&mline, ", \"crop_kept\": %.4f", kept);
        }
        if (selecting) {
            put_selection(&mline, &a, lx, &pick, nb);
            verified += a.verify_dir != NULL;
        }
        strbuf_printf(&mline, "}\n");
        neg_pick_free(&pick);
        free(nb);
        for (int k = 0; k < a.list_size; k++) image_free(&list[k]);
        image_free(&src);
        record_free(&rec);
        NegJournalEntry je = {.index = rec_index, .verified = selecting && a.verify_dir, .cut = this_cut, .line = mline.s};
        if (!wrote || !atomic_file_write(&mf, mline.s, mline.len, &err) || !neg_journal_append(&journal, &je, &err)) {
            if (tty) fputc('\n', stderr);
            fprintf(stderr, "lpoi negatives: %s\n", err.msg);
            rc = 1;
            break;
        }
        written++;
        progress(rec_index + 1, total, t0, tty, false);
    }
    if (rc == 0 && ferror(f)) { fprintf(stderr, "lpoi negatives: %s: read error\n", a.data); rc = 1; }
    if (rc == 0) {   // make every PNG durable before the manifest that names them
        int dfd = open(a.out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || syncfs(dfd) != 0) { fprintf(stderr, "lpoi negatives: %s: sync failed: %s\n", a.out, strerror(errno)); rc = 1; }
        if (dfd >= 0) close(dfd);
    }
    // skipped.jsonl before the manifest: the manifest stays the run's commit point.
    if (selecting && rc == 0 && !atomic_file_commit(&sf, &err)) { fprintf(stderr, "lpoi negatives: %s\n", err.msg); rc = 1; }
    else if (selecting && rc != 0) atomic_file_abort(&sf);
    if (rc == 0 && !atomic_file_commit(&mf, &err)) { fprintf(stderr, "lpoi negatives: %s\n", err.msg); rc = 1; }
    else if (rc != 0) atomic_file_abort(&mf);
    if (rc == 0) {
        progress(index, total, t0, tty, true);
        printf("wrote %zu lists of %d images to %s (manifest: %s)", written, a.list_size, a.out, manifest_path);
        if (a.skip_bad) printf("; skipped %zu bad record%s", skipped, skipped == 1 ? "" : "s");
        printf("\n");
        if (resumed) printf("resumed: %zu record%s finished by an earlier run (%s) kept as they were\n", resumed,
                            resumed == 1 ? "" : "s", journal.path);
        if (selecting) {
            size_t unused = 0;
            for (int r = NEG_PICK_OK + 1; r < NEG_PICK_NSTATUS; r++) unused += by_reason[r];
            printf("records %zu: %zu lists, %zu verified%s; skipped %zu (", index, written, verified,
                   a.verify_dir ? "" : " (--verify none)", unused + skipped);
            for (int r = NEG_PICK_OK + 1; r < NEG_PICK_NSTATUS; r++)
                printf("%s %zu, ", neg_pick_status_name((NegPickStatus)r), by_reason[r]);
            printf("bad %zu)%s%s\n", skipped, unused ? "; see " : "", unused ? skipped_path : "");
        }
        if (a.preview && preview.rows == 0) printf("no list for the preview sheet\n");
        else if (a.preview && !neg_preview_write(&preview, a.preview, &err)) { fprintf(stderr, "lpoi negatives: %s\n", err.msg); rc = 1; }
        else if (a.preview) printf("wrote %s (the first %d list%s)\n", a.preview, preview.rows, preview.rows == 1 ? "" : "s");
        if (a.crop_size > 0 && cut > 0)
            printf("warning: in %zu list%s a %d x %d centre crop (shortest-edge resize to %d) cuts part of the box; "
                   "see crop_kept in the manifest, or pad images to square before training\n",
                   cut, cut == 1 ? "" : "s", a.crop_size, a.crop_size, a.crop_size);
    }
cleanup:
    if (a.preview) neg_preview_free(&preview);
    obj_lexicon_free(lx);
    verifier_close(verifier);
    neg_journal_close(&journal);
    free(skipped_path);
    free(sline.s);
    free(mline.s);
    free(list);
    free(line);
    free(manifest_path);
    free(data_dir);
    fclose(f);
    return rc;
}
