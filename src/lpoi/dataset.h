// dataset.h — preference records for `lpoi train`: reading, validation, tokenisation with TRL's
// truncation, and the pixel values of each example's images (original, LPOI list, mDPO crop).
//
// Files: JSONL (one JSON object per line; blank lines skipped) or ONE JSON array of objects — the
// layout of the mDPO/LPOI 10K release files (mDPO `data/vlfeedback_llava_10k.json`, LPOI
// `sample_10k_llava.json`, both read with HF `load_dataset('json', ...)`, which takes either form).
// Fields of a record (others are ignored):
//   img_path     string (alias "image", or TRL's "images": [one path]; lpoi/record_fields.h); relative
//                to the image root (default: the data file's folder) or absolute; must decode
//                (image.h) — checked when the pixels are built
//   prompt       string: the bare question (LPOI layout), or mDPO's full prompt ("<system> USER:
//                <image>\n{question} ASSISTANT:"): a prompt holding "<image>" is reduced to the
//                question after "<image>" (one newline dropped) and before a final "ASSISTANT:"
//                (both trimmed) — the chat template adds the image token, the role words and
//                the spacing back, and two <image> tokens for one image would be an error
//   chosen       string, non-empty
//   rejected     string, non-empty
//                (prompt, chosen and rejected may also be TRL's conversational form: a list with one
//                chat message whose content is a string or text/image parts; record_fields.h)
//   boxes        optional [[x0, y0, x1, y1], ...] in pixels of the original image (only the first
//                box is used, as `lpoi negatives` does): LPOI builds the list from it on the fly;
//                other layouts with DatasetOptions.box_format (xywh, normalised to [0, 1])
// LPOI needs, per record, a list of L images: from a negatives manifest (`lpoi negatives --out DIR`
// → DIR/manifest.jsonl, matched by the record's line number and checked against its img_path),
// else from `boxes`, else from the released negatives layout (images/a.jpg →
// ours_cmask_until_list5/ours_cmask_until{25,50,75,100}/a.jpg, L = 5 only) when those files exist.
// Every error is one line "FILE:LINE: field: reason" (LINE = the line of the record's first byte).
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"
#include "base/json.h"
#include "base/rng.h"
#include "image/preprocess.h"
#include "lpoi/negatives.h"
#include "text/tokenizer.h"

typedef struct {
    int line;            // 1-based line of the record in the data file
    char *img_given;     // img_path as written in the record
    char *img_path;      // resolved path
    char *question;      // the bare question
    char *chosen, *rejected;
    bool has_box;
    double box[4];       // first box, (x0, y0, x1, y1): pixels, or [0, 1] when box_normalised
    bool box_normalised;
    char **list;         // [n_list] resolved paths of images 1..L (list[0] = the original), or NULL
    int n_list;
    bool prompt_reduced; // the prompt held "<image>" (mDPO layout) and was reduced to the question
} DataRecord;

typedef struct {
    char *path;          // the data file
    DataRecord *rec;
    int n;
    int skipped;         // bad records skipped (skip_bad)
    int reduced;         // prompts reduced from the mDPO layout
    int from_manifest, from_boxes, from_release;   // where the image lists come from
    int boxes_look_normalised;   // pixel boxes with every coordinate in [0, 1] (warned about)
    int boxes_tiny;              // pixel boxes under BOX_TINY_PX wide or high (warned about)
} Dataset;

typedef struct {
    const char *image_root;      // NULL: the data file's folder
    const char *manifest;        // negatives manifest.jsonl or NULL
    int list_size;               // L the objective needs (0: no list needed)
    bool skip_bad;
    bool check_files;            // every image file must exist and have a readable header (default on)
    BoxFormat box_format;        // how "boxes" are written (default BOX_XYXY: corner pixels)
} DatasetOptions;

// Reads and validates every record. With skip_bad a bad record is counted (d->skipped) and its
// reason printed to stderr (the first 10, then a count); without it the first one fails the load.
// An empty dataset (after skipping) is an error.
bool dataset_load(Dataset *d, const char *path, const DatasetOptions *o, LpoiErr *err);
void dataset_free(Dataset *d);
// Drops record i (keeps the order of the others).
void dataset_remove(Dataset *d, int i);
// Record r's first box in pixels of its w x h image (px, or r->box itself when already pixels).
const double *data_box_pixels(const DataRecord *r, int w, int h, double px[4]);
// The same for a box as read (corners: pixels, or [0, 1] when normalised).
const double *data_box_to_pixels(const double box[4], bool normalised, int w, int h, double px[4]);
// A record's "boxes" value (the first box is used) as corners (x0, y0, x1, y1) from format f;
// false + err "boxes...: reason". Shared by the data set and `lpoi negatives`.
bool data_parse_box(const JsonValue *boxes, BoxFormat f, double corners[4], LpoiErr *err);

