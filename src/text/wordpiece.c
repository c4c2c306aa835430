// wordpiece.c — the encode and decode pipelines of wordpiece.h (loading: wordpiece_load.c).
#include "text/wordpiece_impl.h"
#include "text/wordpiece_internal.h"
#include "base/check.h"
#include "base/json.h"
#include "base/strbuf.h"
#include <string.h>

// ---- BertNormalizer ------------------------------------------------------------------------------

typedef struct { uint32_t *v; size_t n, cap; } CpBuf;

static void cp_push(CpBuf *b, uint32_t cp) {
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->v = realloc_check(b->v, b->cap * sizeof *b->v);
    }
    b->v[b->n++] = cp;
}

static void push_utf8(CpBuf *b, const char *s, size_t len) {
    for (size_t i = 0; i < len;) {
        size_t n;
        cp_push(b, tok_utf8_decode(s + i, &n));
        i += n;
    }
}

// One character through clean_text, handle_chinese_chars, NFD + strip, lowercase.
static void normalize_char(CpBuf *b, uint32_t cp) {
    if (wp_in(&wp_deleted, cp)) return;
    if (wp_in(&wp_to_space, cp)) { cp_push(b, ' '); return; }
    if (cp >= 0xAC00 && cp <= 0xD7A3) {   // Hangul syllable: L V (T), the Unicode algorithm
        uint32_t s = cp - 0xAC00;
        cp_push(b, 0x1100 + s / 588);
        cp_push(b, 0x1161 + (s % 588) / 28);
        if (s % 28) cp_push(b, 0x11A7 + s % 28);
        return;
    }
    bool pad = wp_in(&wp_chinese, cp);
    if (pad) cp_push(b, ' ');
    size_t len;
    const char *m = wp_map(&wp_mapping, cp, &len);
    if (m) push_utf8(b, m, len);
    else cp_push(b, cp);
    if (pad) cp_push(b, ' ');
}

// NFD's canonical ordering: each run of marks (class > 0) stably sorted by class. Runs are short.
static void canonical_order(CpBuf *b) {
    for (size_t i = 1; i < b->n; i++) {
        int k = wp_class_of(&wp_combining, b->v[i]);
        if (k == 0) continue;
        for (size_t j = i; j > 0; j--) {
            int kp = wp_class_of(&wp_combining, b->v[j - 1]);
            if (kp <= k) break;   // kp == 0 ends the run; equal classes keep their order
            uint32_t t = b->v[j - 1];
            b->v[j - 1] = b->v[j];
            b->v[j] = t;
        }
    }
}

static void normalize_into(CpBuf *b, const char *s, size_t len) {
    b->n = 0;
    for (size_t i = 0; i < len;) {
        size_t n;
        normalize_char(b, tok_utf8_decode(s + i, &n));
        i += n;
    }
    canonical_order(b);
}

char *wordpiece_normalize(const char *text, size_t len, size_t *out_len) {
    CpBuf b = {0};
    normalize_into(&b, text, len);
    StrBuf o = {0};
    strbuf_put(&o, "", 0);
    for (size_t i = 0; i < b.n; i++) {
        char u[4];
        strbuf_put(&o, u, tok_utf8_encode(b.v[i], u));
    }
    free(b.v);
    if (out_len) *out_len = o.len;
    return o.s;
}

// ---- WordPiece model -------------------------------------------------------------------------------

typedef struct { char *buf; size_t cap; } Scratch;

static int32_t lookup(const WordPiece *wp, Scratch *s, bool continuing, const char *w, size_t len) {
    if (!continuing) return tok_strmap_get(&wp->vocab, wp->tokens, w, len);
    size_t need = wp->prefix_len + len;
    if (need > s->cap) {
        s->cap = need * 2;
        s->buf = realloc_check(s->buf, s->cap);
    }
    memcpy(s->buf, wp->prefix, wp->prefix_len);
    memcpy(s->buf + wp->prefix_len, w, len);
    return tok_strmap_get(&wp->vocab, wp->tokens, s->buf, need);
}

// HF WordPiece::tokenize on one pre-tokenized word (UTF-8).
static void encode_word(const WordPiece *wp, const char *w, size_t len, Scratch *s, TokIds *out) {
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) chars += ((unsigned char)w[i] & 0xC0) != 0x80;
    if (chars > wp->max_chars) { tok_ids_push(out, wp->unk_id); return; }
    size_t first = out->count;
    for (size_t start = 0; start < len;) {
        size_t end = len;
        int32_t id = -1;
        while (start < end) {
            if ((id = lookup(wp, s, start > 0, w + start, end - start)) >= 0) break;
            do end--; while (end > start && ((unsigned char)w[end] & 0xC0) == 0x80);   // one char back
        }
        if (id < 0) {   // no piece matches here: the whole word is [UNK]
            out->count = first;
            tok_ids_push(out, wp->unk_id);
            return;
        }
        tok_ids_push(out, id);
        start = end;
    }
}

// BertPreTokenizer over normalized text, then the model on each word.
static void encode_segment(const WordPiece *wp, const char *text, size_t len, CpBuf *cps, Scratch *s, StrBuf *word,
                           TokIds *out) {
    normalize_into(cps, text, len);
    word->len = 0;
    for (size_t i = 0; i <= cps->n; i++) {
        uint32_t cp = i < cps->n ? cps->v[i] : ' ';
        bool white = wp_in(&wp_white, cp), punct = !white && wp_in(&wp_punct, cp);
        if (white || punct) {
            if (word->len) encode_word(wp, word->s, word->len, s, out);
            word->len = 0;
            if (punct) {
                char u[4];
                size_t n = tok_utf8_encode(cp, u);
                encode_word(wp, u, n, s, out);
            }
            continue;
        }
        char u[4];
        strbuf_put(word, u, tok_utf8_encode(cp, u));
    }
}

