// tokenizer.c — encode (HF Tokenizer::encode for one sequence) and decode (Tokenizer::decode) on a
// loaded Tokenizer; loading is tokenizer_load.c, the BPE model bpe.c. Each step names the HF
// function it reproduces, because exactness lives in the details:
//   * added tokens: AddedVocabulary::find_matches — leftmost-longest, the search resumes after a
//     match even when single_word rejects it, lstrip/rstrip swallow Unicode whitespace, segment
//     boundaries count as non-word;
//   * normalization runs per segment (so Prepend "▁" also hits the text right after <image>);
//     Metaspace prepend_scheme "first" prepends only to a piece that starts at original offset 0,
//     "always" only when the piece does not already start with "▁";
//   * the decoder chain works on the list of token strings, ByteFallback decodes each run of
//     <0xHH> tokens as a whole and emits one U+FFFD per byte when the run is not valid UTF-8.
#include "text/tokenizer_internal.h"
#include "base/check.h"
#include "base/json.h"
#include <string.h>


// ---------------------------------------------------------------------------------------------
// small buffers

typedef struct { char *p; size_t len, cap; } Buf;
typedef struct { size_t *p; size_t len, cap; } SizeBuf;
typedef struct { size_t start, end; int32_t added; } TokSeg;   // added: index into t->added or -1
typedef struct { TokSeg *p; size_t len, cap; } SegBuf;

static size_t grow_cap(size_t cap, size_t need, size_t elem) {
    size_t c = cap ? cap : 16;
    while (c < need) {
        LPOI_ASSERT(c < ((size_t)1 << 40) / elem);
        c *= 2;
    }
    return c;
}

static void buf_put(Buf *b, const void *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = grow_cap(b->cap, b->len + n + 1, 1);
        b->p = realloc_check(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sizebuf_push(SizeBuf *b, size_t v) {
    if (b->len + 1 > b->cap) {
        b->cap = grow_cap(b->cap, b->len + 1, sizeof *b->p);
        b->p = realloc_check(b->p, b->cap * sizeof *b->p);
    }
    b->p[b->len++] = v;
}

static void seg_push(SegBuf *b, size_t start, size_t end, int32_t added) {
    if (b->len + 1 > b->cap) {
        b->cap = grow_cap(b->cap, b->len + 1, sizeof *b->p);
        b->p = realloc_check(b->p, b->cap * sizeof *b->p);
    }
    b->p[b->len++] = (TokSeg){start, end, added};
}

void tok_ids_push(TokIds *v, int32_t id) {
    if (v->count + 1 > v->cap) {
        v->cap = grow_cap(v->cap, v->count + 1, sizeof *v->ids);
        v->ids = realloc_check(v->ids, v->cap * sizeof *v->ids);
    }
    v->ids[v->count++] = id;
}

void tok_ids_free(TokIds *v) {
    free(v->ids);
    *v = (TokIds){0};
}

// ---------------------------------------------------------------------------------------------
// UTF-8 and Unicode classes

uint32_t tok_utf8_decode(const char *s, size_t *n) {
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) { *n = 1; return u[0]; }
    if (u[0] < 0xE0) { *n = 2; return ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F); }
    if (u[0] < 0xF0) { *n = 3; return ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F); }
    *n = 4;
    return ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) | ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
}

size_t tok_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

