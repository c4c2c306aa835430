// golden_test.c — tests of the golden-case harness itself (not of any op): a wrong answer must FAIL,
// a broken file must be an ERROR naming the tensor/field (never a crash), an unsupported op must be
// skipped, and the poison/guard/read-only/accumulate checks must catch the backends they exist for.
// Cases are written to /tmp with our safetensors writer; the "backend" is a fake whose ops are
// deliberately wrong in one way each. The last test replays testdata/golden on the CPU backend.
#include "test/test.h"
#include "check/golden.h"
#include "base/check.h"
#include <dirent.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

// ---- a fake backend: host memory, and a few ops with selectable bugs -------------------------------

typedef enum { BUG_NONE, BUG_WRITE_PAST_END, BUG_WRITE_BEFORE_START, BUG_SKIP_LAST, BUG_CLOBBER_INPUT,
               BUG_OVERWRITE_PARAM_GRAD } Bug;
static Bug bug;

static void *fake_alloc(Backend *be, size_t bytes) { (void)be; return malloc_check(bytes); }
static void fake_free(Backend *be, void *p) { (void)be; free(p); }
static void fake_copy(Backend *be, void *dst, const void *src, size_t n) { (void)be; memcpy(dst, src, n); }
static void fake_zero(Backend *be, void *dst, size_t n) { (void)be; memset(dst, 0, n); }
static void fake_sync(Backend *be) { (void)be; }
static void fake_destroy(Backend *be) { free(be); }

static void fake_add(Backend *be, float *out, const float *a, const float *b, size_t n) {
    (void)be;
    size_t end = n;
    if (bug == BUG_SKIP_LAST) end = n - 1;
    for (size_t i = 0; i < end; i++) out[i] = a[i] + b[i];
    if (bug == BUG_WRITE_PAST_END) out[n] = 0.0f;
    if (bug == BUG_WRITE_BEFORE_START) out[-1] = 0.0f;
    if (bug == BUG_CLOBBER_INPUT) ((float *)b)[0] = 42.0f;
}

static void fake_embedding_forward(Backend *be, float *out, const int32_t *ids, const float *table, int N, int C) {
    (void)be;
    for (int n = 0; n < N; n++) memcpy(out + (size_t)n * C, table + (size_t)ids[n] * C, (size_t)C * sizeof(float));
}

static void fake_embedding_backward(Backend *be, float *dtable, const float *dout, const int32_t *ids, int N, int C) {
    (void)be;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            float *d = dtable + (size_t)ids[n] * C + c;
            if (bug == BUG_OVERWRITE_PARAM_GRAD) *d = dout[(size_t)n * C + c];   // = instead of +=
            else *d += dout[(size_t)n * C + c];
        }
}

static Backend *fake_backend(bool with_ops) {
    Backend *be = calloc_check(1, sizeof *be);
    be->name = "fake";
    snprintf(be->device, sizeof be->device, "fake backend for golden_test.c");
    be->alloc = fake_alloc;
    be->free = fake_free;
    be->upload = fake_copy;
    be->download = fake_copy;
    be->fill_zero = fake_zero;
    be->synchronize = fake_sync;
    be->destroy = fake_destroy;
    if (with_ops) {
        be->add = fake_add;
        be->embedding_forward = fake_embedding_forward;
        be->embedding_backward = fake_embedding_backward;
    }
    return be;
}

// ---- writing cases ---------------------------------------------------------------------------------

typedef struct { const char *name; Dtype dtype; int ndim; uint64_t shape[2]; const void *data; } TT;

static char *tmp_path(const char *tag) {
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "/tmp/lpoi_golden_test_%d_%s.safetensors", (int)getpid(), tag);
    return p;
}

