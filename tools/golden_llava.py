#!/usr/bin/env python3
"""golden_llava.py — the transformers + PEFT oracle for lpoi's vision tower and LLaVA
(src/models/clip.c, src/models/llava.c).

Writes testdata/golden/model_<name>.safetensors, replayed by `lpoi check` through
src/check/golden_vision.c (kinds "model.clip" and "model.llava").

model.clip — a tiny random CLIPVisionModel (eager attention) with a PEFT adapter on every vision
Linear (q/k/v/out_proj, fc1, fc2; A and B both non-zero), on a batch of images:
  param.<HF name>     every weight as transformers 5 names it (embeddings.*, pre_layrnorm.*, ...)
  lora.<PEFT name>    base_model.model.encoder.layers.N.self_attn.q_proj.lora_A.weight [r, in], lora_B [out, r]
  in.pixel_values [n,3,S,S]
  in.dout [n,T,C]     cotangent of L = sum(dout * hidden_states[feature_layer]) (CLS row included)
  out.hidden_states.K [n,T,C] for K = 0..L, out.pooler_output [n,C]   (adapter on)
  grad.<PEFT name>    dL/dA, dL/dB (zeros for the layers after the selected one: they do not reach L)
  grad.pixel_values   dL/d pixel_values
config: the CLIPVisionConfig + "lora": {r, lora_alpha, target_modules} + "golden": {feature_layer}.

model.llava — a tiny random LlavaForConditionalGeneration (eager) with a PEFT adapter, scored on a
right-padded batch of sequences of different lengths whose `<image>` tokens are already expanded
(as HF's processor does: N = (S/p)^2 per image with the default strategy, +1 with "full"), exactly
as TRL's get_batch_logps does:
  param.<HF name>     the hub key layout (vision_tower.vision_model.*, multi_modal_projector.*,
                      language_model.model.*, language_model.lm_head.weight) or, per case, the
                      transformers 5 in-memory one (model.vision_tower.*, model.language_model.*, lm_head.weight)
  lora.<PEFT name>    the adapter, under the case's module paths
  in.input_ids [B,T] (I64), in.attention_mask [B,T], in.labels [B,T] (-100 on image, prompt, padding),
  in.pixel_values [n_images,3,S,S], in.dlogp [B]
  out.logits [B,T,V], out.logps [B], out.logps_ref [B] (adapter disabled), out.image_features [K,C]
  grad.<PEFT name>    dL/d(lora) for L = sum(dlogp * logps), with the transformers 5 names
                      (base_model.model.model.{vision_tower,multi_modal_projector,language_model}.*)
  grad.pixel_values   dL/d pixel_values
config: the LlavaConfig + "lora".

References are computed in float64 from the stored fp32 values; the same case run by torch in
float32 must use at most half of the tolerance (else the script fails). Tolerance: rtol 1e-4 and
atol = 1e-5 x the tensor's largest |value|, as tools/golden_llama.py.

usage: python tools/golden_llava.py [--out DIR] [--list] [NAME ...]
"""
import sys
import warnings

from golden_common import case_seed, generator, writer_main  # first: it pins torch's CPU kernels before torch loads
from golden_llama import (F32, get_batch_logps, hf_config, lora_config, lora_params, model_case,
                          randomize_lora)  # what every HF model case shares
import numpy as np
import torch
import transformers
import peft
from transformers import CLIPVisionConfig, CLIPVisionModel, LlavaConfig, LlavaForConditionalGeneration
from peft import get_peft_model, get_peft_model_state_dict

MAX_BYTES = 1_500_000
GENERATOR = generator(__file__, torch, transformers, peft, np)
warnings.filterwarnings("ignore")
VISION_LINEAR = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]

CASES = {}


def case(name, about, **spec):
    CASES[name] = (about, spec)


case("clip_tiny", "CLIPVisionModel, 3 layers, 3 heads of 8, image 30 / patch 7 (2 px past the last patch), 2 images, "
     "LoRA on every vision Linear; L on hidden_states[-2] incl. CLS; d pixel_values",
     kind="clip", vision=dict(hidden_size=24, intermediate_size=37, num_hidden_layers=3, num_attention_heads=3,
                              image_size=30, patch_size=7, layer_norm_eps=1e-5),
     n_images=2, feature_layer=-2)
