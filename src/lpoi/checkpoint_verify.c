// checkpoint_verify.c — what lets --resume trust a checkpoint: the checksums of its files (written
// last, inside the folder, before the rename that names it) and the identity of the run that made
// it (content hashes of the data, model config, weights headers, tokenizer and image processor).
// A torn or bit-rotted checkpoint fails verify and --resume falls back to an older one; a changed
// input fails identity and --resume refuses, naming it (--allow-changed-data overrides).
#include "lpoi/trainer_internal.h"
#include "base/check.h"
#include "base/file.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define CHECKSUMS "checksums.txt"

// ---- checksums: one line "crc32 size name" per file of the folder ---------------------------------
bool checkpoint_write_checksums(const char *dir, LpoiErr *err) {
    DIR *d = opendir(dir);
    if (!d) return err_set(err, "%s: cannot open folder: %s", dir, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    bool ok = true;
    for (struct dirent *e; ok && (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, CHECKSUMS)) continue;
        char *p = file_path_join(dir, e->d_name);
        uint32_t crc;
        uint64_t size;
        ok = file_crc32(p, &crc, &size, err);
        free(p);
        if (!ok) break;
        char line[512];
        int n = snprintf(line, sizeof line, "%08" PRIx32 " %" PRIu64 " %s\n", crc, size, e->d_name);
        if (n <= 0 || (size_t)n >= sizeof line) continue;
        if (len + (size_t)n + 1 > cap) { cap = 2 * cap + (size_t)n + 256; text = realloc_check(text, cap); }
        memcpy(text + len, line, (size_t)n);
        len += (size_t)n;
    }
    closedir(d);
    if (ok) {
        char *path = file_path_join(dir, CHECKSUMS);
        ok = file_write_atomic(path, text ? text : "", len, err);
        free(path);
    }
    free(text);
    return ok;
}

bool checkpoint_verify(const char *dir, LpoiErr *err) {
    char *path = file_path_join(dir, CHECKSUMS);
    size_t size;
    char *text = file_read_all(path, 1 << 20, &size, err);
    free(path);
    if (!text) return false;
    bool ok = true, have_state = false, have_adapter = false;
    for (char *line = text, *nl; ok && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) { ok = err_set(err, "%s/" CHECKSUMS ": the last line is cut", dir); break; }
        *nl = 0;
        unsigned crc_want;
        unsigned long long size_want;
        char name[300];
        if (sscanf(line, "%8x %llu %299s", &crc_want, &size_want, name) != 3 || strchr(name, '/') ||
            !strcmp(name, "..") || !strcmp(name, ".")) {
            ok = err_set(err, "%s/" CHECKSUMS ": malformed line \"%.80s\"", dir, line);
            break;
        }
        char *p = file_path_join(dir, name);
        uint32_t crc;
        uint64_t sz;
        LpoiErr e = {{0}};
        if (!file_crc32(p, &crc, &sz, &e)) ok = err_set(err, "%s", e.msg);
        else if (sz != size_want || crc != crc_want)
            ok = err_set(err, "%s: %" PRIu64 " bytes, crc32 %08" PRIx32 "; the checkpoint recorded %llu bytes, crc32 %08x",
                         p, sz, crc, size_want, crc_want);
        free(p);
        have_state |= !strcmp(name, "training_state.safetensors");
        have_adapter |= !strcmp(name, "adapter_model.safetensors");
    }
    if (ok && !(have_state && have_adapter))
        ok = err_set(err, "%s/" CHECKSUMS ": does not list training_state.safetensors and adapter_model.safetensors", dir);
    free(text);
    return ok;
}

// ---- run identity -----------------------------------------------------------------------------------
typedef struct { uLong crc; uint64_t bytes; int files; } Digest;

static void digest_bytes(Digest *d, const void *p, size_t n) {
    d->crc = crc32(d->crc, p, (uInt)n);
    d->bytes += n;
}

static void digest_file(Digest *d, const char *path) {
    uint32_t crc;
    uint64_t size;
    LpoiErr e;
    if (!file_crc32(path, &crc, &size, &e)) return;   // absent: contributes nothing (also hashed: the count)
    uint64_t rec[2] = {crc, size};
    digest_bytes(d, rec, sizeof rec);
    d->files++;
}