// Writes a case; meta pairs (key, value) end with NULL. Returns the path.
static const char *write_case(const char *tag, const TT *ts, int nt, const char *const *meta) {
    const char *path = tmp_path(tag);
    StWriter *w = st_writer_new();
    for (int i = 0; i < nt; i++) st_writer_add(w, ts[i].name, ts[i].dtype, ts[i].ndim, ts[i].shape, ts[i].data);
    for (int i = 0; meta[i]; i += 2) st_writer_meta(w, meta[i], meta[i + 1]);
    LpoiErr err = {{0}};
    bool ok = st_writer_write(w, path, &err);
    EXPECT_MSG(ok, "writing %s: %s", path, err.msg);
    st_writer_free(w);
    return path;
}

#define N_ADD 37
static float add_a[N_ADD], add_b[N_ADD], add_y[N_ADD];

static void add_data(void) {
    for (int i = 0; i < N_ADD; i++) {
        add_a[i] = (float)i * 0.25f - 3.0f;
        add_b[i] = 1.0f / (float)(i + 1);
        add_y[i] = add_a[i] + add_b[i];
    }
}

static const char *const ADD_META[] = {"kind", "op.add", "config", "{\"n\": 37}", "atol", "1e-6", "rtol", "1e-4", NULL};

// An op.add case with the given expected output (and optionally a different kind / tensor set).
static const char *add_case(const char *tag, const float *y, const char *const *meta) {
    TT ts[] = {
        {"in.a", DTYPE_F32, 1, {N_ADD}, add_a},
        {"in.b", DTYPE_F32, 1, {N_ADD}, add_b},
        {"out.y", DTYPE_F32, 1, {N_ADD}, y},
    };
    return write_case(tag, ts, 3, meta ? meta : ADD_META);
}

// Runs a case, capturing its output. *text is malloc'ed (caller frees).
static GoldenResult run_case(const char *path, Backend *be, char **text) {
    size_t len = 0;
    *text = NULL;
    FILE *f = open_memstream(text, &len);
    GoldenOptions opt = {.verbose = true, .out = f};
    GoldenResult r = golden_run_file(path, be, &opt);
    fclose(f);
    return r;
}

static void expect_status(const char *path, Backend *be, GoldenStatus want, const char *must_say) {
    char *text;
    GoldenResult r = run_case(path, be, &text);
    EXPECT_MSG(r.status == want, "%s: status %s, expected %s; output:\n%s", path, golden_status_name(r.status),
               golden_status_name(want), text);
    if (must_say) EXPECT_MSG(strstr(text, must_say) != NULL, "%s: output lacks \"%s\":\n%s", path, must_say, text);
    free(text);
}

// expect_status, then removes the case file.
static void expect_status_once(const char *path, Backend *be, GoldenStatus want, const char *must_say) {
    expect_status(path, be, want, must_say);
    unlink(path);
}

// Writes an op.add case (expected output y; metadata meta, NULL for ADD_META), replays it on a fake
// backend (with_ops false: it implements no op) whose add has bug b, and checks what the harness says.
static void expect_add_case(const char *tag, const float *y, const char *const *meta, bool with_ops, Bug b,
                            GoldenStatus want, const char *must_say) {
    add_data();
    Backend *be = fake_backend(with_ops);
    bug = b;
    expect_status_once(add_case(tag, y ? y : add_y, meta), be, want, must_say);
    bug = BUG_NONE;
    backend_destroy(be);
}

// ---- tests -----------------------------------------------------------------------------------------

TEST(golden_correct_case_passes) {
    add_data();
    Backend *be = fake_backend(true);
    bug = BUG_NONE;
    const char *p = add_case("ok", add_y, NULL);
    char *text;
    GoldenResult r = run_case(p, be, &text);
    EXPECT_MSG(r.status == GOLDEN_PASS, "output:\n%s", text);
    EXPECT(r.checked == 2);      // out.y, and out.y again in place
    free(text);
    unlink(p);
    backend_destroy(be);
}

