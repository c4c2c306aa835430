// synth.c — the synthetic shapes data set (see synth.h). Every random choice comes from one Rng
// seeded from (seed, image size, split, index), drawn in a fixed order, so an example never
// depends on which other examples were generated or on the machine.
#include "demo/synth.h"
#include "base/check.h"
#include "base/json.h"
#include "base/rng.h"
#include "base/strbuf.h"
#include "base/file.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const SYNTH_COLOUR_NAMES[SYNTH_NCOLOURS] = {"red", "green", "blue", "yellow", "purple", "orange"};
const uint8_t SYNTH_COLOUR_RGB[SYNTH_NCOLOURS][3] = {
    {220, 30, 30}, {30, 170, 50}, {30, 70, 220}, {245, 215, 30}, {140, 50, 180}, {245, 130, 20},
};
const char *const SYNTH_SHAPE_NAMES[SYNTH_NSHAPES] = {"circle", "square", "triangle"};
const char *const SYNTH_BACKGROUND_NAMES[SYNTH_NBG] = {"solid", "gradient", "noise"};
const char SYNTH_PROMPT[] = "What is in the image?";
const char *const SYNTH_WORDS[] = {
    "What", "is", "in", "the", "image", "A", "a",
    "red", "green", "blue", "yellow", "purple", "orange",
    "circle", "square", "triangle", NULL,
};

SynthOptions synth_options_default(void) {
    return (SynthOptions){.image_size = 64, .n_train = 256, .n_heldout = 64, .seed = 1};
}

bool synth_options_check(const SynthOptions *o, LpoiErr *err) {
    if (o->image_size < SYNTH_MIN_SIZE || o->image_size > SYNTH_MAX_SIZE)
        return err_set(err, "image size %d is outside [%d, %d]", o->image_size, SYNTH_MIN_SIZE, SYNTH_MAX_SIZE);
    if (o->n_train < 0 || o->n_heldout < 0 || o->n_train > 10000000 || o->n_heldout > 10000000)
        return err_set(err, "example counts must be in [0, 10^7] (got %d train, %d held-out)", o->n_train, o->n_heldout);
    return true;
}

static uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int rand_int(Rng *r, int lo, int hi) { return lo + (int)rng_below(r, (uint64_t)(hi - lo + 1)); }   // [lo, hi]

// ---- shapes ----
// The painter covers pixels of an object's square cell; its box is then measured from what was
// painted (a triangle's apex row can be narrower than a pixel centre's reach, so box != cell).
static bool cell_covers(int shape, ImgRect c, int x, int y) {
    if (x < c.x0 || x >= c.x1 || y < c.y0 || y >= c.y1) return false;
    switch (shape) {
    case SYNTH_CIRCLE: return ellipse_contains_pixel(c, x, y);
    case SYNTH_SQUARE: return true;
    default: {
        // Isosceles triangle, apex at the top centre, base on the bottom edge. In doubled
        // coordinates (pixel centre X = 2x + 1), |X - (x0 + x1)| · h ≤ (Y - 2 y0) · w / 2.
        int64_t w = c.x1 - c.x0, h = c.y1 - c.y0;
        int64_t X = 2 * (int64_t)x + 1, Y = 2 * (int64_t)y + 1;
        int64_t dx = X - (c.x0 + c.x1);
        if (dx < 0) dx = -dx;
        return 2 * dx * h <= (Y - 2 * (int64_t)c.y0) * w;
    }
    }
}

bool synth_object_covers(const SynthObject *obj, int x, int y) { return cell_covers(obj->shape, obj->cell, x, y); }

// ---- background ----
static void muted_colour(Rng *r, int rgb[3]) {
    int g = rand_int(r, 95, 200);
    for (int c = 0; c < 3; c++) rgb[c] = g + rand_int(r, -25, 25);
}

static uint8_t clamp_u8(int v, int lo, int hi) { return (uint8_t)(v < lo ? lo : v > hi ? hi : v); }

