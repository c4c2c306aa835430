// tokenizer_internal.h — the Tokenizer struct shared by tokenizer_load.c (tokenizer.json →
// tables), bpe.c (the BPE model: vocab/merge hash maps, merge_word) and tokenizer.c (the
// encode pipeline and the decoder chain). Not for use outside src/text/.
// Invariants once a Tokenizer is loaded: every id stored anywhere (vocab map, merges, byte_id,
// added tokens, template ids, unk_id >= 0) is < n_ids and tokens[id] is set for it; the struct
// is read-only, so one Tokenizer may be used by many threads at once.
// Every id with tokens[id].s != NULL is a token; pieces[id].s != NULL only for model.vocab ids.
#pragma once
#include "text/tokenizer.h"
#include "base/json.h"
#include <stdint.h>

#define TOK_MAX_IDS (1u << 24)        // ids and vocab entries; far above any real vocabulary
#define TOK_MAX_PIECE (1u << 16)      // bytes in one vocab piece / added token content
#define TOK_MAX_TEXT ((size_t)1 << 28)  // bytes of input text per encode call
#define TOK_MAX_WORD ((size_t)1 << 29)  // default max_word: bytes after normalization and
                                        // pre-tokenization (a Replace chain could blow text up)

// Bump allocator for piece strings: blocks are never moved, so pointers into them stay valid.
typedef struct TokPoolBlock TokPoolBlock;
typedef struct { TokPoolBlock *head; } TokPool;
char *tok_pool_dup(TokPool *p, const char *s, size_t len);   // NUL-terminated copy
void  tok_pool_free(TokPool *p);

typedef struct { const char *s; uint32_t len; } TokPiece;   // s == NULL: no token has this id

enum { TOK_ID_MODEL = 1, TOK_ID_ADDED = 2, TOK_ID_SPECIAL = 4 };

// string -> id over model-vocab pieces (open addressing, keys are pieces[id]).
typedef struct { int32_t *slots; uint32_t mask; size_t count; } TokStrMap;   // grows (load <= 1/2)
// (left id, right id) -> (rank, merged id)
typedef struct { uint64_t key; int32_t rank, new_id; } TokMergeSlot;   // rank < 0: empty
typedef struct { TokMergeSlot *slots; uint32_t mask; size_t count; } TokMergeMap;

typedef struct {
    const char *content; uint32_t len;   // as in tokenizer.json
    const char *pattern; uint32_t pattern_len;  // what is matched: content, or the normalizer's
                                                // output for it when `normalized`
    int32_t id;
    bool single_word, lstrip, rstrip, normalized, special;
} TokAdded;

typedef enum { TOK_NORM_PREPEND, TOK_NORM_REPLACE } TokNormKind;
typedef struct { TokNormKind kind; const char *a; size_t a_len; const char *b; size_t b_len; } TokNormOp;

typedef enum { TOK_PREPEND_ALWAYS, TOK_PREPEND_FIRST, TOK_PREPEND_NEVER } TokPrependScheme;

typedef enum { TOK_DEC_REPLACE, TOK_DEC_BYTE_FALLBACK, TOK_DEC_FUSE, TOK_DEC_STRIP, TOK_DEC_METASPACE } TokDecKind;
typedef struct {
    TokDecKind kind;
    const char *a; size_t a_len;        // Replace pattern / Metaspace replacement (UTF-8)
    const char *b; size_t b_len;        // Replace content
    uint32_t ch;                        // Strip: the char to strip; Metaspace: replacement char
    size_t start, stop;                 // Strip counts
    TokPrependScheme scheme;            // Metaspace
} TokDecOp;

#define TOK_MAX_OPS 16
#define TOK_MAX_TEMPLATE 16

struct Tokenizer {
    char name[256];                     // the file it came from (error messages)
    TokPool pool;

    // ids
    TokPiece *pieces;                   // [n_ids]: model.vocab piece (the vocab map's keys)
    TokPiece *tokens;                   // [n_ids]: the id's token as HF id_to_token gives it: an
                                        // added token's content (normalized when `normalized`,
                                        // as tokenizers >= 0.2x shows it), else the model piece
    uint8_t  *id_flags;                 // [n_ids]: TOK_ID_*
    size_t    n_ids;                    // max id + 1
    size_t    model_vocab_count;        // entries in model.vocab (HF's model vocab size)

    // BPE model
    TokStrMap   vocab;
    TokMergeMap merges;
    int32_t byte_id[256];               // id of "<0xHH>" or -1
    int32_t ascii_id[128];              // id of the one-char piece, or -1 (fast path)
    int32_t unk_id;                     // -1: no unk_token; -2: unk_token named but not in vocab
    char    unk_name[64];
    bool fuse_unk, byte_fallback, ignore_merges;

