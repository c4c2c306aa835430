#!/usr/bin/env python3
"""golden_gdino_ops.py — the PyTorch/HF oracle for the Grounding DINO ops' golden cases.

Writes testdata/golden/op_<name>.safetensors for `lpoi check` (runners: src/check/golden_gdino.c, which lists
each kind's tensors and config). Same rules as tools/golden_ops.py, whose Case class this reuses: references
in float64 from the stored fp32 inputs, gradients by autograd of L = sum(out * in.dout), rtol 1e-4 and
atol = 1e-5 x each tensor's largest |value|, and torch's own float32 run must use at most half of that.

  op.msda              transformers' MultiScaleDeformableAttention (the pure-PyTorch grid_sample path HF runs
                       on CPU), gradients for value, sampling locations and attention weights. Locations keep
                       their pixel coordinate at least 0.1 from an integer, where bilinear sampling has a kink
                       (fp32 and fp64 would take different sides); some corners and whole samples fall outside.
  op.groupnorm         torch.nn.functional.group_norm on x.permute(0, 2, 1) of channels-last x [N, P, C].
  op.window_attention  HF Swin window attention: the bias gathered by SwinRelativePositionBias's index from a
                       table, the shifted-window mask from SwinLayer.get_attn_mask, scores as
                       eager_attention_forward computes them (its softmax in the reference dtype, not fp32).

usage: python tools/golden_gdino_ops.py [--out DIR] [--list] [NAME ...]
"""
import sys

from golden_common import case_seed, fp32_share, generator, writer_main  # first: pins torch's CPU kernels
import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers.models.grounding_dino.modeling_grounding_dino import MultiScaleDeformableAttention
from transformers.models.swin.configuration_swin import SwinConfig
from transformers.models.swin.modeling_swin import SwinLayer, SwinRelativePositionBias

import golden_ops
from golden_ops import Case

golden_ops.GENERATOR = generator(__file__, torch, transformers, np)   # Case.finish stamps it into each case
CASES = {}


def case(name, kind, about):
    def register(fn):
        CASES[name] = (fn, kind, about)
        return fn
    return register


# ---------------------------------------------------------------------------------------------
# multi-scale deformable attention

def pixel_coords(c, shape, size):
    """Pixel coordinates (x·size − 0.5) at least 0.1 from an integer: mostly in [-1, size), a few far outside."""
    whole = c.randint(-1, size, *shape).to(torch.float32)
    frac = c.rand(*shape, lo=0.1, hi=0.9)
    far = c.rand(*shape) < 0.05
    whole = torch.where(far, torch.where(c.rand(*shape) < 0.5, -3.0, float(size + 1)), whole)
    return whole + frac


def msda_case(c, B, Q, H, D, P, levels):
    L = len(levels)
    c.config = {"B": B, "Q": Q, "H": H, "D": D, "L": L, "P": P}
    for l, (h, w) in enumerate(levels):
        c.config[f"h{l}"], c.config[f"w{l}"] = h, w
    S = sum(h * w for h, w in levels)
    value = c.input("in.value", c.randn(B, S, H, D), grad=True)
    loc = torch.empty(B, Q, H, L, P, 2)
    for l, (h, w) in enumerate(levels):
        loc[:, :, :, l, :, 0] = (pixel_coords(c, (B, Q, H, P), w) + 0.5) / w
        loc[:, :, :, l, :, 1] = (pixel_coords(c, (B, Q, H, P), h) + 0.5) / h
    loc = c.input("in.loc", loc, grad=True)
    attn = c.input("in.attn", c.rand(B, Q, H, L, P), grad=True)
    shapes = torch.tensor(levels, dtype=torch.int64)
    start = torch.cat([shapes.new_zeros(1), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]])
    y = MultiScaleDeformableAttention()(value, shapes, [tuple(s) for s in levels], start, loc, attn, im2col_step=64)
    c.output("out.y", y)
    c.backward(y)


@case("msda_small", "op.msda", "3 levels (4x5, 2x3, 1x1), B=2 Q=5 H=2 D=4 P=2, corners outside, backward")
def _(c):
    msda_case(c, 2, 5, 2, 4, 2, [(4, 5), (2, 3), (1, 1)])


@case("msda_gdino_heads", "op.msda", "Grounding DINO's heads (H=8 D=32 L=4 P=4) on small levels, Q=7, backward")
def _(c):
    msda_case(c, 1, 7, 8, 32, 4, [(6, 8), (3, 4), (2, 2), (1, 1)])


# ---------------------------------------------------------------------------------------------
# GroupNorm

