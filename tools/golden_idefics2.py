#!/usr/bin/env python3
"""golden_idefics2.py — the transformers oracle for lpoi's Idefics2 pieces.

Writes testdata/golden/idefics2_<name>.safetensors, which `lpoi check` replays (the contract is at the
top of src/check/golden_idefics2.c):

  image.idefics2  transformers' Idefics2ImageProcessorPil (the PIL backend; the torchvision one is not
                  bit-exact with Pillow) built from a preprocessor_config.json dict, on a batch of
                  samples, each a list of images -> out.pixel_values F32 [B, N, 3, H, W] and
                  out.pixel_attention_mask I64 [B, N, H, W], exactly what processor(images=...) returns;
                  or, for the real config on a photograph (large outputs), out.sizes I64 [n, 2] (H, W
                  of every processed image) and out.resized.<j> U8 [h, w, 3] (the uint8 image j, taken
                  with the processor's own methods in _preprocess order)

  model.siglip    a tiny random Idefics2VisionTransformer (eager attention) with a PEFT adapter on every
                  vision Linear (q/k/v/out_proj, fc1, fc2; A and B non-zero), on a padded batch of images
                  of different sizes:
                    param.<HF name>   every weight (embeddings.*, encoder.layers.N.*, post_layernorm.*)
                    lora.<PEFT name>  base_model.model.encoder.layers.N.self_attn.q_proj.lora_A.weight, ...
                    in.pixel_values [n,3,H,W] (pixels past the last whole patch included)
                    in.patch_attention_mask [n,H/p,W/p] (I64, 1 = a real patch: a top-left rectangle)
                    in.dout [n,P,C]   cotangent of L = sum(dout * last_hidden_state)
                    out.last_hidden_state [n,P,C], grad.<PEFT name>, grad.pixel_values
                  config: the Idefics2VisionConfig + "lora".
  model.connector a tiny random Idefics2Model's connector (modality projection + perceiver resampler,
                  eager attention) with a PEFT adapter on its Linears (regex target), on image features
                  of n images with padded patches:
                    param.connector.<HF name>, lora.<PEFT name> (base_model.model.connector.*)
                    in.image_hidden_states [n,P,Cv], in.patch_attention_mask [n,P] (I64), in.dout [n,M,C]
                    out.image_features [n,M,C], grad.<PEFT name>, grad.image_hidden_states of
                    L = sum(dout * image_features)
                  config: the Idefics2Config + "lora".
  model.idefics2  a tiny random Idefics2ForConditionalGeneration (eager) with a PEFT adapter (all-linear),
                  scored on a right-padded batch whose image tokens are expanded (fake tokens around M
                  image tokens per real image), images of two sizes padded into one [B, N, 3, H, W] block
                  with a padding image (all zeros) and pixel_attention_mask, as TRL's get_batch_logps:
                    param.<HF name> (model.vision_model.*, model.connector.*, model.text_model.*, lm_head.weight)
                    lora.<PEFT name> (base_model.model.model.<part>...)
                    in.input_ids, in.attention_mask, in.labels [B,T], in.pixel_values [B,N,3,H,W],
                    in.pixel_attention_mask [B,N,H,W] (I64), in.dlogp [B]
                    out.logits [B,T,V], out.logps [B], out.logps_ref [B] (adapter disabled),
                    out.image_features [K,C], grad.<PEFT name> of L = sum(dlogp * logps),
                    out.generated [n_new] (I64): HF greedy generate (adapter on) from sample 0's prompt
                    (its ids up to the first scored label) with its images, max_new_tokens from the config
                  config: the Idefics2Config + "lora".

Tolerance: processor cases atol 1e-6, rtol 0 (pixel values come from the same float arithmetic as
numpy's, so they must be identical); model cases as tools/golden_llama.py (references in float64,
rtol 1e-4, atol 1e-5 x the tensor's largest |value|; torch's own fp32 run must stay within half).

  /work/venv/bin/python tools/golden_idefics2.py [--out testdata/golden] [--list] [NAME ...]
  /work/venv/bin/python tools/golden_idefics2.py --inventory
      (re-writes testdata/idefics2/idefics2_8b_tensors.txt: every tensor name and shape of
      Idefics2ForConditionalGeneration built by transformers from the real config on the meta device)
  /work/venv/bin/python tools/golden_idefics2.py --chat
      (re-writes testdata/idefics2/chat_expected.json: conversations rendered with idefics2-8b's chat
      template by Idefics2Processor.apply_chat_template, the processor's image-token expansion and the
      input_ids of its tokenizer: Mistral-7B's tokenizer.json with idefics2-8b's tokenizer_config.json)
"""
import json
import os
import re
import sys

