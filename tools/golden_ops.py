#!/usr/bin/env python3
"""golden_ops.py — the PyTorch oracle for lpoi's op golden cases.

Writes one safetensors file per case (testdata/golden/op_<name>.safetensors) that `lpoi check`
replays against a backend. The format is the contract in /work/shared/DESIGN.md "Golden cases"
and src/check/golden.h; the tensor names and config fields of each kind are listed in
src/check/golden_ops.c above each runner.

  __metadata__: kind, config (JSON), atol, rtol, atol.<tensor> (per-tensor), seed, generator, about
  tensors:      param.* in.* (fp32; ids/targets/positions int64), out.*, grad.*

References are computed in float64 from the stored fp32 inputs (then rounded to fp32), except where
the model defines fp32 arithmetic (RoPE angles, as HF LlamaRotaryEmbedding computes them; AdamW,
which runs torch.optim.AdamW itself). Gradients are torch autograd of L = sum(out * in.dout).
Tolerance: rtol 1e-4 and, per tensor, atol = 1e-5 x its largest finite |value| (1e-7 x for
elementwise ops, 1e-6 x for GELU; floor 1e-7); AdamW's parameters get 1e-4 of the largest update.
Cases keep every tensor at one scale (an extreme row goes into its own case) so that the max-based
atol stays meaningful for every element. Each case is also run in float32 by torch itself, which
must use at most half of the tolerance (else the script fails): a tolerance a sound fp32
implementation cannot meet is a broken case, and one far looser than fp32 rounding tests nothing.
Files are written byte-for-byte reproducibly by tools/golden_common.py (fixed seeds, one torch thread,
AVX2 kernels, sorted header), which also holds the tolerance rule, the fp32 check and the command line.

usage: python tools/golden_ops.py [--out DIR] [--list] [NAME ...]
"""
import math
import sys

from golden_common import (case_meta, case_seed, fp32_share, generator, max_abs, round_atol, tolerance_meta,
                           writer_main)  # first: it pins torch's CPU kernels before torch loads
import numpy as np
import torch
import torch.nn.functional as F

F64 = torch.float64
F32 = torch.float32
RTOL = 1e-4
ATOL_SCALE = 1e-5
ELEMENTWISE_ATOL_SCALE = 1e-7   # one op per element, no sums: near-ulp absolute slack at the top
ATOL_FLOOR = 1e-7
GENERATOR = generator(__file__, torch, np)

CASES = {}  # name -> (function, one-line description)


def case(name, about):
    def register(fn):
        assert name not in CASES, name
        CASES[name] = (fn, about)
        return fn
    return register


def f32(x):
    """The float32 value of a Python number, as a Python float (what the C side will use)."""
    return float(np.float32(x))


class Case:
    """Collects tensors and config for one case; `finish` computes gradients and tolerances."""

    def __init__(self, name, kind, seed, dtype=F64):
        self.name, self.kind, self.seed, self.dtype = name, kind, seed, dtype
        self.g = torch.Generator().manual_seed(seed)
        self.config = {}
        self.tensors = {}
        self.checked = []       # names of out.*/grad.* (tolerances are computed for these)
        self.tol = {}           # name -> (atol, rtol) where the default rule would be too loose
        self.atol_scale = ATOL_SCALE   # elementwise ops (no accumulation) use a stricter one
        self.leaves = {}        # name -> float64 leaf with requires_grad, for autograd

    def randn(self, *shape, scale=1.0, offset=0.0):
        return torch.randn(*shape, generator=self.g, dtype=F32) * scale + offset

    def rand(self, *shape, lo=0.0, hi=1.0):
        return torch.rand(*shape, generator=self.g, dtype=F32) * (hi - lo) + lo

    def randint(self, lo, hi, *shape):
        return torch.randint(lo, hi, shape, generator=self.g, dtype=torch.int64)

    def input(self, name, x, grad=False):
        """Stores an fp32 input/param; returns it in the compute dtype (a leaf tracking grad if asked)."""
        x = x.to(F32).contiguous()
        self.tensors[name] = x
        x64 = x.to(self.dtype).requires_grad_(grad)
        if grad:
            self.leaves[name] = x64
        return x64

    def int_input(self, name, x):
        self.tensors[name] = x.to(torch.int64).contiguous()
        return self.tensors[name]

    def output(self, name, y):
        self.tensors[name] = y.detach().to(F32).contiguous()
        self.checked.append(name)

    def backward(self, y, shape=None):
        """Draws in.dout for output y (float64, with graph), backprops L = sum(y*dout), stores grad.*."""
        dout = self.input("in.dout", self.randn(*(shape or y.shape)))
        (y * dout).sum().backward()
        for name, leaf in self.leaves.items():
            gname = "grad." + name.split(".", 1)[1]
            g = leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)
            self.output(gname, g)

    def finish(self, about):
        atols, rtols = {}, {}
        for name in self.checked:
            assert not torch.isnan(self.tensors[name]).any(), f"{self.name}: {name} has NaN"
            atols[name] = round_atol(self.atol_scale * max_abs(self.tensors[name]), ATOL_FLOOR)
            if name in self.tol:
                atols[name] = round_atol(self.tol[name][0], ATOL_FLOOR)
                rtols[name] = self.tol[name][1]
        tolerances = tolerance_meta(atols, RTOL, rtols)
        return self.tensors, case_meta(self.kind, self.config, GENERATOR, about, tolerances, self.seed)


