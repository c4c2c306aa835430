#!/usr/bin/env python3
"""golden_preprocess.py — the Pillow / transformers oracle for lpoi's image preprocessing.

Writes testdata/golden/image_resize_<name>.safetensors and image_clip_<name>.safetensors, which
`lpoi check` replays against src/image/resample.c and src/image/preprocess.c (the contract is listed
at the top of src/check/golden_image.c):

  image.resize  Pillow's Image.resize((w, h), filter) on an RGB8 image -> out.image (uint8)
  image.clip    transformers' CLIPImageProcessorPil / LlavaImageProcessorPil (the PIL backend, which
                is what resizes with Pillow; the torchvision backend is not bit-exact with it) built
                from a preprocessor_config.json dict -> out.resized / out.image (uint8 intermediates,
                taken with the processor's own methods in _preprocess order and checked to reproduce
                its output) and out.pixel_values (float32, exactly what processor(images=...) returns)

Tolerance: atol 1e-6, rtol 0 for every tensor. uint8 tensors are integers, so they must be
identical; pixel_values must be within 1e-6 (lpoi computes them with numpy's float arithmetic, so the
difference is 0).

Inputs: synthetic images of odd sizes and aspect ratios (stored in the case, in.image uint8 HxWxC,
C = 1 L, 2 LA, 3 RGB, 4 RGBA), and the public-domain / CC0 photographs in testdata/images/photos
(referenced by path, relative to the case file; see testdata/images/photos/README.md).
Cases are byte-for-byte reproducible (fixed seeds, sorted header).

  /work/venv/bin/python tools/golden_preprocess.py [--out testdata/golden] [--list] [NAME ...]
  /work/venv/bin/python tools/golden_preprocess.py --photos-from /usr/lib/python3/dist-packages/skimage/data
      (re-creates testdata/images/photos from scikit-image's data folder, Debian python3-skimage)
"""
import json
import os
import sys

from golden_common import ROOT, GOLDEN_DIR, case_meta, generator, writer_main
import numpy as np
import PIL
from PIL import Image
import transformers
from transformers.image_transforms import resize as hf_resize
from transformers.image_utils import ChannelDimension
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
from transformers.models.llava.image_processing_pil_llava import LlavaImageProcessorPil

PHOTOS = os.path.join(ROOT, "testdata", "images", "photos")
LLAVA_CONFIG = os.path.join(ROOT, "..", "shared", "data", "hf", "llava-hf__llava-1.5-7b-hf", "preprocessor_config.json")
GENERATOR = generator(__file__, PIL, transformers, np)
TOLERANCES = {"atol": "1e-6", "rtol": "0"}
BICUBIC, BILINEAR, LANCZOS, BOX, HAMMING = 3, 2, 1, 4, 5
MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}

# The real llava-1.5 processor config (values copied from llava-hf/llava-1.5-7b-hf; checked against
# the file in ../shared when it is present).
LLAVA15 = {
    "crop_size": {"height": 336, "width": 336}, "do_center_crop": True, "do_convert_rgb": True,
    "do_normalize": True, "do_rescale": True, "do_resize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "CLIPImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711], "processor_class": "LlavaProcessor",
    "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 336},
}


def small(**kw):
    """A CLIP config with small sizes: same code paths as 336, tiny files."""
    cfg = dict(LLAVA15, size={"shortest_edge": 24}, crop_size={"height": 20, "width": 20})
    cfg.update(kw)
    return cfg


# ---------------------------------------------------------------------------------------------
# synthetic images (uint8 H x W x C)