from golden_common import ROOT, GOLDEN_DIR, case_meta, case_seed, generator, writer_main
import numpy as np
import PIL
from PIL import Image
import transformers
from transformers.models.idefics2.image_processing_pil_idefics2 import Idefics2ImageProcessorPil
import peft
import torch
from peft import get_peft_model, get_peft_model_state_dict
from transformers.models.idefics2.configuration_idefics2 import Idefics2Config, Idefics2VisionConfig
from transformers.models.idefics2.modeling_idefics2 import (Idefics2ForConditionalGeneration, Idefics2Model,
                                                            Idefics2VisionTransformer)

from golden_llama import F32, get_batch_logps, hf_config, lora_config, lora_params, model_case, randomize_lora
from golden_llava import randomize

import golden_preprocess
from golden_preprocess import load_source, pattern, with_alpha, noise

PHOTOS = os.path.join(ROOT, "testdata", "images", "photos")
REAL_DIR = os.path.join(ROOT, "..", "shared", "data", "hf", "HuggingFaceM4__idefics2-8b")
GENERATOR = generator(__file__, PIL, transformers, np)
MODEL_GENERATOR = generator(__file__, torch, transformers, peft, np)
VISION_LINEAR = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]
TOLERANCES = {"atol": "1e-6", "rtol": "0"}

# HuggingFaceM4/idefics2-8b's preprocessor_config.json (checked against ../shared when present).
IDEFICS2_8B = {
    "do_convert_rgb": True, "do_image_splitting": True, "do_normalize": True, "do_pad": True,
    "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
    "image_processor_type": "Idefics2ImageProcessor", "image_std": [0.5, 0.5, 0.5],
    "processor_class": "Idefics2Processor", "resample": 2, "rescale_factor": 0.00392156862745098,
    "size": {"longest_edge": 980, "shortest_edge": 378},
}


def small(**kw):
    """The real config with small edges (12 / 30): the same code paths, tiny files."""
    cfg = dict(IDEFICS2_8B, size={"shortest_edge": 12, "longest_edge": 30}, do_image_splitting=False)
    cfg.update(kw)
    return cfg


def photo(name):
    return os.path.join(PHOTOS, name)


