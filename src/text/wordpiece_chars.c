// wordpiece_chars.c — binary searches over the generated character tables (wordpiece_internal.h).
#include "text/wordpiece_internal.h"

bool wp_in(const WpRanges *r, uint32_t cp) {
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r->v[mid][0]) hi = mid;
        else if (cp > r->v[mid][1]) lo = mid + 1;
        else return true;
    }
    return false;
}

int wp_class_of(const WpRanges *pairs, uint32_t cp) {
    size_t lo = 0, hi = pairs->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < pairs->v[mid][0]) hi = mid;
        else if (cp > pairs->v[mid][0]) lo = mid + 1;
        else return (int)pairs->v[mid][1];
    }
    return 0;
}

const char *wp_map(const WpMap *m, uint32_t cp, size_t *len) {
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < m->v[mid].cp) hi = mid;
        else if (cp > m->v[mid].cp) lo = mid + 1;
        else { *len = m->v[mid].len; return m->text + m->v[mid].off; }
    }
    return NULL;
}
