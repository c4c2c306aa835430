#!/usr/bin/env python3
"""golden_gdino_post.py — the transformers oracle for Grounding DINO's post-processing
(src/models/gdino_postprocess.c).

Writes testdata/gdino/postprocess.json: cases of random logits [Q, 256] (the text positions past
the caption at -inf, as the contrastive head pads them) and random cxcywh boxes, with the results of
GroundingDinoProcessor.post_process_grounded_object_detection (transformers 5.24, grounding-dino-
tiny's real tokenizer for the phrases): the kept queries, their scores, xyxy boxes (in pixels when a
target size is given) and text labels. Only the first T logit columns are stored (T = the
caption's ids); the other 256 - T are -inf. Logits whose sigmoid lands within 1e-5 of a threshold are
redrawn, so an ulp of difference between sigmoid implementations cannot flip a decision.

usage: /work/venv/bin/python tools/golden_gdino_post.py [--hf ../shared/data/hf] [--out testdata/gdino]
"""
import argparse
import json
import os
import sys
from types import SimpleNamespace

from golden_common import ROOT, generator
import numpy as np
import torch
import transformers
from transformers import AutoProcessor

GENERATOR = generator(__file__, transformers, torch, np)
GDINO = "IDEA-Research__grounding-dino-tiny"

# (name, caption, queries, box threshold, text threshold, target size (h, w) or None)
CASES = [
    ("two_phrases", "a cat. a remote control.", 60, 0.35, 0.25, (480, 640)),
    ("hf_defaults", "a person. a bicycle. a car.", 120, 0.25, 0.25, (333, 500)),
    ("no_target_size", "the man on the left? the dog!", 40, 0.3, 0.2, None),
    ("tall_image", "naïve café. a [MASK] thing.", 50, 0.4, 0.3, (1333, 7)),
    ("full_900", "a cat.", 900, 0.35, 0.25, (800, 1199)),
    ("strict", "a cat. a dog.", 80, 0.9, 0.9, (100, 100)),
    ("sep_token_scored", "x.", 30, 0.2, 0.1, (64, 48)),
]
THRESH_GAP = 1e-5


def logits_for(rng, q, t, thresholds):
    """[q, 256] logits: mostly background, some queries with a few strong tokens (phrases)."""
    lg = rng.normal(-4.0, 1.5, (q, 256))
    for i in range(q):
        if rng.random() < 0.4:
            start = rng.integers(0, t)
            span = rng.integers(1, 4)
            lg[i, start:min(t, start + span)] = rng.normal(0.5, 1.5, min(t, start + span) - start)
    lg = lg.astype(np.float32)
    while True:   # redraw whatever sits too close to a threshold
        p = 1 / (1 + np.exp(-lg.astype(np.float64)))
        near = np.zeros_like(lg, dtype=bool)
        for th in thresholds:
            near |= np.abs(p - th) < THRESH_GAP
        if not near.any():
            break
        lg[near] = rng.normal(-4.0, 1.5, near.sum()).astype(np.float32)
    lg[:, t:] = -np.inf
    return lg


def build(proc, name, caption, q, box_th, text_th, size, rng):
    ids = proc.tokenizer(caption)["input_ids"]
    t = len(ids)
    lg = logits_for(rng, q, t, [box_th, text_th])
    boxes = rng.uniform(0.0, 1.0, (q, 4)).astype(np.float32)
    boxes[:, 2:] *= 0.6
    outputs = SimpleNamespace(logits=torch.from_numpy(lg)[None], pred_boxes=torch.from_numpy(boxes)[None])
    res = proc.post_process_grounded_object_detection(
        outputs, input_ids=torch.tensor([ids]), threshold=box_th, text_threshold=text_th,
        target_sizes=[size] if size else None)[0]
    keep = (torch.sigmoid(outputs.logits[0]).max(-1)[0] > box_th).nonzero().flatten().tolist()
    f = lambda v: float(f"{v:.9g}")
    enc = lambda a: [f(v) if np.isfinite(v) else None for v in a.reshape(-1).tolist()]
    return {"name": name, "caption": caption, "input_ids": ids, "queries": q, "box_threshold": box_th,
            "text_threshold": text_th, "target_size": list(size) if size else None,
            "logits": enc(lg[:, :t]), "boxes_cxcywh": enc(boxes),
            "want": {"keep": keep, "scores": [f(v) for v in res["scores"].tolist()],
                     "boxes": [[f(v) for v in b] for b in res["boxes"].tolist()], "labels": list(res["text_labels"])}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hf", default=os.path.join(ROOT, "..", "shared", "data", "hf"))
    ap.add_argument("--out", default=os.path.join(ROOT, "testdata", "gdino"))
    args = ap.parse_args()
    proc = AutoProcessor.from_pretrained(os.path.join(args.hf, GDINO))
    cases = [build(proc, *c, np.random.default_rng(1000 + i)) for i, c in enumerate(CASES)]
    assert all(c["want"]["keep"] for c in cases[:-2]), "every ordinary case keeps something"
    path = os.path.join(args.out, "postprocess.json")
    os.makedirs(args.out, exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump({"generator": GENERATOR, "tokenizer": f"{GDINO}", "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    os.replace(path + ".tmp", path)
    for c in cases:
        print(f"{c['name']}: {len(c['want']['keep'])} kept, labels {sorted(set(c['want']['labels']))[:6]}")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
