#!/usr/bin/env python3
"""test_demo_model_loads.py — the tiny LLaVA folder that `lpoi demo` writes must be a real Hugging Face
checkpoint: transformers loads it (LlavaForConditionalGeneration.from_pretrained with no missing,
unexpected or mismatched tensors, AutoProcessor, AutoTokenizer), and for one held-out example it gives
the same input_ids, pixel_values and logits as lpoi.

lpoi's side comes from `lpoi demo --prepare-only --out DIR`, which writes DIR/model, DIR/data and
DIR/model_check.safetensors (input_ids, pixel_values and logits computed by lpoi's tokenizer, image
processor and LLaVA forward, with metadata "text" and "image"). This script recomputes all three with
transformers and reports the max differences; it exits 1 when the ids differ, the pixels differ by
more than 1e-6 or the logits by more than 1e-4 (fp32 CPU vs fp32 CPU).

Also checked: every word of every demo prompt + answer is one token for HF as for lpoi, the chat
template renders as llava-1.5's, and the processor expands <image> to (S/p)^2 tokens. When DIR is a
finished demo run (DIR/adapter_check.safetensors: lpoi's logits with the trained adapter), the adapter
DIR/run/adapter is loaded with PEFT (PeftModel.from_pretrained) and those logits are compared too.

usage: tools/test_demo_model_loads.py [--lpoi build/lpoi] [--dir DIR]   (default: a temporary DIR)
       (python from tools/requirements.txt: transformers 5.24, torch, pillow)
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import torch
from PIL import Image
from safetensors import safe_open
from transformers import AutoProcessor, AutoTokenizer, LlavaForConditionalGeneration

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def find_lpoi():
    cand = os.path.join(ROOT, "build", "lpoi")
    if os.path.exists(cand):
        return cand
    build = os.path.join(ROOT, "build")
    for d in sorted(os.listdir(build)) if os.path.isdir(build) else []:
        p = os.path.join(build, d, "lpoi")
        if os.path.exists(p):
            return p
    sys.exit("no build/lpoi: run ./nob first (or pass --lpoi)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lpoi", default=None, help="the lpoi binary (default build/lpoi)")
    ap.add_argument("--dir", default=None, help="use this demo folder (already prepared) instead of a fresh one")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tmp = None
    if args.dir:
        out = args.dir
    else:
        tmp = tempfile.mkdtemp(prefix="lpoi_demo_check_")
        out = os.path.join(tmp, "demo")
        cmd = [args.lpoi or find_lpoi(), "demo", "--prepare-only", "--out", out]
        print("running:", " ".join(cmd))
        subprocess.run(cmd, check=True)
    failures = []
    try:
        model_dir = os.path.join(out, "model")
        model, info = LlavaForConditionalGeneration.from_pretrained(model_dir, output_loading_info=True,
                                                                    attn_implementation="eager")
        model.eval()
        bad = {k: v for k, v in info.items() if v}
        print("from_pretrained loading info:", bad or "clean (no missing / unexpected / mismatched keys)")
        if bad:
            failures.append(f"loading info {bad}")
        proc = AutoProcessor.from_pretrained(model_dir)
        tok = AutoTokenizer.from_pretrained(model_dir)
        print("processor:", type(proc).__name__, "/", type(proc.image_processor).__name__, "/", type(tok).__name__)

        with safe_open(os.path.join(out, "model_check.safetensors"), "pt") as f:
            meta = f.metadata()
            ids_c = f.get_tensor("input_ids").long()
            pix_c = f.get_tensor("pixel_values")
            logits_c = f.get_tensor("logits")
        text = meta["text"]
        # the image path is as the demo saw it (maybe relative to its working folder): find it in DIR
        image_path = os.path.join(out, "data", "images", os.path.basename(meta["image"]))
        print("text:", json.dumps(text))

        # chat template (processor and tokenizer) = llava-1.5's rendering
        rec = json.loads(open(os.path.join(out, "data", "heldout.jsonl")).readline())
        msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": rec["prompt"]}]},
                {"role": "assistant", "content": [{"type": "text", "text": rec["chosen"]}]}]
        rendered = proc.apply_chat_template(msgs, tokenize=False)
        if rendered != text:
            failures.append(f"chat template renders {rendered!r}, lpoi {text!r}")

        inputs = proc(images=Image.open(image_path), text=text, return_tensors="pt")
        ids_h, pix_h = inputs["input_ids"], inputs["pixel_values"]
        n_img = int((ids_h == model.config.image_token_index).sum())
        cfg = model.config.vision_config
        print(f"image tokens: {n_img} (expected ({cfg.image_size}/{cfg.patch_size})^2 = "
              f"{(cfg.image_size // cfg.patch_size) ** 2}); sequence {ids_h.shape[1]} tokens")
        if n_img != (cfg.image_size // cfg.patch_size) ** 2:
            failures.append("image token count")
        same_ids = ids_h.shape == ids_c.shape and torch.equal(ids_h, ids_c)
        print("input_ids equal:", same_ids)
        if not same_ids:
            failures.append(f"input_ids differ: HF {ids_h.tolist()} lpoi {ids_c.tolist()}")
        dpix = (pix_h - pix_c).abs().max().item() if pix_h.shape == pix_c.shape else float("inf")
        print(f"pixel_values max |diff|: {dpix:.3g}")
        if not dpix <= 1e-6:
            failures.append(f"pixel_values differ by {dpix}")
        with torch.no_grad():
            logits_h = model(input_ids=ids_c, pixel_values=pix_c).logits
        dlog = (logits_h - logits_c).abs().max().item()
        scale = logits_h.abs().max().item()
        print(f"logits max |diff|: {dlog:.3g} (max |logit| {scale:.3g}, shape {list(logits_h.shape)})")
        if not dlog <= 1e-4:
            failures.append(f"logits differ by {dlog}")

        # every prompt + answer of the data set: each word is ONE token for HF too (as lpoi's unit test
        # checks for lpoi), and the text round-trips
        n, longest = 0, 0
        for split in ("train", "heldout"):
            for line in open(os.path.join(out, "data", split + ".jsonl")):
                r = json.loads(line)
                for ans in (r["chosen"], r["rejected"]):
                    t = f"USER: <image>\n{r['prompt']} ASSISTANT: {ans} "
                    ids = tok(t)["input_ids"]
                    toks = tok.convert_ids_to_tokens(ids)
                    words = ["\u2581" + w.strip(".?") for w in f"{r['prompt']} {ans}".split()[1:]]
                    missing = [w for w in words if w not in toks]
                    if ids[0] != tok.bos_token_id or missing:
                        failures.append(f"{t!r} -> {toks} (missing whole tokens {missing})")
                    n += 1
                    longest = max(longest, len(ids))
        print(f"{n} prompt+answer texts: every word one token, longest {longest} text tokens")
        # the trained adapter, through PEFT
        ac = os.path.join(out, "adapter_check.safetensors")
        if os.path.exists(ac):
            from peft import PeftModel
            with safe_open(ac, "pt") as f:
                ids_a = f.get_tensor("input_ids").long()
                pix_a = f.get_tensor("pixel_values")
                logits_a = f.get_tensor("logits")
            peft_model = PeftModel.from_pretrained(model, os.path.join(out, "run", "adapter")).eval()
            with torch.no_grad():
                logits_p = peft_model(input_ids=ids_a, pixel_values=pix_a).logits
                with peft_model.disable_adapter():
                    logits_base = peft_model(input_ids=ids_a, pixel_values=pix_a).logits
            dad = (logits_p - logits_a).abs().max().item()
            moved = (logits_p - logits_base).abs().max().item()
            print(f"with the trained adapter (PEFT): logits max |diff| {dad:.3g} (the adapter moves them by up to {moved:.3g})")
            if not dad <= 1e-4:
                failures.append(f"adapter logits differ by {dad}")
            if not moved > 1e-3:
                failures.append("the trained adapter does not change the logits")
        else:
            print("no adapter_check.safetensors (a --prepare-only folder): adapter not checked")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print("OK: transformers loads the demo model and matches lpoi")
    return 0


if __name__ == "__main__":
    sys.exit(main())