static void paint_background(Image *img, SynthBackground kind, Rng *r) {
    int R = img->w, a[3], b[3];
    muted_colour(r, a);
    if (kind == SYNTH_BG_SOLID) {
        for (int y = 0; y < R; y++)
            for (int x = 0; x < R; x++)
                for (int c = 0; c < 3; c++) image_pixel(img, x, y)[c] = clamp_u8(a[c], 70, 225);
    } else if (kind == SYNTH_BG_GRADIENT) {
        muted_colour(r, b);
        int dir = rand_int(r, 0, 2);   // 0 horizontal, 1 vertical, 2 diagonal
        int span = dir == 2 ? 2 * (R - 1) : R - 1;
        for (int y = 0; y < R; y++)
            for (int x = 0; x < R; x++) {
                int t = dir == 0 ? x : dir == 1 ? y : x + y;
                for (int c = 0; c < 3; c++)
                    image_pixel(img, x, y)[c] = clamp_u8(a[c] + ((b[c] - a[c]) * t + span / 2) / span, 70, 225);
            }
    } else {
        int block = rand_int(r, 2, 6), amp = rand_int(r, 15, 35);
        int nb = (R + block - 1) / block;
        int *off = malloc_check((size_t)nb * nb * 3 * sizeof(int));
        for (int i = 0; i < nb * nb * 3; i++) off[i] = rand_int(r, -amp, amp);
        for (int y = 0; y < R; y++)
            for (int x = 0; x < R; x++)
                for (int c = 0; c < 3; c++)
                    image_pixel(img, x, y)[c] = clamp_u8(a[c] + off[((y / block) * nb + x / block) * 3 + c], 70, 225);
        free(off);
    }
}

static bool rects_apart(ImgRect a, ImgRect b, int gap) {
    return a.x1 + gap <= b.x0 || b.x1 + gap <= a.x0 || a.y1 + gap <= b.y0 || b.y1 + gap <= a.y0;
}

void synth_answer(const SynthObject *obj, char *buf, int cap) {
    snprintf(buf, (size_t)cap, "A %s %s.", SYNTH_COLOUR_NAMES[obj->colour], SYNTH_SHAPE_NAMES[obj->shape]);
}

void synth_example(const SynthOptions *o, SynthSplit split, int index, SynthExample *out) {
    LPOI_ASSERT(o->image_size >= SYNTH_MIN_SIZE && o->image_size <= SYNTH_MAX_SIZE && index >= 0);
    memset(out, 0, sizeof *out);
    Rng r;
    rng_seed(&r, mix64(mix64(mix64(o->seed) ^ (uint64_t)o->image_size) ^ ((uint64_t)split << 40 | (uint64_t)index)));
    const int R = o->image_size;
    out->image = image_new(R, R);
    out->background = (SynthBackground)rand_int(&r, 0, SYNTH_NBG - 1);
    paint_background(&out->image, out->background, &r);

    // Cells: the main object first (large), then up to two smaller distractors placed by rejection.
    ImgRect cells[SYNTH_MAX_OBJECTS];
    int want = rand_int(&r, 1, SYNTH_MAX_OBJECTS), n = 0;
    for (int i = 0; i < want; i++) {
        int side = i == 0 ? (R * rand_int(&r, 40, 58) + 50) / 100 : (R * rand_int(&r, 18, 30) + 50) / 100;
        if (side < 4) side = 4;
        int colour = rand_int(&r, 0, SYNTH_NCOLOURS - 1), shape = rand_int(&r, 0, SYNTH_NSHAPES - 1);
        if (i > 0 && colour == out->objects[0].colour && shape == out->objects[0].shape)
            colour = (colour + 1 + rand_int(&r, 0, SYNTH_NCOLOURS - 2)) % SYNTH_NCOLOURS;
        bool placed = false;
        for (int attempt = 0; attempt < 40 && !placed; attempt++) {
            int x0 = rand_int(&r, 0, R - side), y0 = rand_int(&r, 0, R - side);
            ImgRect c = {x0, y0, x0 + side, y0 + side};
            placed = true;
            for (int j = 0; j < n; j++) placed = placed && rects_apart(c, cells[j], 2);
            if (placed) {
                cells[n] = c;
                out->objects[n].cell = c;
                out->objects[n].colour = colour;
                out->objects[n].shape = shape;
                n++;
            }
        }
    }
    out->n_objects = n;
    // Paint, and measure each object's tight box from the pixels it covers.
    for (int i = 0; i < n; i++) {
        ImgRect c = cells[i], box = {c.x1, c.y1, c.x0, c.y0};
        const uint8_t *rgb = SYNTH_COLOUR_RGB[out->objects[i].colour];
        for (int y = c.y0; y < c.y1; y++)
            for (int x = c.x0; x < c.x1; x++)
                if (cell_covers(out->objects[i].shape, c, x, y)) {
                    uint8_t *p = image_pixel(&out->image, x, y);
                    p[0] = rgb[0]; p[1] = rgb[1]; p[2] = rgb[2];
                    box.x0 = LPOI_MIN(box.x0, x); box.y0 = LPOI_MIN(box.y0, y);
                    box.x1 = LPOI_MAX(box.x1, x + 1); box.y1 = LPOI_MAX(box.y1, y + 1);
                }
        LPOI_ASSERT(!img_rect_empty(box));
        out->objects[i].box = box;
    }
    // The absent object: a shape that does not occur, else a colour that does not occur.
    bool shape_seen[SYNTH_NSHAPES] = {0}, colour_seen[SYNTH_NCOLOURS] = {0};
    for (int i = 0; i < n; i++) shape_seen[out->objects[i].shape] = colour_seen[out->objects[i].colour] = true;
    int free_shapes[SYNTH_NSHAPES], nfs = 0, free_colours[SYNTH_NCOLOURS], nfc = 0;
    for (int s = 0; s < SYNTH_NSHAPES; s++) if (!shape_seen[s]) free_shapes[nfs++] = s;
    for (int c = 0; c < SYNTH_NCOLOURS; c++) if (!colour_seen[c]) free_colours[nfc++] = c;
    if (nfs > 0) {
        out->absent.shape = free_shapes[rand_int(&r, 0, nfs - 1)];
        out->absent.colour = rand_int(&r, 0, SYNTH_NCOLOURS - 1);
    } else {
        LPOI_ASSERT(nfc > 0);
        out->absent.colour = free_colours[rand_int(&r, 0, nfc - 1)];
        out->absent.shape = rand_int(&r, 0, SYNTH_NSHAPES - 1);
    }
    synth_answer(&out->objects[0], out->chosen, sizeof out->chosen);
    synth_answer(&out->absent, out->rejected, sizeof out->rejected);
}

