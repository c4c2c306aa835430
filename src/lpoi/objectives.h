// objectives.h — the preference objectives of LPOI (arXiv 2505.21061) and its baselines, with
// analytic gradients. They act on per-sequence log-probs (sums over response tokens, one scalar per
// sequence), so this is plain host math in double; no backend op is involved.
//
// Notation per example: π = log πθ(·) (policy, trainable), r = log πref(·) (reference: the model
// with LoRA off; a constant, so no gradient is returned for it), β > 0. Every term below is, in
// exact arithmetic, what the public PyTorch code computes (fatemehpesaran310/lpoi
// `my_dpo_trainer_5img.py`, luka-group/mDPO `mdpo_trainer.py`), rewritten in log-domain forms that
// stay finite for |β·(π−r)| ≥ 1e4 (the LPOI code's literal log(Σ exp S) overflows in fp32 past
// |S| ≈ 88, i.e. |π−r| ≈ 880 nats at β = 0.1):
//
//   dpo     z = β[(π_w − r_w) − (π_l − r_l)]          (w: chosen, l: rejected, both with image x)
//           L = (1−ε)·softplus(−z) + ε·softplus(z)   (TRL "sigmoid"; ε = label smoothing, cDPO;
//           the mDPO code has no ε, the default ε = 0 matches both)
//           or, with loss_type, TRL DPOTrainer.dpo_loss's other forms of the same term, h = z / β:
//           "hinge"  L = relu(1 − z)                  (SLiC; dL/dz = −1 where z < 1, else 0)
//           "ipo"    L = (h_w/n_w − h_l/n_l − 1/(2β))²,  h_w = π_w − r_w, h_l = π_l − r_l
//                    (IPO eq. 17 as TRL 1.16 DPOTrainer._compute_loss writes it: each answer's
//                    log-ratio divided by its answer token count n ≥ 1; n = 0 is taken as 1, as
//                    TRL's clamp(min=1). Only this term is averaged: rewards, accuracies and the
//                    anchor, listwise and conditional terms keep the summed log-probs.)
//   anchor  a = β(π_w − r_w) − δ,  L = softplus(−a) = −log σ(a)
//   list    S_k = β(π_k − r_k), π_k = log πθ(w | x_k, q), k = 1..L, x_1 the original, x_L fully
//           masked. Plackett–Luce NLL of the order S_1 > … > S_L:
//           L = Σ_{k=1}^{L−1} [logsumexp_{j≥k} S_j − S_k]   (summed, not averaged; the k = L term
//           is identically 0 and the code omits it, which is the paper's eq. (1) with z = L − 1)
//   cond    (mDPO's image-conditional term, w with x against w with a random crop x')
//           c = β[(π_w − π_crop) − (r_w − r_crop)],  L = softplus(−c)
//
// Which terms an objective turns on follows the reference code, not the paper's prose:
//   OBJ_DPO   dpo                       (LPOI trainer with add_image_dpo = False)
//   OBJ_MDPO  dpo + cond + anchor       (mDPOTrainer.dpo_loss; δ = 0 there)
//   OBJ_LPOI  dpo + list + anchor       (LPOI trainer with add_image_dpo = True; δ = 0 there)
// Per example: total = w_dpo·dpo + w_anchor·anchor + w_list·list + w_cond·cond over the terms on;
// a batch loss is the MEAN of the per-example totals (the code's `losses.mean()`), and batch
// gradients are d(mean)/dπ, i.e. the per-example gradient divided by B.
//
// π_w appears in dpo, anchor and cond. In the LPOI code the list's π_1 comes from a separate
// forward of the same (x_1 = x, q, w), so π_1 equals π_w in exact arithmetic but is a distinct
// input here with its own gradient; a trainer that runs that forward once passes the same value in
// both places and adds d_chosen + d_list[0].
//
// Gradients overwrite (=) the caller's arrays; a NULL gradient pointer means "not wanted"; the
// gradient of an input the objective does not read (list or crop) is left untouched.
// A NaN input gives a NaN loss (never masked: the trainer stops on a NaN/Inf loss); an infinite one
// gives the limit where it exists (e.g. π_l = −inf: dpo = 0) and NaN where it does not.
#pragma once
#include <stdbool.h>
#include "base/error.h"

#define OBJ_MAX_L 32          // longest image list accepted (the paper uses 3..5; tests use 2..8)

typedef enum { OBJ_DPO, OBJ_MDPO, OBJ_LPOI } ObjKind;
typedef enum { OBJ_LOSS_SIGMOID, OBJ_LOSS_HINGE, OBJ_LOSS_IPO } ObjLossType;   // the text DPO term's form

typedef struct {
    ObjKind kind;
    double beta;              // 0.1 (TRL DPOConfig default; never overridden by the LPOI scripts)
    double delta;             // anchor margin δ, 0 (the paper's formula has it; both codes use 0)
    double label_smoothing;   // ε of the text DPO term, 0 (in [0, 0.5); sigmoid only)
    ObjLossType loss_type;    // OBJ_LOSS_SIGMOID (TRL's default)
    double w_dpo, w_anchor, w_list, w_cond;   // all 1; a weight of a term that is off is ignored
    int list_size;            // L, 5 (the released negatives: 0/25/50/75/100 % masked)
} ObjConfig;

