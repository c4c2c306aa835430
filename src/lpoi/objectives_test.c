// objectives_test.c — the LPOI objectives against finite differences and their defining
// properties: listwise gradients sum to zero (shift invariance), a two-image list is DPO, the
// decreasing order minimises the listwise loss, huge scores (|S| = 1e4) stay finite and exact,
// batch = mean of examples, and the monitoring values. Golden cases against torch autograd live in
// testdata/golden/loss_*.safetensors (tools/golden_losses.py, src/check/golden_losses.c).
#include "test/test.h"
#include "test/gradcheck.h"
#include "lpoi/objectives.h"
#include "base/check.h"
#include <string.h>

// Packed policy/reference log-probs of a batch: [chosen B | rejected B | crop B | list B·L].
typedef struct {
    ObjConfig cfg;
    int B;
    double *pol, *ref;
    const double *n_chosen, *n_rejected;   // [B] answer tokens ("ipo"), or NULL
} Fd;

static size_t fd_n(const Fd *f) { return (size_t)f->B * (3 + (size_t)f->cfg.list_size); }

static ObjBatch fd_batch(const Fd *f) {
    int B = f->B;
    ObjBatch b = {
        .B = B,
        .pol_chosen = f->pol, .ref_chosen = f->ref,
        .pol_rejected = f->pol + B, .ref_rejected = f->ref + B,
        .pol_crop = f->pol + 2 * B, .ref_crop = f->ref + 2 * B,
        .pol_list = f->pol + 3 * B, .ref_list = f->ref + 3 * B,
        .n_chosen = f->n_chosen, .n_rejected = f->n_rejected,
    };
    return b;
}

static double fd_loss(void *p) {
    Fd *f = p;
    ObjBatch b = fd_batch(f);
    return obj_batch(&f->cfg, &b, NULL, NULL, NULL);
}

// Random log-probs: reference around -40, policy = reference + N(0, spread) so that β(π − r) is
// of order spread·β.
static Fd fd_make(ObjConfig cfg, int B, uint64_t seed, double spread) {
    Fd f = {.cfg = cfg, .B = B};
    size_t n = fd_n(&f);
    f.pol = gc_alloc_f64(n);
    f.ref = gc_alloc_f64(n);
    TestRng r = trng_seed(seed);
    for (size_t i = 0; i < n; i++) {
        f.ref[i] = -40 + 8 * trng_normal(&r);
        f.pol[i] = f.ref[i] + spread * trng_normal(&r);
    }
    return f;
}

static void fd_free(Fd *f) { free(f->pol); free(f->ref); }

// Analytic gradient of the batch mean in the packed layout (unused slots 0), as float for EXPECT_GRAD.
static float *fd_analytic(Fd *f) {
    size_t n = fd_n(f);
    int B = f->B;
    double *g = gc_alloc_f64(n);
    ObjBatchGrad bg = {.d_chosen = g, .d_rejected = g + B, .d_crop = g + 2 * B, .d_list = g + 3 * B};
    ObjBatch b = fd_batch(f);
    obj_batch(&f->cfg, &b, &bg, NULL, NULL);
    float *out = gc_alloc_f32(n);
    gc_f64_to_f32(out, g, n);
    free(g);
    return out;
}

static void check_fd_counts(const char *what, ObjConfig cfg, int B, uint64_t seed, double spread, const double *n_chosen,
                            const double *n_rejected) {
    Fd f = fd_make(cfg, B, seed, spread);
    f.n_chosen = n_chosen;
    f.n_rejected = n_rejected;
    float *an = fd_analytic(&f);
    EXPECT_GRAD(what, fd_loss, &f, f.pol, an, fd_n(&f), 1e-9, 1e-6);
    free(an);
    fd_free(&f);
}

static void check_fd(const char *what, ObjConfig cfg, int B, uint64_t seed, double spread) {
    check_fd_counts(what, cfg, B, seed, spread, NULL, NULL);
}

TEST(obj_fd_dpo) {
    ObjConfig c = obj_config_default(OBJ_DPO);
    check_fd("dpo", c, 4, 1, 10);
    c.label_smoothing = 0.2;
    c.beta = 0.5;
    check_fd("dpo eps=0.2 beta=0.5", c, 3, 2, 3);
}

