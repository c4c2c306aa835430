// bpe.c — the BPE model of HF tokenizers (models/bpe/model.rs + word.rs) for one pre-tokenized
// word: split into Unicode scalars, map each to its vocab id or, failing that, to its UTF-8 bytes
// as <0xHH> tokens (byte_fallback) or to unk (fused when fuse_unk), then apply merges lowest rank
// first, leftmost on ties. The merge loop is HF's Word::merge_all step for step: a min-heap of
// (rank, position) over a doubly linked list of symbols, stale entries skipped when the pair at
// that position no longer maps to the same merged id — O(n log n) per word, which matters
// because LLaMA-style tokenizers hand the model whole sentences as one word.
// Also here: the hash maps (piece -> id, (id, id) -> (rank, id)) and the piece pool.
#include "text/tokenizer_internal.h"
#include "base/check.h"
#include <string.h>

// ---------------------------------------------------------------------------------------------
// piece pool

#define TOK_POOL_BLOCK (1u << 20)
struct TokPoolBlock { TokPoolBlock *next; size_t used, cap; char data[]; };

char *tok_pool_dup(TokPool *p, const char *s, size_t len) {
    TokPoolBlock *b = p->head;
    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > TOK_POOL_BLOCK ? len + 1 : TOK_POOL_BLOCK;
        b = malloc_check(sizeof *b + cap);
        b->next = p->head;
        b->used = 0;
        b->cap = cap;
        p->head = b;
    }
    char *d = b->data + b->used;
    if (len) memcpy(d, s, len);
    d[len] = 0;
    b->used += len + 1;
    return d;
}

void tok_pool_free(TokPool *p) {
    for (TokPoolBlock *b = p->head, *n; b; b = n) { n = b->next; free(b); }
    p->head = NULL;
}

// ---------------------------------------------------------------------------------------------
// hash maps

static uint64_t hash_bytes(const char *s, size_t len) {   // FNV-1a, then a final mix
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ull; }
    h ^= h >> 32;
    return h;
}