# ---------------------------------------------------------------------------------------------
# linear algebra

def matmul_case(c, N, C, OC, bias):
    c.config = {"N": N, "C": C, "OC": OC, "bias": bias}
    x = c.input("in.x", c.randn(N, C), grad=True)
    w = c.input("param.weight", c.randn(OC, C, scale=C ** -0.5), grad=True)
    b = c.input("param.bias", c.randn(OC), grad=True) if bias else None
    y = F.linear(x, w, b)
    c.output("out.y", y)
    c.backward(y)


@case("matmul_odd", "y = x w^T + b, N=13 C=37 OC=29, bias, backward")
def _(c):
    matmul_case(c, 13, 37, 29, True)


@case("matmul_tiles", "y = x w^T, N=67 C=129 OC=45 (ragged SIMD tiles), no bias, backward")
def _(c):
    matmul_case(c, 67, 129, 45, False)


def gemm_case(c, M, N, K, ta, tb, alpha, beta, batch, pad=(0, 0, 0), stride_b0=False):
    ra, ca = (K, M) if ta else (M, K)
    rb, cb = (N, K) if tb else (K, N)
    lda, ldb, ldc = ca + pad[0], cb + pad[1], N + pad[2]
    sa, sb, sc = ra * lda, (0 if stride_b0 else rb * ldb), M * ldc
    c.config = {"M": M, "N": N, "K": K, "trans_a": ta, "trans_b": tb, "alpha": f32(alpha), "beta": f32(beta),
                "batch": batch, "lda": lda, "ldb": ldb, "ldc": ldc, "stride_a": sa, "stride_b": sb, "stride_c": sc}
    na, nb, nc = (batch - 1) * sa + ra * lda, (batch - 1) * sb + rb * ldb, (batch - 1) * sc + M * ldc
    A = c.input("in.a", c.randn(na))
    Bm = c.input("in.b", c.randn(nb))
    C0 = c.randn(nc)
    if beta == 0:
        # beta == 0 must ignore C's old contents, even NaN: poison the part the gemm overwrites
        for b in range(batch):
            view = C0[b * sc: b * sc + M * ldc].view(M, ldc)
            view[:, :N] = float("nan")
    c.input("in.c", C0)
    out = C0.to(c.dtype).clone()
    for b in range(batch):
        Ab = A[b * sa: b * sa + ra * lda].view(ra, lda)[:, :ca]
        Bb = Bm[b * sb: b * sb + rb * ldb].view(rb, ldb)[:, :cb]
        opA = Ab.T if ta else Ab
        opB = Bb.T if tb else Bb
        Cb = out[b * sc: b * sc + M * ldc].view(M, ldc)
        prod = f32(alpha) * (opA @ opB)
        Cb[:, :N] = prod if beta == 0 else prod + f32(beta) * Cb[:, :N]
    c.output("out.c", out)


@case("gemm_nn", "gemm op(A)=A op(B)=B, M=13 N=17 K=37, beta=0 over a NaN-filled C")
def _(c):
    gemm_case(c, 13, 17, 37, False, False, 1.0, 0.0, 1)