TEST(obj_fd_anchor) {
    ObjConfig c = obj_config_default(OBJ_LPOI);   // anchor alone: other weights 0
    c.w_dpo = c.w_list = 0;
    c.delta = 0.3;
    check_fd("anchor", c, 4, 3, 10);
    c.delta = -1.5;
    c.w_anchor = 2.5;
    check_fd("anchor delta<0", c, 2, 4, 10);
}

TEST(obj_fd_cond) {
    ObjConfig c = obj_config_default(OBJ_MDPO);
    c.w_dpo = c.w_anchor = 0;
    check_fd("mdpo conditional", c, 4, 5, 10);
}

TEST(obj_fd_list_L2_to_8) {
    for (int L = 2; L <= 8; L++) {
        ObjConfig c = obj_config_default(OBJ_LPOI);
        c.w_dpo = c.w_anchor = 0;
        c.list_size = L;
        char what[32];
        snprintf(what, sizeof what, "list L=%d", L);
        check_fd(what, c, 3, 10 + (uint64_t)L, 10 + 5 * L);
    }
}

TEST(obj_fd_totals) {
    ObjConfig c = obj_config_default(OBJ_LPOI);
    check_fd("lpoi total defaults", c, 5, 20, 10);
    c.w_dpo = 0.7; c.w_anchor = 0.3; c.w_list = 1.9; c.delta = 0.25; c.label_smoothing = 0.1; c.list_size = 7;
    check_fd("lpoi total weighted", c, 3, 21, 20);
    ObjConfig m = obj_config_default(OBJ_MDPO);
    check_fd("mdpo total defaults", m, 5, 22, 10);
    m.w_cond = 0.4; m.w_anchor = 1.7; m.beta = 0.3;
    check_fd("mdpo total weighted", m, 3, 23, 5);
}

// Σ_i ∂L/∂S_i = 0 (the PL loss depends on differences of S only), at every scale.
TEST(obj_list_grads_sum_to_zero) {
    TestRng r = trng_seed(30);
    const double scales[] = {1e-3, 1, 30, 1e4};
    for (int L = 2; L <= 8; L++) {
        for (size_t s = 0; s < LPOI_ARRAY_LEN(scales); s++) {
            double S[OBJ_MAX_L], dS[OBJ_MAX_L], sum = 0, mag = 0;
            for (int k = 0; k < L; k++) S[k] = scales[s] * trng_normal(&r);
            obj_plackett_luce(S, L, dS);
            for (int k = 0; k < L; k++) { sum += dS[k]; mag += fabs(dS[k]); }
            EXPECT_MSG(fabs(sum) <= 1e-13 * (1 + mag), "L=%d scale %g: sum of gradients %g", L, scales[s], sum);
        }
    }
}

// L = 2: softplus(S_2 − S_1), which is DPO with chosen = item 1, rejected = item 2.
TEST(obj_list_two_equals_dpo) {
    TestRng r = trng_seed(31);
    for (int trial = 0; trial < 20; trial++) {
        double pw = -30 + 5 * trng_normal(&r), rw = -30 + 5 * trng_normal(&r);
        double pl = -30 + 5 * trng_normal(&r), rl = -30 + 5 * trng_normal(&r);
        if (trial == 19) { pw = -1e5; rw = 0; }   // |S| = 1e4
        ObjConfig d = obj_config_default(OBJ_DPO);
        ObjExample ex = {.pol_chosen = pw, .ref_chosen = rw, .pol_rejected = pl, .ref_rejected = rl};
        ObjExampleGrad gd = {0};
        ObjStats sd;
        obj_example(&d, &ex, &gd, &sd);

        ObjConfig c = obj_config_default(OBJ_LPOI);
        c.list_size = 2;
        double pol[2] = {pw, pl}, ref[2] = {rw, rl}, dl[2];
        ObjExample ey = ex;
        ey.pol_list = pol;
        ey.ref_list = ref;
        ObjExampleGrad gl = {.d_list = dl};
        ObjStats sl;
        obj_example(&c, &ey, &gl, &sl);
        EXPECT_NEAR(sl.list, sd.dpo, 1e-14, 1e-13);
        EXPECT_NEAR(dl[0], gd.d_chosen, 1e-15, 1e-13);
        EXPECT_NEAR(dl[1], gd.d_rejected, 1e-15, 1e-13);
    }
}

