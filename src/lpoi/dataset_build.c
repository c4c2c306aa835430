// dataset_build.c — what training feeds the model from a DataRecord: token sequences (TRL's
// tokenize_row with keep_end truncation), pixel values of the original / the LPOI list, and mDPO's
// random resized crop. See dataset.h for the exact rules.
#include "lpoi/dataset.h"
#include "base/check.h"
#include "base/file.h"
#include "text/chat_template.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- tokens ----------------------------------------------------------------------------------------
typedef struct {
    TokIds prompt, resp;   // split of the joint encoding
} Split;

// TRL build_tokenized_answer: encode prompt + answer together and prompt alone (no special tokens);
// split at len(prompt ids), one earlier when they disagree (the last prompt token merged).
static bool split_answer(const Tokenizer *tok, const char *question, const char *answer, Split *s, LpoiErr *err) {
    char *p, *a;
    chat_llava15_pair(question, answer, &p, &a);
    size_t lp = strlen(p), la = strlen(a);
    char *full = malloc_check(lp + la + 1);
    memcpy(full, p, lp);
    memcpy(full + lp, a, la + 1);
    TokIds fi = {0}, pi = {0};
    bool ok = tokenizer_encode(tok, full, lp + la, false, &fi, err) && tokenizer_encode(tok, p, lp, false, &pi, err);
    if (ok && pi.count > fi.count) ok = err_set(err, "the prompt encodes to more tokens than prompt + answer");
    if (ok) {
        size_t start = pi.count;
        if (start > 0 && memcmp(pi.ids, fi.ids, start * sizeof *pi.ids) != 0) start--;
        memset(s, 0, sizeof *s);
        for (size_t i = 0; i < fi.count; i++) tok_ids_push(i < start ? &s->prompt : &s->resp, fi.ids[i]);
    }
    tok_ids_free(&fi);
    tok_ids_free(&pi);
    free(full);
    free(p);
    free(a);
    return ok;
}

// keep_end with the head (through the image token) pinned; see dataset.h.
static void keep_end(TokIds *p, int head, int max_prompt) {
    if ((int)p->count <= max_prompt) return;
    int keep_tail = max_prompt > head ? max_prompt - head : 0;
    memmove(p->ids + head, p->ids + p->count - keep_tail, (size_t)keep_tail * sizeof *p->ids);
    p->count = (size_t)(head + keep_tail);
}

// Text fields are data, never markup. HF's tokenizer (split_special_tokens=False, its default) reads
// "<image>", "</s>", ... inside a prompt or an answer as the control token itself: an extra <image>
// then fails LlavaForConditionalGeneration ("Image features and image tokens do not match") and a
// "</s>" silently ends the answer early. Encoding them as plain text instead (split_special_tokens=True)
// would give ids HF's own training never sees, so such a record is refused, naming the field and the
// token (--skip-bad skips it). The prompt holds exactly the template's one <image>; an answer none.
static bool check_special(const Tokenizer *tok, const TokIds *ids, int want_image, int32_t image_token,
                          const char *field, LpoiErr *err) {
    int images = 0;
    for (size_t k = 0; k < ids->count; k++) {
        int32_t id = ids->ids[k];
        bool image = id == image_token;
        if (image && ++images <= want_image) continue;
        if (!image && !tokenizer_is_special(tok, id)) continue;
        size_t n = 0;
        const char *s = tokenizer_id_to_token(tok, id, &n);
        return err_set(err, "%s: holds the special token \"%.*s\" (id %d) as text; training text is data, not markup "
                            "(HF would read it as the control token) — remove it from the record, or --skip-bad",
                       field, s ? (int)LPOI_MIN(n, 64) : 1, s ? s : "?", id);
    }
    if (images != want_image)
        return err_set(err, "%s: the chat template's <image> did not encode to the image token %d", field, image_token);
    return true;
}

static void seq_from(DataSeq *q, const TokIds *p, const TokIds *r) {
    q->n_prompt = (int)p->count;
    q->n = (int)(p->count + r->count);
    q->ids = malloc_check((size_t)(q->n ? q->n : 1) * sizeof *q->ids);
    memcpy(q->ids, p->ids, p->count * sizeof *q->ids);
    memcpy(q->ids + p->count, r->ids, r->count * sizeof *q->ids);
}