@case("gemm_nt", "gemm A Bt, batch 3, padded lda/ldb/ldc (padding must stay untouched), alpha .7 beta 1")
def _(c):
    gemm_case(c, 13, 17, 37, False, True, 0.7, 1.0, 3, pad=(3, 5, 2))


@case("gemm_tn", "gemm At B, batch 2, stride_b = 0 (B broadcast), alpha .5 beta .25")
def _(c):
    gemm_case(c, 11, 19, 23, True, False, 0.5, 0.25, 2, stride_b0=True)


@case("gemm_tt", "gemm At Bt, batch 3, padded, beta=0 over NaN")
def _(c):
    gemm_case(c, 9, 14, 31, True, True, -1.3, 0.0, 3, pad=(1, 2, 3))


@case("gemm_tiles", "gemm A Bt, M=70 N=33 K=129 (ragged tiles on every side), beta=0")
def _(c):
    gemm_case(c, 70, 33, 129, False, True, 1.0, 0.0, 1)


@case("gemm_k1", "gemm A B with K=1 (outer product), batch 2")
def _(c):
    gemm_case(c, 5, 7, 1, False, False, 2.0, 0.5, 2)


# ---------------------------------------------------------------------------------------------
# embeddings, norms, softmax, rope

@case("embedding_repeat", "gather V=101 C=37 N=23 with repeated ids (and 0, V-1); backward scatter-adds")
def _(c):
    N, V, C = 23, 101, 37
    c.config = {"N": N, "V": V, "C": C}
    ids = c.randint(0, V, N)
    ids[3] = ids[7] = ids[19] = 42   # repeated: gradients must add up
    ids[0], ids[1] = 0, V - 1
    c.int_input("in.ids", ids)
    w = c.input("param.weight", c.randn(V, C), grad=True)
    y = F.embedding(ids, w)
    c.output("out.y", y)
    c.backward(y)


class LlamaRMSNorm(torch.nn.Module):
    """transformers' LlamaRMSNorm, verbatim in substance."""

    def __init__(self, weight, eps):
        super().__init__()
        self.weight = weight
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


def rmsnorm_case(c, N, C, eps, scale, offset):
    c.config = {"N": N, "C": C, "eps": f32(eps)}
    x = c.input("in.x", c.randn(N, C, scale=scale, offset=offset), grad=True)
    w = c.input("param.weight", c.randn(C, scale=0.5, offset=1.0), grad=True)
    y = LlamaRMSNorm(w, f32(eps))(x)
    c.output("out.y", y)
    c.output("out.rstd", torch.rsqrt(x.detach().pow(2).mean(-1) + f32(eps)))
    c.backward(y)


@case("rmsnorm_odd", "HF LlamaRMSNorm N=13 C=37 eps 1e-6, rstd, backward")
def _(c):
    rmsnorm_case(c, 13, 37, 1e-6, 1.0, 0.0)


@case("rmsnorm_eps", "HF LlamaRMSNorm N=4 C=37 eps 1e-6 on inputs with mean(x^2) ~ eps (where eps goes matters)")
def _(c):
    rmsnorm_case(c, 4, 37, 1e-6, 1e-3, 0.0)


@case("rmsnorm_wide", "HF LlamaRMSNorm N=5 C=1000 eps 1e-5, inputs of scale 10 around 3")
def _(c):
    rmsnorm_case(c, 5, 1000, 1e-5, 10.0, 3.0)


def layernorm_case(c, N, C, eps, scale, offset):
    c.config = {"N": N, "C": C, "eps": f32(eps)}
    x = c.input("in.x", c.randn(N, C, scale=scale, offset=offset), grad=True)
    w = c.input("param.weight", c.randn(C, scale=0.5, offset=1.0), grad=True)
    b = c.input("param.bias", c.randn(C, scale=0.5), grad=True)
    y = F.layer_norm(x, (C,), w, b, f32(eps))
    xd = x.detach()
    c.output("out.y", y)
    c.output("out.mean", xd.mean(-1))
    c.output("out.rstd", torch.rsqrt(xd.var(-1, unbiased=False) + f32(eps)))
    c.backward(y)


@case("layernorm_odd", "torch LayerNorm N=13 C=37 eps 1e-5, inputs with mean 4, backward")
def _(c):
    layernorm_case(c, 13, 37, 1e-5, 2.0, 4.0)


