#!/usr/bin/env python3
"""golden_gdino_preprocess.py — the transformers oracle for Grounding DINO's image preprocessing
(src/image/dino_preprocess.c).

Writes testdata/gdino/preprocess.json:
  sizes    get_size_with_aspect_ratio (shortest edge E, longest edge M) on edge cases and seeded random
           image sizes, for the real config (800, 1333) and small ones: (h, w) -> (oh, ow);
  batches  GroundingDinoImageProcessorPil (the PIL backend, which resizes with Pillow; transformers
           5.24 + Pillow) built from a preprocessor_config.json dict, on batches of RGB images of
           different sizes: pixel_values [B, 3, H, W] float32 (zero padding bottom/right, after the
           normalisation) and pixel_mask [B, H, W]. Small configs store every value; the real
           config (800/1333) on the photographs in testdata/images/photos stores the shape, the
           CRC32 of the float32 bytes and a few values (the arrays would be megabytes).

usage: /work/venv/bin/python tools/golden_gdino_preprocess.py [--hf ../shared/data/hf] [--out testdata/gdino]
"""
import argparse
import json
import os
import sys
import zlib

from golden_common import ROOT, generator
import numpy as np
import PIL
from PIL import Image
import transformers
from transformers.image_transforms import get_size_with_aspect_ratio
from transformers.models.grounding_dino.image_processing_pil_grounding_dino import GroundingDinoImageProcessorPil

GENERATOR = generator(__file__, PIL, transformers, np)
PHOTOS = os.path.join(ROOT, "testdata", "images", "photos")
REAL = {"do_normalize": True, "do_pad": True, "do_rescale": True, "do_resize": True, "format": "coco_detection",
        "image_mean": [0.485, 0.456, 0.406], "image_processor_type": "GroundingDinoImageProcessor",
        "image_std": [0.229, 0.224, 0.225], "processor_class": "GroundingDinoProcessor", "resample": 2,
        "rescale_factor": 0.00392156862745098, "size": {"longest_edge": 1333, "shortest_edge": 800}}


def small(**kw):
    cfg = dict(REAL, size={"shortest_edge": 24, "longest_edge": 40})
    cfg.update(kw)
    return cfg