# name: (processor config, samples (lists of image sources), "full" or "steps", about)
PROCESSOR = {
    "real_chelsea_split": (IDEFICS2_8B, [[photo("chelsea.png")]], "steps",
                           "real config, 451x300 photograph split: quarters 225x150 stretched to 378x378, "
                           "the whole image 451x300 to 451x378"),
    "small_one": (small(), [[lambda: pattern(41, 23, seed=1)]], "full",
                  "41x23: the long side to 30, the short int(30/(41/23)) = 16"),
    "small_tall": (small(), [[lambda: pattern(17, 61, seed=2)]], "full",
                   "tall 17x61: height to 30, width int(30·17/61) = 8 then raised to 12"),
    "small_tiny_stretched": (small(), [[lambda: noise(5, 9, seed=3)]], "full",
                             "5x9 under the shortest edge: each side raised to 12 on its own (12x12)"),
    "small_split": (small(do_image_splitting=True), [[lambda: pattern(47, 33, seed=4)]], "full",
                    "split 47x33: odd quarters (23/24 x 16/17), each resized on its own, padded to the largest"),
    "small_batch_pad": (small(), [[lambda: pattern(41, 29, seed=5)],
                                  [lambda: with_alpha(pattern(25, 37, seed=6)), lambda: pattern(19, 13, c=1, seed=7)]],
                        "full", "two samples (1 and 2 images: RGB, RGBA onto white, grey): padded to the batch's "
                                "largest H and W, an all-zero image for the short sample"),
    "small_split_batch": (small(do_image_splitting=True, size={"shortest_edge": 6, "longest_edge": 16}),
                          [[lambda: pattern(40, 31, seed=8), lambda: with_alpha(pattern(22, 28, c=1, seed=9), seed=3)],
                           [lambda: pattern(64, 20, seed=10)]],
                          "full", "splitting on a batch of 2 + 1 images (LA composited): N = 10, padding"),
    "small_empty_sample": (small(), [[lambda: pattern(30, 21, seed=11)], []], "full",
                           "a sample without images: all-zero pixel values and mask"),
    "small_hw_bicubic": (small(size={"height": 14, "width": 19}, resample=3),
                         [[lambda: pattern(33, 25, seed=12), lambda: pattern(9, 7, seed=13)]], "full",
                         "size {height, width} and BICUBIC: every image to 19x14"),
    "small_no_pad": (small(do_pad=False, do_resize=False), [[lambda: pattern(11, 9, seed=14)],
                                                            [lambda: pattern(11, 9, seed=15)]], "full",
                     "do_pad false, do_resize false, images of one size: no mask from HF (lpoi's is all ones)"),
    "small_no_normalize": (small(do_normalize=False, image_mean=[0.2, 0.3, 0.4]), [[lambda: pattern(20, 15, seed=16)]],
                           "full", "do_normalize false: values v/255 (the mean is not used)"),
    "small_mean_std": (small(image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
                             do_rescale=False), [[lambda: pattern(20, 15, seed=17)]], "full",
                       "other mean/std, do_rescale false"),
}


def make_processor(name, spec):
    cfg, samples, outs, about = spec
    proc = Idefics2ImageProcessorPil.from_dict(dict(cfg))
    tensors, images_cfg, pil = {}, [], []
    for b, sample in enumerate(samples):
        row = []
        for src in sample:
            img, px, rel = load_source(src)
            entry = {"sample": b, "width": img.width, "height": img.height,
                     "channels": 3 if px is None else px.shape[2]}
            if rel:
                entry["image"] = rel
            else:
                tensors[f"in.image.{len(images_cfg)}"] = px
            images_cfg.append(entry)
            row.append(img)
        pil.append(row)
    got = proc(images=pil, return_tensors="np")
    pv = got["pixel_values"]
    assert pv.dtype == np.float32, name
    if outs == "full":
        tensors["out.pixel_values"] = np.ascontiguousarray(pv)
        if "pixel_attention_mask" in got:
            tensors["out.pixel_attention_mask"] = np.ascontiguousarray(got["pixel_attention_mask"].astype(np.int64))
    else:
        # The uint8 images, with the processor's own methods in its _preprocess order; their
        # normalised, padded form must be the processor's output.
        kw = proc._standardize_kwargs(**{k: getattr(proc, k, None) for k in proc._valid_kwargs_names})
        sizes, k = [], 0
        for b, row in enumerate(pil):
            parts = []
            for img in row:
                x = proc.process_image(img, do_convert_rgb=kw["do_convert_rgb"])
                parts += proc.split_images(x) if kw["do_image_splitting"] else [x]
            for j, x in enumerate(parts):
                x = proc.resize(image=x, size=kw["size"], resample=kw["resample"])
                assert x.dtype == np.uint8, name
                y = proc.normalize(proc.rescale(x, kw["rescale_factor"]), kw["image_mean"], kw["image_std"])
                h, w = x.shape[1:]
                assert np.array_equal(pv[b, j, :, :h, :w], y.astype(np.float32)), f"{name}: replay differs"
                assert not pv[b, j, :, h:, :].any() and not pv[b, j, :, :, w:].any(), name
                sizes.append([h, w])
                if j == len(parts) - 1:   # the whole image (the split's last)
                    tensors[f"out.resized.{k}"] = np.ascontiguousarray(np.moveaxis(x, 0, -1))
                k += 1
        tensors["out.sizes"] = np.array(sizes, dtype=np.int64)
    config = {"processor": cfg, "images": images_cfg, "samples": len(samples)}
    return tensors, case_meta("image.idefics2", config, GENERATOR, about, TOLERANCES), None