// ---- tokens ----
// One sequence: ids (one <image> token, not expanded) and how many leading ids are prompt
// (labelled -100). The response is the chat template's "ASSISTANT: {answer} " plus EOS.
typedef struct {
    int32_t *ids;
    int n, n_prompt;
} DataSeq;

typedef struct {
    DataSeq chosen, rejected;
    bool truncated;              // the prompt or a response was cut
} DataTokens;

typedef struct {
    int max_length;              // 512: prompt + the longer response (text tokens)
    int max_prompt_length;       // 128
    int image_token;             // the <image> id
} DataTokLimits;

// TRL DPOTrainer.tokenize_row (0.10/0.11) with the llava-1.5 chat template:
//  * prompt "USER: <image>\n{q} " and answer "ASSISTANT: {a} " are encoded TOGETHER (no special
//    tokens) and split at the prompt's own token count, one earlier when the last prompt token
//    merged with the answer (build_tokenized_answer); BOS is prepended, EOS appended;
//  * keep_end: if prompt + the longer response > max_length, the prompt keeps its LAST
//    max_prompt_length tokens; if still too long, each response keeps its first
//    max_length − max_prompt_length tokens.
//  One deliberate difference: the prompt's head up to and including the <image> token (BOS,
//  "USER:", <image>) is never cut — TRL would drop LLaVA's image token from a long question
//  (and the model then has no image); the tail kept is max_prompt_length minus that head.
bool data_tokenize(const DataRecord *r, const Tokenizer *tok, const DataTokLimits *lim, DataTokens *out,
                   LpoiErr *err);
void data_tokens_free(DataTokens *t);

// ---- batch rows ----
// A sequence as a row of the model's batch: its one <image> id expanded to n_image positions
// (LLaVA's processor), labels -100 over the prompt. *len = q->n + n_image - 1; false + err when q
// does not hold exactly one image token (the batch gives each sequence one image).
bool data_row_length(const DataSeq *q, int32_t image_token, int n_image, size_t *len, LpoiErr *err);
// Writes that row into ids / labels / mask [T] (T >= its length: the rest is padding, mask 0).
// Returns the row's token count.
size_t data_row_fill(const DataSeq *q, int32_t image_token, int n_image, size_t T, int32_t *ids, int32_t *labels,
                     int32_t *mask);

// ---- pixels ----
// R is the side, in pixels, of the model's square input image (CLIP image_size; pixel_values are
// [n, 3, R, R]). The letter S stays the LPOI scores S_k (objectives.h).
// pixel_values of the images of record r, [n, 3, R, R] into out (caller's, n·3·R·R floats):
//   n = 1:  the original;  n = L (list_size): images 1..L of the LPOI list (from r->list, or
//   rendered with negatives.h from the box; image 1 is always the original file).
// Errors: "FILE:LINE: img_path: <reason>" (or "boxes: ...", "negatives[k]: ...").
typedef struct {
    const char *data_path;       // for error messages
    const PreprocessConfig *pre;
    NegOptions neg;
    int side;                    // R, the model's image size (checked against the preprocessor output)
} DataPixelCtx;
bool data_pixels(const DataPixelCtx *c, const DataRecord *r, int n, float *out, LpoiErr *err);

// The centre-crop check (negatives.h rule 6): masks are drawn on the original image, and a CLIP
// centre crop of a non-square image cuts its long side, so a box near an edge can lose part of its
// mask — the list's later images then look to the model more like the original than intended.
// Counts the records with a box (their list's last image masks the whole box, whether rendered from
// the box or read from a manifest / the release) whose box keeps < 100 % after the processor's
// shortest-edge resize + R x R centre crop (negatives_crop_kept_fraction). Image sizes come from
// the file headers (PNG: the IHDR, JPEG: the SOF marker, others: the whole file); a record whose
// header cannot be read is counted in `unreadable` (its real error comes when the pixels are built).
// Returns false (nothing counted) when the processor does not do that crop: pad-to-square (do_pad),
// no crop or no resize, size {height, width}, or a crop size other than the shortest edge.
typedef struct {
    int crop;           // R
    int checked;        // records with a box
    int cut;            // of them, boxes that lose part of their area to the crop
    int unreadable;     // records with a box whose image size could not be read
} DataCropCheck;
bool data_crop_check(const Dataset *d, const PreprocessConfig *pre, DataCropCheck *out);

// mDPO's corruption: torchvision RandomResizedCrop(size = (R, R), scale = (0.01, 0.2), ratio =
// (3/4, 4/3), bilinear) on normalised pixel values [3, R, R] → out [3, R, R]. The crop box comes
// from rng exactly as RandomResizedCrop.get_params draws it (10 tries, then the centre fallback);
// the resize is bilinear with align_corners = False (upsampling, so antialias plays no part).
void data_random_resized_crop(const float *chw, int C, int R, Rng *rng, float *out);
