// test_files.c — scratch folders and small text files for the tests (test.h).
#include "test/test.h"
#include "base/check.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>

void test_tmp_dir(char *buf, size_t cap, const char *tag) {
    snprintf(buf, cap, "/tmp/lpoi_%s_XXXXXX", tag);
    if (!mkdtemp(buf)) LPOI_DIE("mkdtemp %s failed", buf);
}

const char *test_path(const char *dir, const char *name) {
    static char buf[8][1024];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

bool test_write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

char *test_read_text(const char *path) { return file_read_all(path, (size_t)64 << 20, NULL, NULL); }