bool tok_is_whitespace(uint32_t c) {   // the Unicode White_Space property, as Rust's char::is_whitespace
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

// Start of the char that ends at s[end) (end > 0, valid UTF-8).
static size_t utf8_prev(const char *s, size_t end) {
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    return i;
}

// ---------------------------------------------------------------------------------------------
// added tokens

void tok_rebuild_match_index(Tokenizer *t) {
    for (int pass = 0; pass < 2; pass++) {
        free(t->match_order[pass]);
        uint32_t *order = malloc_check((t->n_added + 1) * sizeof *order);
        uint32_t *first = t->match_first[pass];
        memset(first, 0, sizeof t->match_first[pass]);
        for (size_t i = 0; i < t->n_added; i++)
            if (t->added[i].normalized == (pass == 1)) first[(unsigned char)t->added[i].pattern[0] + 1]++;
        for (int b = 0; b < 256; b++) first[b + 1] += first[b];
        uint32_t fill[256];
        memcpy(fill, first, sizeof fill);
        for (size_t i = 0; i < t->n_added; i++) {
            if (t->added[i].normalized != (pass == 1)) continue;
            uint32_t b = (unsigned char)t->added[i].pattern[0];
            // insertion keeping the bucket sorted longest first, earlier token first on ties
            uint32_t k = fill[b]++;
            while (k > first[b] && t->added[order[k - 1]].pattern_len < t->added[i].pattern_len) {
                order[k] = order[k - 1];
                k--;
            }
            order[k] = (uint32_t)i;
        }
        t->match_order[pass] = order;
    }
}

static bool char_is_word_at(const char *s) {
    size_t n;
    return tok_is_word_char(tok_utf8_decode(s, &n));
}

// AddedVocabulary::find_matches over one segment: appends text and added-token segments
// (offsets relative to s) covering [0, len).
static void find_matches(const Tokenizer *t, int pass, const char *s, size_t len, SegBuf *out) {
    const uint32_t *order = t->match_order[pass];
    const uint32_t *first = t->match_first[pass];
    if (first[256] == 0) {   // no added tokens for this pass
        if (len) seg_push(out, 0, len, -1);
        return;
    }
    size_t start_offset = 0;
    for (size_t i = 0; i < len;) {
        unsigned char b = (unsigned char)s[i];
        int32_t best = -1;
        for (uint32_t k = first[b]; k < first[b + 1]; k++) {   // longest first
            const TokAdded *a = &t->added[order[k]];
            if (a->pattern_len <= len - i && memcmp(s + i, a->pattern, a->pattern_len) == 0) {
                best = (int32_t)order[k];
                break;
            }
        }
        if (best < 0) { i++; continue; }
        const TokAdded *a = &t->added[best];
        size_t start = i, stop = i + a->pattern_len;
        i = stop;   // the automaton resumes after the match, whatever happens to it below
        if (a->single_word) {
            bool start_space = start == 0 || !char_is_word_at(s + utf8_prev(s, start));
            bool stop_space = stop == len || !char_is_word_at(s + stop);
            if (!start_space || !stop_space) continue;
        }
        if (a->lstrip) {   // swallow whitespace before, but not what an earlier match already took
            size_t ns = start;
            while (ns > 0) {
                size_t p = utf8_prev(s, ns), n;
                if (!tok_is_whitespace(tok_utf8_decode(s + p, &n))) break;
                ns = p;
            }
            start = ns > start_offset ? ns : start_offset;
            if (start > stop) start = stop;
        }
        if (a->rstrip) {
            while (stop < len) {
                size_t n;
                if (!tok_is_whitespace(tok_utf8_decode(s + stop, &n))) break;
                stop += n;
            }
        }
        if (start_offset < start) seg_push(out, start_offset, start, -1);
        seg_push(out, start, stop, best);
        start_offset = stop;
    }
    if (start_offset < len) seg_push(out, start_offset, len, -1);
}

// ---------------------------------------------------------------------------------------------
// normalizer

// Runs the normalizer on [s, s+len). orig (may be NULL) gets, per output byte, the offset in s
// of the char it came from: Prepend's "▁" takes the first char's, a replacement the match's.
static bool normalize(const Tokenizer *t, const char *s, size_t len, Buf *out, SizeBuf *orig) {
    Buf a = {0}, b = {0};
    SizeBuf oa = {0}, ob = {0};
    buf_put(&a, s, len);
    for (size_t i = 0; orig && i < len; i++) sizebuf_push(&oa, i);
    for (size_t k = 0; k < t->n_norm; k++) {
        const TokNormOp *op = &t->norm[k];
        b.len = 0;
        ob.len = 0;
        if (op->kind == TOK_NORM_PREPEND) {
            if (a.len == 0) continue;   // Prepend leaves an empty string alone
            buf_put(&b, op->a, op->a_len);
            buf_put(&b, a.p, a.len);
            if (orig) {
                for (size_t i = 0; i < op->a_len; i++) sizebuf_push(&ob, oa.p[0]);
                for (size_t i = 0; i < oa.len; i++) sizebuf_push(&ob, oa.p[i]);
            }
        } else {   // Replace: non-overlapping, left to right
            size_t i = 0, copied = 0;
            while (i + op->a_len <= a.len) {
                if (memcmp(a.p + i, op->a, op->a_len) == 0) {
                    if (b.len > t->max_word) break;
                    buf_put(&b, a.p + copied, i - copied);
                    for (size_t j = copied; orig && j < i; j++) sizebuf_push(&ob, oa.p[j]);
                    buf_put(&b, op->b, op->b_len);
                    for (size_t j = 0; orig && j < op->b_len; j++) sizebuf_push(&ob, oa.p[i]);
                    i += op->a_len;
                    copied = i;
                } else {
                    i++;
                }
            }
            buf_put(&b, a.p + copied, a.len - copied);
            for (size_t j = copied; orig && j < a.len; j++) sizebuf_push(&ob, oa.p[j]);
        }
        if (b.len > t->max_word) break;
        Buf tb = a; a = b; b = tb;
        SizeBuf to = oa; oa = ob; ob = to;
    }
    bool ok = a.len <= t->max_word && b.len <= t->max_word;
    out->len = 0;
    if (ok) buf_put(out, a.p, a.len);
    if (ok && orig) {
        orig->len = 0;
        for (size_t i = 0; i < oa.len; i++) sizebuf_push(orig, oa.p[i]);
    }
    free(a.p); free(b.p); free(oa.p); free(ob.p);
    return ok;
}

char *tok_normalize_string(const Tokenizer *t, const char *s, size_t len, size_t *out_len) {
    Buf out = {0};
    if (!normalize(t, s, len, &out, NULL)) { free(out.p); return NULL; }
    buf_put(&out, "", 0);
    *out_len = out.len;
    return out.p;
}

// ---------------------------------------------------------------------------------------------
// encode

typedef struct {
    Buf norm, word;
    SizeBuf orig;
    SegBuf segs;
    TokBpeScratch bpe;
} EncScratch;

// Pre-tokenizer (Metaspace or none) + model on one normalized piece that starts at original
// offset orig0 of the input text.
static bool pretokenize_and_bpe(const Tokenizer *t, const char *s, size_t len, size_t orig0, EncScratch *sc,
                                TokIds *out, LpoiErr *err) {
    if (!t->metaspace) return tok_bpe_word(t, s, len, &sc->bpe, out, err);
    const char *rep = t->ms_rep;
    size_t rl = t->ms_rep_len;
    Buf *w = &sc->word;
    w->len = 0;
    bool starts_rep = (len > 0 && s[0] == ' ') || (len >= rl && memcmp(s, rep, rl) == 0);
    if (len > 0 && !starts_rep &&
        (t->ms_scheme == TOK_PREPEND_ALWAYS || (t->ms_scheme == TOK_PREPEND_FIRST && orig0 == 0)))
        buf_put(w, rep, rl);
    size_t copied = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ' ') continue;
        buf_put(w, s + copied, i - copied);
        buf_put(w, rep, rl);
        copied = i + 1;
    }
    buf_put(w, s + copied, len - copied);
    if (w->len > t->max_word)
        return err_set(err, "%s: encode: pre-tokenized text is over the %zu-byte limit", t->name, t->max_word);
    if (!t->ms_split) return tok_bpe_word(t, w->p, w->len, &sc->bpe, out, err);
    // split=true: a new word starts at every replacement char (SplitDelimiterBehavior::MergedWithNext)
    size_t start = 0;
    for (size_t i = 1; i + rl <= w->len; i++) {
        if (memcmp(w->p + i, rep, rl) != 0) continue;
        if (!tok_bpe_word(t, w->p + start, i - start, &sc->bpe, out, err)) return false;
        start = i;
    }
    return tok_bpe_word(t, w->p + start, w->len - start, &sc->bpe, out, err);
}