// A safetensors file's 8-byte length and JSON header (names, dtypes, shapes, offsets) and its size:
// hashing 14 GB of weights on every start is not affordable; a model swapped for another of the
// same shapes keeps its header, so the size and the first MiB of data are hashed as well.
static void digest_safetensors(Digest *d, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    off_t size = lseek(fd, 0, SEEK_END);
    uint64_t head = 0;
    unsigned char len8[8];
    if (pread(fd, len8, 8, 0) == 8)
        for (int i = 7; i >= 0; i--) head = head << 8 | len8[i];
    uint64_t want = 8 + (head < ((uint64_t)100 << 20) ? head : 0) + ((uint64_t)1 << 20);
    if (size > 0 && want > (uint64_t)size) want = (uint64_t)size;
    unsigned char *buf = malloc_check(want ? want : 1);
    ssize_t got = pread(fd, buf, want, 0);
    close(fd);
    uint64_t rec[2] = {(uint64_t)size, got > 0 ? (uint64_t)got : 0};
    digest_bytes(d, rec, sizeof rec);
    if (got > 0) digest_bytes(d, buf, (size_t)got);
    free(buf);
    d->files++;
}

static void digest_in(Digest *d, const char *dir, const char *name) {
    char *p = file_path_join(dir, name);
    digest_file(d, p);
    free(p);
}

// Sorted names of dir's files ending in suffix.
static int names_ending(const char *dir, const char *suffix, char ***out) {
    *out = NULL;
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    int n = 0;
    size_t sl = strlen(suffix);
    for (struct dirent *e; (e = readdir(dp));) {
        size_t l = strlen(e->d_name);
        if (l < sl || strcmp(e->d_name + l - sl, suffix) != 0) continue;
        *out = realloc_check(*out, (size_t)(n + 1) * sizeof **out);
        (*out)[n++] = file_path_join(dir, e->d_name);
    }
    closedir(dp);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp((*out)[j - 1], (*out)[j]) > 0; j--) {
            char *x = (*out)[j]; (*out)[j] = (*out)[j - 1]; (*out)[j - 1] = x;
        }
    return n;
}

int run_identity(const Trainer *tr, RunId ids[RUN_ID_COUNT]) {
    const TrainOptions *o = &tr->o;
    Digest dg[RUN_ID_COUNT];
    for (int i = 0; i < RUN_ID_COUNT; i++) dg[i] = (Digest){.crc = crc32(0L, Z_NULL, 0)};
    digest_file(&dg[0], o->data_path);
    if (o->negatives) digest_file(&dg[0], o->negatives);
    digest_in(&dg[1], o->model_dir, "config.json");
    char **names;
    int n = names_ending(o->model_dir, ".safetensors.index.json", &names);
    for (int i = 0; i < n; i++) { digest_file(&dg[2], names[i]); free(names[i]); }
    free(names);
    n = names_ending(o->model_dir, ".safetensors", &names);
    for (int i = 0; i < n; i++) { digest_safetensors(&dg[2], names[i]); free(names[i]); }
    free(names);
    digest_in(&dg[3], o->model_dir, "tokenizer.json");
    digest_in(&dg[3], o->model_dir, "tokenizer_config.json");
    digest_in(&dg[3], o->model_dir, "special_tokens_map.json");
    digest_in(&dg[4], o->model_dir, "preprocessor_config.json");
    digest_in(&dg[4], o->model_dir, "processor_config.json");
    static const char *const keys[RUN_ID_COUNT] = {"id.data", "id.model_config", "id.model_weights", "id.tokenizer",
                                                   "id.image_processor"};
    static const char *const what[RUN_ID_COUNT] = {"the data file (and negatives manifest)", "the model's config.json",
                                                   "the model's weights (safetensors headers)", "the tokenizer",
                                                   "the image processor config"};
    for (int i = 0; i < RUN_ID_COUNT; i++) {
        ids[i].key = keys[i];
        ids[i].what = what[i];
        snprintf(ids[i].val, sizeof ids[i].val, "crc32 %08lx, %d files, %" PRIu64 " bytes hashed", dg[i].crc & 0xfffffffful,
                 dg[i].files, dg[i].bytes);
    }
    return RUN_ID_COUNT;
}
