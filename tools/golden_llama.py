#!/usr/bin/env python3
"""golden_llama.py — the transformers + PEFT oracle for lpoi's language model (src/models/llama.c).

Writes testdata/golden/model_<name>.safetensors, replayed by `lpoi check` through
src/check/golden_models.c (kinds "model.llama" and "model.mistral"). Each case is a tiny random
LlamaForCausalLM / MistralForCausalLM (eager attention) with a PEFT LoRA adapter whose A and B are
both non-zero, scored on a right-padded batch of sequences of different lengths exactly as TRL's
get_batch_logps does (transcribed below), and differentiated with torch autograd.

Tensors:
  param.<HF name>       every base weight, as the model's state_dict names it (model.*, lm_head.weight
                        when untied) = what save_pretrained writes
  lora.<PEFT name>      the adapter as PEFT saves it (adapter_model.safetensors):
                        base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight [r, in], lora_B [out, r]
  in.input_ids [B,T] (I64)  or  in.inputs_embeds [B,T,C] (the embeds variant)
  in.attention_mask [B,T] (I64, right padding), in.labels [B,T] (I64, -100 on prompt and padding)
  in.dlogp [B]          the cotangent of the declared scalar L = sum(dlogp * logps)
  out.logits [B,T,V]    adapter on
  out.logps [B]         get_batch_logps(logits, labels), adapter on
  out.logps_ref [B]     the same with the adapter disabled (PEFT disable_adapter(): the DPO reference)
  grad.<PEFT name>      dL/d(lora_A / lora_B) of every adapted module
  grad.inputs_embeds    dL/d(inputs_embeds) (embeds variant)
  in.gen_prompt [P], out.gen_ids [G] (I64)  greedy HF generate (KV cache, adapter on, no EOS stop) from
                        the first sequence's prompt; the ids must match exactly
Metadata: kind, config = the HF config.json (to_json_string) plus "lora": {r, lora_alpha,
target_modules}, atol/rtol (+ per-tensor atol.<name>), seed, generator, about.

Weights are drawn at unit-ish scale (not HF's 0.02 init) so that logits, attention patterns and
LoRA deltas are far from uniform/zero and every path carries signal. References are computed in
float64 from the stored fp32 values; the same case run by torch in float32 must use at most half
of the tolerance (else the script fails), as in golden_ops.py. Tolerance: rtol 1e-4 and atol =
1e-5 x the tensor's largest |value|.

usage: python tools/golden_llama.py [--out DIR] [--list] [NAME ...]
"""
import json
import sys
import warnings

from golden_common import (case_meta, case_seed, fp32_share, generator, max_abs, scaled_atol, tolerance_meta,
                           writer_main)  # first: it pins torch's CPU kernels before torch loads
import numpy as np
import torch
import transformers
import peft
from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict

F64, F32 = torch.float64, torch.float32
RTOL = 1e-4
ATOL_SCALE = 1e-5
ATOL_FLOOR = 1e-7
MAX_BYTES = 1 << 20
LORA_R, LORA_ALPHA = 4, 8
GENERATOR = generator(__file__, torch, transformers, peft, np)
warnings.filterwarnings("ignore", category=FutureWarning)  # transformers 5 deprecation chatter
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def get_batch_logps(logits, labels, label_pad_token_id=-100):
    """TRL DPOTrainer.get_batch_logps (as used by fatemehpesaran310/lpoi), average_log_prob=False."""
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    loss_mask = labels != label_pad_token_id
    labels[labels == label_pad_token_id] = 0
    per_token_logps = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    return (per_token_logps * loss_mask).sum(-1)


# ---------------------------------------------------------------------------------------------
# what every HF model case shares (tools/golden_llava.py imports these)

def lora_config(targets):
    return LoraConfig(r=LORA_R, lora_alpha=LORA_ALPHA, lora_dropout=0.0, target_modules=targets, bias="none")


def randomize_lora(model, g):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_A" in name or "lora_B" in name:   # A [r, in], B [out, r]: both random and non-zero
                p.copy_(torch.randn(p.shape, generator=g) * 0.5 * p.shape[1] ** -0.5)


def lora_params(model):
    """The adapter's parameters by their saved (PEFT) names, the only ones that track gradients."""
    out = {}
    for name, p in model.named_parameters():
        p.requires_grad_("lora_" in name)
        if "lora_" in name:
            out[name.replace(".default", "")] = p
    return out


def hf_config(cfg, targets):
    """The case's config: the HF config.json (without the version that wrote it) + the adapter."""
    config = json.loads(cfg.to_json_string())
    config.pop("transformers_version", None)
    config["lora"] = {"r": LORA_R, "lora_alpha": LORA_ALPHA, "target_modules": targets}
    return config


