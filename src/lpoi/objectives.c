// objectives.c — DPO, anchor, listwise Plackett–Luce and mDPO-conditional losses with analytic
// gradients (see objectives.h for the formulas and their sources).
//
// Numerics: every loss is a softplus of a difference, never log(σ(·)) or log(Σ exp(·)) in linear
// space, so nothing overflows at any finite input. The listwise term is evaluated only through
// differences of consecutive scores (see obj_plackett_luce), so a common offset of 1e4 in S costs
// nothing but the rounding of those differences.
#include "lpoi/objectives.h"
#include "base/check.h"
#include <math.h>
#include <string.h>

double obj_softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

double obj_sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double obj_logaddexp(double a, double b) {
    if (a == b) return a + M_LN2;            // also ±inf, where a − b would be NaN
    double m = fmax(a, b);
    return m + log1p(exp(-fabs(a - b)));
}

// With t_k = c_k − S_k ≥ 0 (c_k = logsumexp_{j≥k} S_j) and x_k = c_{k+1} − S_k:
//   t_{L−1} = 0,  x_k = (S_{k+1} − S_k) + t_{k+1},  t_k = softplus(x_k),  loss = Σ_{k<L−1} t_k.
// Gradient: dS_i = −[i < L−1] + exp(S_i + A_i), A_i = log Σ_{k ≤ min(i, L−2)} exp(−c_k) (the
// prefix, kept in the log domain: Σ exp(−c_k) itself overflows in linear space). We carry B_i = A_i + c_i = log Σ_{k≤i} exp(c_i − c_k)
// instead, whose recurrence needs only c_i − c_{i−1} = x_{i−1} − softplus(x_{i−1}) = −softplus(−x_{i−1}):
//   B_0 = 0,  B_i = softplus(B_{i−1} − softplus(−x_{i−1})),
//   dS_i = expm1(B_i − t_i) for i < L−1 (expm1: no cancellation when item i wins its stage),
//   dS_{L−1} = exp(B_{L−2} − softplus(−x_{L−2})).
// B_i ≤ log(i+1) and every exponent is ≤ log L, so nothing overflows.
double obj_plackett_luce(const double *S, int L, double *dS) {
    LPOI_ASSERT(L >= 1 && L <= OBJ_MAX_L);
    double t[OBJ_MAX_L], x[OBJ_MAX_L];
    t[L - 1] = 0;
    double loss = 0;
    for (int k = L - 2; k >= 0; k--) {
        x[k] = (S[k + 1] - S[k]) + t[k + 1];
        t[k] = obj_softplus(x[k]);
        loss += t[k];
    }
    if (!dS) return loss;
    if (L == 1) { dS[0] = 0; return loss; }
    double B = 0;
    for (int i = 0; i < L - 1; i++) {
        if (i > 0) B = obj_softplus(B - obj_softplus(-x[i - 1]));
        dS[i] = expm1(B - t[i]);
    }
    dS[L - 1] = exp(B - obj_softplus(-x[L - 2]));
    return loss;
}

// ---------------------------------------------------------------------------------------------
// config

ObjConfig obj_config_default(ObjKind kind) {
    ObjConfig c = {
        .kind = kind, .beta = 0.1, .delta = 0.0, .label_smoothing = 0.0,
        .w_dpo = 1.0, .w_anchor = 1.0, .w_list = 1.0, .w_cond = 1.0, .list_size = 5,
    };
    return c;
}

const char *obj_kind_name(ObjKind kind) {
    switch (kind) {
    case OBJ_DPO: return "dpo";
    case OBJ_MDPO: return "mdpo";
    case OBJ_LPOI: return "lpoi";
    }
    return "?";
}

bool obj_kind_parse(const char *s, ObjKind *kind) {
    static const ObjKind all[] = {OBJ_DPO, OBJ_MDPO, OBJ_LPOI};
    for (size_t i = 0; s && i < LPOI_ARRAY_LEN(all); i++)
        if (!strcmp(s, obj_kind_name(all[i]))) { *kind = all[i]; return true; }
    return false;
}

const char *obj_loss_type_name(ObjLossType t) {
    return t == OBJ_LOSS_SIGMOID ? "sigmoid" : t == OBJ_LOSS_HINGE ? "hinge" : t == OBJ_LOSS_IPO ? "ipo" : "?";
}

bool obj_loss_type_parse(const char *s, ObjLossType *t) {
    static const ObjLossType all[] = {OBJ_LOSS_SIGMOID, OBJ_LOSS_HINGE, OBJ_LOSS_IPO};
    for (size_t i = 0; s && i < LPOI_ARRAY_LEN(all); i++)
        if (!strcmp(s, obj_loss_type_name(all[i]))) { *t = all[i]; return true; }
    return false;
}

