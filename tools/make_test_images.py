#!/usr/bin/env python3
"""Writes the tiny test images for src/image/image_test.c into testdata/images/.

Each input file <name> comes with expected_<name>.png: what Pillow's
`Image.open(<name>).convert("RGB")` gives (alpha dropped, palette expanded, first GIF frame), saved
as an 8-bit RGB PNG. The C test decodes both with stb_image and compares: exactly for the lossless
formats, within a small tolerance for JPEG (stb's decoder is not libjpeg's). Run from the repo root:
    /work/venv/bin/python tools/make_test_images.py     (needs pillow, pinned in tools/requirements.txt)
The output is deterministic; the files are committed, so tests never need Python.
"""
import os
import sys

from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "images")


def pattern(w, h, smooth=False):
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            if smooth:   # low-frequency content, typical of photographs (JPEG-friendly)
                px[x, y] = (x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) * 127 // max(w + h - 2, 1))
            else:        # every pixel different: catches any channel/row/stride mix-up
                px[x, y] = ((x * 37 + y * 11) & 255, (x * 5 + y * 53 + 7) & 255, (x * y * 3 + 100) & 255)
    return img


def alpha_band(w, h):
    a = Image.new("L", (w, h))
    a.putdata([(x * 29 + y * 71) & 255 for y in range(h) for x in range(w)])
    return a


def save(img, name, **kw):
    path = os.path.join(OUT, name)
    img.save(path, **kw)
    with Image.open(path) as check:
        check.convert("RGB").save(os.path.join(OUT, "expected_" + name + ".png"))


def main():
    os.makedirs(OUT, exist_ok=True)
    base = pattern(13, 7)
    save(base, "rgb.png")
    save(base.convert("L"), "grey.png")
    la = base.convert("L")
    la.putalpha(alpha_band(13, 7))
    save(la, "grey_alpha.png")
    rgba = base.copy()
    rgba.putalpha(alpha_band(13, 7))
    save(rgba, "rgba.png")
    # 16-bit grey: Pillow opens it as mode I;16 and convert("RGB") CLIPS to 255 (not >> 8).
    g16 = Image.new("I;16", (13, 7))
    g16.putdata([(x * 97 + y * 401) % 1024 for y in range(7) for x in range(13)])
    save(g16, "grey16.png")
    pal = base.quantize(colors=16, dither=Image.Dither.NONE)
    save(pal, "palette.png")
    save(pal, "palette_trns.png", transparency=3)
    save(base, "rgb.bmp")
    save(base.convert("L"), "grey.bmp")
    save(rgba, "rgba.bmp")
    save(base, "rgb.ppm")
    save(base.convert("L"), "grey.pgm")
    # GIF with two frames: decoders must return the first one.
    f1 = base.quantize(colors=32, dither=Image.Dither.NONE)
    f2 = Image.new("RGB", (13, 7), (255, 0, 255)).quantize(colors=2)
    save(f1, "two_frames.gif", save_all=True, append_images=[f2], duration=100, loop=0)
    smooth = pattern(17, 11, smooth=True)
    save(smooth, "smooth_444.jpg", quality=95, subsampling=0)
    save(smooth, "smooth_420.jpg", quality=90, subsampling=2)
    save(smooth, "smooth_progressive.jpg", quality=90, progressive=True)
    save(smooth.convert("L"), "smooth_grey.jpg", quality=90)
    print("wrote", len(os.listdir(OUT)), "files to", os.path.normpath(OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
