// cmd_inspect.c — `lpoi inspect`: validate safetensors files and list their tensors.
// For each argument (a file, a model folder, or a model.safetensors.index.json) it prints a header
// line and one line per tensor with a CRC32 of its bytes, so two files can be compared with diff.
// A file that fails validation costs one line on stderr ("lpoi: <path>: <reason>") and the others
// are still inspected. Exit: 0 all valid, 1 any invalid, 2 usage error.
#include "app/commands.h"
#include "base/json.h"
#include "base/safetensors.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *INSPECT_USAGE =
    "usage: lpoi inspect [--no-crc] PATH...\n"
    "\n"
    "Validates safetensors files and lists their tensors. PATH is a .safetensors file, a model\n"
    "folder (model.safetensors, or model.safetensors.index.json and its shards) or an index file.\n"
    "For each file: a line with the path, tensor count, header size, data size and metadata (values\n"
    "over 120 bytes shortened), then one line per tensor in file order: name, dtype, shape,\n"
    "data_offsets (relative to the data buffer) and the CRC32 of its bytes. An invalid file prints\n"
    "one line \"lpoi: PATH: REASON\" to stderr and the remaining paths are still inspected.\n"
    "\n"
    "  --no-crc   skip the CRC32 column (no tensor data is read; fast on large models)\n"
    "  -h, --help show this help\n"
    "\n"
    "Exit status: 0 if every PATH is valid, 1 if any is invalid, 2 on a usage error.\n";

// CRC32 of a buffer of any size (zlib's crc32 takes a 32-bit length).
static unsigned long crc32_big(const unsigned char *p, uint64_t n) {
    unsigned long crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

// Prints s as is when it is plain printable text, else JSON-quoted so output stays one line.
static void print_name(const char *s, int width) {
    bool plain = *s != '\0';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7F || *c == ' ' || *c == '"') { plain = false; break; }
    if (plain) { printf("%-*s", width, s); return; }
    size_t len = strlen(s), need = json_escape(NULL, 0, s, len) + 1;
    char small[256], *buf = need <= sizeof small ? small : malloc(need);
    if (!buf) { printf("%-*s", width, "(name)"); return; }
    json_escape(buf, need, s, len);
    printf("%-*s", width, buf);
    if (buf != small) free(buf);
}

static int format_shape(char *buf, size_t cap, const StTensor *t) {
    int n = snprintf(buf, cap, "[");
    for (int d = 0; d < t->ndim && (size_t)n < cap; d++)
        n += snprintf(buf + n, cap - (size_t)n, "%s%llu", d ? ", " : "", (unsigned long long)t->shape[d]);
    if ((size_t)n < cap) n += snprintf(buf + n, cap - (size_t)n, "]");
    return n;
}

static void print_file(const StFile *f, bool with_crc) {
    uint64_t data_bytes = f->map_size - 8 - f->header_len;
    printf("%s: %zu tensor%s, header %llu bytes, data %llu bytes", f->path, f->count, f->count == 1 ? "" : "s",
           (unsigned long long)f->header_len, (unsigned long long)data_bytes);
    for (size_t i = 0; i < f->meta_count; i++) {
        printf(i ? ", " : ", metadata {");
        print_name(f->meta_keys[i], 0);
        printf(": ");
        size_t len = strlen(f->meta_vals[i]);
        if (len <= 120) print_name(f->meta_vals[i], 0);
        else {   // golden cases keep a whole config.json here: show its start and size
            char shown[128];
            printf("%s (%zu bytes)", json_quote_short(shown, sizeof shown, f->meta_vals[i], len), len);
        }
    }
    printf("%s\n", f->meta_count ? "}" : "");
    // column widths (names capped so one long name does not push every line off screen)
    int name_width = 0, shape_width = 0;
    char shape[256];
    for (size_t i = 0; i < f->count; i++) {
        int n = (int)strlen(f->tensors[i].name), s = format_shape(shape, sizeof shape, &f->tensors[i]);
        if (n > name_width) name_width = n > 60 ? 60 : n;
        if (s > shape_width) shape_width = s;
    }
    for (size_t i = 0; i < f->count; i++) {
        const StTensor *t = &f->tensors[i];
        printf("  ");
        print_name(t->name, name_width);
        format_shape(shape, sizeof shape, t);
        printf("  %-11s %-*s  offsets [%llu, %llu]", dtype_name(t->dtype), shape_width, shape,
               (unsigned long long)t->begin, (unsigned long long)t->end);
        if (with_crc) printf("  crc32 %08lx", crc32_big(t->data, t->end - t->begin));
        printf("\n");
    }
}

static bool inspect_path(const char *path, bool with_crc) {
    LpoiErr err = {{0}};
    struct stat st;
    size_t n = strlen(path);
    bool is_folder = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    bool is_index = n >= 5 && strcmp(path + n - 5, ".json") == 0;
    if (is_folder || is_index) {
        StModel m;
        if (!st_model_open(&m, path, &err)) { fprintf(stderr, "lpoi: %s\n", err.msg); return false; }
        printf("%s: model, %zu shard%s, %zu tensors\n", path, m.nshards, m.nshards == 1 ? "" : "s", m.count);
        for (size_t i = 0; i < m.nshards; i++) print_file(&m.shards[i], with_crc);
        st_model_close(&m);
        return true;
    }
    StFile f;
    if (!st_open(&f, path, &err)) { fprintf(stderr, "lpoi: %s\n", err.msg); return false; }
    print_file(&f, with_crc);
    st_close(&f);
    return true;
}

int cmd_inspect(int argc, char **argv) {
    bool with_crc = true, options_done = false;
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') { npaths++; continue; }
        if (strcmp(a, "--") == 0) options_done = true;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { fputs(INSPECT_USAGE, stdout); return 0; }
        else if (strcmp(a, "--no-crc") == 0) with_crc = false;
        else { fprintf(stderr, "lpoi inspect: unknown option '%s' (see lpoi inspect --help)\n", a); return 2; }
    }
    if (npaths == 0) { fprintf(stderr, "lpoi inspect: no PATH given (see lpoi inspect --help)\n"); return 2; }
    int failed = 0;
    options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && a[0] == '-' && a[1] != '\0') { if (strcmp(a, "--") == 0) options_done = true; continue; }
        if (!inspect_path(a, with_crc)) failed++;
        fflush(stdout);
    }
    return failed ? 1 : 0;
}