void synth_example_free(SynthExample *ex) {
    image_free(&ex->image);
    memset(ex, 0, sizeof *ex);
}

// ---- JSONL ----
static void buf_box(StrBuf *b, ImgRect r) { strbuf_printf(b, "[%d, %d, %d, %d]", r.x0, r.y0, r.x1, r.y1); }

char *synth_jsonl_line(const SynthExample *ex, const char *img_path) {
    StrBuf b = {0};
    strbuf_str(&b, "{\"img_path\": ");
    strbuf_json_str(&b, img_path);
    strbuf_str(&b, ", \"prompt\": ");
    strbuf_json_str(&b, SYNTH_PROMPT);
    strbuf_str(&b, ", \"chosen\": ");
    strbuf_json_str(&b, ex->chosen);
    strbuf_str(&b, ", \"rejected\": ");
    strbuf_json_str(&b, ex->rejected);
    strbuf_str(&b, ", \"boxes\": [");
    for (int i = 0; i < ex->n_objects; i++) {
        if (i) strbuf_str(&b, ", ");
        buf_box(&b, ex->objects[i].box);
    }
    strbuf_str(&b, "], \"objects\": [");
    for (int i = 0; i < ex->n_objects; i++) {
        const SynthObject *o = &ex->objects[i];
        strbuf_printf(&b, "%s{\"colour\": \"%s\", \"shape\": \"%s\", \"box\": ", i ? ", " : "", SYNTH_COLOUR_NAMES[o->colour],
                SYNTH_SHAPE_NAMES[o->shape]);
        buf_box(&b, o->box);
        strbuf_str(&b, "}");
    }
    strbuf_printf(&b, "], \"background\": \"%s\"}", SYNTH_BACKGROUND_NAMES[ex->background]);
    return b.s;
}

static bool write_split(const SynthOptions *o, const char *dir, SynthSplit split, int count, const char *file,
                        LpoiErr *err) {
    const char *name = split == SYNTH_TRAIN ? "train" : "heldout";
    StrBuf lines = {0};
    strbuf_put(&lines, "", 0);
    bool ok = true;
    for (int i = 0; i < count && ok; i++) {
        SynthExample ex;
        synth_example(o, split, i, &ex);
        char rel[64];
        snprintf(rel, sizeof rel, "images/%s_%05d.png", name, i);
        char *full = file_path_join(dir, rel);
        ok = image_write_png(&ex.image, full, err);
        if (ok) {
            char *line = synth_jsonl_line(&ex, rel);
            strbuf_str(&lines, line);
            strbuf_str(&lines, "\n");
            free(line);
        }
        free(full);
        synth_example_free(&ex);
    }
    if (ok) {
        char *path = file_path_join(dir, file);
        ok = file_write_atomic(path, lines.s, lines.len, err);
        free(path);
    }
    free(lines.s);
    return ok;
}

bool synth_write(const SynthOptions *o, const char *dir, char **train_jsonl, char **heldout_jsonl, LpoiErr *err) {
    if (!synth_options_check(o, err)) return false;
    char *images = file_path_join(dir, "images");
    bool ok = file_mkdir(dir, err) && file_mkdir(images, err) &&
              write_split(o, dir, SYNTH_TRAIN, o->n_train, "train.jsonl", err) &&
              write_split(o, dir, SYNTH_HELDOUT, o->n_heldout, "heldout.jsonl", err);
    free(images);
    if (ok && train_jsonl) *train_jsonl = file_path_join(dir, "train.jsonl");
    if (ok && heldout_jsonl) *heldout_jsonl = file_path_join(dir, "heldout.jsonl");
    return ok;
}