static bool next_permutation(int *a, int n) {
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1]) i--;
    if (i < 0) return false;
    int j = n - 1;
    while (a[j] <= a[i]) j--;
    int t = a[i]; a[i] = a[j]; a[j] = t;
    for (int lo = i + 1, hi = n - 1; lo < hi; lo++, hi--) { t = a[lo]; a[lo] = a[hi]; a[hi] = t; }
    return true;
}

// The loss is minimised, over every arrangement of the same scores, by the decreasing one, and
// reversing a perfectly ordered list raises it.
TEST(obj_list_permutations) {
    TestRng r = trng_seed(32);
    for (int L = 2; L <= 6; L++) {
        double v[OBJ_MAX_L];
        for (int k = 0; k < L; k++) v[k] = 2 * trng_normal(&r);
        // sort decreasing
        for (int i = 0; i < L; i++)
            for (int j = i + 1; j < L; j++)
                if (v[j] > v[i]) { double t = v[i]; v[i] = v[j]; v[j] = t; }
        double best = obj_plackett_luce(v, L, NULL);
        int perm[OBJ_MAX_L];
        for (int k = 0; k < L; k++) perm[k] = k;
        int count = 0;
        while (next_permutation(perm, L)) {
            double S[OBJ_MAX_L];
            for (int k = 0; k < L; k++) S[k] = v[perm[k]];
            double l = obj_plackett_luce(S, L, NULL);
            EXPECT_MSG(l > best, "L=%d: a permutation has loss %.17g <= the ordered %.17g", L, l, best);
            count++;
        }
        int fact = 1;
        for (int k = 2; k <= L; k++) fact *= k;
        EXPECT_EQ_INT(count, fact - 1);
        double rev[OBJ_MAX_L];
        for (int k = 0; k < L; k++) rev[k] = v[L - 1 - k];
        EXPECT(obj_plackett_luce(rev, L, NULL) > best);
        // gradient descent on an ordered list keeps pushing the ends apart: dS_1 < 0 < dS_L
        double dS[OBJ_MAX_L];
        obj_plackett_luce(v, L, dS);
        EXPECT(dS[0] < 0 && dS[L - 1] > 0);
    }
}

// Known values: equal scores give Σ_{k=1}^{L−1} log(L−k+1) and stage-wise gradients.
TEST(obj_list_equal_scores) {
    for (int L = 2; L <= 8; L++) {
        double S[OBJ_MAX_L], dS[OBJ_MAX_L], want = 0;
        for (int k = 0; k < L; k++) S[k] = 0.7;
        for (int k = 1; k < L; k++) want += log((double)(L - k + 1));
        EXPECT_NEAR(obj_plackett_luce(S, L, dS), want, 1e-14, 1e-14);
        // dS_i = −[i < L] + Σ_{k ≤ min(i, L−1)} 1/(L − k + 1)   (1-based)
        for (int i = 1; i <= L; i++) {
            double g = i < L ? -1 : 0;
            for (int k = 1; k <= (i < L ? i : L - 1); k++) g += 1.0 / (L - k + 1);
            EXPECT_NEAR(dS[i - 1], g, 1e-15, 1e-13);
        }
    }
}

// Central differences in S with an absolute step (the checked helper scales its step with |x|,
// too coarse at |S| = 1e4 where the curvature is still O(1)).
static void check_list_fd_abs(const double *S0, int L, double h, double tol) {
    double S[OBJ_MAX_L], dS[OBJ_MAX_L];
    memcpy(S, S0, sizeof(double) * (size_t)L);
    obj_plackett_luce(S, L, dS);
    for (int i = 0; i < L; i++) {
        double keep = S[i];
        S[i] = keep + h; double up = obj_plackett_luce(S, L, NULL);
        S[i] = keep - h; double dn = obj_plackett_luce(S, L, NULL);
        S[i] = keep;
        EXPECT_NEAR(dS[i], (up - dn) / (2 * h), tol, 1e-6);
    }
}