// One text segment between non-normalized added tokens, at original offset orig0.
static bool encode_segment(const Tokenizer *t, const char *s, size_t len, size_t orig0, EncScratch *sc,
                           TokIds *out, LpoiErr *err) {
    const char *ns = s;
    size_t nlen = len;
    const size_t *orig = NULL;
    if (t->n_norm) {
        // original offsets are needed only to place normalized added tokens' neighbours and for
        // Metaspace "first" (8 bytes per byte: skip them otherwise)
        bool need_orig = t->match_first[1][256] > 0 || (t->metaspace && t->ms_scheme == TOK_PREPEND_FIRST);
        if (!normalize(t, s, len, &sc->norm, need_orig ? &sc->orig : NULL))
            return err_set(err, "%s: encode: normalized text is over the %zu-byte limit", t->name, t->max_word);
        ns = sc->norm.p;
        nlen = sc->norm.len;
        orig = need_orig ? sc->orig.p : NULL;
    }
    if (t->match_first[1][256] == 0) {   // no normalized added tokens: one piece
        if (nlen == 0) return true;
        return pretokenize_and_bpe(t, ns, nlen, orig0 + (orig ? orig[0] : 0), sc, out, err);
    }
    sc->segs.len = 0;
    find_matches(t, 1, ns, nlen, &sc->segs);
    size_t n = sc->segs.len;
    TokSeg *segs = malloc_check((n + 1) * sizeof *segs);   // pretokenize reuses sc buffers
    if (n) memcpy(segs, sc->segs.p, n * sizeof *segs);
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        if (segs[i].added >= 0) { tok_ids_push(out, t->added[segs[i].added].id); continue; }
        size_t o = orig0 + (orig ? orig[segs[i].start] : segs[i].start);
        ok = pretokenize_and_bpe(t, ns + segs[i].start, segs[i].end - segs[i].start, o, sc, out, err);
    }
    free(segs);
    return ok;
}