// The leftmost-longest special token at or after `from`: its index, *at its offset; -1 if none.
static int next_added(const WordPiece *wp, const char *text, size_t len, size_t from, size_t *at) {
    for (size_t i = from; i < len; i++) {
        int best = -1;
        for (size_t k = 0; k < wp->n_added; k++) {
            const WpAdded *a = &wp->added[k];
            if (a->len <= len - i && !memcmp(text + i, a->s, a->len) && (best < 0 || a->len > wp->added[best].len))
                best = (int)k;
        }
        if (best >= 0) { *at = i; return best; }
    }
    return -1;
}

bool wordpiece_encode(const WordPiece *wp, const char *text, size_t len, bool add_special, size_t max_length,
                      TokIds *out, LpoiErr *err) {
    if (len > WORDPIECE_MAX_TEXT) return err_set(err, "text is %zu bytes (at most %zu)", len, WORDPIECE_MAX_TEXT);
    if (!utf8_valid(text, len)) return err_set(err, "text is not valid UTF-8 (byte %zu)", utf8_first_invalid(text, len));
    size_t n_special = add_special ? 2 : 0;
    if (max_length > 0 && max_length < n_special)
        return err_set(err, "max_length %zu leaves no room for [CLS] and [SEP]", max_length);
    TokIds ids = {0};
    CpBuf cps = {0};
    Scratch s = {0};
    StrBuf word = {0};
    for (size_t pos = 0; pos < len;) {
        size_t at = len;
        int k = next_added(wp, text, len, pos, &at);
        if (at > pos) encode_segment(wp, text + pos, at - pos, &cps, &s, &word, &ids);
        if (k < 0) break;
        tok_ids_push(&ids, wp->added[k].id);
        pos = at + wp->added[k].len;
    }
    free(cps.v);
    free(s.buf);
    free(word.s);
    if (max_length > 0 && ids.count > max_length - n_special) ids.count = max_length - n_special;
    if (add_special) tok_ids_push(out, wp->cls_id);
    for (size_t i = 0; i < ids.count; i++) tok_ids_push(out, ids.ids[i]);
    if (add_special) tok_ids_push(out, wp->sep_id);
    tok_ids_free(&ids);
    return true;
}

// ---- decoding -------------------------------------------------------------------------------------

// Python's str.replace(a, b) on b's text in place.
static void replace_all(StrBuf *t, const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (t->len < la) return;
    StrBuf o = {0};
    strbuf_put(&o, "", 0);
    size_t i = 0;
    while (i < t->len) {
        if (i + la <= t->len && !memcmp(t->s + i, a, la)) {
            strbuf_put(&o, b, lb);
            i += la;
        } else {
            strbuf_put(&o, t->s + i, 1);
            i++;
        }
    }
    free(t->s);
    *t = o;
}

// tokenizers' WordPiece decoder cleanup (per token) and transformers' clean_up_tokenization (on
// the joined text): the same list, but only the decoder's has " do not" → " don't".
static void cleanup(StrBuf *t, bool decoder) {
    static const char *const pairs[][2] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"}, {" 'm", "'m"},
        {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(pairs); i++)
        if (decoder || strcmp(pairs[i][0], " do not") != 0) replace_all(t, pairs[i][0], pairs[i][1]);
}

char *wordpiece_decode(const WordPiece *wp, const int32_t *ids, size_t n, size_t *len_out) {
    StrBuf text = {0}, tok = {0};
    strbuf_put(&text, "", 0);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = wordpiece_id_to_token(wp, ids[i], &len);
        if (!s) continue;
        tok.len = 0;
        strbuf_put(&tok, "", 0);
        if (kept > 0 && len >= wp->prefix_len && !memcmp(s, wp->prefix, wp->prefix_len)) {
            strbuf_put(&tok, s + wp->prefix_len, len - wp->prefix_len);
        } else {
            if (kept > 0) strbuf_put(&tok, " ", 1);
            strbuf_put(&tok, s, len);
        }
        if (wp->decoder_cleanup) cleanup(&tok, true);
        strbuf_put(&text, tok.s, tok.len);
        kept++;
    }
    free(tok.s);
    if (wp->cleanup_spaces) cleanup(&text, false);
    if (len_out) *len_out = text.len;
    return text.s;
}

// ---- lookups --------------------------------------------------------------------------------------

size_t wordpiece_vocab_size(const WordPiece *wp) { return wp->n_ids; }
int32_t wordpiece_token_to_id(const WordPiece *wp, const char *s, size_t len) {
    return tok_strmap_get(&wp->vocab, wp->tokens, s, len);
}
const char *wordpiece_id_to_token(const WordPiece *wp, int32_t id, size_t *len) {
    if (id < 0 || (size_t)id >= wp->n_ids || !wp->tokens[id].s) return NULL;
    if (len) *len = wp->tokens[id].len;
    return wp->tokens[id].s;
}
int32_t wordpiece_cls_id(const WordPiece *wp) { return wp->cls_id; }
int32_t wordpiece_sep_id(const WordPiece *wp) { return wp->sep_id; }
int32_t wordpiece_pad_id(const WordPiece *wp) { return wp->pad_id; }