bool obj_config_check(const ObjConfig *c, LpoiErr *err) {
    if (c->kind != OBJ_DPO && c->kind != OBJ_MDPO && c->kind != OBJ_LPOI)
        return err_set(err, "objective: unknown kind %d (expected dpo, mdpo or lpoi)", (int)c->kind);
    if (!(isfinite(c->beta) && c->beta > 0))
        return err_set(err, "objective: beta = %g, expected a finite value > 0", c->beta);
    if (!isfinite(c->delta)) return err_set(err, "objective: delta = %g, expected a finite value", c->delta);
    if (!(c->label_smoothing >= 0 && c->label_smoothing < 0.5))
        return err_set(err, "objective: label_smoothing = %g, expected 0 <= eps < 0.5", c->label_smoothing);
    if (c->loss_type != OBJ_LOSS_SIGMOID && c->loss_type != OBJ_LOSS_HINGE && c->loss_type != OBJ_LOSS_IPO)
        return err_set(err, "objective: unknown loss type %d (expected sigmoid, hinge or ipo)", (int)c->loss_type);
    if (c->loss_type != OBJ_LOSS_SIGMOID && c->label_smoothing > 0)
        return err_set(err, "objective: label smoothing applies to the sigmoid loss only (TRL ignores it for %s)",
                       obj_loss_type_name(c->loss_type));
    const double w[] = {c->w_dpo, c->w_anchor, c->w_list, c->w_cond};
    const char *wn[] = {"w_dpo", "w_anchor", "w_list", "w_cond"};
    for (int i = 0; i < 4; i++)
        if (!(isfinite(w[i]) && w[i] >= 0))
            return err_set(err, "objective: %s = %g, expected a finite value >= 0", wn[i], w[i]);
    if (c->list_size < 2 || c->list_size > OBJ_MAX_L)
        return err_set(err, "objective: list size L = %d, expected 2 <= L <= %d", c->list_size, OBJ_MAX_L);
    return true;
}

// ---------------------------------------------------------------------------------------------
// one example

double obj_example(const ObjConfig *cfg, const ObjExample *ex, ObjExampleGrad *g, ObjStats *st) {
    const double beta = cfg->beta, eps = cfg->label_smoothing;
    const int L = cfg->list_size;
    ObjStats s;
    memset(&s, 0, sizeof s);
    double d_chosen = 0, d_rejected = 0, d_crop = 0;   // d(total)/dπ

    // text DPO (TRL dpo_loss, its grouping of the differences); d(w_dpo · L)/dπ_w and /dπ_l
    if (cfg->loss_type == OBJ_LOSS_IPO) {   // TRL's grouping: each log-ratio over its own token count
        const double nw = fmax(ex->n_chosen, 1.0), nl = fmax(ex->n_rejected, 1.0);
        double u = ((ex->pol_chosen - ex->ref_chosen) / nw - (ex->pol_rejected - ex->ref_rejected) / nl) - 1 / (2 * beta);
        s.dpo = u * u;
        d_chosen += cfg->w_dpo * (2 * u) / nw;
        d_rejected -= cfg->w_dpo * (2 * u) / nl;
    } else {
        const double z = beta * ((ex->pol_chosen - ex->pol_rejected) - (ex->ref_chosen - ex->ref_rejected));
        double dz;   // dL/dz
        if (cfg->loss_type == OBJ_LOSS_HINGE) {
            s.dpo = isnan(z) ? z : fmax(0.0, 1 - z);
            dz = isnan(z) ? z : z < 1 ? -1.0 : 0.0;   // torch's relu'(0) = 0
        } else {   // sigmoid, with label smoothing
            s.dpo = (1 - eps) * obj_softplus(-z) + (eps > 0 ? eps * obj_softplus(z) : 0);
            dz = -(1 - eps) * obj_sigmoid(-z) + (eps > 0 ? eps * obj_sigmoid(z) : 0);
        }
        const double dd = cfg->w_dpo * beta * dz;
        d_chosen += dd;
        d_rejected -= dd;
    }
    s.loss += cfg->w_dpo * s.dpo;

    s.reward_chosen = beta * (ex->pol_chosen - ex->ref_chosen);
    s.reward_rejected = beta * (ex->pol_rejected - ex->ref_rejected);
    s.margin = s.reward_chosen - s.reward_rejected;
    s.acc = s.reward_chosen > s.reward_rejected;

    if (cfg->kind == OBJ_MDPO || cfg->kind == OBJ_LPOI) {   // anchor on the chosen answer
        double a = s.reward_chosen - cfg->delta;
        s.anchor = obj_softplus(-a);
        d_chosen -= cfg->w_anchor * beta * obj_sigmoid(-a);
        s.loss += cfg->w_anchor * s.anchor;
    }

    if (cfg->kind == OBJ_MDPO) {   // image-conditional: w with x over w with a random crop
        double c = beta * ((ex->pol_chosen - ex->pol_crop) - (ex->ref_chosen - ex->ref_crop));
        s.cond = obj_softplus(-c);
        double dc = -obj_sigmoid(-c);
        d_chosen += cfg->w_cond * beta * dc;
        d_crop -= cfg->w_cond * beta * dc;
        s.loss += cfg->w_cond * s.cond;
        s.reward_crop = beta * (ex->pol_crop - ex->ref_crop);
    }

    if (cfg->kind == OBJ_LPOI) {
        LPOI_ASSERT(ex->pol_list && ex->ref_list && L >= 2 && L <= OBJ_MAX_L);
        double dS[OBJ_MAX_L];
        for (int k = 0; k < L; k++) s.S[k] = beta * (ex->pol_list[k] - ex->ref_list[k]);
        s.list = obj_plackett_luce(s.S, L, g && g->d_list ? dS : NULL);
        s.loss += cfg->w_list * s.list;
        if (g && g->d_list)
            for (int k = 0; k < L; k++) g->d_list[k] = cfg->w_list * beta * dS[k];
        int pairs = 0, good = 0;
        bool ordered = true;
        for (int i = 0; i < L; i++) {
            if (i + 1 < L && !(s.S[i] > s.S[i + 1])) ordered = false;
            for (int j = i + 1; j < L; j++) { pairs++; good += s.S[i] > s.S[j]; }
        }
        s.list_full_acc = ordered;
        s.list_pair_acc = (double)good / pairs;
        s.list_top_acc = s.S[0] > s.S[1];
    }

    if (g) {
        g->d_chosen = d_chosen;
        g->d_rejected = d_rejected;
        g->d_crop = d_crop;
    }
    if (st) *st = s;
    return s.loss;
}