bool tokenizer_encode(const Tokenizer *t, const char *text, size_t len, bool add_special, TokIds *out,
                      LpoiErr *err) {
    if (len > TOK_MAX_TEXT)
        return err_set(err, "%s: encode: text of %zu bytes is over the %zu-byte limit", t->name, len, TOK_MAX_TEXT);
    if (len && !utf8_valid(text, len))
        return err_set(err, "%s: encode: text is not valid UTF-8 at byte %zu", t->name, utf8_first_invalid(text, len));
    size_t count0 = out->count;
    if (add_special)
        for (size_t i = 0; i < t->n_prefix; i++) tok_ids_push(out, t->tpl_prefix[i]);
    EncScratch sc = {0};
    SegBuf raw = {0};
    find_matches(t, 0, text, len, &raw);
    bool ok = true;
    for (size_t i = 0; ok && i < raw.len; i++) {
        const TokSeg *g = &raw.p[i];
        if (g->added >= 0) tok_ids_push(out, t->added[g->added].id);
        else ok = encode_segment(t, text + g->start, g->end - g->start, g->start, &sc, out, err);
    }
    if (ok && add_special)
        for (size_t i = 0; i < t->n_suffix; i++) tok_ids_push(out, t->tpl_suffix[i]);
    if (!ok) out->count = count0;
    free(raw.p);
    free(sc.norm.p); free(sc.word.p); free(sc.orig.p); free(sc.segs.p);
    tok_bpe_scratch_free(&sc.bpe);
    return ok;
}