static uint64_t hash_u64(uint64_t x) {   // splitmix64 finaliser
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27; x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint32_t table_size_for(size_t n) {   // power of two >= 2n (load <= 0.5); n <= 2^25
    uint32_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    return cap;
}

void tok_strmap_init(TokStrMap *m, size_t n) {
    uint32_t cap = table_size_for(n);
    m->slots = malloc_check(cap * sizeof *m->slots);
    memset(m->slots, 0xff, cap * sizeof *m->slots);   // -1
    m->mask = cap - 1;
    m->count = 0;
}

void tok_strmap_free(TokStrMap *m) { free(m->slots); m->slots = NULL; }

static void strmap_insert(TokStrMap *m, const TokPiece *pieces, int32_t id) {   // id not present
    uint32_t i = (uint32_t)hash_bytes(pieces[id].s, pieces[id].len) & m->mask;
    while (m->slots[i] >= 0) i = (i + 1) & m->mask;
    m->slots[i] = id;
    m->count++;
}

int32_t tok_strmap_put(TokStrMap *m, const TokPiece *pieces, int32_t id) {
    if (!m->slots) tok_strmap_init(m, 8);
    int32_t have = tok_strmap_get(m, pieces, pieces[id].s, pieces[id].len);
    if (have >= 0) return have;
    if (2 * (m->count + 1) > (size_t)m->mask + 1) {   // grow: rehash into a table twice the size
        TokStrMap big;
        tok_strmap_init(&big, 2 * (m->count + 1));
        for (uint32_t i = 0; i <= m->mask; i++)
            if (m->slots[i] >= 0) strmap_insert(&big, pieces, m->slots[i]);
        free(m->slots);
        *m = big;
    }
    strmap_insert(m, pieces, id);
    return -1;
}

int32_t tok_strmap_get(const TokStrMap *m, const TokPiece *pieces, const char *s, size_t len) {
    if (!m->slots) return -1;
    for (uint32_t i = (uint32_t)hash_bytes(s, len) & m->mask;; i = (i + 1) & m->mask) {
        int32_t cur = m->slots[i];
        if (cur < 0) return -1;
        if (pieces[cur].len == len && memcmp(pieces[cur].s, s, len) == 0) return cur;
    }
}

int32_t tok_vocab_get(const Tokenizer *t, const char *s, size_t len) {
    return tok_strmap_get(&t->vocab, t->pieces, s, len);
}

void tok_mergemap_init(TokMergeMap *m, size_t n) {
    uint32_t cap = table_size_for(n);
    m->slots = malloc_check(cap * sizeof *m->slots);
    for (uint32_t i = 0; i < cap; i++) m->slots[i].rank = -1;
    m->mask = cap - 1;
    m->count = 0;
}

void tok_mergemap_free(TokMergeMap *m) { free(m->slots); m->slots = NULL; }

static uint64_t pair_key(int32_t a, int32_t b) { return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b; }

void tok_mergemap_put(TokMergeMap *m, int32_t a, int32_t b, int32_t rank, int32_t new_id) {
    uint64_t key = pair_key(a, b);
    for (uint32_t i = (uint32_t)hash_u64(key) & m->mask;; i = (i + 1) & m->mask) {
        TokMergeSlot *s = &m->slots[i];
        if (s->rank < 0) { *s = (TokMergeSlot){key, rank, new_id}; m->count++; return; }
        // A repeated pair: HF collects the merges into a HashMap, so the later entry wins.
        if (s->key == key) { s->rank = rank; s->new_id = new_id; return; }
    }
}

const TokMergeSlot *tok_mergemap_get(const TokMergeMap *m, int32_t a, int32_t b) {
    if (!m->slots) return NULL;
    uint64_t key = pair_key(a, b);
    for (uint32_t i = (uint32_t)hash_u64(key) & m->mask;; i = (i + 1) & m->mask) {
        const TokMergeSlot *s = &m->slots[i];
        if (s->rank < 0) return NULL;
        if (s->key == key) return s;
    }
}

// ---------------------------------------------------------------------------------------------
// one word

struct TokSym { int32_t id, prev, next; uint32_t len; };       // len 0: merged away
struct TokHeapItem { int32_t rank, pos, new_id; };

static bool heap_less(const struct TokHeapItem *a, const struct TokHeapItem *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(struct TokHeapItem *h, uint32_t *n, struct TokHeapItem it) {
    uint32_t i = (*n)++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!heap_less(&it, &h[parent])) break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = it;
}

static struct TokHeapItem heap_pop(struct TokHeapItem *h, uint32_t *n) {
    struct TokHeapItem top = h[0], last = h[--(*n)];
    uint32_t i = 0, count = *n;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= count) break;
        if (c + 1 < count && heap_less(&h[c + 1], &h[c])) c++;
        if (!heap_less(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (count) h[i] = last;
    return top;
}

void tok_bpe_scratch_free(TokBpeScratch *s) {
    free(s->syms);
    free(s->heap);
    *s = (TokBpeScratch){0};
}

static void scratch_reserve(TokBpeScratch *s, size_t n_bytes) {
    if (n_bytes <= s->cap) return;
    LPOI_ASSERT(n_bytes < (1u << 30));    // tokenizer.c bounds words to TOK_MAX_WORD (2^29)
    uint32_t cap = (uint32_t)n_bytes;
    s->syms = realloc_check(s->syms, cap * sizeof *s->syms);
    s->heap_cap = 3 * cap + 4;             // initial pairs <= n-1, each merge pushes <= 2
    s->heap = realloc_check(s->heap, (size_t)s->heap_cap * sizeof *s->heap);
    s->cap = cap;
}

static void sym_add(struct TokSym *syms, uint32_t *n, int32_t id, uint32_t len) {
    uint32_t i = (*n)++;
    syms[i] = (struct TokSym){id, (int32_t)i - 1, (int32_t)i + 1, len};
}

bool tok_bpe_word(const Tokenizer *t, const char *w, size_t len, TokBpeScratch *s, TokIds *out, LpoiErr *err) {
    if (len == 0) return true;
    if (t->ignore_merges) {
        int32_t id = tok_vocab_get(t, w, len);
        if (id >= 0) { tok_ids_push(out, id); return true; }
    }
    scratch_reserve(s, len);
    struct TokSym *syms = s->syms;
    uint32_t n = 0;
    int32_t unk = -1;          // pending unk symbol (HF keeps it until a vocab char flushes it)
    uint32_t unk_len = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c0 = (unsigned char)w[i];
        size_t cl = tok_utf8_len(c0);
        int32_t id = c0 < 128 ? t->ascii_id[c0] : tok_vocab_get(t, w + i, cl);
        if (id >= 0) {
            if (unk >= 0) { sym_add(syms, &n, unk, unk_len); unk = -1; }
            sym_add(syms, &n, id, (uint32_t)cl);
        } else {
            bool done = false;
            if (t->byte_fallback) {
                bool all = true;
                for (size_t k = 0; k < cl; k++) all = all && t->byte_id[(unsigned char)w[i + k]] >= 0;
                if (all) {   // note: HF does not flush a pending unk here
                    for (size_t k = 0; k < cl; k++) sym_add(syms, &n, t->byte_id[(unsigned char)w[i + k]], 1);
                    done = true;
                }
            }
            if (!done && t->unk_id != -1) {
                if (t->unk_id < 0)
                    return err_set(err, "%s: model.unk_token: \"%s\" is not in model.vocab, and the text "
                                   "has a character that needs it", t->name, t->unk_name);
                if (unk >= 0 && t->fuse_unk) unk_len += (uint32_t)cl;
                else {
                    if (unk >= 0) sym_add(syms, &n, unk, unk_len);
                    unk = t->unk_id;
                    unk_len = (uint32_t)cl;
                }
            }
        }
        i += cl;
    }
    if (unk >= 0) sym_add(syms, &n, unk, unk_len);
    if (n == 0) return true;
    syms[n - 1].next = -1;

    // Word::merge_all
    struct TokHeapItem *heap = s->heap;
    uint32_t hn = 0;
    for (uint32_t i = 0; i + 1 < n; i++) {
        const TokMergeSlot *m = tok_mergemap_get(&t->merges, syms[i].id, syms[i + 1].id);
        if (m) heap_push(heap, &hn, (struct TokHeapItem){m->rank, (int32_t)i, m->new_id});
    }
    while (hn > 0) {
        struct TokHeapItem top = heap_pop(heap, &hn);
        struct TokSym *cur = &syms[top.pos];
        if (cur->len == 0 || cur->next < 0) continue;
        int32_t next_pos = cur->next;
        struct TokSym right = syms[next_pos];
        const TokMergeSlot *m = tok_mergemap_get(&t->merges, cur->id, right.id);
        if (!m || m->new_id != top.new_id) continue;   // stale entry
        cur->id = top.new_id;
        cur->len += right.len;
        cur->next = right.next;
        syms[next_pos].len = 0;
        if (right.next >= 0) syms[right.next].prev = top.pos;
        if (cur->prev >= 0) {
            const TokMergeSlot *pm = tok_mergemap_get(&t->merges, syms[cur->prev].id, cur->id);
            if (pm) heap_push(heap, &hn, (struct TokHeapItem){pm->rank, cur->prev, pm->new_id});
        }
        if (cur->next >= 0) {
            const TokMergeSlot *nm = tok_mergemap_get(&t->merges, cur->id, syms[cur->next].id);
            if (nm) heap_push(heap, &hn, (struct TokHeapItem){nm->rank, top.pos, nm->new_id});
        }
        LPOI_ASSERT(hn <= s->heap_cap);
    }
    for (uint32_t i = 0; i < n; i++)
        if (syms[i].len) tok_ids_push(out, syms[i].id);
    return true;
}