def pattern(w, h, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for _ in range(3):
        fx, fy, ph = rng.uniform(0.5, 4), rng.uniform(0.5, 4), rng.uniform(0, 6.28)
        v = 128 + 90 * np.sin(fx * xx / max(w, 1) * 6.28 + ph) * np.cos(fy * yy / max(h, 1) * 6.28)
        v += (xx > w / 3) * 40 - (yy > h / 2) * 30 + rng.normal(0, 12, (h, w))
        chans.append(v)
    return np.clip(np.stack(chans, -1), 0, 255).astype(np.uint8)


# name: (config, images: (w, h, seed) or a photo name, about)
BATCHES = {
    "small_landscape": (small(), [(61, 37, 1)], "37x61 -> shortest edge 24 (no cap)"),
    "small_portrait_capped": (small(), [(17, 55, 2)], "55x17: 24 would make the long side 77 > 40: capped"),
    "small_square": (small(), [(30, 30, 3)], "square"),
    "small_already": (small(), [(24, 33, 4)], "short side already 24: unchanged"),
    "small_upscale": (small(), [(9, 7, 5)], "tiny image upscaled"),
    "small_batch_pad": (small(), [(61, 37, 6), (17, 55, 7), (30, 30, 8)], "three sizes: padding and pixel masks"),
    "small_no_pad": (small(do_pad=False), [(40, 30, 9)], "do_pad false, one image (no pixel_mask)"),
    "small_no_normalize": (small(do_normalize=False), [(33, 20, 10), (20, 33, 11)], "rescale only, padded batch"),
    "small_no_rescale": (small(do_rescale=False), [(33, 20, 12)], "normalise 0..255 values"),
    "small_no_resize": (small(do_resize=False), [(13, 9, 13), (7, 11, 14)], "do_resize false: pad only"),
    "small_bicubic": (small(resample=3), [(45, 31, 15)], "resample BICUBIC"),
    "real_chelsea": (REAL, ["chelsea.png"], "real config, 451x300 photograph -> 1202x800"),
    "real_batch": (REAL, ["coffee.png", "astronaut_crop.png"], "real config, batch of two photographs"),
}


def size_cases():
    rng = np.random.default_rng(5)
    out = []
    for short, long_ in ((800, 1333), (24, 40), (800, 800), (7, 1000)):
        dims = [(1, 1), (1, 10000), (10000, 1), (800, 1333), (1333, 800), (800, 2000), (799, 1332), (3, 5), (600, 1000),
                (600, 1001), (450, 750), (451, 752), (300, 451), (10, 10), (2, 3333), (1200, 2000), (1600, 2666),
                (1600, 2667), (480, 640), (640, 480), (1080, 1920), (1920, 1080), (4000, 3000), (2, 1333)]
        dims += [(int(rng.integers(1, 3000)), int(rng.integers(1, 3000))) for _ in range(150)]
        for h, w in dims:
            out.append({"shortest_edge": short, "longest_edge": long_, "h": h, "w": w,
                        "out": list(get_size_with_aspect_ratio((h, w), short, long_))})
    return out


def crc(a):
    return zlib.crc32(np.ascontiguousarray(a).tobytes()) & 0xFFFFFFFF


def batch_case(name, cfg, sources, about):
    imgs, stored = [], []
    for s in sources:
        if isinstance(s, str):
            img = Image.open(os.path.join(PHOTOS, s))
            img.load()
            stored.append({"photo": s})
        else:
            px = pattern(*s)
            img = Image.fromarray(px, "RGB")
            stored.append({"w": s[0], "h": s[1], "rgb_hex": px.tobytes().hex()})
        imgs.append(img)
    proc = GroundingDinoImageProcessorPil(**{k: v for k, v in cfg.items() if k not in ("image_processor_type", "processor_class")})
    res = proc(images=imgs, return_tensors="np")
    pv = res["pixel_values"].astype(np.float32)
    case = {"name": name, "about": about, "config": cfg, "images": stored, "shape": list(pv.shape),
            "pixel_values_crc32": crc(pv)}
    if "pixel_mask" in res:
        pm = res["pixel_mask"]
        case["pixel_mask_shape"] = list(pm.shape)
        case["pixel_mask_crc32"] = crc(pm.astype(np.uint8))
        case["pixel_mask_rows"] = ["".join(str(int(v)) for v in row) for b in pm for row in b] if pv.size < 100000 else None
    if pv.size < 100000:
        case["pixel_values"] = [float(f"{v:.9g}") for v in pv.reshape(-1).tolist()]
    else:
        flat = pv.reshape(-1)
        idx = np.random.default_rng(7).integers(0, flat.size, 64)
        case["samples"] = [[int(i), float(f"{flat[i]:.9g}")] for i in idx]
    return case


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hf", default=os.path.join(ROOT, "..", "shared", "data", "hf"))
    ap.add_argument("--out", default=os.path.join(ROOT, "testdata", "gdino"))
    args = ap.parse_args()
    real_path = os.path.join(args.hf, "IDEA-Research__grounding-dino-tiny", "preprocessor_config.json")
    if os.path.exists(real_path):
        with open(real_path) as f:
            assert json.load(f) == REAL, "the real preprocessor_config.json changed"
    out = {"generator": GENERATOR, "sizes": size_cases(),
           "batches": [batch_case(n, *spec) for n, spec in BATCHES.items()]}
    path = os.path.join(args.out, "preprocess.json")
    os.makedirs(args.out, exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    os.replace(path + ".tmp", path)
    for b in out["batches"]:
        print(f"{b['name']}: {b['shape']}")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