bool data_tokenize(const DataRecord *r, const Tokenizer *tok, const DataTokLimits *lim, DataTokens *out,
                   LpoiErr *err) {
    memset(out, 0, sizeof *out);
    Split s[2];
    memset(s, 0, sizeof s);
    const char *ans[2] = {r->chosen, r->rejected}, *field[2] = {"chosen", "rejected"};
    int32_t bos = tokenizer_bos_id(tok), eos = tokenizer_eos_id(tok);
    bool ok = true;
    int head[2] = {0, 0};
    for (int i = 0; i < 2 && ok; i++) {
        LpoiErr e = {{0}};
        if (!split_answer(tok, r->question, ans[i], &s[i], &e)) { ok = err_set(err, "%s: %s", field[i], e.msg); break; }
        if (!check_special(tok, &s[i].prompt, 1, lim->image_token, "prompt", err) ||
            !check_special(tok, &s[i].resp, 0, lim->image_token, field[i], err)) { ok = false; break; }
        if (bos >= 0 && (s[i].prompt.count == 0 || s[i].prompt.ids[0] != bos)) {   // BOS if missing
            tok_ids_push(&s[i].prompt, 0);
            memmove(s[i].prompt.ids + 1, s[i].prompt.ids, (s[i].prompt.count - 1) * sizeof(int32_t));
            s[i].prompt.ids[0] = bos;
        }
        if (eos >= 0 && (s[i].resp.count == 0 || s[i].resp.ids[s[i].resp.count - 1] != eos)) tok_ids_push(&s[i].resp, eos);
        head[i] = -1;
        for (size_t k = 0; k < s[i].prompt.count; k++)
            if (s[i].prompt.ids[k] == lim->image_token) { head[i] = (int)k + 1; break; }
        if (head[i] < 0) ok = err_set(err, "prompt: the chat template's <image> did not encode to the image token %d",
                                      lim->image_token);
        else if (s[i].resp.count == 0) ok = err_set(err, "%s: encodes to no response tokens", field[i]);
    }
    if (ok) {
        int longer = (int)LPOI_MAX(s[0].resp.count, s[1].resp.count);
        for (int i = 0; i < 2; i++)
            if ((int)s[i].prompt.count + longer > lim->max_length) {
                keep_end(&s[i].prompt, head[i], lim->max_prompt_length);
                out->truncated = true;
            }
        for (int i = 0; i < 2; i++)
            if ((int)s[i].prompt.count + longer > lim->max_length) {
                int keep = lim->max_length - lim->max_prompt_length;
                if (keep < 1) keep = 1;
                if ((int)s[i].resp.count > keep) { s[i].resp.count = (size_t)keep; out->truncated = true; }
            }
        seq_from(&out->chosen, &s[0].prompt, &s[0].resp);
        seq_from(&out->rejected, &s[1].prompt, &s[1].resp);
    }
    for (int i = 0; i < 2; i++) { tok_ids_free(&s[i].prompt); tok_ids_free(&s[i].resp); }
    return ok;
}

void data_tokens_free(DataTokens *t) {
    free(t->chosen.ids);
    free(t->rejected.ids);
    memset(t, 0, sizeof *t);
}

// ---- batch rows ------------------------------------------------------------------------------------
bool data_row_length(const DataSeq *q, int32_t image_token, int n_image, size_t *len, LpoiErr *err) {
    int images = 0;
    for (int t = 0; t < q->n; t++) images += q->ids[t] == image_token;
    if (images != 1) return err_set(err, "%d image tokens in one sequence (the batch gives it one image)", images);
    *len = (size_t)q->n + (size_t)n_image - 1;
    return true;
}

size_t data_row_fill(const DataSeq *q, int32_t image_token, int n_image, size_t T, int32_t *ids, int32_t *labels,
                     int32_t *mask) {
    size_t k = 0;
    for (int t = 0; t < q->n; t++) {
        const bool prompt = t < q->n_prompt;
        const int reps = q->ids[t] == image_token ? n_image : 1;
        LPOI_ASSERT(k + (size_t)reps <= T);   // T comes from data_row_length of these ids
        for (int j = 0; j < reps; j++, k++) {
            ids[k] = q->ids[t];
            labels[k] = prompt ? -100 : q->ids[t];
            mask[k] = 1;
        }
    }
    const size_t n = k;
    for (; k < T; k++) { ids[k] = 0; labels[k] = -100; mask[k] = 0; }
    return n;
}

