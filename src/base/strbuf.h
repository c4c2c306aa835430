// strbuf.h — a growable string for building JSON lines, config files and headers piece by piece.
#pragma once
#include <stddef.h>

// {0} is an empty buffer; after any append s is NUL-terminated and s[0..len) is the text. Free s.
typedef struct { char *s; size_t len, cap; } StrBuf;

void strbuf_put(StrBuf *b, const void *data, size_t n);
void strbuf_str(StrBuf *b, const char *s);
void strbuf_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// s[0..len) as a JSON string literal, quotes included (json_escape: the escapes JSON requires,
// UTF-8 passed through).
void strbuf_json_string(StrBuf *b, const char *s, size_t len);
void strbuf_json_str(StrBuf *b, const char *s);   // the same for a NUL-terminated s
// The same for text that may not be UTF-8 (a model's decoded tokens): each invalid byte becomes
// U+FFFD, so the line stays valid JSON.
void strbuf_json_text(StrBuf *b, const char *s, size_t len);