TEST(obj_huge_scores) {
    for (int L = 2; L <= 8; L++) {
        // a list offset by ±1e4: same loss and gradients as without the offset
        double base[OBJ_MAX_L], S[OBJ_MAX_L], d0[OBJ_MAX_L], d1[OBJ_MAX_L];
        TestRng r = trng_seed(40 + (uint64_t)L);
        for (int k = 0; k < L; k++) base[k] = trng_normal(&r);
        double l0 = obj_plackett_luce(base, L, d0);
        for (int sign = -1; sign <= 1; sign += 2) {
            for (int k = 0; k < L; k++) S[k] = base[k] + sign * 1e4;
            double l1 = obj_plackett_luce(S, L, d1);
            EXPECT_NEAR(l1, l0, 1e-10, 1e-10);
            for (int k = 0; k < L; k++) EXPECT_NEAR(d1[k], d0[k], 1e-10, 1e-9);
            check_list_fd_abs(S, L, 1e-3, 1e-8);
        }
        // reversed with gaps of 1e4 (S_k = 1e4·k): loss Σ_k (S_L − S_k), gradient −1 … −1, L − 1
        for (int k = 0; k < L; k++) S[k] = 1e4 * k;
        double want = 0;
        for (int k = 0; k < L - 1; k++) want += S[L - 1] - S[k];
        double l = obj_plackett_luce(S, L, d1);
        EXPECT(isfinite(l));
        EXPECT_NEAR(l, want, 0, 1e-15);
        for (int k = 0; k < L - 1; k++) EXPECT_NEAR(d1[k], -1, 0, 1e-15);
        EXPECT_NEAR(d1[L - 1], L - 1, 0, 1e-15);
        // perfectly ordered with gaps of 1e4: loss and gradients underflow to exactly 0
        for (int k = 0; k < L; k++) S[k] = -1e4 * k;
        EXPECT(obj_plackett_luce(S, L, d1) == 0);
        for (int k = 0; k < L; k++) EXPECT(d1[k] == 0);
        // mixed: a near-tie at 1e4 amid huge gaps, where the curvature is O(1)
        for (int k = 0; k < L; k++) S[k] = (k % 2 ? 1e4 : -1e4) + 0.3 * k;
        check_list_fd_abs(S, L, 1e-3, 1e-8);
    }
    // pairwise terms at |z| = 1e4: losses 1e4 or 0, gradients β or 0, all finite
    const double beta = 0.1;
    for (int sign = -1; sign <= 1; sign += 2) {
        ObjConfig c = obj_config_default(OBJ_MDPO);
        ObjExample ex = {.pol_chosen = sign * 1e5, .ref_chosen = 0, .pol_rejected = 0, .ref_rejected = 0,
                         .pol_crop = 0, .ref_crop = 0};
        ObjExampleGrad g;
        ObjStats st;
        double loss = obj_example(&c, &ex, &g, &st);
        EXPECT(isfinite(loss) && isfinite(g.d_chosen) && isfinite(g.d_rejected) && isfinite(g.d_crop));
        double per = sign < 0 ? 1e4 : 0;            // each of dpo, cond, anchor
        EXPECT_NEAR(st.dpo, per, 0, 1e-15);
        EXPECT_NEAR(st.cond, per, 0, 1e-15);
        EXPECT_NEAR(st.anchor, per, 0, 1e-15);
        EXPECT_NEAR(g.d_chosen, sign < 0 ? -3 * beta : 0, 0, 1e-15);
        EXPECT_NEAR(g.d_rejected, sign < 0 ? beta : 0, 0, 1e-15);
        EXPECT_NEAR(g.d_crop, sign < 0 ? beta : 0, 0, 1e-15);
    }
}

TEST(obj_batch_is_mean) {
    ObjConfig c = obj_config_default(OBJ_LPOI);
    Fd f = fd_make(c, 4, 50, 10);
    ObjBatch b = fd_batch(&f);
    int B = 4, L = c.list_size;
    double g[4 * 8];
    ObjBatchGrad bg = {.d_chosen = g, .d_rejected = g + B, .d_list = g + 2 * B};
    ObjStats mean, per[4];
    double loss = obj_batch(&c, &b, &bg, &mean, per);
    double sum = 0, acc = 0;
    for (int i = 0; i < B; i++) {
        ObjExample ex = {.pol_chosen = b.pol_chosen[i], .ref_chosen = b.ref_chosen[i],
                         .pol_rejected = b.pol_rejected[i], .ref_rejected = b.ref_rejected[i],
                         .pol_list = b.pol_list + i * L, .ref_list = b.ref_list + i * L};
        double dl[OBJ_MAX_L];
        ObjExampleGrad eg = {.d_list = dl};
        ObjStats s;
        double li = obj_example(&c, &ex, &eg, &s);
        EXPECT_NEAR(per[i].loss, li, 0, 1e-15);
        sum += li;
        acc += s.list_pair_acc;
        EXPECT_NEAR(g[i], eg.d_chosen / B, 0, 1e-15);
        EXPECT_NEAR(g[B + i], eg.d_rejected / B, 0, 1e-15);
        for (int k = 0; k < L; k++) EXPECT_NEAR(g[2 * B + i * L + k], dl[k] / B, 0, 1e-15);
    }
    EXPECT_NEAR(loss, sum / B, 0, 1e-14);
    EXPECT_NEAR(mean.loss, sum / B, 0, 1e-14);
    EXPECT_NEAR(mean.list_pair_acc, acc / B, 0, 1e-14);
    fd_free(&f);
}