// ---- pixels ----------------------------------------------------------------------------------------
static bool to_pixels(const DataPixelCtx *c, const Image *img, float *out, LpoiErr *err) {
    PixelValues pv;
    if (!preprocess_image(c->pre, img, &pv, err)) return false;
    bool ok = pv.c == 3 && pv.h == c->side && pv.w == c->side;
    if (ok) memcpy(out, pv.data, (size_t)3 * c->side * c->side * sizeof *out);
    else err_set(err, "the image processor makes %dx%dx%d pixel values, the model takes 3x%dx%d", pv.c, pv.h, pv.w, c->side, c->side);
    pixel_values_free(&pv);
    return ok;
}

bool data_pixels(const DataPixelCtx *c, const DataRecord *r, int n, float *out, LpoiErr *err) {
    const size_t per = (size_t)3 * c->side * c->side;
    Image img = {0};
    LpoiErr e = {{0}};
    bool ok = true;
    if (!preprocess_load_image(&img, r->img_path, NULL, &e) || !to_pixels(c, &img, out, &e))
        ok = err_set(err, "%s:%d: img_path: %s", c->data_path, r->line, e.msg);
    if (ok && n > 1) {
        if (r->list) {
            if (r->n_list != n) ok = err_set(err, "%s:%d: negatives: %d images, need %d", c->data_path, r->line, r->n_list, n);
            for (int k = 1; k < n && ok; k++) {
                Image neg = {0};
                if (!preprocess_load_image(&neg, r->list[k], NULL, &e) || !to_pixels(c, &neg, out + (size_t)k * per, &e))
                    ok = err_set(err, "%s:%d: negatives[%d]: %s", c->data_path, r->line, k + 1, e.msg);
                image_free(&neg);
            }
        } else if (!r->has_box) {
            ok = err_set(err, "%s:%d: boxes: missing (needed for the image list)", c->data_path, r->line);
        } else {
            ImgRect box;
            double px[4];
            if (!negatives_box_to_rect(img.w, img.h, data_box_pixels(r, img.w, img.h, px), &box, &e)) {
                ok = err_set(err, "%s:%d: boxes: %s", c->data_path, r->line, e.msg);
            } else {
                // img is already composited onto white (preprocess_load_image): masks are drawn on
                // the image the model will see, as `lpoi negatives` does.
                for (int k = 2; k <= n && ok; k++) {
                    Image neg;
                    negatives_render(&img, box, k, n, &c->neg, &neg);
                    if (!to_pixels(c, &neg, out + (size_t)(k - 1) * per, &e))
                        ok = err_set(err, "%s:%d: boxes: image %d of the list: %s", c->data_path, r->line, k, e.msg);
                    image_free(&neg);
                }
            }
        }
    }
    image_free(&img);
    return ok;
}

// ---- mDPO crop -------------------------------------------------------------------------------------
static double uniform(Rng *rng, double a, double b) { return a + (b - a) * ((double)(rng_u64(rng) >> 11) * 0x1p-53); }

void data_random_resized_crop(const float *chw, int C, int R, Rng *rng, float *out) {
    int top = 0, left = 0, h = R, w = R;
    const double area = (double)R * R, lr0 = log(3.0 / 4.0), lr1 = log(4.0 / 3.0);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * uniform(rng, 0.01, 0.2);
        double ar = exp(uniform(rng, lr0, lr1));
        int cw = (int)nearbyint(sqrt(target * ar)), ch = (int)nearbyint(sqrt(target / ar));
        if (cw > 0 && cw <= R && ch > 0 && ch <= R) {
            top = (int)rng_below(rng, (uint64_t)(R - ch + 1));
            left = (int)rng_below(rng, (uint64_t)(R - cw + 1));
            h = ch;
            w = cw;
            break;
        }
    }   // else: torchvision's fallback for a square input is the whole image
    const float sy = (float)h / (float)R, sx = (float)w / (float)R;
    for (int y = 0; y < R; y++) {
        float fy = sy * ((float)y + 0.5f) - 0.5f;
        if (fy < 0) fy = 0;
        int y0 = (int)fy, y1 = y0 + (y0 < h - 1);
        float ly = fy - (float)y0;
        for (int x = 0; x < R; x++) {
            float fx = sx * ((float)x + 0.5f) - 0.5f;
            if (fx < 0) fx = 0;
            int x0 = (int)fx, x1 = x0 + (x0 < w - 1);
            float lx = fx - (float)x0;
            for (int c = 0; c < C; c++) {
                const float *p = chw + (size_t)c * R * R;
                float v00 = p[(size_t)(top + y0) * R + left + x0], v01 = p[(size_t)(top + y0) * R + left + x1];
                float v10 = p[(size_t)(top + y1) * R + left + x0], v11 = p[(size_t)(top + y1) * R + left + x1];
                out[((size_t)c * R + y) * R + x] =
                    (1 - ly) * ((1 - lx) * v00 + lx * v01) + ly * ((1 - lx) * v10 + lx * v11);
            }
        }
    }
}