// Defaults of the reference code for that objective.
ObjConfig obj_config_default(ObjKind kind);
// false + one line in err when a field is out of range (β ≤ 0 or not finite, L outside
// [2, OBJ_MAX_L], ε outside [0, 0.5), a weight negative or not finite).
bool obj_config_check(const ObjConfig *cfg, LpoiErr *err);
// "dpo", "mdpo", "lpoi"; obj_kind_parse returns false on anything else.
const char *obj_kind_name(ObjKind kind);
bool obj_kind_parse(const char *s, ObjKind *kind);
// "sigmoid", "hinge", "ipo" (TRL's loss_type names).
const char *obj_loss_type_name(ObjLossType t);
bool obj_loss_type_parse(const char *s, ObjLossType *t);
// Which inputs an objective reads beyond chosen/rejected (every objective has the text DPO term).
static inline bool obj_uses_list(ObjKind k) { return k == OBJ_LPOI; }
static inline bool obj_uses_crop(ObjKind k) { return k == OBJ_MDPO; }

// One example's log-probs. list arrays: [L] (LPOI only); crop: mDPO only. Unused fields are ignored.
typedef struct {
    double pol_chosen, ref_chosen;        // log π(w | x, q)
    double pol_rejected, ref_rejected;    // log π(l | x, q)
    const double *pol_list, *ref_list;    // [L] log π(w | x_k, q), k = 1..L
    double pol_crop, ref_crop;            // log π(w | crop(x), q)
    double n_chosen, n_rejected;          // answer tokens of w and l (read by "ipo" only; 0 counts as 1)
} ObjExample;

// d(example total)/d(policy log-prob). d_list: [L] or NULL.
typedef struct {
    double d_chosen, d_rejected, d_crop;
    double *d_list;
} ObjExampleGrad;

// Monitoring values. For a batch, every field is the mean over examples (booleans become
// accuracies). Terms that are off, and list fields when there is no list, are 0. Every field is a
// double: obj_batch averages the struct as an array (keep it that way).
typedef struct {
    double loss;                          // weighted total
    double dpo, anchor, list, cond;       // unweighted terms
    double reward_chosen, reward_rejected, reward_crop;   // β(π − r)
    double margin;                        // reward_chosen − reward_rejected
    double acc;                           // reward_chosen > reward_rejected (the code's rewards/accuracies)
    double S[OBJ_MAX_L];                  // S_1..S_L
    double list_full_acc;                 // S strictly decreasing (chance 1/L!)
    double list_pair_acc;                 // share of pairs i < j with S_i > S_j (chance 1/2)
    double list_top_acc;                  // S_1 > S_2 (the code's rewards_image/accuracies)
} ObjStats;

// One example: returns its weighted total; fills g (if not NULL) and st (if not NULL).
double obj_example(const ObjConfig *cfg, const ObjExample *ex, ObjExampleGrad *g, ObjStats *st);

// A batch of B examples in structure-of-arrays form; list arrays are [B, L] row-major.
typedef struct {
    int B;
    const double *pol_chosen, *ref_chosen;      // [B]
    const double *pol_rejected, *ref_rejected;  // [B]
    const double *pol_list, *ref_list;          // [B, L] (LPOI)
    const double *pol_crop, *ref_crop;          // [B]    (mDPO)
    const double *n_chosen, *n_rejected;        // [B] answer tokens ("ipo"; NULL: 1 each)
} ObjBatch;

// d(mean loss)/d(policy log-prob); any pointer may be NULL.
typedef struct {
    double *d_chosen, *d_rejected, *d_crop;     // [B]
    double *d_list;                             // [B, L]
} ObjBatchGrad;

// Mean of the per-example totals; gradients of that mean; st = mean stats; per (if not NULL, [B])
// gets each example's own stats. B ≥ 1.
double obj_batch(const ObjConfig *cfg, const ObjBatch *b, const ObjBatchGrad *g, ObjStats *st, ObjStats *per);

// ---- building blocks (exposed for tests and for other objectives) ----
double obj_softplus(double x);         // log(1 + e^x), no overflow
double obj_sigmoid(double x);          // 1 / (1 + e^−x), no overflow
double obj_logaddexp(double a, double b);
// Plackett–Luce NLL of the order S[0] > … > S[L−1] (as above) and, if dS != NULL, its gradient
// dS[i] = −[i < L−1] + Σ_{k ≤ min(i, L−2)} exp(S_i − c_k), c_k = logsumexp_{j≥k} S_j, computed in
// O(L) with a log-domain prefix (never Σ exp(−c_k) in linear space: it overflows). Only differences
// of consecutive scores enter, so a common offset of any size only affects their rounding. 1 ≤ L ≤ OBJ_MAX_L.
double obj_plackett_luce(const double *S, int L, double *dS);