// Which terms each objective turns on, and the monitoring values of a hand-made example.
TEST(obj_terms_and_monitoring) {
    double pol[5] = {-10, -12, -11, -15, -20}, ref[5] = {-10, -10, -10, -10, -10};   // S = 0,-.2,-.1,-.5,-1
    ObjExample ex = {.pol_chosen = -8, .ref_chosen = -10, .pol_rejected = -13, .ref_rejected = -12,
                     .pol_list = pol, .ref_list = ref, .pol_crop = -14, .ref_crop = -12};
    ObjStats s;
    ObjConfig d = obj_config_default(OBJ_DPO);
    double l = obj_example(&d, &ex, NULL, &s);
    EXPECT(s.anchor == 0 && s.list == 0 && s.cond == 0 && l == s.dpo && s.dpo > 0);
    EXPECT_NEAR(s.reward_chosen, 0.2, 1e-15, 1e-12);
    EXPECT_NEAR(s.reward_rejected, -0.1, 1e-15, 1e-12);
    EXPECT_NEAR(s.margin, 0.3, 1e-15, 1e-12);
    EXPECT(s.acc == 1);
    EXPECT_NEAR(s.dpo, obj_softplus(-0.03 * 10), 0, 1e-14);

    ObjConfig m = obj_config_default(OBJ_MDPO);
    m.w_cond = 0.5;
    l = obj_example(&m, &ex, NULL, &s);
    EXPECT(s.list == 0 && s.cond > 0 && s.anchor > 0);
    EXPECT_NEAR(l, s.dpo + s.anchor + 0.5 * s.cond, 0, 1e-15);
    EXPECT_NEAR(s.cond, obj_softplus(-0.1 * (6 - 2)), 0, 1e-14);
    EXPECT_NEAR(s.anchor, obj_softplus(-0.2), 0, 1e-14);
    EXPECT_NEAR(s.reward_crop, -0.2, 1e-15, 1e-12);

    ObjConfig c = obj_config_default(OBJ_LPOI);
    c.delta = 0.5;
    l = obj_example(&c, &ex, NULL, &s);
    EXPECT(s.cond == 0 && s.list > 0);
    EXPECT_NEAR(s.anchor, obj_softplus(-(0.2 - 0.5)), 0, 1e-14);
    EXPECT_NEAR(l, s.dpo + s.anchor + s.list, 0, 1e-15);
    const double S[5] = {0, -0.2, -0.1, -0.5, -1};
    for (int k = 0; k < 5; k++) EXPECT_NEAR(s.S[k], S[k], 1e-15, 1e-12);
    EXPECT(s.list_full_acc == 0);              // S_2 < S_3
    EXPECT_NEAR(s.list_pair_acc, 9.0 / 10, 0, 1e-15);
    EXPECT(s.list_top_acc == 1);
    pol[2] = -13;                              // S = 0,-.2,-.3,-.5,-1: ordered
    obj_example(&c, &ex, NULL, &s);
    EXPECT(s.list_full_acc == 1 && s.list_pair_acc == 1);
    pol[1] = -13;                              // a tie is not an order
    obj_example(&c, &ex, NULL, &s);
    EXPECT(s.list_full_acc == 0 && s.list_top_acc == 1);
    EXPECT_NEAR(s.list_pair_acc, 9.0 / 10, 0, 1e-15);
    // the direct definition of the listwise term (small scores: naive sums are fine)
    double want = 0;
    for (int k = 0; k < 4; k++) {
        double z = 0;
        for (int j = k; j < 5; j++) z += exp(s.S[j]);
        want += log(z) - s.S[k];
    }
    EXPECT_NEAR(s.list, want, 0, 1e-13);
}

