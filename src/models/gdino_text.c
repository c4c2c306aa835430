// gdino_text.c — Grounding DINO's caption, text masks and text position embedding (gdino_text.h).
#include "models/gdino_text.h"
#include "base/check.h"
#include "base/json.h"
#include "base/strbuf.h"
#include <math.h>
#include <string.h>

const int32_t GDINO_DELIMITERS[GDINO_N_DELIMITERS] = {101, 102, 1012, 1029};

char *gdino_caption_from_phrases(const char *const *phrases, size_t n, LpoiErr *err) {
    if (n == 0) { err_set(err, "no phrases (the caption would be empty)"); return NULL; }
    StrBuf c = {0};
    for (size_t i = 0; i < n; i++) {
        const char *p = phrases[i];
        size_t len = strlen(p), a, b;
        char q[96];
        if (!utf8_valid(p, len)) { err_set(err, "phrase %zu is not valid UTF-8", i + 1); goto fail; }
        if (memchr(p, '.', len)) {
            err_set(err, "phrase %zu (%s) contains '.', which separates phrases", i + 1, json_quote_short(q, sizeof q, p, len));
            goto fail;
        }
        py_str_strip(p, len, &a, &b);
        if (a == b) { err_set(err, "phrase %zu is empty", i + 1); goto fail; }
        if (i) strbuf_put(&c, ". ", 2);
        size_t ln;
        char *low = py_str_lower(p + a, b - a, &ln);
        strbuf_put(&c, low, ln);
        free(low);
    }
    strbuf_put(&c, ".", 1);
    return c.s;
fail:
    free(c.s);
    return NULL;
}

bool gdino_caption_ids(const WordPiece *wp, const char *caption, size_t max_len, TokIds *out, LpoiErr *err) {
    out->count = 0;
    if (max_len < 3 || max_len > GDINO_MAX_TEXT_LEN) return err_set(err, "max_text_len %zu is outside [3, %d]", max_len, GDINO_MAX_TEXT_LEN);
    if (!wordpiece_encode(wp, caption, strlen(caption), true, 0, out, err)) return err_prefix(err, "caption");
    if (out->count <= 2) { out->count = 0; return err_set(err, "the caption is empty (no tokens)"); }
    if (out->count > max_len) {
        size_t n = out->count;
        out->count = 0;
        return err_set(err, "the caption is %zu tokens with [CLS] and [SEP], over the model's max_text_len %zu "
                            "(shorten it or split the phrases over several runs)", n, max_len);
    }
    return true;
}

static bool is_delimiter(int32_t id) {
    for (int k = 0; k < GDINO_N_DELIMITERS; k++)
        if (id == GDINO_DELIMITERS[k]) return true;
    return false;
}

void gdino_text_masks(const int32_t *ids, size_t B, size_t T, uint8_t *mask, int32_t *position_ids) {
    int64_t *next = malloc_check((T ? T : 1) * sizeof *next);
    for (size_t b = 0; b < B; b++) {
        const int32_t *row = ids + b * T;
        uint8_t *m = mask + b * T * T;
        int32_t *pos = position_ids + b * T;
        int64_t nxt = (int64_t)T;   // the next delimiter at or after i (T: none)
        for (size_t i = T; i-- > 0;) {
            if (is_delimiter(row[i])) nxt = (int64_t)i;
            next[i] = nxt;
        }
        int64_t prev = -1;          // the last delimiter before i
        for (size_t i = 0; i < T; i++) {
            bool valid = next[i] != 0 && next[i] != (int64_t)T - 1 && next[i] != (int64_t)T;
            int64_t p = (int64_t)i - prev - 1;
            pos[i] = valid && p > 0 ? (int32_t)p : 0;
            for (size_t j = 0; j < T; j++) m[i * T + j] = i == j || (valid && next[j] == next[i]);
            if (is_delimiter(row[i])) prev = (int64_t)i;
        }
    }
    free(next);
}

void gdino_text_position_embedding(const int32_t *position_ids, size_t N, int d_model, float *out) {
    // float32 throughout, as torch: dim_t = 10000 ** (2 * floor(k / 2) / d), e = pos * 2π / dim_t,
    // then sin at even k and cos at odd k.
    const float scale = (float)(2 * M_PI);
    for (size_t i = 0; i < N; i++) {
        float x = (float)position_ids[i] * scale;
        for (int k = 0; k < d_model; k++) {
            float t = (2.0f * (float)(k / 2)) / (float)d_model;
            float e = x / powf(10000.0f, t);
            out[i * (size_t)d_model + (size_t)k] = k % 2 ? cosf(e) : sinf(e);
        }
    }
}
