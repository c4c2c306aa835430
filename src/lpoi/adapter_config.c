// adapter_config.c — the PEFT adapter_config.json fields lpoi reads (adapter_io.h).
#include "lpoi/adapter_io.h"
#include "base/json.h"
#include <string.h>

bool adapter_config_parse(const JsonValue *root, const char *path, int64_t *r, double *alpha, LpoiErr *err) {
    JsonCfg c;
    json_cfg_open(&c, root, path, err);
    if (c.ok && strcmp(json_cfg_str(&c, "peft_type", ""), "LORA") != 0) json_cfg_fail(&c, "\"peft_type\" must be \"LORA\"");
    json_cfg_need(&c, "r");
    *r = json_cfg_int(&c, "r", 0, 1, 4096);
    json_cfg_need(&c, "lora_alpha");
    *alpha = json_cfg_num(&c, "lora_alpha", 0);
    if (c.ok && !(*alpha > 0)) json_cfg_fail(&c, "\"lora_alpha\" must be > 0");
    json_cfg_refuse_true(&c, "use_rslora", "scale alpha / r only");
    json_cfg_refuse_true(&c, "use_dora", "plain LoRA only");
    json_cfg_refuse_true(&c, "fan_in_fan_out", "Linear weights [out, in] only");
    json_cfg_refuse_true(&c, "lora_bias", "no LoRA bias");
    if (c.ok && strcmp(json_cfg_str(&c, "bias", "none"), "none") != 0) json_cfg_fail(&c, "\"bias\": only \"none\" is supported");
    const JsonValue *rp = json_get(c.obj, "rank_pattern"), *ap = json_get(c.obj, "alpha_pattern");
    if (c.ok && ((rp && rp->type == JSON_OBJECT && rp->count) || (ap && ap->type == JSON_OBJECT && ap->count)))
        json_cfg_fail(&c, "rank_pattern / alpha_pattern: per-module ranks are not supported");
    return c.ok;
}