TEST(obj_config_checks) {
    LpoiErr err = {{0}};
    ObjKind k;
    EXPECT(obj_kind_parse("lpoi", &k) && k == OBJ_LPOI);
    EXPECT(obj_kind_parse("mdpo", &k) && k == OBJ_MDPO);
    EXPECT(obj_kind_parse("dpo", &k) && k == OBJ_DPO);
    EXPECT(!obj_kind_parse("ipo", &k) && !obj_kind_parse(NULL, &k));
    ObjConfig c = obj_config_default(OBJ_LPOI);
    EXPECT(c.beta == 0.1 && c.delta == 0 && c.list_size == 5 && c.w_dpo == 1 && c.w_anchor == 1 && c.w_list == 1);
    EXPECT(obj_config_check(&c, &err));
    ObjConfig bad = c; bad.beta = 0;
    EXPECT(!obj_config_check(&bad, &err) && strstr(err.msg, "beta"));
    bad = c; bad.beta = NAN;
    EXPECT(!obj_config_check(&bad, &err));
    bad = c; bad.list_size = 1;
    EXPECT(!obj_config_check(&bad, &err) && strstr(err.msg, "list size"));
    bad = c; bad.list_size = OBJ_MAX_L + 1;
    EXPECT(!obj_config_check(&bad, &err));
    bad = c; bad.label_smoothing = 0.5;
    EXPECT(!obj_config_check(&bad, &err) && strstr(err.msg, "label_smoothing"));
    bad = c; bad.w_list = -1;
    EXPECT(!obj_config_check(&bad, &err) && strstr(err.msg, "w_list"));
    bad = c; bad.delta = INFINITY;
    EXPECT(!obj_config_check(&bad, &err));
}

TEST(obj_stable_primitives) {
    EXPECT_NEAR(obj_softplus(1e4), 1e4, 0, 1e-16);
    EXPECT(obj_softplus(-1e4) == 0);
    EXPECT_NEAR(obj_softplus(0), log(2.0), 0, 1e-16);
    EXPECT_NEAR(obj_softplus(-40), exp(-40.0), 0, 1e-15);
    EXPECT(obj_sigmoid(-1e4) == 0 && obj_sigmoid(1e4) == 1);
    EXPECT_NEAR(obj_sigmoid(-40), exp(-40.0), 0, 1e-15);
    EXPECT_NEAR(obj_logaddexp(1e4, 1e4), 1e4 + log(2.0), 0, 1e-16);
    EXPECT(obj_logaddexp(-INFINITY, 3) == 3);
    EXPECT(obj_logaddexp(INFINITY, INFINITY) == INFINITY);
    // non-finite inputs are not hidden
    double S[3] = {0, NAN, 1}, dS[3];
    EXPECT(isnan(obj_plackett_luce(S, 3, dS)));
}

// The text term's loss types against PyTorch (tools/loss_types_reference.py: TRL's dpo_loss formulas,
// gradients by autograd), then against finite differences inside every objective.
TEST(obj_loss_types_equal_torch) {
    static const struct { double pw, rw, pl, rl, beta; ObjLossType t; double loss, dw, dl; } CASES[] = {
        {-12.5, -13.0, -15.25, -14.0, 0.1, OBJ_LOSS_SIGMOID, 0.6094704306630468, -0.04563613127629212, 0.04563613127629212},
        {-12.5, -13.0, -15.25, -14.0, 0.1, OBJ_LOSS_HINGE, 0.825, -0.1, 0.1},
        {-40.0, -30.0, -20.0, -35.0, 0.5, OBJ_LOSS_HINGE, 13.5, -0.5, 0.5},
        {-5.0, -30.0, -30.0, -5.0, 0.5, OBJ_LOSS_HINGE, 0.0, -0.0, 0.0},
        {-12.5, -13.0, -15.25, -14.0, 0.1, OBJ_LOSS_IPO, 10.5625, -6.5, 6.5},
        {-7.0, -9.5, -30.0, -12.0, 0.25, OBJ_LOSS_IPO, 342.25, 37.0, -37.0},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        ObjConfig c = obj_config_default(OBJ_DPO);
        c.beta = CASES[i].beta;
        c.loss_type = CASES[i].t;
        ObjExample ex = {.pol_chosen = CASES[i].pw, .ref_chosen = CASES[i].rw, .pol_rejected = CASES[i].pl,
                         .ref_rejected = CASES[i].rl};
        ObjExampleGrad g = {0};
        double loss = obj_example(&c, &ex, &g, NULL);
        EXPECT_NEAR(loss, CASES[i].loss, 1e-12, 1e-12);
        EXPECT_NEAR(g.d_chosen, CASES[i].dw, 1e-12, 1e-12);
        EXPECT_NEAR(g.d_rejected, CASES[i].dl, 1e-12, 1e-12);
    }
    ObjLossType t;
    EXPECT(obj_loss_type_parse("ipo", &t) && t == OBJ_LOSS_IPO && !obj_loss_type_parse("kto", &t));
    ObjConfig c = obj_config_default(OBJ_LPOI);
    c.loss_type = OBJ_LOSS_HINGE;
    c.label_smoothing = 0.1;
    LpoiErr err = {{0}};
    EXPECT(!obj_config_check(&c, &err) && strstr(err.msg, "sigmoid loss only"));
}