TEST(golden_perturbed_output_fails) {
    add_data();
    float y[N_ADD];
    memcpy(y, add_y, sizeof y);
    // tolerance at element 20 is 1e-6 + 1e-4 |y|: 1.5x of it must fail, 0.5x must pass
    double tol = 1e-6 + 1e-4 * fabs((double)add_y[20]);
    y[20] = (float)(add_y[20] + 1.5 * tol);
    expect_add_case("perturbed", y, NULL, true, BUG_NONE, GOLDEN_FAIL, "out.y");
    y[20] = (float)(add_y[20] + 0.5 * tol);
    expect_add_case("perturbed_ok", y, NULL, true, BUG_NONE, GOLDEN_PASS, NULL);
}

TEST(golden_unknown_kind_is_rejected) {
    const char *const meta[] = {"kind", "op.frobnicate", "config", "{\"n\": 37}", "atol", "1e-6", "rtol", "1e-4", NULL};
    expect_add_case("kind", NULL, meta, true, BUG_NONE, GOLDEN_ERROR, "unknown kind \"op.frobnicate\"");
}

TEST(golden_missing_tensor_is_rejected) {
    add_data();
    Backend *be = fake_backend(true);
    TT ts[] = {{"in.a", DTYPE_F32, 1, {N_ADD}, add_a}, {"out.y", DTYPE_F32, 1, {N_ADD}, add_y}};
    expect_status_once(write_case("missing", ts, 2, ADD_META), be, GOLDEN_ERROR, "missing tensor 'in.b'");
    // an expected output missing is as bad as an input missing
    TT ts2[] = {{"in.a", DTYPE_F32, 1, {N_ADD}, add_a}, {"in.b", DTYPE_F32, 1, {N_ADD}, add_b}};
    expect_status_once(write_case("missing_out", ts2, 2, ADD_META), be, GOLDEN_ERROR, "missing tensor 'out.y'");
    backend_destroy(be);
}

TEST(golden_wrong_shape_and_stray_tensor_are_rejected) {
    add_data();
    Backend *be = fake_backend(true);
    TT ts[] = {{"in.a", DTYPE_F32, 1, {N_ADD}, add_a}, {"in.b", DTYPE_F32, 2, {1, N_ADD - 1}, add_b},
               {"out.y", DTYPE_F32, 1, {N_ADD}, add_y}};
    expect_status_once(write_case("shape", ts, 3, ADD_META), be, GOLDEN_ERROR,
                       "tensor 'in.b' has shape [1,36], expected [37]");
    TT ts2[] = {{"in.a", DTYPE_F32, 1, {N_ADD}, add_a}, {"in.b", DTYPE_F32, 1, {N_ADD}, add_b},
                {"out.y", DTYPE_F32, 1, {N_ADD}, add_y}, {"out.why", DTYPE_F32, 1, {N_ADD}, add_y}};
    expect_status_once(write_case("stray", ts2, 4, ADD_META), be, GOLDEN_ERROR, "tensor 'out.why' is not used");
    backend_destroy(be);
}

TEST(golden_broken_metadata_is_rejected) {
    struct { const char *tag; const char *const meta[12]; const char *say; } cases[] = {
        {"noatol", {"kind", "op.add", "config", "{\"n\": 37}", "rtol", "1e-4", NULL}, "\"atol\" is missing"},
        {"badatol", {"kind", "op.add", "config", "{\"n\": 37}", "atol", "tiny", "rtol", "1e-4", NULL}, "\"atol\" is not a valid number"},
        {"zerotol", {"kind", "op.add", "config", "{\"n\": 37}", "atol", "0", "rtol", "0", NULL}, "both 0"},
        {"badjson", {"kind", "op.add", "config", "{n: 37}", "atol", "1e-6", "rtol", "1e-4", NULL}, "not valid JSON"},
        {"nokind", {"config", "{\"n\": 37}", "atol", "1e-6", "rtol", "1e-4", NULL}, "no \"kind\""},
        {"badn", {"kind", "op.add", "config", "{\"n\": 36.5}", "atol", "1e-6", "rtol", "1e-4", NULL}, "\"n\" must be an integer"},
        {"nocfg", {"kind", "op.add", "config", "{}", "atol", "1e-6", "rtol", "1e-4", NULL}, "missing field \"n\""},
        {"badover", {"kind", "op.add", "config", "{\"n\": 37}", "atol", "1e-6", "rtol", "1e-4", "atol.out.y", "-1", NULL}, "atol.out.y"},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(cases); i++)
        expect_add_case(cases[i].tag, NULL, cases[i].meta, true, BUG_NONE, GOLDEN_ERROR, cases[i].say);
    // not a safetensors file at all, and a file that does not exist
    Backend *be = fake_backend(true);
    const char *p = tmp_path("garbage");
    FILE *f = fopen(p, "wb");
    fputs("\xff\xff\xff\xff\xff\xff\xff\x7fnot a safetensors file", f);
    fclose(f);
    expect_status_once(p, be, GOLDEN_ERROR, p);
    expect_status("/nonexistent/lpoi/case.safetensors", be, GOLDEN_ERROR, "/nonexistent/lpoi/case.safetensors");
    backend_destroy(be);
}