# ---- SigLIP (Idefics2VisionTransformer) -----------------------------------------------------------
# name: (vision config, images as (pixel height, width, real patch rows, real patch columns), about)
SIGLIP = {
    "siglip_tiny": (dict(hidden_size=24, intermediate_size=37, num_hidden_layers=2, num_attention_heads=3,
                         image_size=28, patch_size=7, layer_norm_eps=1e-6),
                    (22, 44, [(3, 6), (2, 4)]),
                    "2 layers, 3 heads of 8, position table 4x4, images 22x44 px (3x6 patches, 1/2 px past the "
                    "last) with the second one padded to 2x4 real patches; positions bucketised; LoRA on every "
                    "Linear; d pixel_values"),
    "siglip_erf_all_real": (dict(hidden_size=16, intermediate_size=20, num_hidden_layers=1, num_attention_heads=2,
                                 image_size=35, patch_size=7, hidden_act="gelu", layer_norm_eps=1e-5),
                            (21, 14, [(3, 2)]),
                            "1 layer, gelu (erf), position table 5x5 larger than the 3x2 patch grid, no padding"),
}


def make_siglip(name, spec):
    vcfg, (H, W, real), about = spec
    seed = case_seed(name)

    def run(dtype):
        g = torch.Generator().manual_seed(seed)
        cfg = Idefics2VisionConfig(**vcfg, attn_implementation="eager")
        torch.manual_seed(0)
        model = Idefics2VisionTransformer(cfg).to(F32).eval()
        randomize(model, g)
        base = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model = get_peft_model(model, lora_config(VISION_LINEAR)).eval()
        randomize_lora(model, g)
        lora = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
        n, p = len(real), cfg.patch_size
        Gh, Gw = H // p, W // p
        mask = torch.zeros(n, Gh, Gw, dtype=torch.int64)
        for i, (rh, rw) in enumerate(real):
            mask[i, :rh, :rw] = 1
        pix32 = torch.randn(n, 3, H, W, generator=g)
        for i, (rh, rw) in enumerate(real):   # the processor's zero padding past the real region
            pix32[i, :, rh * p:, :] = 0
            pix32[i, :, :, rw * p:] = 0
        dout32 = torch.randn(n, Gh * Gw, cfg.hidden_size, generator=g)
        model = model.to(dtype)
        lp = lora_params(model)
        pix = pix32.to(dtype).requires_grad_(True)
        out = model(pixel_values=pix, patch_attention_mask=mask.bool())
        (out.last_hidden_state * dout32.to(dtype)).sum().backward()
        t = {"param." + k: v.to(F32).contiguous() for k, v in base.items()}
        t.update({"lora." + k: v.to(F32).contiguous() for k, v in lora.items()})
        t["in.pixel_values"] = pix32.contiguous()
        t["in.patch_attention_mask"] = mask.contiguous()
        t["in.dout"] = dout32.contiguous()
        checked = {"out.last_hidden_state": out.last_hidden_state, "grad.pixel_values": pix.grad}
        for k, prm in lp.items():
            checked["grad." + k] = prm.grad
        return t, checked, hf_config(cfg, VISION_LINEAR)

    return model_case(name, "model.siglip", about, MODEL_GENERATOR, run)