// "ipo" with answer token counts against TRL 1.16 itself (tools/loss_types_reference.py, second part:
// DPOTrainer._compute_loss on a stub model, gradients by autograd): each log-ratio is divided by its
// answer's token count. The code before this summed them (the loss was 1.5e3 instead of 31.08).
TEST(obj_ipo_length_average_equals_trl) {
    static const struct { double beta; int B; double ex[3][6]; double loss, dw[3], dl[3]; } CASES[] = {
        {0.1, 2, {{-12.5, -13.0, 5, -15.25, -14.0, 9}, {-30.0, -28.0, 17, -22.0, -25.5, 3}}, 31.080389006365074, {-0.9522222222222222, -0.36966551326412916}, {0.5290123456790123, 2.0947712418300655}},
        {0.5, 3, {{-7.0, -9.5, 2, -30.0, -12.0, 11}, {-3.0, -3.5, 1, -4.0, -2.0, 4}, {-60.0, -55.0, 23, -41.0, -44.0, 14}}, 1.8693556180928226, {0.6287878787878789, 0.0, -0.04149788459807365}, {-0.11432506887052343, -0.0, 0.06817509612540672}},
    };
    for (size_t i = 0; i < LPOI_ARRAY_LEN(CASES); i++) {
        ObjConfig c = obj_config_default(OBJ_DPO);
        c.beta = CASES[i].beta;
        c.loss_type = OBJ_LOSS_IPO;
        double pw[3], rw[3], nw[3], pl[3], rl[3], nl[3], dw[3], dl[3];
        for (int e = 0; e < CASES[i].B; e++) {
            const double *r = CASES[i].ex[e];
            pw[e] = r[0]; rw[e] = r[1]; nw[e] = r[2]; pl[e] = r[3]; rl[e] = r[4]; nl[e] = r[5];
        }
        ObjBatch b = {.B = CASES[i].B, .pol_chosen = pw, .ref_chosen = rw, .pol_rejected = pl, .ref_rejected = rl,
                      .n_chosen = nw, .n_rejected = nl};
        ObjBatchGrad g = {.d_chosen = dw, .d_rejected = dl};
        EXPECT_NEAR(obj_batch(&c, &b, &g, NULL, NULL), CASES[i].loss, 1e-13, 1e-13);
        for (int e = 0; e < CASES[i].B; e++) {
            EXPECT_NEAR(dw[e], CASES[i].dw[e], 1e-13, 1e-13);
            EXPECT_NEAR(dl[e], CASES[i].dl[e], 1e-13, 1e-13);
        }
    }
}

TEST(obj_fd_loss_types) {
    for (int k = 0; k < 3; k++) {
        ObjConfig c = obj_config_default(k == 0 ? OBJ_DPO : k == 1 ? OBJ_MDPO : OBJ_LPOI);
        c.loss_type = OBJ_LOSS_IPO;
        check_fd("ipo", c, 3, 40 + (uint64_t)k, 10);
        static const double nw[3] = {7, 1, 30}, nl[3] = {12, 0, 4};   // 0 counts as 1 (TRL's clamp)
        check_fd_counts("ipo with token counts", c, 3, 60 + (uint64_t)k, 10, nw, nl);
        c.loss_type = OBJ_LOSS_HINGE;   // away from the kink at z = 1 (probability ~0 with these draws)
        check_fd("hinge", c, 3, 50 + (uint64_t)k, 10);
    }
}