TEST(golden_guards_catch_out_of_bounds_writes) {
    expect_add_case("guard", NULL, NULL, true, BUG_WRITE_PAST_END, GOLDEN_FAIL,
                    "out-of-bounds write: 0 element(s) before the start, 1 after the end");
    expect_add_case("guard", NULL, NULL, true, BUG_WRITE_BEFORE_START, GOLDEN_FAIL,
                    "out-of-bounds write: 1 element(s) before the start");
}

TEST(golden_poison_catches_unwritten_output) {
    expect_add_case("poison", NULL, NULL, true, BUG_SKIP_LAST, GOLDEN_FAIL, "got nan");
}

TEST(golden_read_only_inputs_must_stay_unchanged) {
    expect_add_case("clobber", NULL, NULL, true, BUG_CLOBBER_INPUT, GOLDEN_FAIL, "read-only input modified");
}

TEST(golden_unsupported_op_is_skipped) {
    expect_add_case("skip", NULL, NULL, false, BUG_NONE, GOLDEN_SKIP, "skipped (op not implemented on fake: add)");
}

// A model kind's ops are a column of the runner table: the harness skips before the runner reads a thing.
TEST(golden_model_case_is_skipped_without_its_ops) {
    char path[512];
    snprintf(path, sizeof path, "%s/golden/model_clip_tiny.safetensors", test_data_dir());
    if (access(path, R_OK) != 0) { test_skip("no testdata/golden/model_clip_tiny.safetensors"); return; }
    Backend *be = fake_backend(true);
    expect_status(path, be, GOLDEN_SKIP, "skipped (op not implemented on fake: gemm)");
    backend_destroy(be);
}

// op.embedding with V = 5, C = 3, N = 4 unique ids
#define EV 5
#define EC 3
#define EN 4
static float emb_w[EV * EC], emb_y[EN * EC], emb_dout[EN * EC], emb_dw[EV * EC];
static const char *const EMB_META[] = {"kind", "op.embedding", "config", "{\"N\": 4, \"V\": 5, \"C\": 3}",
                                       "atol", "1e-6", "rtol", "1e-4", NULL};

static const char *embedding_case(const char *tag, const int64_t *ids) {
    memset(emb_dw, 0, sizeof emb_dw);
    for (int i = 0; i < EV * EC; i++) emb_w[i] = (float)i * 0.5f - 2.0f;
    for (int n = 0; n < EN; n++)
        for (int c = 0; c < EC; c++) {
            int64_t id = ids[n] >= 0 && ids[n] < EV ? ids[n] : 0;
            emb_y[n * EC + c] = emb_w[id * EC + c];
            emb_dout[n * EC + c] = 0.1f * (float)(n + 1) + (float)c;
            emb_dw[id * EC + c] += emb_dout[n * EC + c];
        }
    TT ts[] = {
        {"in.ids", DTYPE_I64, 1, {EN}, ids},
        {"param.weight", DTYPE_F32, 2, {EV, EC}, emb_w},
        {"out.y", DTYPE_F32, 2, {EN, EC}, emb_y},
        {"in.dout", DTYPE_F32, 2, {EN, EC}, emb_dout},
        {"grad.weight", DTYPE_F32, 2, {EV, EC}, emb_dw},
    };
    return write_case(tag, ts, 5, EMB_META);
}