# ---- the connector -----------------------------------------------------------------------------
CONNECTOR_TARGETS = r".*connector\..*(gate_proj|up_proj|down_proj|q_proj|k_proj|v_proj|o_proj)"
# name: (Idefics2Config kwargs, patches per image, real patches per image, about)
CONNECTOR = {
    "connector_tiny": (dict(image_token_id=37,
                            vision_config=dict(hidden_size=12, intermediate_size=10, num_hidden_layers=1,
                                               num_attention_heads=2, image_size=28, patch_size=7),
                            perceiver_config=dict(hidden_size=16, rms_norm_eps=1e-5, resampler_n_latents=3,
                                                  resampler_depth=2, resampler_n_heads=4, resampler_head_dim=5,
                                                  num_key_value_heads=2),
                            text_config=dict(model_type="mistral", vocab_size=40, hidden_size=16, intermediate_size=20,
                                             num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                                             rms_norm_eps=1e-5)),
                       6, [6, 4],
                       "modality projection 12 -> 20 -> 16, perceiver 3 latents, 2 layers, 4 heads of 5 over 2 kv "
                       "heads; 2 images of 6 patches, the second with 2 padded; LoRA on every connector Linear"),
    "connector_hidden_override": (dict(image_token_id=37,
                                       vision_config=dict(hidden_size=8, intermediate_size=10, num_hidden_layers=1,
                                                          num_attention_heads=2, image_size=28, patch_size=7),
                                       perceiver_config=dict(resampler_n_latents=2, resampler_depth=1,
                                                             resampler_n_heads=2, resampler_head_dim=3,
                                                             num_key_value_heads=1),
                                       text_config=dict(model_type="mistral", vocab_size=40, hidden_size=12,
                                                        intermediate_size=14, num_hidden_layers=1,
                                                        num_attention_heads=2, num_key_value_heads=1,
                                                        rms_norm_eps=1e-3)),
                                  5, [5],
                                  "perceiver hidden_size left at 4096: HF takes the text's 12 and its rms_norm_eps "
                                  "1e-3; MQA (1 kv head); one image, no padding"),
}


def random_idefics2(cls, kwargs, targets, g, keep=lambda name: True):
    """A tiny random Idefics2 model of class cls (eager attention everywhere): unit-ish weights and
    latents, then a PEFT adapter on targets with A and B both random. -> (config, PEFT model, base
    weights kept by name, adapter tensors)."""
    cfg = Idefics2Config(**kwargs)
    cfg._attn_implementation = "eager"
    for sub in (cfg.vision_config, cfg.perceiver_config, cfg.text_config):
        sub._attn_implementation = "eager"
    torch.manual_seed(0)
    model = cls(cfg).to(F32).eval()
    randomize(model, g)
    with torch.no_grad():
        lat = [p for n, p in model.named_parameters() if n.endswith("perceiver_resampler.latents")][0]
        lat.copy_(torch.randn(lat.shape, generator=g))
    base = {k: v.detach().clone() for k, v in model.state_dict().items() if keep(k)}
    model = get_peft_model(model, lora_config(targets)).eval()
    randomize_lora(model, g)
    lora = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
    return cfg, model, base, lora


def make_connector(name, spec):
    kwargs, P, real, about = spec
    seed = case_seed(name)

    def run(dtype):
        g = torch.Generator().manual_seed(seed)
        cfg, model, base, lora = random_idefics2(Idefics2Model, kwargs, CONNECTOR_TARGETS, g,
                                                 keep=lambda k: k.startswith("connector."))
        assert lora and all(".connector." in k for k in lora), list(lora)[:3]
        n, Cv, C = len(real), cfg.vision_config.hidden_size, cfg.text_config.hidden_size
        mask = torch.zeros(n, P, dtype=torch.int64)
        for i, r in enumerate(real):
            mask[i, :r] = 1
        feat32 = torch.randn(n, P, Cv, generator=g)
        dout32 = torch.randn(n, cfg.perceiver_config.resampler_n_latents, C, generator=g)
        model = model.to(dtype)
        lp = lora_params(model)
        feat = feat32.to(dtype).requires_grad_(True)
        out = model.base_model.model.connector(feat, attention_mask=mask.bool())
        (out * dout32.to(dtype)).sum().backward()
        t = {"param." + k: v.to(F32).contiguous() for k, v in base.items()}
        t.update({"lora." + k: v.to(F32).contiguous() for k, v in lora.items()})
        t["in.image_hidden_states"] = feat32.contiguous()
        t["in.patch_attention_mask"] = mask.contiguous()
        t["in.dout"] = dout32.contiguous()
        checked = {"out.image_features": out, "grad.image_hidden_states": feat.grad}
        for k, prm in lp.items():
            checked["grad." + k] = prm.grad
        config = hf_config(cfg, CONNECTOR_TARGETS)
        if "hidden_size" not in kwargs["perceiver_config"]:   # as on the hub: HF fills it from text_config
            del config["perceiver_config"]["hidden_size"], config["perceiver_config"]["rms_norm_eps"]
        return t, checked, config

    return model_case(name, "model.idefics2_connector", about, MODEL_GENERATOR, run)