// ---------------------------------------------------------------------------------------------
// decode

// A list of strings stored back to back in one buffer.
typedef struct { Buf bytes; SizeBuf off; } StrList;   // string i = bytes[off[2i], off[2i]+off[2i+1])

static size_t sl_count(const StrList *l) { return l->off.len / 2; }
static const char *sl_str(const StrList *l, size_t i, size_t *len) {
    *len = l->off.p[2 * i + 1];
    return l->bytes.p ? l->bytes.p + l->off.p[2 * i] : "";   // nothing appended yet: NULL + 0 is UB
}
static void sl_begin(StrList *l) { sizebuf_push(&l->off, l->bytes.len); sizebuf_push(&l->off, 0); }
static void sl_append(StrList *l, const char *s, size_t n) {   // to the string begun last
    buf_put(&l->bytes, s, n);
    l->off.p[l->off.len - 1] += n;
}
static void sl_push(StrList *l, const char *s, size_t n) { sl_begin(l); sl_append(l, s, n); }
static void sl_clear(StrList *l) { l->bytes.len = 0; l->off.len = 0; }
static void sl_free(StrList *l) { free(l->bytes.p); free(l->off.p); }

static bool hex_digit(char c, int *v) {
    if (c >= '0' && c <= '9') { *v = c - '0'; return true; }
    if (c >= 'a' && c <= 'f') { *v = c - 'a' + 10; return true; }
    if (c >= 'A' && c <= 'F') { *v = c - 'A' + 10; return true; }
    return false;
}

// "<0xHH>" with two hex digits in either case, as the ByteFallback decoder reads it. (Rust's
// u8::from_str_radix would also take "+H"; the loader refuses byte-shaped tokens that are not two
// hex digits, so no loaded token can tell the two rules apart.)
static bool byte_token(const char *s, size_t n, unsigned char *out) {
    int hi, lo;
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return false;
    if (!hex_digit(s[3], &hi) || !hex_digit(s[4], &lo)) return false;
    *out = (unsigned char)(hi * 16 + lo);
    return true;
}

static void flush_bytes(StrList *out, Buf *run) {
    if (run->len == 0) return;
    if (utf8_valid(run->p, run->len)) {
        sl_push(out, run->p, run->len);
    } else {
        for (size_t i = 0; i < run->len; i++) sl_push(out, "\xEF\xBF\xBD", 3);   // U+FFFD per byte
    }
    run->len = 0;
}

