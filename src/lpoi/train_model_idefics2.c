// train_model_idefics2.c — the training interface (train_model.h) over Idefics2Model: the batch is
// an Idefics2Batch (host ids, labels, mask, pixel_values + pixel_attention_mask); adapters as
// idefics2_lora_* and adapter_io's Idefics2 folder. PEFT's init: the vision model, the modality
// projection and the perceiver draw from one stream, the text model from its own (as LLaVA's).
#include "lpoi/train_model.h"
#include "lpoi/adapter_io.h"
#include "models/idefics2.h"
#include "base/rng.h"

static bool setup(void *mv, const char *targets, int r, double alpha, uint64_t seed, LpoiErr *err) {
    Idefics2Model *m = mv;
    Idefics2LoraTargets tg;
    if (!idefics2_lora_parse_targets(targets, &m->cfg, &tg, err)) return false;
    idefics2_lora_create(m, r, (float)alpha, &tg);
    Rng rng;
    rng_seed(&rng, seed);
    lora_init(&m->vision.lora, &rng);
    lora_init(&m->connector.mproj_lora, &rng);
    lora_init(&m->connector.lora, &rng);
    if (m->lm.lora.r > 0) llama_lora_init(&m->lm, seed ^ 0x9e3779b97f4a7c15ull);
    return true;
}
static void set_lora(void *m, bool on) { idefics2_set_lora(m, on); }
static void zero_grad(void *mv) {
    Idefics2Model *m = mv;
    LoraSet *sets[4] = {&m->vision.lora, &m->connector.mproj_lora, &m->connector.lora, &m->lm.lora};
    for (int p = 0; p < 4; p++)
        if (sets[p]->r > 0) lora_zero_grad(sets[p]);
}
static size_t count(const void *m) { return idefics2_lora_count(m); }
static void tensor_at(const void *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param, float **grad) {
    idefics2_lora_tensor(m, i, name, cap, shape, param, grad);
}
static bool load_tensors(void *m, const WeightSource *src, LpoiErr *err) { return idefics2_lora_load(m, src, err); }
static bool load_dir(void *m, const char *dir, LpoiErr *err) { return adapter_load_idefics2_dir(m, dir, err); }
static bool save_dir(const void *m, const char *dir, const char *base_model, int r, double alpha, LpoiErr *err) {
    return adapter_save_idefics2_dir(m, dir, base_model, r, alpha, err);
}
static bool logps_forward(void *m, const void *batch, bool for_backward, float *logp, LpoiErr *err) {
    return idefics2_logps_forward(m, batch, for_backward, logp, err);
}
static void logps_backward(void *m, const float *dlogp) { idefics2_logps_backward(m, dlogp); }

static const TrainModelOps IDEFICS2_OPS = {
    .kind = "Idefics2", .lora_setup = setup, .set_lora = set_lora, .zero_grad = zero_grad, .lora_count = count,
    .lora_tensor = tensor_at, .lora_load = load_tensors, .adapter_load_dir = load_dir, .adapter_save_dir = save_dir,
    .logps_forward = logps_forward, .logps_backward = logps_backward,
};

TrainModel train_model_idefics2(Idefics2Model *m) { return (TrainModel){&IDEFICS2_OPS, m}; }