# ---- the whole model ---------------------------------------------------------------------------
# name: (Idefics2Config kwargs, targets, samples: [(image sizes (h, w) in pixels, prompt, response)],
#        padded H, W, about)
MODEL = {
    "model_tiny": (dict(image_token_id=45,
                        vision_config=dict(hidden_size=12, intermediate_size=10, num_hidden_layers=2,
                                           num_attention_heads=2, image_size=21, patch_size=7),
                        perceiver_config=dict(hidden_size=16, rms_norm_eps=1e-5, resampler_n_latents=3,
                                              resampler_depth=2, resampler_n_heads=4, resampler_head_dim=5,
                                              num_key_value_heads=2),
                        text_config=dict(model_type="mistral", vocab_size=48, hidden_size=16, intermediate_size=20,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         rms_norm_eps=1e-5, max_position_embeddings=64, sliding_window=None)),
                   "all-linear", [([(14, 21), (14, 14)], 3, 4), ([(9, 16)], 2, 3)], 14, 21,
                   "SigLIP 2 layers (position table 3x3), perceiver 3 latents x 2 layers (GQA 4/2), Mistral GQA "
                   "4/2; 2 right-padded sequences with 2 + 1 images of 3 sizes (14x21, 14x14, 9x16 px: padded "
                   "pixels, partial patches) in one [2, 2, 3, 14, 21] block with a padding image; PEFT all-linear"),
}
FAKE_TOKEN = 44
GENERATE = 8


def model_batch(spec, cfg, g):
    _, _, samples, H, W, _ = spec
    M, img, V = cfg.perceiver_config.resampler_n_latents, cfg.image_token_id, cfg.text_config.vocab_size
    N = max(len(s[0]) for s in samples)
    pix = torch.zeros(len(samples), N, 3, H, W)
    pmask = torch.zeros(len(samples), N, H, W, dtype=torch.int64)
    rows = []
    for b, (sizes, n_prompt, n_resp) in enumerate(samples):
        ids = [1, 0]
        for j, (h, w) in enumerate(sizes):
            pix[b, j, :, :h, :w] = torch.randn(3, h, w, generator=g)
            pmask[b, j, :h, :w] = 1
            ids += [FAKE_TOKEN] + [img] * M + [FAKE_TOKEN]
        ids += [0] * n_prompt
        start = len(ids)
        ids += [0] * n_resp + [2]
        rows.append((ids, start))
    B, T = len(rows), max(len(r[0]) for r in rows)
    input_ids = torch.zeros(B, T, dtype=torch.int64)
    mask = torch.zeros(B, T, dtype=torch.int64)
    labels = torch.full((B, T), -100, dtype=torch.int64)
    for b, (ids, start) in enumerate(rows):
        ids = torch.tensor(ids)
        text = ids == 0
        ids[text] = torch.randint(3, FAKE_TOKEN, (int(text.sum()),), generator=g)
        input_ids[b, :len(ids)] = ids
        mask[b, :len(ids)] = 1
        labels[b, start:len(ids)] = ids[start:]
    return input_ids, mask, labels, pix, pmask


