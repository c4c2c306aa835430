// train_model_llava.c — the training interface (train_model.h) over LlavaModel: each op is the
// llava_* / adapter_io function of the same name.
#include "lpoi/train_model.h"
#include "lpoi/adapter_io.h"

static bool setup(void *mv, const char *targets, int r, double alpha, uint64_t seed, LpoiErr *err) {
    LlavaModel *m = mv;
    LlavaLoraTargets tg;
    if (!llava_lora_parse_targets(targets, &m->cfg, &tg, err)) return false;
    llava_lora_create(m, r, (float)alpha, &tg);
    llava_lora_init(m, seed);
    return true;
}
static void set_lora(void *m, bool on) { llava_set_lora(m, on); }
static void zero_grad(void *m) { llava_lora_zero_grad(m); }
static size_t count(const void *m) { return llava_lora_count(m); }
static void tensor_at(const void *m, size_t i, char *name, size_t cap, int64_t shape[2], float **param, float **grad) {
    llava_lora_tensor(m, i, name, cap, shape, param, grad);
}
static bool load_tensors(void *m, const WeightSource *src, LpoiErr *err) { return llava_lora_load(m, src, err); }
static bool load_dir(void *m, const char *dir, LpoiErr *err) { return adapter_load_dir(m, dir, err); }
static bool save_dir(const void *m, const char *dir, const char *base_model, int r, double alpha, LpoiErr *err) {
    return adapter_save_dir(m, dir, base_model, r, alpha, err);
}
static bool logps_forward(void *m, const void *batch, bool for_backward, float *logp, LpoiErr *err) {
    return llava_logps_forward(m, batch, for_backward, logp, err);
}
static void logps_backward(void *m, const float *dlogp) { llava_logps_backward(m, dlogp, NULL); }

static const TrainModelOps LLAVA_OPS = {
    .kind = "LLaVA", .lora_setup = setup, .set_lora = set_lora, .zero_grad = zero_grad, .lora_count = count, .lora_tensor = tensor_at,
    .lora_load = load_tensors, .adapter_load_dir = load_dir, .adapter_save_dir = save_dir, .logps_forward = logps_forward,
    .logps_backward = logps_backward,
};

TrainModel train_model_llava(LlavaModel *m) { return (TrainModel){&LLAVA_OPS, m}; }