case("llava_tiny", "LLaVA: CLIP 3 layers (layer -2, default strategy), image 28 / patch 14 -> 4 image tokens, LLaMA "
     "GQA 4q/2kv; 2 right-padded sequences of 15/11 tokens with one image each; PEFT all-linear; hub key layout, "
     "adapter under the old module paths",
     kind="llava", layout="hub", lora_modules="old", targets="all-linear",
     vision=dict(hidden_size=32, intermediate_size=40, num_hidden_layers=3, num_attention_heads=4, image_size=28,
                 patch_size=14),
     text=dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
               num_key_value_heads=2, rms_norm_eps=1e-5, max_position_embeddings=64, tie_word_embeddings=False),
     llava=dict(image_token_index=61, vision_feature_layer=-2, vision_feature_select_strategy="default"),
     seqs=[dict(images=1, prompt=4, response=6), dict(images=1, prompt=2, response=4)])
case("llava_full", "LLaVA: strategy full (CLS kept, 5 tokens per image), vision_feature_layer 1, no projector bias, "
     "LLaMA GQA 6q/2kv; 3 images over 2 sequences (2 + 1, of 19/12 tokens); LoRA on q_proj, v_proj, fc1, linear_2 "
     "(PEFT list semantics: vision and text q/v); transformers-5 key layout",
     kind="llava", layout="new", lora_modules="new", targets=["q_proj", "v_proj", "fc1", "linear_2"],
     vision=dict(hidden_size=16, intermediate_size=24, num_hidden_layers=3, num_attention_heads=2, image_size=28,
                 patch_size=14, layer_norm_eps=1e-6),
     text=dict(vocab_size=53, hidden_size=48, intermediate_size=40, num_hidden_layers=2, num_attention_heads=6,
               num_key_value_heads=2, rms_norm_eps=1e-6, max_position_embeddings=64, tie_word_embeddings=False),
     llava=dict(image_token_index=7, vision_feature_layer=1, vision_feature_select_strategy="full",
                multimodal_projector_bias=False),
     seqs=[dict(images=2, prompt=3, response=5), dict(images=1, prompt=3, response=3)])


def randomize(model, g):
    """Unit-ish random weights so that every path carries signal (HF's 0.02 init would not); the
    adapter comes later (randomize_lora)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layer_norm" in name and name.endswith("weight") or \
                    "layrnorm.weight" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "patch_embedding" in name:
                p.copy_(torch.randn(p.shape, generator=g) * (p.shape[1] * p.shape[2] * p.shape[3]) ** -0.5)
            elif "class_embedding" in name or "position_embedding" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:  # Linear [out, in] (and lm_head)
                p.copy_(torch.randn(p.shape, generator=g) * p.shape[1] ** -0.5)


# ---- CLIP -------------------------------------------------------------------------------------
def run_clip(spec, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    cfg = CLIPVisionConfig(**spec["vision"], attn_implementation="eager")
    torch.manual_seed(0)
    model = CLIPVisionModel(cfg).to(F32).eval()
    randomize(model, g)
    base = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model = get_peft_model(model, lora_config(VISION_LINEAR)).eval()
    randomize_lora(model, g)
    lora = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
    n, S = spec["n_images"], cfg.image_size
    pix32 = torch.randn(n, 3, S, S, generator=g)
    T = (S // cfg.patch_size) ** 2 + 1
    dout32 = torch.randn(n, T, cfg.hidden_size, generator=g)
    model = model.to(dtype)
    lp = lora_params(model)
    pix = pix32.to(dtype).requires_grad_(True)
    out = model(pixel_values=pix, output_hidden_states=True)
    hs = out.hidden_states
    assert len(hs) == cfg.num_hidden_layers + 1
    (hs[spec["feature_layer"]] * dout32.to(dtype)).sum().backward()
    t = {"param." + k: v.to(F32).contiguous() for k, v in base.items()}
    t.update({"lora." + k: v.to(F32).contiguous() for k, v in lora.items()})
    t["in.pixel_values"] = pix32.contiguous()
    t["in.dout"] = dout32.contiguous()
    checked = {f"out.hidden_states.{k}": h for k, h in enumerate(hs)}
    checked["out.pooler_output"] = out.pooler_output
    for k, p in lp.items():
        checked["grad." + k] = p.grad if p.grad is not None else torch.zeros_like(p)
    checked["grad.pixel_values"] = pix.grad
    config = hf_config(cfg, VISION_LINEAR)
    config["golden"] = {"feature_layer": spec["feature_layer"]}
    return t, checked, config


# ---- LLaVA ------------------------------------------------------------------------------------
def hub_name(k):
    """transformers-5 state_dict name -> the hub's (old) key layout."""
    for a, b in (("model.vision_tower.", "vision_tower.vision_model."), ("model.language_model.", "language_model.model."),
                 ("model.multi_modal_projector.", "multi_modal_projector."), ("lm_head.", "language_model.lm_head.")):
        if k.startswith(a):
            return b + k[len(a):]
    raise AssertionError(k)