def make_model(name, spec):
    kwargs, targets = spec[0], spec[1]
    seed = case_seed(name)

    def run(dtype):
        g = torch.Generator().manual_seed(seed)
        cfg, model, base, lora = random_idefics2(Idefics2ForConditionalGeneration, kwargs, targets, g)
        ids, mask, labels, pix32, pmask = model_batch(spec, cfg, g)
        B = ids.shape[0]
        dlogp = torch.randn(B, generator=g)
        model = model.to(dtype)
        lp = lora_params(model)
        pix = pix32.to(dtype)
        feats = {}
        conn = model.get_base_model().model.connector
        hook = conn.register_forward_hook(lambda m, i, o: feats.setdefault("f", o))
        kw = dict(input_ids=ids, attention_mask=mask, pixel_values=pix, pixel_attention_mask=pmask)
        logits = model(**kw).logits
        hook.remove()
        logps = get_batch_logps(logits, labels)
        (logps * dlogp.to(dtype)).sum().backward()
        with torch.no_grad(), model.disable_adapter():
            logps_ref = get_batch_logps(model(**kw).logits, labels)
        n_prompt = int((labels[0] != -100).nonzero()[0])
        with torch.no_grad():
            gen = model.generate(input_ids=ids[:1, :n_prompt], attention_mask=mask[:1, :n_prompt], pixel_values=pix[:1],
                                 pixel_attention_mask=pmask[:1], max_new_tokens=GENERATE, do_sample=False,
                                 eos_token_id=None, pad_token_id=0)[0, n_prompt:]
        assert gen.numel() == GENERATE
        t = {"param." + k: v.to(F32).contiguous() for k, v in base.items()}
        t.update({"lora." + k: v.to(F32).contiguous() for k, v in lora.items()})
        t.update({"in.input_ids": ids, "in.attention_mask": mask, "in.labels": labels,
                  "in.pixel_values": pix32.contiguous(), "in.pixel_attention_mask": pmask.contiguous(),
                  "in.dlogp": dlogp.contiguous()})
        checked = {"out.logits": logits, "out.logps": logps, "out.logps_ref": logps_ref,
                   "out.image_features": feats["f"].reshape(-1, feats["f"].shape[-1]), "out.generated": gen}
        for k, prm in lp.items():
            checked["grad." + k] = prm.grad
        config = hf_config(cfg, targets)
        config["golden"] = {"max_new_tokens": GENERATE}
        return t, checked, config

    return model_case(name, "model.idefics2", spec[-1], MODEL_GENERATOR, run)


OUT_DIR = GOLDEN_DIR   # photographs are referenced relative to the case file
CASES = {**{f"processor_{n}": (make_processor, spec) for n, spec in PROCESSOR.items()},
         **{n: (make_siglip, spec) for n, spec in SIGLIP.items()},
         **{n: (make_connector, spec) for n, spec in CONNECTOR.items()},
         **{n: (make_model, spec) for n, spec in MODEL.items()}}


INVENTORY = os.path.join(ROOT, "testdata", "idefics2", "idefics2_8b_tensors.txt")


def write_inventory():
    """One line per tensor, 'name d0,d1,...', in transformers' state_dict order (no weights: meta device)."""
    import torch
    from transformers import Idefics2Config, Idefics2ForConditionalGeneration
    cfg = Idefics2Config.from_pretrained(REAL_DIR)
    with torch.device("meta"):
        model = Idefics2ForConditionalGeneration(cfg)
    lines = [f"{n} {','.join(str(d) for d in t.shape)}" for n, t in model.state_dict().items()]
    os.makedirs(os.path.dirname(INVENTORY), exist_ok=True)
    with open(INVENTORY, "w") as f:
        f.write(f"# {GENERATOR}: Idefics2ForConditionalGeneration(HuggingFaceM4/idefics2-8b config.json), "
                f"{len(lines)} tensors\n")
        f.write("\n".join(lines) + "\n")
    print("wrote", INVENTORY, len(lines), "tensors")


# idefics2-8b's chat template (its processor_config.json on the hub; the copy in ../shared has none).
CHAT_TEMPLATE = ("{% for message in messages %}{{message['role'].capitalize()}}{% if message['content'][0]['type'] == "
                 "'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] "
                 "== 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
                 "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")
CHAT_FILE = os.path.join(ROOT, "testdata", "idefics2", "chat_expected.json")


def img():
    return {"type": "image"}


def txt(t):
    return {"type": "text", "text": t}


# (messages, add_generation_prompt, image_seq_len, do_image_splitting, about)
CHATS = [
    ([{"role": "user", "content": [img(), txt("What is in the image?")]},
      {"role": "assistant", "content": [txt("A green triangle.")]}], False, 64, False,
     "one training turn: the image token is followed by a word, so the processor inserts a space"),
    ([{"role": "user", "content": [img(), txt("Describe it.")]}], True, 64, False, "generation prompt"),
    ([{"role": "user", "content": [img(), txt("Describe it.")]}], True, 64, True,
     "image splitting: five image strings, their inner fake tokens merged"),
    ([{"role": "user", "content": [txt("Compare "), img(), img(), txt("\nand say which is larger.")]},
      {"role": "assistant", "content": [txt("The first.")]}], False, 3, False,
     "text first (': '), two adjacent images (one fake token between), a newline after the image (no space)"),
    ([{"role": "system", "content": [txt("Be brief.")]}, {"role": "USER", "content": [img(), txt("<b>x</b>")]},
      {"role": "user", "content": [img(), txt("\u00e9t\u00e9 \u00a0caf\u00e9")]},
      {"role": "user", "content": [img(), txt("\u00a0nbsp"), img()]}], True, 2, False,
     "system role, role capitalised, '<' after the image (no space), a non-ASCII letter (space), NBSP (no "
     "space), an image at the end of the text"),
]