static void decode_op(const TokDecOp *op, const StrList *in, StrList *out) {
    size_t n = sl_count(in), len;
    sl_clear(out);
    switch (op->kind) {
    case TOK_DEC_REPLACE:
        for (size_t i = 0; i < n; i++) {
            const char *s = sl_str(in, i, &len);
            sl_begin(out);
            size_t j = 0, copied = 0;
            while (j + op->a_len <= len) {
                if (memcmp(s + j, op->a, op->a_len) == 0) {
                    sl_append(out, s + copied, j - copied);
                    sl_append(out, op->b, op->b_len);
                    j += op->a_len;
                    copied = j;
                } else {
                    j++;
                }
            }
            sl_append(out, s + copied, len - copied);
        }
        break;
    case TOK_DEC_BYTE_FALLBACK: {
        Buf run = {0};
        for (size_t i = 0; i < n; i++) {
            const char *s = sl_str(in, i, &len);
            unsigned char byte;
            if (byte_token(s, len, &byte)) { buf_put(&run, &byte, 1); continue; }
            flush_bytes(out, &run);
            sl_push(out, s, len);
        }
        flush_bytes(out, &run);
        free(run.p);
        break;
    }
    case TOK_DEC_FUSE:
        sl_begin(out);
        for (size_t i = 0; i < n; i++) {
            const char *s = sl_str(in, i, &len);
            sl_append(out, s, len);
        }
        break;
    case TOK_DEC_STRIP:
        for (size_t i = 0; i < n; i++) {
            const char *s = sl_str(in, i, &len);
            size_t a = 0, b = len, k, cl;
            for (k = 0; k < op->start && a < len; k++) {        // up to `start` leading chars
                if (tok_utf8_decode(s + a, &cl) != op->ch) break;
                a += cl;
            }
            for (k = 0; k < op->stop && b > a; k++) {           // up to `stop` trailing chars
                size_t p = utf8_prev(s, b);
                if (tok_utf8_decode(s + p, &cl) != op->ch) break;
                b = p;
            }
            sl_push(out, s + a, b - a);
        }
        break;
    case TOK_DEC_METASPACE:
        // Each replacement char becomes a space, except in the first token, where they are all
        // dropped unless prepend_scheme is "never" (HF decoders::Metaspace::decode_chain).
        for (size_t i = 0; i < n; i++) {
            const char *s = sl_str(in, i, &len);
            sl_begin(out);
            size_t copied = 0;
            for (size_t j = 0; j + op->a_len <= len;) {
                if (memcmp(s + j, op->a, op->a_len) != 0) { j++; continue; }
                sl_append(out, s + copied, j - copied);
                if (!(i == 0 && op->scheme != TOK_PREPEND_NEVER)) sl_append(out, " ", 1);
                j += op->a_len;
                copied = j;
            }
            sl_append(out, s + copied, len - copied);
        }
        break;
    }
}

char *tokenizer_decode(const Tokenizer *t, const int32_t *ids, size_t n, bool skip_special, size_t *len_out) {
    StrList a = {0}, b = {0};
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || (size_t)id >= t->n_ids || !t->tokens[id].s) continue;   // HF drops unknown ids
        if (skip_special && (t->id_flags[id] & TOK_ID_SPECIAL)) continue;
        sl_push(&a, t->tokens[id].s, t->tokens[id].len);
    }
    if (t->has_decoder) {
        for (size_t k = 0; k < t->n_dec; k++) {
            decode_op(&t->dec[k], &a, &b);
            StrList tmp = a; a = b; b = tmp;
        }
    }
    Buf out = {0};
    buf_put(&out, "", 0);
    for (size_t i = 0, len; i < sl_count(&a); i++) {
        if (i && !t->has_decoder) buf_put(&out, " ", 1);
        const char *s = sl_str(&a, i, &len);
        buf_put(&out, s, len);
    }
    sl_free(&a);
    sl_free(&b);
    if (len_out) *len_out = out.len;
    return out.p;
}

// ---------------------------------------------------------------------------------------------
// lookups

size_t tokenizer_vocab_size(const Tokenizer *t) { return t->n_ids; }

int32_t tokenizer_token_to_id(const Tokenizer *t, const char *s, size_t len) {
    int32_t a = tok_added_index(t, s, len);   // added vocabulary first, as HF
    return a >= 0 ? t->added[a].id : tok_vocab_get(t, s, len);
}

const char *tokenizer_id_to_token(const Tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || (size_t)id >= t->n_ids || !t->tokens[id].s) return NULL;
    if (len) *len = t->tokens[id].len;
    return t->tokens[id].s;
}

bool tokenizer_is_special(const Tokenizer *t, int32_t id) {
    return id >= 0 && (size_t)id < t->n_ids && (t->id_flags[id] & TOK_ID_SPECIAL);
}

int32_t tokenizer_bos_id(const Tokenizer *t) { return t->bos_id; }
int32_t tokenizer_eos_id(const Tokenizer *t) { return t->eos_id; }
int32_t tokenizer_pad_id(const Tokenizer *t) { return t->pad_id; }
int32_t tokenizer_unk_id(const Tokenizer *t) { return t->unk_id >= 0 ? t->unk_id : -1; }
