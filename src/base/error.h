// error.h — recoverable errors for code that reads untrusted input.
// A parser fills an LpoiErr with one line ("<file>: <place>: <reason>") and returns false;
// the caller prints it and exits 1 (apps) or reports it (tests). Never abort on file content.
#pragma once
#include <stdbool.h>
#include <stdarg.h>

typedef struct {
    char msg[512];  // one line, no trailing newline; empty when no error
} LpoiErr;

// Formats into err->msg (if err != NULL) and returns false, so parsers can `return err_set(...)`.
bool err_set(LpoiErr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Prepends "prefix: " to an existing message (e.g. the file name).
bool err_prefix(LpoiErr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
