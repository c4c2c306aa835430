// llava_lora_load_test.c — loading a PEFT adapter into a LLaVA (testdata/tiny_llava, all-linear r=2):
// a stray tensor is reported once (llava_load.c's stray scan and the decoder's own plan both
// reported a stray language-model tensor), and a read error in the middle of the load leaves the
// adapter that was there before, bit for bit (it was replaced tensor by tensor up to the error).
#include "models/llava.h"
#include "test/test.h"
#include "base/check.h"
#include "base/file.h"
#include "base/rng.h"
#include "base/safetensors.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    Backend *be;
    LlavaModel m;
} Tiny;

static bool tiny_open_all_linear(Tiny *t, LpoiErr *err) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tiny_llava", test_data_dir());
    t->be = backend_cpu_create();
    LlavaLoraTargets tg;
    if (!llava_open(&t->m, t->be, dir, err) || !llava_lora_parse_targets("all-linear", NULL, &tg, err)) return false;
    llava_lora_create(&t->m, 2, 4.0f, &tg);
    return true;
}

static void tiny_close(Tiny *t) {
    llava_free(&t->m);
    t->be->destroy(t->be);
}

// Every adapter parameter, concatenated (host, malloc'ed); *n floats.
static float *adapter_params(Tiny *t, size_t *n) {
    size_t total = 0, nt = llava_lora_count(&t->m);
    for (size_t i = 0; i < nt; i++) {
        int64_t shape[2];
        llava_lora_tensor(&t->m, i, NULL, 0, shape, NULL, NULL);
        total += (size_t)(shape[0] * shape[1]);
    }
    float *out = malloc_check(total * sizeof *out), *o = out;
    for (size_t i = 0; i < nt; i++) {
        int64_t shape[2];
        float *p;
        llava_lora_tensor(&t->m, i, NULL, 0, shape, &p, NULL);
        t->be->download(t->be, o, p, (size_t)(shape[0] * shape[1]) * sizeof *o);
        o += shape[0] * shape[1];
    }
    *n = total;
    return out;
}

// The model's adapter under its own names with values from seed, plus `extra` (NULL: none) as a
// [1, 1] tensor, written to path.
static bool write_adapter(Tiny *t, const char *path, uint64_t seed, const char *extra, LpoiErr *err) {
    StWriter *w = st_writer_new();
    Rng rng;
    rng_seed(&rng, seed);
    size_t nt = llava_lora_count(&t->m);
    float **bufs = calloc_check(nt + 1, sizeof *bufs);
    for (size_t i = 0; i < nt; i++) {
        int64_t shape[2];
        char name[256];
        llava_lora_tensor(&t->m, i, name, sizeof name, shape, NULL, NULL);
        size_t n = (size_t)(shape[0] * shape[1]);
        bufs[i] = malloc_check(n * sizeof **bufs);
        for (size_t j = 0; j < n; j++) bufs[i][j] = (float)(2 * rng_uniform(&rng) - 1);
        st_writer_add_f32(w, name, 2, (const uint64_t[]){(uint64_t)shape[0], (uint64_t)shape[1]}, bufs[i]);
    }
    static float one = 1;
    if (extra) st_writer_add_f32(w, extra, 2, (const uint64_t[]){1, 1}, &one);
    bool ok = st_writer_write(w, path, err);
    st_writer_free(w);
    for (size_t i = 0; i < nt; i++) free(bufs[i]);
    free(bufs);
    return ok;
}

static bool load_adapter(Tiny *t, const char *path, LpoiErr *err) {
    StFile f;
    if (!st_open(&f, path, err)) return false;
    WeightSource src = {.file = &f, .prefix = "", .what = path};
    bool ok = llava_lora_load(&t->m, &src, err);
    st_close(&f);
    return ok;
}

static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

TEST(llava_lora_stray_tensor_reported_once) {
    Tiny t;
    LpoiErr err = {{0}};
    if (!tiny_open_all_linear(&t, &err)) { EXPECT_MSG(false, "%s", err.msg); return; }
    char path[] = "/tmp/lpoi_lora_stray_XXXXXX";
    close(mkstemp(path));
    static const char *const STRAY[] = {
        "base_model.model.model.language_model.layers.0.self_attn.zz_proj.lora_A.weight",   // under the decoder
        "base_model.model.model.vision_tower.encoder.layers.0.mlp.fc3.lora_A.weight",       // under the vision tower
        "base_model.model.lm_head.lora_A.weight",                                            // under no part
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(STRAY); i++) {
        EXPECT(write_adapter(&t, path, 1, STRAY[i], &err));
        EXPECT(!load_adapter(&t, path, &err));
        EXPECT_MSG(count_of(err.msg, STRAY[i]) == 1 && count_of(err.msg, "unexpected") == 1 &&
                       strstr(err.msg, "1 unexpected"), "%s", err.msg);
    }
    remove(path);
    tiny_close(&t);
}

TEST(llava_lora_read_error_leaves_the_adapter_unchanged) {
    Tiny t;
    LpoiErr err = {{0}};
    if (!tiny_open_all_linear(&t, &err)) { EXPECT_MSG(false, "%s", err.msg); return; }
    char first[] = "/tmp/lpoi_lora_first_XXXXXX", second[] = "/tmp/lpoi_lora_second_XXXXXX";
    close(mkstemp(first));
    close(mkstemp(second));
    EXPECT(write_adapter(&t, first, 1, NULL, &err) && write_adapter(&t, second, 2, NULL, &err));
    EXPECT_MSG(load_adapter(&t, first, &err), "%s", err.msg);
    size_t n, n2;
    float *before = adapter_params(&t, &n);
    const size_t nt = llava_lora_count(&t.m);
    const long at[] = {2, (long)nt / 2, (long)nt};   // early, in the middle (another part), the last tensor
    for (size_t k = 0; k < LPOI_ARRAY_LEN(at); k++) {
        char spec[32];
        snprintf(spec, sizeof spec, "read:%ld:fail", at[k]);
        file_fault_set(spec);
        EXPECT(!load_adapter(&t, second, &err));
        file_fault_set(NULL);
        EXPECT_MSG(strstr(err.msg, "read failed") != NULL, "%s", err.msg);
        float *after = adapter_params(&t, &n2);
        EXPECT_MSG(n2 == n && !memcmp(before, after, n * sizeof *after), "read error at tensor %ld of %zu: the adapter changed",
                   at[k], nt);
        free(after);
    }
    EXPECT_MSG(load_adapter(&t, second, &err), "%s", err.msg);   // and without the fault it loads
    float *loaded = adapter_params(&t, &n2);
    EXPECT(n2 == n && memcmp(before, loaded, n * sizeof *loaded) != 0);
    free(loaded);
    free(before);
    remove(first);
    remove(second);
    tiny_close(&t);
}