def write_chat():
    import shutil
    import tempfile
    from transformers import AutoTokenizer
    from transformers.models.idefics2.processing_idefics2 import Idefics2Processor
    hf = os.path.join(ROOT, "..", "shared", "data", "hf")
    tmp = tempfile.mkdtemp()
    shutil.copy(os.path.join(hf, "mistralai__Mistral-7B-v0.1", "tokenizer.json"), tmp)
    shutil.copy(os.path.join(REAL_DIR, "tokenizer_config.json"), tmp)
    tok = AutoTokenizer.from_pretrained(tmp)
    shutil.rmtree(tmp)
    cases = []
    for messages, gen, seq_len, split, about in CHATS:
        proc = Idefics2Processor(Idefics2ImageProcessorPil(do_image_splitting=split), tok, image_seq_len=seq_len,
                                 chat_template=CHAT_TEMPLATE)
        text = proc.apply_chat_template(messages, add_generation_prompt=gen)
        ids = proc(text=text)["input_ids"][0]
        # The expanded prompt string: Idefics2Processor.__call__'s steps (transformers 5.24), checked
        # to tokenise to the processor's ids.
        fake, image = proc.fake_image_token, proc.image_token
        image_str = (f"{fake}{image * seq_len}{fake}") * (5 if split else 1)
        expanded = text.replace(image, image_str).replace(f"{fake}{fake}", fake)
        expanded = re.sub(rf"{re.escape(fake)}(?=[^\s<])", f"{fake} ", expanded)
        assert tok(expanded)["input_ids"] == ids, about
        cases.append({"about": about, "messages": messages, "add_generation_prompt": gen, "image_seq_len": seq_len,
                      "do_image_splitting": split, "text": text, "expanded": expanded, "input_ids": ids})
    with open(CHAT_FILE, "w") as f:
        json.dump({"generator": GENERATOR, "tokenizer": "mistralai__Mistral-7B-v0.1/tokenizer.json",
                   "config": "HuggingFaceM4__idefics2-8b/tokenizer_config.json", "cases": cases}, f, indent=1,
                  ensure_ascii=False)
        f.write("\n")
    print("wrote", CHAT_FILE, len(cases), "cases")


def setup(args):
    global OUT_DIR
    if args.inventory:
        write_inventory()
        return 0
    if args.chat:
        write_chat()
        return 0
    real = os.path.join(REAL_DIR, "preprocessor_config.json")
    if os.path.exists(real):
        with open(real) as f:
            assert json.load(f) == IDEFICS2_8B, f"{real} differs from IDEFICS2_8B in this script"
    OUT_DIR = golden_preprocess.OUT_DIR = os.path.abspath(args.out)   # load_source's relative paths
    return None


def add_arguments(ap):
    ap.add_argument("--inventory", action="store_true", help="write the idefics2-8b tensor inventory and exit")
    ap.add_argument("--chat", action="store_true", help="write the chat-template expectations and exit")


def build(name):
    make, spec = CASES[name]
    return make(name, spec)


def describe(name):
    make, spec = CASES[name]
    return {"make_processor": "image.idefics2", "make_siglip": "model.siglip",
            "make_connector": "model.idefics2_connector", "make_model": "model.idefics2"}[make.__name__], spec[-1]


if __name__ == "__main__":
    sys.exit(writer_main("Write lpoi's Idefics2 golden cases with transformers.", "idefics2_",
                         CASES, describe, build, setup=setup,
                         add_arguments=add_arguments))