@case("layernorm_eps", "torch LayerNorm N=5 C=37 eps 1e-5, var 2.5e-3 around mean 4: eps visible, E[x^2]-E[x]^2 fails")
def _(c):
    layernorm_case(c, 5, 37, 1e-5, 0.05, 4.0)


def masked_softmax(z):
    """softmax over the last dim; a row that is entirely -inf gives zeros (not NaN), gradient 0."""
    valid = torch.isfinite(z).any(-1, keepdim=True)
    safe = torch.where(valid, z, torch.zeros_like(z))
    return torch.where(valid, torch.softmax(safe, -1), torch.zeros_like(z))


@case("softmax_mask", "softmax R=13 C=37 + additive mask (-inf entries, finite biases, one all -inf row), backward")
def _(c):
    R, C = 13, 37
    c.config = {"R": R, "C": C}
    x = c.input("in.x", c.randn(R, C, scale=3.0), grad=True)
    mask = torch.where(c.rand(R, C) < 0.3, float("-inf"), 0.0) + torch.where(c.rand(R, C) < 0.2, -1.5, 0.0)
    mask[4, :] = float("-inf")                     # no visible entry: zeros, not NaN
    mask[:, 0] = torch.where(torch.arange(R) == 4, float("-inf"), 0.0)   # every other row has one entry
    m = c.input("in.mask", mask)
    y = masked_softmax(x + m)
    c.output("out.y", y)
    c.backward(y)