def model_case(name, kind, about, written_by, run):
    """run(dtype) -> (inputs, checked, config) for a model case, run in float64 (the stored
    reference) and float32 (torch's own, which must stay within the fp32 budget); both runs must
    draw the same inputs. Returns (tensors, meta, fp32 share) for writer_main."""
    tensors, checked, config = run(F64)
    t32, checked32, _ = run(F32)
    for k in tensors:
        assert torch.equal(tensors[k], t32[k]), f"{name}: {k} differs between the f64 and f32 runs"
    atols = {}
    for k, v in checked.items():
        assert v is not None and torch.isfinite(v.double()).all(), k
        tensors[k], t32[k] = stored(v), stored(checked32[k])
        atols[k] = scaled_atol(ATOL_SCALE, tensors[k], ATOL_FLOOR)
        if not k.startswith("grad.") or "lora_" not in k:   # an adapter after the read layer gets none
            assert max_abs(tensors[k]) > 0, f"{name}: {k} is identically zero"
    meta = case_meta(kind, config, written_by, about, tolerance_meta(atols, RTOL), case_seed(name))
    return tensors, meta, fp32_share(meta, tensors, t32, checked)


def stored(v):
    """As the case stores it: fp32 (ids stay int64)."""
    return v.detach().to(F32).contiguous() if v.is_floating_point() else v


CASES = {}


def case(name, about, **spec):
    CASES[name] = (about, spec)


case("llama_gqa", "LLaMA, GQA 4q/2kv, untied lm_head, LoRA all-linear, 3 right-padded sequences of 11/8/5 tokens",
     arch="llama", cfg=dict(vocab_size=61, hidden_size=32, intermediate_size=44, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
                            max_position_embeddings=64, tie_word_embeddings=False),
     lengths=[11, 8, 5], prompts=[4, 3, 2], targets=ALL_LINEAR, embeds=False, generate=10)
case("llama_embeds", "LLaMA, no GQA (like Vicuna), tied embeddings, rope_theta 500, LoRA on q,v; inputs_embeds "
     "with d(inputs_embeds)",
     arch="llama", cfg=dict(vocab_size=53, hidden_size=24, intermediate_size=37, num_hidden_layers=2,
                            num_attention_heads=3, num_key_value_heads=3, rms_norm_eps=1e-6, rope_theta=500.0,
                            max_position_embeddings=64, tie_word_embeddings=True),
     lengths=[9, 6], prompts=[3, 4], targets=["q_proj", "v_proj"], embeds=True)
case("mistral_window", "Mistral, GQA 6q/2kv, sliding window 4 < T=12, tied embeddings, LoRA all-linear, "
     "lengths 12/10/9",
     arch="mistral", cfg=dict(vocab_size=67, hidden_size=48, intermediate_size=40, num_hidden_layers=2,
                              num_attention_heads=6, num_key_value_heads=2, rms_norm_eps=1e-5, sliding_window=4,
                              max_position_embeddings=64, tie_word_embeddings=True),
     lengths=[12, 10, 9], prompts=[5, 2, 3], targets=ALL_LINEAR, embeds=False, generate=10)
case("mistral_embeds", "Mistral, sliding_window null, head_dim 12 != hidden/heads, GQA 4q/1kv, untied, 3 layers, "
     "LoRA all-linear; inputs_embeds with d(inputs_embeds)",
     arch="mistral", cfg=dict(vocab_size=59, hidden_size=32, intermediate_size=48, num_hidden_layers=3,
                              num_attention_heads=4, num_key_value_heads=1, head_dim=12, rms_norm_eps=1e-5,
                              sliding_window=None, max_position_embeddings=64, tie_word_embeddings=False),
     lengths=[10, 7, 10], prompts=[2, 5, 6], targets=ALL_LINEAR, embeds=True)


def build_model(spec, g):
    """Random tiny model + PEFT adapter, float32, every weight drawn from generator g."""
    cls_cfg, cls = (LlamaConfig, LlamaForCausalLM) if spec["arch"] == "llama" else (MistralConfig, MistralForCausalLM)
    cfg = cls_cfg(**spec["cfg"], attn_implementation="eager")
    torch.manual_seed(0)
    model = cls(cfg).to(F32).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("embed_tokens.weight"):   # tied: also the head; keep its logits moderate
                p.copy_(torch.randn(p.shape, generator=g) * (0.35 if cfg.tie_word_embeddings else 1.0))
            else:  # Linear [out, in]
                p.copy_(torch.randn(p.shape, generator=g) * p.shape[1] ** -0.5)
    base = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model = get_peft_model(model, lora_config(spec["targets"])).eval()
    randomize_lora(model, g)
    return model, cfg, base