def groupnorm_case(c, N, P, C, G, eps, offset):
    c.config = {"N": N, "P": P, "C": C, "G": G, "eps": eps}
    x = c.input("in.x", c.randn(N, P, C, scale=1.5, offset=offset), grad=True)
    w = c.input("param.weight", c.randn(C, scale=0.3, offset=1.0), grad=True)
    b = c.input("param.bias", c.randn(C, scale=0.2), grad=True)
    y = F.group_norm(x.permute(0, 2, 1), G, w, b, eps).permute(0, 2, 1)
    xg = x.reshape(N, P, G, C // G).permute(0, 2, 1, 3).reshape(N, G, -1)
    c.output("out.y", y)
    c.output("out.mean", xg.mean(-1))
    c.output("out.rstd", (xg.var(-1, unbiased=False) + eps).rsqrt())
    c.backward(y)


@case("groupnorm_odd", "op.groupnorm", "GroupNorm(4, 12) N=2 P=7, mean 3, backward")
def _(c):
    groupnorm_case(c, 2, 7, 12, 4, 1e-5, 3.0)


@case("groupnorm_32", "op.groupnorm", "GroupNorm(32, 256) as Grounding DINO's input projections, N=2 P=6, backward")
def _(c):
    groupnorm_case(c, 2, 6, 256, 32, 1e-5, 0.0)


# ---------------------------------------------------------------------------------------------
# Swin window attention

def window_attention_case(c, batch, side, win, shift, H, D):
    """batch images of side x side tokens in (side/win)² windows of win x win; shift > 0: HF's shifted-window
    mask (the windows themselves are random: the op does not roll, the caller does)."""
    nW, N, T = (side // win) ** 2, win * win, (2 * win - 1) ** 2
    BW = batch * nW
    scale = float(np.float32(D ** -0.5))
    c.config = {"BW": BW, "nW": nW, "N": N, "H": H, "D": D, "T": T, "scale": scale}
    q = c.input("in.q", c.randn(BW, N, H, D), grad=True)
    k = c.input("in.k", c.randn(BW, N, H, D), grad=True)
    v = c.input("in.v", c.randn(BW, N, H, D), grad=True)
    table = c.input("param.table", c.randn(T, H, scale=0.5), grad=True)
    rpb = SwinRelativePositionBias(H, (win, win))
    c.int_input("in.index", rpb.relative_position_index)
    bias = table[rpb.relative_position_index].view(N, N, H).permute(2, 0, 1).unsqueeze(0)   # rpb.forward()
    combined = bias
    if shift:
        cfg = SwinConfig(window_size=win, embed_dim=H * D, num_heads=[H])
        mask = SwinLayer(cfg, H * D, (side, side), H, shift_size=shift).get_attn_mask(side, side, torch.float32, "cpu")
        assert mask.shape == (nW, N, N) and (mask == -100).any()
        mask = c.input("in.mask", mask)
        combined = bias + mask.unsqueeze(1).unsqueeze(0).expand(batch, -1, -1, -1, -1).reshape(BW, 1, N, N)
    qh, kh, vh = (t.transpose(1, 2) for t in (q, k, v))                      # [BW, H, N, D] as HF
    scores = torch.matmul(qh, kh.transpose(2, 3)) * scale + combined         # eager_attention_forward
    y = torch.matmul(torch.softmax(scores, dim=-1), vh).transpose(1, 2)      # [BW, N, H, D]
    c.output("out.y", y)
    c.output("out.lse", torch.logsumexp(scores, dim=-1))
    c.backward(y)


@case("window_attention_plain", "op.window_attention", "3x3 windows, no shift: bias only, 2 images x 4 windows, H=2 D=4")
def _(c):
    window_attention_case(c, 2, 6, 3, 0, 2, 4)


@case("window_attention_swin", "op.window_attention", "Swin's 7x7 windows, shift 3, -100 mask, 2 images of 14x14, H=2 D=4")
def _(c):
    window_attention_case(c, 2, 14, 7, 3, 2, 4)


# ---------------------------------------------------------------------------------------------

def build(name):
    """The float64 reference, then torch's float32 run of the same case, which must use under half the tolerance."""
    fn, kind, about = CASES[name]
    c = Case(name, kind, case_seed(name))
    fn(c)
    tensors, meta = c.finish(about)
    c32 = Case(name, kind, case_seed(name), dtype=torch.float32)
    fn(c32)
    return tensors, meta, fp32_share(meta, tensors, c32.tensors, c.checked)


if __name__ == "__main__":
    sys.exit(writer_main("Write lpoi's Grounding DINO op golden cases with PyTorch/transformers.", "op_", CASES,
                         lambda n: CASES[n][1:], build))
