// singularize.h — pattern.en.singularize (clips/pattern, BSD), the plural-to-singular rule table the
// original CHAIR applies to every token, quirks included: "bus" -> "bu", "ties" -> "ty", "glass" ->
// "glas", "tennis" -> "tenni", "this" -> "thi". Parity with pattern is the point, not good English.
#pragma once
#include <stddef.h>

// Writes the singular of word (NUL-terminated, lowercase as CHAIR passes it) into out (cap bytes,
// truncated if it does not fit); returns out.
char *singularize(const char *word, char *out, size_t cap);