def batch(spec, cfg, g):
    B, T = len(spec["lengths"]), max(spec["lengths"])
    ids = torch.randint(0, cfg.vocab_size, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.int64)
    labels = torch.full((B, T), -100, dtype=torch.int64)
    for b, (n, p) in enumerate(zip(spec["lengths"], spec["prompts"])):
        mask[b, :n] = 1
        labels[b, p:n] = ids[b, p:n]
        ids[b, n:] = 0                      # padding id (ignored: masked keys, -100 labels)
    window = getattr(cfg, "sliding_window", None)
    if window:                              # every query must see a real key (HF's eager mask would
        for b, n in enumerate(spec["lengths"]):   # otherwise give a uniform row where SDPA gives 0)
            assert T - n < window, "padding longer than the window leaves a query with no visible key"
    return ids, mask, labels


def greedy(model, prompt, n):
    """HF generate (greedy, KV cache, adapter on, no EOS stop), checked against a cache-free argmax
    loop; every step's top-2 logit gap must be clear of rounding so that fp32 picks the same ids."""
    base = model.get_base_model()
    base.generation_config.eos_token_id = None
    base.generation_config.pad_token_id = 0
    with torch.no_grad():
        out = base.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n,
                            do_sample=False)[0, prompt.shape[1]:]
        seq = prompt
        for _ in range(n):
            lg = model(input_ids=seq).logits[0, -1]
            top = lg.topk(2).values
            assert top[0] - top[1] > 1e-3, "near tie in greedy decoding"
            seq = torch.cat([seq, lg.argmax().view(1, 1)], 1)
    assert torch.equal(out, seq[0, prompt.shape[1]:]), (out, seq)
    assert len(set(out.tolist())) > n // 2, f"degenerate greedy continuation {out.tolist()}"
    return out.contiguous()


def run(spec, seed, dtype):
    """Builds the case in `dtype`; returns (inputs, checked outputs and gradients, config) for model_case."""
    g = torch.Generator().manual_seed(seed)
    model, cfg, base = build_model(spec, g)
    ids, mask, labels = batch(spec, cfg, g)
    B, T = ids.shape
    dlogp = torch.randn(B, generator=g)
    embeds32 = torch.randn(B, T, cfg.hidden_size, generator=g) if spec["embeds"] else None
    lora = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
    if cfg.tie_word_embeddings:
        base.pop("lm_head.weight", None)
    model = model.to(dtype)
    lp = lora_params(model)
    assert lp.keys() == lora.keys(), sorted(lp.keys() ^ lora.keys())
    kwargs = dict(attention_mask=mask)
    if spec["embeds"]:
        emb = embeds32.to(dtype).requires_grad_(True)
        kwargs["inputs_embeds"] = emb
    else:
        kwargs["input_ids"] = ids
    logits = model(**kwargs).logits
    logps = get_batch_logps(logits, labels)
    (logps * dlogp.to(dtype)).sum().backward()
    with torch.no_grad(), model.disable_adapter():
        logps_ref = get_batch_logps(model(**kwargs).logits, labels)
    t = {}
    for k, v in base.items():
        t["param." + k] = v.to(F32).contiguous()
    for k, v in lora.items():
        t["lora." + k] = v.to(F32).contiguous()
    if spec["embeds"]:
        t["in.inputs_embeds"] = embeds32.contiguous()
    else:
        t["in.input_ids"] = ids
    t["in.attention_mask"] = mask
    t["in.labels"] = labels
    t["in.dlogp"] = dlogp.contiguous()
    checked = {"out.logits": logits, "out.logps": logps, "out.logps_ref": logps_ref}
    for k, p in lp.items():
        checked["grad." + k] = p.grad
    if spec["embeds"]:
        checked["grad.inputs_embeds"] = kwargs["inputs_embeds"].grad
    if spec.get("generate"):
        t["in.gen_prompt"] = ids[0, :spec["prompts"][0]].contiguous()
        checked["out.gen_ids"] = greedy(model, ids[:1, :spec["prompts"][0]], spec["generate"])
    return t, checked, hf_config(cfg, spec["targets"])


def build(name):
    about, spec = CASES[name]
    return model_case(name, "model." + spec["arch"], about, GENERATOR, lambda dtype: run(spec, case_seed(name), dtype))


if __name__ == "__main__":
    sys.exit(writer_main("Write lpoi's LLaMA/Mistral golden cases with transformers + PEFT.", "model_", CASES,
                         lambda n: ("model." + CASES[n][1]["arch"], CASES[n][0]), build, max_bytes=MAX_BYTES))