def old_lora_name(k):
    head = "base_model.model."
    assert k.startswith(head), k
    return head + hub_name(k[len(head):])


def llava_batch(spec, cfg, g):
    vc = cfg.vision_config
    N = (vc.image_size // vc.patch_size) ** 2 + (1 if cfg.vision_feature_select_strategy == "full" else 0)
    V, img = cfg.text_config.vocab_size, cfg.image_token_index
    rows = []
    for s in spec["seqs"]:
        ids = [1]
        for _ in range(s["images"]):
            ids += [img] * N
        n_prompt = len(ids) + s["prompt"]
        ids += [0] * (s["prompt"] + s["response"])
        rows.append((ids, n_prompt))
    B, T = len(rows), max(len(r[0]) for r in rows)
    input_ids = torch.zeros(B, T, dtype=torch.int64)
    mask = torch.zeros(B, T, dtype=torch.int64)
    labels = torch.full((B, T), -100, dtype=torch.int64)
    for b, (ids, n_prompt) in enumerate(rows):
        ids = torch.tensor(ids)
        text = ids == 0
        rnd = torch.randint(2, V - 1, (int(text.sum()),), generator=g)
        rnd[rnd >= img] += 1                     # never the image token
        ids[text] = rnd
        input_ids[b, :len(ids)] = ids
        mask[b, :len(ids)] = 1
        labels[b, n_prompt:len(ids)] = ids[n_prompt:]
    assert len(set(int(m.sum()) for m in mask)) == B, "sequences must differ in length"
    return input_ids, mask, labels, N


def run_llava(spec, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    cfg = LlavaConfig(vision_config=dict(model_type="clip_vision_model", **spec["vision"]),
                      text_config=dict(model_type="llama", **spec["text"]), **spec["llava"],
                      attn_implementation="eager")
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(cfg).to(F32).eval()
    assert model.config.vision_config._attn_implementation == "eager"
    assert model.config.text_config._attn_implementation == "eager"
    randomize(model, g)
    base = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model = get_peft_model(model, lora_config(spec["targets"])).eval()
    randomize_lora(model, g)
    lora = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
    ids, mask, labels, N = llava_batch(spec, cfg, g)
    B, T = ids.shape
    n_img = sum(s["images"] for s in spec["seqs"])
    S = cfg.vision_config.image_size
    pix32 = torch.randn(n_img, 3, S, S, generator=g)
    dlogp = torch.randn(B, generator=g)
    model = model.to(dtype)
    lp = lora_params(model)
    pix = pix32.to(dtype).requires_grad_(True)
    feats = {}
    proj = model.get_base_model().model.multi_modal_projector
    hook = proj.register_forward_hook(lambda m, i, o: feats.setdefault("f", o))
    logits = model(input_ids=ids, pixel_values=pix, attention_mask=mask).logits
    hook.remove()
    logps = get_batch_logps(logits, labels)
    (logps * dlogp.to(dtype)).sum().backward()
    with torch.no_grad(), model.disable_adapter():
        logps_ref = get_batch_logps(model(input_ids=ids, pixel_values=pix.detach(), attention_mask=mask).logits, labels)
    assert feats["f"].shape == (n_img, N, cfg.text_config.hidden_size), feats["f"].shape
    t = {}
    for k, v in base.items():
        t["param." + (hub_name(k) if spec["layout"] == "hub" else k)] = v.to(F32).contiguous()
    for k, v in lora.items():
        t["lora." + (old_lora_name(k) if spec["lora_modules"] == "old" else k)] = v.to(F32).contiguous()
    t["in.input_ids"] = ids
    t["in.attention_mask"] = mask
    t["in.labels"] = labels
    t["in.pixel_values"] = pix32.contiguous()
    t["in.dlogp"] = dlogp.contiguous()
    checked = {"out.logits": logits, "out.logps": logps, "out.logps_ref": logps_ref,
               "out.image_features": feats["f"].reshape(n_img * N, -1)}
    for k, p in lp.items():
        checked["grad." + k] = p.grad if p.grad is not None else torch.zeros_like(p)
    checked["grad.pixel_values"] = pix.grad
    return t, checked, hf_config(cfg, spec["targets"])


def build(name):
    about, spec = CASES[name]
    run = run_clip if spec["kind"] == "clip" else run_llava
    return model_case(name, "model." + spec["kind"], about, GENERATOR, lambda dtype: run(spec, case_seed(name), dtype))


if __name__ == "__main__":
    sys.exit(writer_main("Write lpoi's CLIP / LLaVA golden cases with transformers + PEFT.", "model_", CASES,
                         lambda n: ("model." + CASES[n][1]["kind"], CASES[n][0]), build, max_bytes=MAX_BYTES))
