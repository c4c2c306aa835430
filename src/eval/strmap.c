// strmap.c — see strmap.h.
#include "eval/strmap.h"
#include "base/check.h"
#include <stdint.h>
#include <string.h>

static uint64_t hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static size_t slot(const StrMap *m, const char *key, size_t n) {
    size_t i = (size_t)hash(key, n) & (m->cap - 1);
    while (m->keys[i] && !(strlen(m->keys[i]) == n && !memcmp(m->keys[i], key, n))) i = (i + 1) & (m->cap - 1);
    return i;
}

int strmap_add(StrMap *m, const char *key, int val) {
    if (2 * (m->n + 1) > m->cap) {
        StrMap g = {calloc_check(m->cap ? 2 * m->cap : 64, sizeof(char *)), NULL, m->cap ? 2 * m->cap : 64, m->n};
        g.vals = calloc_check(g.cap, sizeof(int));
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = slot(&g, m->keys[i], strlen(m->keys[i]));
                g.keys[j] = m->keys[i];
                g.vals[j] = m->vals[i];
            }
        free(m->keys);
        free(m->vals);
        *m = g;
    }
    size_t n = strlen(key), i = slot(m, key, n);
    if (m->keys[i]) return m->vals[i];
    m->keys[i] = malloc_check(n + 1);
    memcpy(m->keys[i], key, n + 1);
    m->vals[i] = val;
    m->n++;
    return val;
}

int strmap_getn(const StrMap *m, const char *key, size_t len, int missing) {
    if (!m->cap) return missing;
    size_t i = slot(m, key, len);
    return m->keys[i] ? m->vals[i] : missing;
}

int strmap_get(const StrMap *m, const char *key, int missing) { return strmap_getn(m, key, strlen(key), missing); }

void strmap_free(StrMap *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    *m = (StrMap){0};
}
