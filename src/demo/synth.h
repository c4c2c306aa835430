// synth.h — the synthetic preference data set of `lpoi demo`: pictures of simple coloured shapes
// whose true content is known, so that a "chosen" answer that describes what is there and a
// "rejected" answer that names an absent object can be written without any model or annotator.
//
// One example (everything a pure function of (seed, split, index)):
//   image     R x R RGB: a background (solid colour, linear gradient, or blocky noise; muted
//             tones with channels in [70, 225] so every shape colour stands out) and 1..3 filled
//             shapes (circle, square, triangle) in 6 saturated colours. The MAIN object is the
//             largest (side 40..58 % of R); 0..2 distractors are smaller (18..30 %), never overlap
//             it or each other (boxes at least 2 px apart), and never share its (colour, shape).
//   boxes     the true box of every object, [x0, y0, x1, y1] in pixel edges (x1, y1 exclusive),
//             the main object FIRST: the box that the negatives list masks (negatives.h uses the
//             first box only).
//   prompt    "What is in the image?"
//   chosen    "A <colour> <shape>." naming the main object.
//   rejected  "A <colour> <shape>." naming an object that is NOT in the picture: a shape that does
//             not occur at all when there is one, otherwise a colour that does not occur.
// So masking the main box step by step (LPOI's list) turns the chosen answer into a hallucination,
// which is exactly the ranking S_1 > ... > S_L the listwise objective teaches.
//
// On disk (synth_write): DIR/images/<split>_<index>.png and DIR/train.jsonl, DIR/heldout.jsonl,
// one JSON object per line with the fields the trainer reads — img_path (relative to DIR), prompt,
// chosen, rejected, boxes — plus, for people, "objects" ([{colour, shape, box}], main first) and
// "background". The two splits draw from disjoint random streams (no image is shared).
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "base/error.h"
#include "image/draw.h"
#include "image/image.h"

#define SYNTH_MAX_OBJECTS 3
#define SYNTH_NCOLOURS 6
#define SYNTH_NSHAPES 3
#define SYNTH_MIN_SIZE 32      // image sides below this leave no room for the distractors
#define SYNTH_MAX_SIZE 1024

typedef enum { SYNTH_CIRCLE, SYNTH_SQUARE, SYNTH_TRIANGLE } SynthShape;
typedef enum { SYNTH_BG_SOLID, SYNTH_BG_GRADIENT, SYNTH_BG_NOISE, SYNTH_NBG } SynthBackground;
typedef enum { SYNTH_TRAIN, SYNTH_HELDOUT } SynthSplit;

extern const char *const SYNTH_COLOUR_NAMES[SYNTH_NCOLOURS];   // "red", "green", "blue", "yellow", "purple", "orange"
extern const uint8_t SYNTH_COLOUR_RGB[SYNTH_NCOLOURS][3];
extern const char *const SYNTH_SHAPE_NAMES[SYNTH_NSHAPES];     // "circle", "square", "triangle"
extern const char *const SYNTH_BACKGROUND_NAMES[SYNTH_NBG];    // "solid", "gradient", "noise"
extern const char SYNTH_PROMPT[];                               // "What is in the image?"

typedef struct {
    int colour;         // index into SYNTH_COLOUR_*
    int shape;          // SynthShape
    ImgRect cell;       // the square the shape is drawn in (circle: inscribed; triangle: apex at the
                        // top centre, base on the bottom edge; square: the whole cell)
    ImgRect box;        // tight box of the painted pixels (the [x0, y0, x1, y1] written to "boxes")
} SynthObject;

typedef struct {
    Image image;                          // R x R (owned; synth_example_free)
    SynthBackground background;
    int n_objects;                        // 1..SYNTH_MAX_OBJECTS; objects[0] is the main one
    SynthObject objects[SYNTH_MAX_OBJECTS];
    SynthObject absent;                   // what the rejected answer names (box unused)
    char chosen[48], rejected[48];        // "A red circle."
} SynthExample;

typedef struct {
    int image_size;     // R (default 64)
    int n_train;        // training examples (default 256)
    int n_heldout;      // held-out examples (default 64)
    uint64_t seed;      // default 1
} SynthOptions;

SynthOptions synth_options_default(void);
bool synth_options_check(const SynthOptions *o, LpoiErr *err);

// Example `index` of a split; deterministic in (o->seed, o->image_size, split, index).
void synth_example(const SynthOptions *o, SynthSplit split, int index, SynthExample *out);
void synth_example_free(SynthExample *ex);
// "A <colour> <shape>."
void synth_answer(const SynthObject *obj, char *buf, int cap);
// Whether pixel (x, y) belongs to the shape drawn for obj (exact integer test, the one the painter uses;
// shapes are drawn before any later object, and objects never overlap).
bool synth_object_covers(const SynthObject *obj, int x, int y);

// Every word the prompts and answers use, NULL-terminated ("What", "is", ..., "red", ..., "circle",
// ..., "A"), for building a tokenizer whose vocabulary holds each of them as one token.
extern const char *const SYNTH_WORDS[];

// Writes both splits under dir (created if needed). Paths are returned in train_jsonl / heldout_jsonl
// (dir + "/train.jsonl", ...) when not NULL; the caller frees them.
bool synth_write(const SynthOptions *o, const char *dir, char **train_jsonl, char **heldout_jsonl, LpoiErr *err);
// The JSONL line (no newline) of an example whose image lives at img_path; malloc'ed.
char *synth_jsonl_line(const SynthExample *ex, const char *img_path);