@case("softmax_large", "softmax R=7 C=101 of logits around +-100 (exp overflows without the max subtraction), backward")
def _(c):
    R, C = 7, 101
    c.config = {"R": R, "C": C}
    x = c.randn(R, C, scale=4.0, offset=100.0)
    x[3] -= 200.0                                  # a row around -100: exp underflows to 0 without it
    x = c.input("in.x", x, grad=True)
    y = torch.softmax(x, -1)
    c.output("out.y", y)
    c.backward(y)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def hf_rope_cos_sin(pos, D, theta, dtype):
    """cos, sin [B,T,D] exactly as HF LlamaRotaryEmbedding computes them (fp32 angles)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
    inv_freq_expanded = inv_freq[None, :, None].float().expand(pos.shape[0], -1, 1)
    position_ids_expanded = pos[:, None, :].float()
    freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    # the angle is HF's fp32 value; the reference takes its cos/sin in float64 (what HF rounds)
    return emb.to(dtype).cos(), emb.to(dtype).sin()


def rope_case(c, B, T, H, D, theta, pos):
    c.config = {"B": B, "T": T, "H": H, "D": D, "theta": f32(theta)}
    c.int_input("in.pos", pos)
    x = c.input("in.x", c.randn(B, T, H, D), grad=True)
    cos, sin = hf_rope_cos_sin(pos, D, f32(theta), c.dtype)
    cos, sin = cos.unsqueeze(2), sin.unsqueeze(2)   # [B,T,1,D]: our layout is [B,T,H,D]
    y = x * cos + rotate_half(x) * sin
    c.output("out.y", y)
    c.backward(y)


@case("rope_odd", "RoPE rotate_half B=2 T=7 H=3 D=10 theta 1e4, per-batch positions (left-pad offsets), backward")
def _(c):
    pos = torch.stack([torch.arange(7), torch.tensor([0, 0, 0, 1, 2, 3, 4])])
    rope_case(c, 2, 7, 3, 10, 10000.0, pos)


@case("rope_far", "RoPE B=1 T=6 H=2 D=64 theta 1e4 at positions up to 4095 (fp32 angles as HF), backward")
def _(c):
    pos = torch.tensor([[0, 1, 17, 1000, 4094, 4095]])
    rope_case(c, 1, 6, 2, 64, 10000.0, pos)


# ---------------------------------------------------------------------------------------------
# activations and elementwise helpers

def spread(c, n, lo, hi):
    """n values covering [lo, hi] evenly (with 0 and the ends) plus random ones."""
    k = n // 2
    return torch.cat([torch.linspace(lo, hi, k), c.randn(n - k, scale=(hi - lo) / 6)])


def gelu_ref(x, kind):
    if kind == "quick":
        return x * torch.sigmoid(1.702 * x)
    return F.gelu(x, approximate="tanh" if kind == "tanh" else "none")


for _kind in ("erf", "tanh", "quick"):
    def _gelu(c, kind=_kind):
        n = 1001
        c.atol_scale = 1e-6    # 1 - tanh^2 and erf tails cancel in fp32: 1e-7 fails torch's own fp32
        c.config = {"n": n, "approximate": kind}
        x = c.input("in.x", spread(c, n, -10.0, 10.0), grad=True)
        y = gelu_ref(x, kind)
        c.output("out.y", y)
        c.backward(y)
    case(f"gelu_{_kind}", f"GELU ({_kind}) n=1001 over [-10, 10] and random, backward")(_gelu)


def elementwise_case(c, n, f, inputs, out="out.y", alpha=None, grad=False):
    """One rounding per element, no sums (near-ulp atol): draws the inputs [(name, draw(c, n))] in
    order, out = f(*inputs) or f(*inputs, alpha) with alpha as fp32, and backprops when grad."""
    c.atol_scale = ELEMENTWISE_ATOL_SCALE
    c.config = {"n": n} if alpha is None else {"n": n, "alpha": f32(alpha)}
    xs = [c.input(name, draw(c, n), grad=grad) for name, draw in inputs]
    y = f(*xs) if alpha is None else f(*xs, f32(alpha))
    c.output(out, y)
    if grad:
        c.backward(y)


def normal(scale=1.0):
    return lambda c, n: c.randn(n, scale=scale)


def spread_over(lo, hi):
    return lambda c, n: spread(c, n, lo, hi)


@case("silu", "SiLU n=1001 over [-90, 90] (exp overflow) and random, backward")
def _(c):
    elementwise_case(c, 1001, F.silu, [("in.x", spread_over(-90.0, 90.0))], grad=True)


@case("swiglu", "silu(gate) * up, n=517, backward to gate and up")
def _(c):
    elementwise_case(c, 517, lambda gate, up: F.silu(gate) * up,
                     [("in.gate", spread_over(-12.0, 12.0)), ("in.up", normal(2.0))], grad=True)


@case("add", "out = a + b, n=1003 (and in place)")
def _(c):
    elementwise_case(c, 1003, lambda a, b: a + b, [("in.a", normal()), ("in.b", normal(3.0))])


@case("axpy", "y += alpha x, n=1003, alpha -0.37")
def _(c):
    elementwise_case(c, 1003, lambda y, x, alpha: y + alpha * x, [("in.y", normal()), ("in.x", normal())],
                     alpha=-0.37)


@case("scale", "x *= alpha, n=1003, alpha 1.7")
def _(c):
    elementwise_case(c, 1003, lambda x, alpha: alpha * x, [("in.x", normal())], out="out.x", alpha=1.7)


@case("sum_squares", "sum of x^2 over n=4099 values")
def _(c):
    n = 4099
    c.config = {"n": n}
    x = c.input("in.x", c.randn(n))
    c.output("out.s", (x * x).sum().reshape(1))


# ---------------------------------------------------------------------------------------------
# attention

def attention_ref(q, k, v, scale, causal, window, key_mask):
    """Explicit SDPA in float64: q [B,Tq,H,D], k/v [B,Tk,KVH,D] -> out [B,Tq,H,D], lse [B,H,Tq].
    Query i sits at absolute position i + Tk - Tq. A query with no visible key outputs 0, lse -inf."""
    B, Tq, H, D = q.shape
    Tk, KVH = k.shape[1], k.shape[2]
    kr = k.repeat_interleave(H // KVH, dim=2)            # GQA: head h reads kv head h // (H/KVH)
    vr = v.repeat_interleave(H // KVH, dim=2)
    s = torch.einsum("bqhd,bkhd->bhqk", q, kr) * scale
    p_abs = torch.arange(Tq)[:, None] + (Tk - Tq)
    j = torch.arange(Tk)[None, :]
    allowed = torch.ones(Tq, Tk, dtype=torch.bool)
    if causal:
        allowed &= j <= p_abs
    if window > 0:
        allowed &= (p_abs - j) < window
    allowed = allowed[None, None].expand(B, H, Tq, Tk)
    if key_mask is not None:
        allowed = allowed & (key_mask[:, None, None, :] > 0.5)
    s = s.masked_fill(~allowed, float("-inf"))
    p = masked_softmax(s)
    out = torch.einsum("bhqk,bkhd->bqhd", p, vr)
    lse = torch.logsumexp(s.detach(), -1)                # -inf for rows without a visible key
    return out, lse


def attention_case(c, B, Tq, Tk, H, KVH, D, causal=False, window=0, lengths=None, left_pad=None):
    scale = f32(1.0 / math.sqrt(D))
    c.config = {"B": B, "Tq": Tq, "Tk": Tk, "H": H, "KVH": KVH, "D": D, "scale": scale, "causal": causal,
                "window": window}
    q = c.input("in.q", c.randn(B, Tq, H, D), grad=True)
    k = c.input("in.k", c.randn(B, Tk, KVH, D), grad=True)
    v = c.input("in.v", c.randn(B, Tk, KVH, D), grad=True)
    key_mask = None
    if lengths is not None:        # right padding: keys >= length are padding
        key_mask = c.input("in.key_mask", (torch.arange(Tk)[None, :] < torch.tensor(lengths)[:, None]).float())
    if left_pad is not None:       # left padding: the first left_pad[b] keys are padding
        key_mask = c.input("in.key_mask", (torch.arange(Tk)[None, :] >= torch.tensor(left_pad)[:, None]).float())
    out, lse = attention_ref(q, k, v, scale, causal, window, key_mask)
    c.output("out.y", out)
    c.output("out.lse", lse)
    c.backward(out)


@case("attention_basic", "SDPA B=2 T=7 H=KVH=2 D=16, no mask, backward")
def _(c):
    attention_case(c, 2, 7, 7, 2, 2, 16)


@case("attention_gqa_causal", "causal GQA B=2 T=13 H=6 KVH=2 D=10, backward")
def _(c):
    attention_case(c, 2, 13, 13, 6, 2, 10, causal=True)


@case("attention_window", "causal + sliding window 5 < T=17, H=4 KVH=2 D=16, backward")
def _(c):
    attention_case(c, 1, 17, 17, 4, 2, 16, causal=True, window=5)


@case("attention_padded", "causal GQA, batch of 3 lengths (9, 5, 2) right-padded via key_mask, H=4 KVH=2 D=16, backward")
def _(c):
    attention_case(c, 3, 9, 9, 4, 2, 16, causal=True, lengths=[9, 5, 2])


@case("attention_decode", "decode step Tq=1 Tk=11, GQA H=6 KVH=2 D=64, causal, key_mask lengths (11, 6), backward")
def _(c):
    attention_case(c, 2, 1, 11, 6, 2, 64, causal=True, lengths=[11, 6])


@case("attention_chunk", "Tq=4 < Tk=9 (cached prefix), MQA H=4 KVH=1 D=8, causal + window 3, key_mask, backward")
def _(c):
    attention_case(c, 2, 4, 9, 4, 1, 8, causal=True, window=3, lengths=[9, 7])


@case("attention_leftpad", "causal, left padding: early queries of batch 1 see no key (out 0, lse -inf), backward")
def _(c):
    attention_case(c, 2, 6, 6, 2, 1, 8, causal=True, left_pad=[0, 2])


@case("attention_cross", "non-causal Tq=5 Tk=12 H=KVH=3 D=32 with key_mask (perceiver/vision style), backward")
def _(c):
    attention_case(c, 2, 5, 12, 3, 3, 32, causal=False, lengths=[12, 8])


# ---------------------------------------------------------------------------------------------
# log-probabilities and the optimiser

def logprob_case(c, N, V, logits, targets):
    c.config = {"N": N, "V": V}
    x = c.input("in.logits", logits, grad=True)
    c.int_input("in.targets", targets)
    valid = targets >= 0
    lsm = torch.log_softmax(x, -1)
    picked = lsm.gather(1, targets.clamp(min=0)[:, None])[:, 0]
    logp = torch.where(valid, picked, torch.zeros_like(picked))
    c.output("out.logp", logp)
    c.output("out.lse", torch.logsumexp(x.detach(), -1))
    c.backward(logp)


@case("logprob_ignore", "log p(target) N=13 V=101 with ignore_index -100 rows, backward")
def _(c):
    N, V = 13, 101
    t = c.randint(0, V, N)
    t[2] = t[5] = t[12] = -100
    t[0], t[1] = 0, V - 1
    logprob_case(c, N, V, c.randn(N, V, scale=3.0), t)


@case("logprob_wide", "log p(target) N=4 V=1000, logits of scale 10 with an outlier of 60, backward")
def _(c):
    N, V = 4, 1000
    logits = c.randn(N, V, scale=10.0)
    logits[1, 7] = 60.0
    t = torch.tensor([3, 7, 999, -100])
    logprob_case(c, N, V, logits, t)


def adamw_case(c, n, steps, step0, lr, betas, eps, wd, state):
    c.config = {"n": n, "steps": steps, "step0": step0, "lr": f32(lr), "beta1": f32(betas[0]),
                "beta2": f32(betas[1]), "eps": f32(eps), "weight_decay": f32(wd)}
    p0 = c.randn(n)
    c.input("param.p", p0)
    g = c.randn(steps, n, scale=0.1)
    g[:, :5] = 0.0                       # never any gradient: sqrt(v) = 0 -> only eps in the denominator
    g[:, 5:10] *= eps * 10               # sqrt(v) ~ eps: where eps goes is visible
    c.input("in.g", g)
    p = torch.nn.Parameter(p0.clone())
    opt = torch.optim.AdamW([p], lr=f32(lr), betas=(f32(betas[0]), f32(betas[1])), eps=f32(eps),
                            weight_decay=f32(wd), foreach=False)
    if state:
        m0 = c.input("in.m", c.randn(n, scale=0.05))
        v0 = c.input("in.v", c.rand(n, lo=0.0, hi=0.01))
        opt.state[p] = {"step": torch.tensor(float(step0)), "exp_avg": m0.to(F32).clone(),
                        "exp_avg_sq": v0.to(F32).clone()}
    for s in range(steps):
        p.grad = g[s].clone()
        opt.step()
    st = opt.state[p]
    assert int(st["step"].item()) == step0 + steps
    c.output("out.p", p.detach())
    c.output("out.m", st["exp_avg"])
    c.output("out.v", st["exp_avg_sq"])
    # p moves by ~lr per step: against |p| ~ 1 the default rtol (1e-4) could not see a wrong update
    # or a missing weight decay. Tolerance for p: 1e-4 of the largest move, plus a few fp32 ulps of p.
    move = (p.detach() - p0).abs().max().item()
    c.tol["out.p"] = (1e-4 * move, 1e-6)


@case("adamw_fresh", "torch.optim.AdamW, 3 steps from m = v = 0, n=1003, lr 1e-3 wd 0.01")
def _(c):
    adamw_case(c, 1003, 3, 0, 1e-3, (0.9, 0.999), 1e-8, 0.01, state=False)


@case("adamw_resume", "torch.optim.AdamW, 3 steps resumed at step 7 from a given m, v; betas (.8, .95) eps 1e-6 wd 0.1")
def _(c):
    adamw_case(c, 257, 3, 7, 2e-4, (0.8, 0.95), 1e-6, 0.1, state=True)


# ---------------------------------------------------------------------------------------------

OPS = ("matmul", "gemm", "embedding", "rmsnorm", "layernorm", "softmax", "rope", "gelu", "silu", "swiglu", "add",
       "axpy", "scale", "sum_squares", "attention", "logprob", "adamw")


def kind_of(name):
    """op_<op>[_<variant>] -> "op.<op>" (the longest op name that prefixes the case name)."""
    for op in sorted(OPS, key=len, reverse=True):
        if name == op or name.startswith(op + "_"):
            return "op." + op
    raise KeyError(name)


def build(name):
    """Runs a case in float64 (the stored reference) and again in float32 with the same seed: the
    float32 run must use well under the tolerance, or the tolerance would fail sound fp32 code."""
    fn, about = CASES[name]
    c = Case(name, kind_of(name), case_seed(name))
    fn(c)
    tensors, meta = c.finish(about)
    c32 = Case(name, kind_of(name), case_seed(name), dtype=F32)
    fn(c32)
    return tensors, meta, fp32_share(meta, tensors, c32.tensors, c.checked)


if __name__ == "__main__":
    sys.exit(writer_main("Write lpoi's op golden cases with PyTorch.", "op_", CASES,
                         lambda n: (kind_of(n), CASES[n][1]), build))
