// strmap.h — a string -> int map (open addressing, FNV-1a) for the scorers' word tables. Keys are copied.
#pragma once
#include <stddef.h>

typedef struct { char **keys; int *vals; size_t cap, n; } StrMap;

// Sets key -> val unless the key is present (first one wins, like the scripts' "first match").
// Returns the value now stored for key.
int strmap_add(StrMap *m, const char *key, int val);
int strmap_get(const StrMap *m, const char *key, int missing);   // missing when absent
int strmap_getn(const StrMap *m, const char *key, size_t len, int missing);
void strmap_free(StrMap *m);