def noise(w, h, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def pattern(w, h, c=3, seed=0):
    """Smooth gradients + a few hard edges + noise: photo-like, with overshoot for the cubic."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for k in range(c):
        fx, fy, ph = rng.uniform(0.5, 4), rng.uniform(0.5, 4), rng.uniform(0, 6.28)
        v = 127.5 + 90 * np.sin(fx * 6.28 * xx / max(w, 1) + ph) * np.cos(fy * 6.28 * yy / max(h, 1))
        v += np.where((xx // max(w // 5, 1) + yy // max(h // 4, 1)) % 2 == 0, 40, -40)
        v += rng.normal(0, 12, (h, w))
        chans.append(np.clip(np.rint(v), 0, 255))
    return np.stack(chans, -1).astype(np.uint8)


def checker(w, h, cell=1):
    """Black/white checkerboard: worst case for clamping (the cubic overshoots both ends)."""
    yy, xx = np.mgrid[0:h, 0:w]
    v = ((xx // cell + yy // cell) % 2 * 255).astype(np.uint8)
    return np.stack([v, 255 - v, v], -1)


def with_alpha(px, seed=1):
    """Adds an alpha band with 0, 255 and everything in between."""
    h, w, _ = px.shape
    a = np.random.default_rng(seed).integers(0, 256, (h, w, 1), dtype=np.uint8)
    a[0, :, 0] = 0
    a[-1, :, 0] = 255
    return np.concatenate([px, a], -1)


def photo(name):
    return os.path.join(PHOTOS, name)


# ---------------------------------------------------------------------------------------------
# cases: name -> (kind, spec)

RESIZE = {
    # name: (image source, out w, out h, filter, about)
    "bicubic_down_odd": (lambda: pattern(97, 61, seed=1), 31, 19, BICUBIC, "odd downscale (3.13x, 3.21x)"),
    "bicubic_up_odd": (lambda: pattern(13, 7, seed=2), 50, 29, BICUBIC, "odd upscale (3.85x, 4.14x)"),
    "bicubic_down_big": (photo("coffee.png"), 9, 6, BICUBIC, "photograph, 66x downscale: wide kernels"),
    "bicubic_up_big": (lambda: noise(5, 4, seed=4), 151, 97, BICUBIC, "30x upscale from noise"),
    "bicubic_1xN": (lambda: pattern(1, 37, seed=5), 3, 11, BICUBIC, "1-pixel-wide image, both axes change"),
    "bicubic_Nx1": (lambda: pattern(53, 1, seed=6), 17, 1, BICUBIC, "1-pixel-high image, width only"),
    "bicubic_1x1": (lambda: noise(1, 1, seed=7), 7, 5, BICUBIC, "a single pixel to 7x5"),
    "bicubic_to_1x1": (lambda: pattern(45, 29, seed=8), 1, 1, BICUBIC, "to a single pixel"),
    "bicubic_vertical_first": (lambda: pattern(40, 300, seed=9), 36, 50, BICUBIC,
                               "height shrinks > 2x more than width: Pillow runs the vertical pass first"),
    "bicubic_vertical_first_wide_up": (lambda: pattern(20, 90, seed=10), 33, 41, BICUBIC,
                                       "width grows, height shrinks: vertical first"),
    "bicubic_width_only": (lambda: pattern(37, 23, seed=11), 52, 23, BICUBIC, "one pass (horizontal)"),
    "bicubic_height_only": (lambda: pattern(37, 23, seed=12), 37, 10, BICUBIC, "one pass (vertical)"),
    "bicubic_same": (lambda: noise(19, 17, seed=13), 19, 17, BICUBIC, "same size: a copy"),
    "bicubic_checker": (lambda: checker(29, 23), 41, 17, BICUBIC, "checkerboard: overshoot clamped at 0 and 255"),
    "bicubic_checker_down": (lambda: checker(64, 64, cell=3), 25, 25, BICUBIC, "checkerboard downscale"),
    "bilinear_down2": (lambda: pattern(64, 48, seed=14), 32, 24, BILINEAR, "exact 2x downscale"),
    "bilinear_down1_5": (lambda: pattern(90, 60, seed=15), 60, 40, BILINEAR, "exact 1.5x downscale"),
    "bilinear_up": (lambda: noise(17, 9, seed=16), 40, 23, BILINEAR, "odd upscale"),
    "bilinear_vertical_first": (lambda: pattern(30, 200, seed=17), 29, 33, BILINEAR, "vertical pass first"),
    "bilinear_mixed": (lambda: pattern(123, 45, seed=18), 61, 97, BILINEAR, "width down, height up"),
    "lanczos": (lambda: pattern(53, 41, seed=19), 23, 67, LANCZOS, "LANCZOS (support 3)"),
    "box": (lambda: pattern(53, 41, seed=20), 20, 15, BOX, "BOX"),
    "hamming": (lambda: pattern(53, 41, seed=21), 70, 30, HAMMING, "HAMMING"),
    "photo_coffee_bicubic": (photo("coffee.png"), 150, 100, BICUBIC, "photograph, 4x downscale"),
    "photo_chelsea_bilinear": (photo("chelsea.png"), 97, 211, BILINEAR, "photograph, aspect changed"),
    "photo_astronaut_bicubic": (photo("astronaut_crop.png"), 101, 173, BICUBIC, "photograph, 2.4x / 1.8x downscale"),
}

CLIP = {
    # name: (image source, processor config, outputs to store, about)
    "llava15_chelsea": (photo("chelsea.png"), LLAVA15, ("pixel_values",),
                        "real llava-1.5 config, photograph 451x300: upscale to 505x336, crop 336"),
    "llava15_coffee": (photo("coffee.png"), LLAVA15, ("resized",),
                       "real llava-1.5 config, photograph 600x400: downscale to 504x336 (the full resize)"),
    "llava15_pad_astronaut": (photo("astronaut_crop.png"),
                              dict(LLAVA15, image_processor_type="LlavaImageProcessor", do_pad=True), ("image",),
                              "real config + LlavaImageProcessor do_pad: portrait 240x320 padded to 320x320"),
    "small_thin": (lambda: pattern(3, 50, seed=30), small(), ("image", "pixel_values"),
                   "3x50: resized to 24x400, the crop window is all the C side computes"),
    "small_rgb": (lambda: pattern(41, 29, seed=31), small(), ("resized", "image", "pixel_values"),
                  "41x29 -> 33x24 -> crop 20x20 at odd offsets"),
    "small_portrait": (lambda: pattern(29, 50, seed=32), small(crop_size={"height": 21, "width": 17}),
                       ("resized", "image", "pixel_values"), "portrait, non-square odd crop"),
    "small_grey": (lambda: pattern(35, 27, c=1, seed=33), small(), ("resized", "image", "pixel_values"),
                   "L image: grey to RGB"),
    "small_rgba": (lambda: with_alpha(pattern(35, 27, seed=34)), small(), ("resized", "image", "pixel_values"),
                   "RGBA: composited onto white (transformers 5 convert_to_rgb)"),
    "small_la": (lambda: with_alpha(pattern(26, 31, c=1, seed=35), seed=2), small(),
                 ("resized", "image", "pixel_values"), "LA: composited onto white"),
    "small_crop_pads": (lambda: pattern(13, 9, seed=36), small(size={"shortest_edge": 16}, crop_size={"height": 25, "width": 20}),
                        ("resized", "image", "pixel_values"), "crop larger than the resized image: zero padding"),
    "small_crop_pads_one_axis": (lambda: pattern(40, 9, seed=37),
                                 small(size={"shortest_edge": 11}, crop_size={"height": 14, "width": 30}),
                                 ("resized", "image", "pixel_values"), "crop pads vertically, crops horizontally"),
    "small_no_resize": (lambda: pattern(15, 12, seed=38), small(do_resize=False),
                        ("image", "pixel_values"), "do_resize false: the crop pads the original"),
    "small_no_crop": (lambda: pattern(31, 22, seed=39), small(do_center_crop=False),
                      ("resized", "image", "pixel_values"), "do_center_crop false: pixel_values are 3x24x33"),
    "small_hw_size": (lambda: pattern(31, 22, seed=40), small(size={"height": 18, "width": 27}, do_center_crop=False),
                      ("resized", "pixel_values"), "size {height, width}: exact resize"),
    "small_bilinear": (lambda: pattern(50, 37, seed=41), small(resample=2), ("resized", "image", "pixel_values"),
                       "BILINEAR resample"),
    "small_no_rescale": (lambda: pattern(30, 25, seed=42), small(do_rescale=False), ("pixel_values",),
                         "do_rescale false: normalise 0..255 values"),
    "small_no_normalize": (lambda: pattern(30, 25, seed=43), small(do_normalize=False), ("pixel_values",),
                           "do_normalize false: values v/255"),
    "small_int_sizes": (lambda: pattern(30, 25, seed=44),
                        dict(small(), size=22, crop_size=18, image_processor_type="CLIPFeatureExtractor"),
                        ("resized", "image", "pixel_values"), "older config style: integer size and crop_size"),
    "small_llava_pad_wide": (lambda: pattern(31, 20, seed=45), small(image_processor_type="LlavaImageProcessor", do_pad=True),
                             ("resized", "image", "pixel_values"), "LLaVA pad-to-square, wide, odd difference"),
    "small_llava_pad_tall": (lambda: pattern(12, 33, seed=46), small(image_processor_type="LlavaImageProcessor", do_pad=True),
                             ("resized", "image", "pixel_values"), "LLaVA pad-to-square, tall"),
    "small_llava_no_pad": (lambda: pattern(31, 20, seed=47), small(image_processor_type="LlavaImageProcessor", do_pad=False),
                           ("image", "pixel_values"), "LlavaImageProcessor without do_pad = CLIP"),
}


def load_source(src):
    """-> (PIL image as HF would get it, pixels HxWxC or None when a file, relative path or None)."""
    if isinstance(src, str):
        img = Image.open(src)
        img.load()
        assert img.mode == "RGB" and "transparency" not in img.info, src
        return img, None, os.path.relpath(src, OUT_DIR)
    px = src()
    c = px.shape[2]
    img = Image.fromarray(px[:, :, 0] if c == 1 else px, MODES[c])
    return img, px, None


def make_resize(name, spec):
    src, w, h, filt, about = spec
    img, px, rel = load_source(src)
    out = np.asarray(img.resize((w, h), filt, reducing_gap=None))
    # transformers' own resize (numpy CHW -> PIL -> numpy) must be the same call.
    if filt in (BICUBIC, BILINEAR):
        chw = np.moveaxis(np.asarray(img), -1, 0)
        hf = hf_resize(chw, (h, w), resample=filt, data_format=ChannelDimension.LAST,
                       input_data_format=ChannelDimension.FIRST)
        assert np.array_equal(hf, out), name
    config = {"in_width": img.width, "in_height": img.height, "width": w, "height": h, "filter": filt}
    tensors = {"out.image": out.astype(np.uint8)}
    if rel:
        config["image"] = rel
    else:
        tensors["in.image"] = px
    return tensors, case_meta("image.resize", config, GENERATOR, about, TOLERANCES), None


def make_clip(name, spec):
    src, cfg, outs, about = spec
    img, px, rel = load_source(src)
    cls = LlavaImageProcessorPil if cfg["image_processor_type"].startswith("Llava") else CLIPImageProcessorPil
    proc = cls.from_dict(dict(cfg))
    pv = proc(images=img, return_tensors="np")["pixel_values"]
    assert pv.shape[0] == 1 and pv.dtype == np.float32, name
    pv = pv[0]
    # The uint8 intermediates, with the processor's own methods in its _preprocess order.
    kw = proc._standardize_kwargs(**{k: getattr(proc, k, None) for k in proc._valid_kwargs_names})
    x = proc.process_image(img, do_convert_rgb=kw["do_convert_rgb"])        # CHW uint8
    if kw.get("do_pad") and cls is LlavaImageProcessorPil:
        x = proc.pad_to_square(x, background_color=tuple(int(m * 255) for m in kw["image_mean"]))
    if kw["do_resize"]:
        x = proc.resize(image=x, size=kw["size"], resample=kw["resample"])
    resized = x
    if kw["do_center_crop"]:
        x = proc.center_crop(x, kw["crop_size"])
    assert x.dtype == np.uint8, name
    y = x
    if kw["do_rescale"]:
        y = proc.rescale(y, kw["rescale_factor"])
    if kw["do_normalize"]:
        y = proc.normalize(y, kw["image_mean"], kw["image_std"])
    assert np.array_equal(np.asarray(y, np.float32), pv), f"{name}: step-by-step replay differs from the processor"
    tensors = {}
    if "resized" in outs:
        tensors["out.resized"] = np.ascontiguousarray(np.moveaxis(resized, 0, -1))
    if "image" in outs:
        tensors["out.image"] = np.ascontiguousarray(np.moveaxis(x, 0, -1))
    if "pixel_values" in outs:
        tensors["out.pixel_values"] = np.ascontiguousarray(pv)
    channels = 3 if px is None else px.shape[2]
    config = {"processor": cfg, "in_width": img.width, "in_height": img.height, "channels": channels}
    if rel:
        config["image"] = rel
    else:
        tensors["in.image"] = px
    return tensors, case_meta("image.clip", config, GENERATOR, about, TOLERANCES), None


def make_photos(data_dir):
    """testdata/images/photos from scikit-image's data folder (see the README there)."""
    import shutil
    os.makedirs(PHOTOS, exist_ok=True)
    for n in ("chelsea.png", "coffee.png"):
        shutil.copyfile(os.path.join(data_dir, n), os.path.join(PHOTOS, n))
    with Image.open(os.path.join(data_dir, "astronaut.png")) as a:
        a.crop((96, 0, 336, 320)).save(os.path.join(PHOTOS, "astronaut_crop.png"), optimize=True)
    print("wrote", PHOTOS)


OUT_DIR = GOLDEN_DIR   # photographs are referenced relative to the case file
CASES = {**{f"resize_{n}": (make_resize, spec) for n, spec in RESIZE.items()},
         **{f"clip_{n}": (make_clip, spec) for n, spec in CLIP.items()}}


def setup(args):
    global OUT_DIR
    if args.photos_from:
        make_photos(args.photos_from)
        return 0
    if os.path.exists(LLAVA_CONFIG):
        with open(LLAVA_CONFIG) as f:
            assert json.load(f) == LLAVA15, f"{LLAVA_CONFIG} differs from LLAVA15 in this script"
    OUT_DIR = os.path.abspath(args.out)
    return None


def build(name):
    make, spec = CASES[name]
    return make(name, spec)


def describe(name):
    make, spec = CASES[name]
    return "image." + make.__name__[len("make_"):], spec[-1]


if __name__ == "__main__":
    sys.exit(writer_main("Write lpoi's image preprocessing golden cases with Pillow / transformers.", "image_",
                         CASES, describe, build, setup=setup,
                         add_arguments=lambda ap: ap.add_argument(
                             "--photos-from", metavar="DIR",
                             help="copy the photographs from scikit-image's data folder and exit")))
