#!/usr/bin/env python3
"""PEFT round trip: an adapter written by `lpoi train` must load into HF transformers + PEFT and
give the logits lpoi computes with it.

For each LoRA target spec (all-linear, whose adapter_config lists module names as PEFT saves them,
and a part-restricted spec, which lpoi writes as a full-match regex):
  1. build a tiny preference data set under a temp folder and run `build/lpoi train` on
     testdata/tiny_llava for a few steps with a large learning rate (so every lora_B is non-zero);
  2. `build/lpoi train --dump-logits` writes input_ids, pixel_values and lpoi's logits with that adapter;
  3. HF LlavaForConditionalGeneration + PeftModel.from_pretrained(adapter) run the same input_ids and
     pixel_values; the script reports max |lpoi - HF| and, for scale, max |HF(adapter) - HF(base)|.
It fails (exit 1) when an adapter key does not load (PEFT warns and silently ignores it), when the
adapter changes nothing, or when the logits differ by more than 1e-4.

Run from the repository root after ./nob:   /work/venv/bin/python tools/test_peft_roundtrip.py
(needs torch, transformers 5.x, peft, pillow, safetensors; `make test` does not run it).
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

import torch
from PIL import Image, ImageDraw
from safetensors.torch import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LPOI = os.path.join(ROOT, "build", "lpoi")
MODEL = os.path.join(ROOT, "testdata", "tiny_llava")
TOL = 1e-4


def make_data(folder):
    recs = []
    for i in range(6):
        im = Image.new("RGB", (60 + 4 * i, 44), (20 * i, 200 - 20 * i, 90))
        d = ImageDraw.Draw(im)
        x0 = 3 * i
        d.rectangle([x0, 8, x0 + 18, 30], fill=(250, 30, 30))
        name = f"img{i}.png"
        im.save(os.path.join(folder, name))
        recs.append({"img_path": name, "prompt": "What is in the picture?", "chosen": "A red box on a plain wall.",
                     "rejected": "A cat sleeping on a sofa.", "boxes": [[x0, 8, x0 + 19, 31]]})
    path = os.path.join(folder, "data.jsonl")
    with open(path, "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    return path


def run(args):
    p = subprocess.run([LPOI] + args, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"lpoi {' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


def check(tmp, data, targets):
    from peft import PeftModel
    from transformers import LlavaForConditionalGeneration

    out = os.path.join(tmp, "run-" + targets.replace(",", "_").replace(".", "-"))
    run(["train", "--model", MODEL, "--data", data, "--out", out, "--lr", "0.02", "--batch", "2", "--max-steps", "3",
         "--lora-targets", targets, "--quiet", "--seed", "7"])
    adapter = os.path.join(out, "adapter")
    dump = os.path.join(tmp, "dump.safetensors")
    run(["train", "--dump-logits", dump, "--model", MODEL, "--adapter", adapter, "--image",
         os.path.join(tmp, "img3.png"), "--prompt", "What is in the picture?", "--answer", "A red box on a plain wall."])
    t = load_file(dump)
    ids, pv, ours = t["input_ids"].long(), t["pixel_values"], t["logits"]

    base = LlavaForConditionalGeneration.from_pretrained(MODEL, dtype=torch.float32).eval()
    with torch.no_grad():
        ref_base = base(input_ids=ids, pixel_values=pv).logits
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PeftModel.from_pretrained(base, adapter).eval()
    bad = [str(w.message) for w in caught if "missing" in str(w.message).lower() or "unexpected" in str(w.message).lower()]
    if bad:
        sys.exit(f"[{targets}] PEFT did not load every tensor: {bad[0][:400]}")
    sd = {k: v for k, v in model.state_dict().items() if "lora_" in k}
    saved = load_file(os.path.join(adapter, "adapter_model.safetensors"))
    if len(sd) != len(saved):
        sys.exit(f"[{targets}] PEFT made {len(sd)} LoRA tensors, lpoi saved {len(saved)}")
    loaded = max(float((v - saved[k.replace(".default", "")]).abs().max()) for k, v in sd.items())
    with torch.no_grad():
        ref = model(input_ids=ids, pixel_values=pv).logits
    diff = float((ours - ref).abs().max())
    effect = float((ref - ref_base).abs().max())
    cfg = json.load(open(os.path.join(adapter, "adapter_config.json")))
    print(f"[{targets}] {len(saved)} LoRA tensors (target_modules {json.dumps(cfg['target_modules'])[:90]}), "
          f"logits {tuple(ours.shape)}: max |lpoi - HF+PEFT| = {diff:.3g}, adapter effect max |HF+PEFT - HF| = "
          f"{effect:.3g}, max |PEFT weight - file| = {loaded:.3g}")
    if effect < 1e-3:
        sys.exit(f"[{targets}] the adapter changes the logits by only {effect:.3g}: nothing was tested")
    if not diff <= TOL:
        sys.exit(f"[{targets}] FAIL: logits differ by {diff:.3g} > {TOL}")
    return diff


def main():
    if not os.path.exists(LPOI):
        sys.exit("build/lpoi is missing: run ./nob first")
    with tempfile.TemporaryDirectory(prefix="lpoi-peft-") as tmp:
        data = make_data(tmp)
        worst = 0.0
        for targets in ["all-linear", "language_model.q_proj,language_model.down_proj,multi_modal_projector.linear_2,"
                                      "vision_tower.fc1"]:
            worst = max(worst, check(tmp, data, targets))
    print(f"PASS: max logit difference {worst:.3g} (tolerance {TOL})")


if __name__ == "__main__":
    main()