// ---- centre-crop check -----------------------------------------------------------------------------
// Width and height from a PNG's IHDR or a JPEG's SOF marker, reading only the bytes before it (JPEG
// segments such as an EXIF thumbnail are skipped with fseek). false for other formats or anything odd.
static bool header_dims(const char *path, int *w, int *h) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    uint8_t b[24];
    bool ok = false;
    size_t n = fread(b, 1, sizeof b, f);
    if (n == sizeof b && !memcmp(b, "\x89PNG\r\n\x1a\n", 8) && !memcmp(b + 12, "IHDR", 4)) {
        uint32_t W = (uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19];
        uint32_t H = (uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23];
        ok = W >= 1 && H >= 1 && W <= INT32_MAX && H <= INT32_MAX;
        *w = (int)W;
        *h = (int)H;
    } else if (n >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
        long pos = 2;
        for (int seg = 0; seg < 4096; seg++) {
            uint8_t m[9];
            if (fseek(f, pos, SEEK_SET) != 0 || fread(m, 1, 2, f) != 2 || m[0] != 0xFF) break;
            int mk = m[1];
            if (mk == 0xFF) { pos++; continue; }                                              // fill byte
            if (mk == 0x01 || (mk >= 0xD0 && mk <= 0xD8)) { pos += 2; continue; }             // no length
            if (mk == 0xD9 || mk == 0xDA || fread(m + 2, 1, 2, f) != 2) break;               // EOI / SOS first
            int len = m[2] << 8 | m[3];
            if (len < 2) break;
            if (mk >= 0xC0 && mk <= 0xCF && mk != 0xC4 && mk != 0xC8 && mk != 0xCC) {     // SOF0..15
                if (len >= 7 && fread(m + 4, 1, 5, f) == 5) {   // precision, height, width
                    *h = m[5] << 8 | m[6];
                    *w = m[7] << 8 | m[8];
                    ok = *w > 0 && *h > 0;   // height 0 (set by a DNL marker later): let stb say
                }
                break;
            }
            pos += 2 + len;
        }
    }
    fclose(f);
    return ok;
}

// The size the decoder (image.h) will see: the header, else the whole file through image_probe_memory.
static bool image_dims(const char *path, int *w, int *h) {
    if (header_dims(path, w, h)) return true;
    LpoiErr e = {{0}};
    size_t size;
    char *buf = file_read_all(path, (size_t)1 << 30, &size, &e);
    int c;
    bool ok = buf && image_probe_memory(buf, size, path, NULL, w, h, &c, &e);
    free(buf);
    return ok;
}

bool data_crop_check(const Dataset *d, const PreprocessConfig *pre, DataCropCheck *out) {
    memset(out, 0, sizeof *out);
    const int R = pre->crop_w;
    if (!pre->do_center_crop || pre->do_pad || !pre->do_resize || pre->shortest_edge <= 0 || R != pre->shortest_edge ||
        pre->crop_h != R)
        return false;
    out->crop = R;
    for (int i = 0; i < d->n; i++) {
        const DataRecord *r = &d->rec[i];
        if (!r->has_box) continue;
        int w, h;
        ImgRect box;
        LpoiErr e = {{0}};
        double px[4];
        if (!image_dims(r->img_path, &w, &h) || !negatives_box_to_rect(w, h, data_box_pixels(r, w, h, px), &box, &e)) {
            out->unreadable++;
            continue;
        }
        out->checked++;
        // The list's last image masks the whole box (negatives.h rule 3 with k = L).
        if (negatives_crop_kept_fraction(w, h, box, R) < 1.0 - 1e-9) out->cut++;
    }
    return true;
}