TEST(golden_param_grads_must_accumulate) {
    Backend *be = fake_backend(true);
    static const int64_t ids[EN] = {3, 0, 4, 1};
    const char *p = embedding_case("emb", ids);
    bug = BUG_NONE;
    expect_status(p, be, GOLDEN_PASS, NULL);
    bug = BUG_OVERWRITE_PARAM_GRAD;   // right after one call, wrong after two
    expect_status_once(p, be, GOLDEN_FAIL, "(2nd backward: must accumulate)");
    bug = BUG_NONE;
    backend_destroy(be);
}

TEST(golden_integer_inputs_are_range_checked) {
    Backend *be = fake_backend(true);
    static const int64_t too_big[EN] = {3, 5, 4, 1};   // 5 == V
    expect_status_once(embedding_case("emb_big", too_big), be, GOLDEN_ERROR,
                       "tensor 'in.ids'[1] = 5 is out of range [0, 4]");
    static const int64_t negative[EN] = {3, 0, -1, 1};
    expect_status_once(embedding_case("emb_neg", negative), be, GOLDEN_ERROR,
                       "tensor 'in.ids'[2] = -1 is out of range");
    static const int64_t huge[EN] = {3, 0, (int64_t)1 << 40, 1};   // would wrap to 0 as int32
    expect_status_once(embedding_case("emb_huge", huge), be, GOLDEN_ERROR, "is out of range");
    backend_destroy(be);
}

TEST(golden_compare_edge_values) {
    float want[4] = {-INFINITY, 1.0f, 0.0f, INFINITY};
    float got[4] = {-INFINITY, 1.0f, 0.0f, INFINITY};
    GoldenCmp c = golden_compare(got, want, 4, 1.0, 1e-6, 1e-4);
    EXPECT(c.bad == 0);
    got[3] = 3e38f;                 // finite where inf is expected
    c = golden_compare(got, want, 4, 1.0, 1e-6, 1e-4);
    EXPECT(c.bad == 1 && c.worst == 3);
    got[3] = INFINITY;
    got[2] = NAN;                   // NaN never passes
    c = golden_compare(got, want, 4, 1.0, 1e-6, 1e-4);
    EXPECT(c.bad == 1 && c.worst == 2 && isinf(c.share));
    got[2] = 0.0f;
    want[1] = NAN;                  // an expected NaN is a broken case: never passes
    c = golden_compare(got, want, 4, 1.0, 1e-6, 1e-4);
    EXPECT(c.bad == 1);
    // share of tolerance: err 5e-7 against atol 1e-6 + rtol*0 = 50%
    float g1 = 5e-7f, w1 = 0.0f;
    c = golden_compare(&g1, &w1, 1, 1.0, 1e-6, 1e-4);
    EXPECT_NEAR(c.share, 0.5, 1e-6, 1e-3);
    // factor 2 (accumulate check): want*2, tolerance atol*2 + rtol*|2 want|
    float g2 = 2.0f, w2 = 1.0f;
    c = golden_compare(&g2, &w2, 1, 2.0, 1e-6, 1e-4);
    EXPECT(c.bad == 0 && c.max_abs == 0);
}

// Every committed golden case passes on the CPU backend (the same as `lpoi check testdata/golden`).
TEST(golden_cases_pass_on_cpu) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s/golden", test_data_dir());
    DIR *d = opendir(dir);
    if (!d) { test_skip("no testdata/golden folder"); return; }
    Backend *be = backend_cpu_create();
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 12 || strcmp(e->d_name + len - 12, ".safetensors") != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *text;
        GoldenResult r = run_case(path, be, &text);
        EXPECT_MSG(r.status == GOLDEN_PASS || r.status == GOLDEN_SKIP, "%s:\n%s", path, text);
        free(text);
        n++;
    }
    closedir(d);
    backend_destroy(be);
    if (!n) test_skip("testdata/golden holds no cases");
}