    // added tokens, in tokenizer.json order
    TokAdded *added;
    size_t n_added, cap_added;
    TokPiece *added_keys;               // [n_added]: contents, the keys of added_map
    TokStrMap added_map;                // content -> index into added[]
    int64_t max_added_id;               // -1 when none
    // match index per pass (0: normalized=false on raw text, 1: normalized=true on normalized
    // text): indices into added[], grouped by the pattern's first byte, longest first
    uint32_t *match_order[2];
    uint32_t  match_first[2][257];      // match_order[p][match_first[p][b] .. match_first[p][b+1])

    // normalizer (applied in order), pre-tokenizer
    TokNormOp norm[TOK_MAX_OPS];
    size_t n_norm;
    bool metaspace;                     // pre_tokenizer Metaspace (else none)
    char ms_rep[5]; size_t ms_rep_len;  // its replacement char, UTF-8
    TokPrependScheme ms_scheme;
    bool ms_split;

    // post-processor (single sequence): prefix $A suffix
    int32_t tpl_prefix[TOK_MAX_TEMPLATE], tpl_suffix[TOK_MAX_TEMPLATE];
    size_t n_prefix, n_suffix;

    // decoder chain; has_decoder false: tokens joined with " " (HF without a decoder)
    TokDecOp dec[TOK_MAX_OPS];
    size_t n_dec;
    bool has_decoder;

    // from tokenizer_config.json (-1 when unknown)
    int32_t bos_id, eos_id, pad_id;

    size_t max_word;                    // TOK_MAX_WORD (tests lower it)
};

// bpe.c
void    tok_strmap_init(TokStrMap *m, size_t n);
void    tok_strmap_free(TokStrMap *m);
// Inserts id (pieces[id] must be set; the map grows as needed). Returns the id already holding
// that string (nothing inserted), or -1.
int32_t tok_strmap_put(TokStrMap *m, const TokPiece *pieces, int32_t id);
int32_t tok_strmap_get(const TokStrMap *m, const TokPiece *pieces, const char *s, size_t len);
void    tok_mergemap_init(TokMergeMap *m, size_t n);
void    tok_mergemap_free(TokMergeMap *m);
void    tok_mergemap_put(TokMergeMap *m, int32_t a, int32_t b, int32_t rank, int32_t new_id);  // last wins
const TokMergeSlot *tok_mergemap_get(const TokMergeMap *m, int32_t a, int32_t b);
int32_t tok_vocab_get(const Tokenizer *t, const char *s, size_t len);  // model vocab, -1 if absent

// Scratch reused across the words of one encode call.
typedef struct { uint32_t cap; struct TokSym *syms; struct TokHeapItem *heap; uint32_t heap_cap; } TokBpeScratch;
void tok_bpe_scratch_free(TokBpeScratch *s);
// Tokenizes one word (HF BPE::tokenize: merge_word + Word::merge_all), appending ids to out.
// Fails only when an unknown char needs the unk token and unk_token is not in the vocab.
bool tok_bpe_word(const Tokenizer *t, const char *w, size_t len, TokBpeScratch *s, TokIds *out, LpoiErr *err);

// tokenizer_load.c: JSON field readers shared with tokenizer_config.c. Absent or null members
// give the default / NULL; a member of another type is an error "<name>: <path>.<key>: ...".
#define TOK_MAX_FILE ((size_t)1 << 30)
bool tok_get_opt_bool(const JsonValue *o, const char *key, bool def, bool *out, const char *path,
                      const char *name, LpoiErr *err);
bool tok_get_opt_str(const JsonValue *o, const char *key, const JsonValue **out, const char *path,
                     const char *name, LpoiErr *err);
bool tok_get_added_flags(const JsonValue *o, TokAddedFlags *f, const char *path, const char *name,
                         LpoiErr *err);

// Adds without rebuilding the match index (tokenizer_add_token = this + tok_rebuild_match_index).
int32_t tok_add_token(Tokenizer *t, const char *content, size_t len, TokAddedFlags flags, int64_t expect_id,
                      LpoiErr *err);
int32_t tok_added_index(const Tokenizer *t, const char *s, size_t len);   // index into added[] or -1

// tokenizer.c
void tok_rebuild_match_index(Tokenizer *t);
// Runs the normalizer on [s, s+len); out is malloc'ed (NUL-terminated), *out_len its length.
char *tok_normalize_string(const Tokenizer *t, const char *s, size_t len, size_t *out_len);

// UTF-8 helpers (input already validated)
static inline size_t tok_utf8_len(unsigned char c) {
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}
uint32_t tok_utf8_decode(const char *s, size_t *n);   // one scalar from valid UTF-8
size_t   tok_utf8_encode(uint32_t cp, char out[4]);
bool     tok_is_whitespace(uint32_t cp);             // Rust char::is_whitespace
bool     tok_is_word_char(uint32_t cp);              // Rust is_alphanumeric || '_' (see tokenizer.c)