// ---------------------------------------------------------------------------------------------
// batch: mean over examples

_Static_assert(sizeof(ObjStats) == (13 + OBJ_MAX_L) * sizeof(double), "ObjStats must hold doubles only");

static void stats_axpy(ObjStats *acc, double a, const ObjStats *x) {
    // ObjStats is all doubles: accumulate it as an array.
    double *p = (double *)acc;
    const double *q = (const double *)x;
    for (size_t i = 0; i < sizeof *acc / sizeof(double); i++) p[i] += a * q[i];
}

double obj_batch(const ObjConfig *cfg, const ObjBatch *b, const ObjBatchGrad *g, ObjStats *st, ObjStats *per) {
    LPOI_ASSERT(b->B >= 1);
    const int L = cfg->list_size;
    const double inv = 1.0 / b->B;
    ObjStats mean;
    memset(&mean, 0, sizeof mean);
    double total = 0;
    for (int i = 0; i < b->B; i++) {
        ObjExample ex = {
            .pol_chosen = b->pol_chosen[i], .ref_chosen = b->ref_chosen[i],
            .pol_rejected = b->pol_rejected[i], .ref_rejected = b->ref_rejected[i],
            .n_chosen = b->n_chosen ? b->n_chosen[i] : 1, .n_rejected = b->n_rejected ? b->n_rejected[i] : 1,
        };
        if (obj_uses_list(cfg->kind)) {
            ex.pol_list = b->pol_list + (size_t)i * L;
            ex.ref_list = b->ref_list + (size_t)i * L;
        }
        if (obj_uses_crop(cfg->kind)) {
            ex.pol_crop = b->pol_crop[i];
            ex.ref_crop = b->ref_crop[i];
        }
        ObjExampleGrad eg = {0};
        if (g && g->d_list && obj_uses_list(cfg->kind)) eg.d_list = g->d_list + (size_t)i * L;
        ObjStats s;
        total += obj_example(cfg, &ex, g ? &eg : NULL, &s);
        if (g) {
            if (g->d_chosen) g->d_chosen[i] = inv * eg.d_chosen;
            if (g->d_rejected) g->d_rejected[i] = inv * eg.d_rejected;
            if (g->d_crop && obj_uses_crop(cfg->kind)) g->d_crop[i] = inv * eg.d_crop;
            if (eg.d_list)
                for (int k = 0; k < L; k++) eg.d_list[k] *= inv;
        }
        stats_axpy(&mean, inv, &s);
        if (per) per[i] = s;
    }
    if (st) *st = mean;
    return total * inv;
}
