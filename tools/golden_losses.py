#!/usr/bin/env python3
"""golden_losses.py — the PyTorch oracle for lpoi's preference objectives (src/lpoi/objectives.c).

Writes testdata/golden/loss_<name>.safetensors, replayed by `lpoi check` through the runners in
src/check/golden_losses.c. Each loss is transcribed from the public PyTorch code:
  - text DPO, TRL "sigmoid" with label smoothing: fatemehpesaran310/lpoi my_dpo_trainer_5img.py
    `dpo_loss` (pi_logratios - ref_logratios, -logsigmoid(b*x)*(1-eps) - logsigmoid(-b*x)*eps);
  - listwise: the same file's `dpo_pl5_loss`, sum over k = 1..L-1 of
    -(log(exp(S_k)) - log(sum_{j>=k} exp(S_j))), S_k = beta*(pi_k - ref_k), generalised from 5 to L
    and written with torch.logsumexp (the code's naive log(exp(.)) overflows past |S| ~ 88 in fp32);
  - anchor: `-F.logsigmoid(self.beta * (policy_chosen_logps - reference_chosen_logps))`, plus the
    paper's delta (0 in both codes);
  - mDPO (luka-group/mDPO mdpo_trainer.py `dpo_loss`): DPO + conditional
    -logsigmoid(beta*((pi_w - pi_crop) - (ref_w - ref_crop))) + anchor;
  - the batch loss is losses.mean().
For every case whose scores are small enough, the literal transcription (naive log/exp, as the code
writes it) is also evaluated in float64 and must agree with the stable one to 1e-12, with the same
autograd gradients, so the stable form provably computes what the code computes.

Inputs are stored as fp32 (what the C side reads) and every reference is computed in float64 from
those fp32 values, including the extreme cases (|S| ~ 1e3..1e4), where float64 + logsumexp gives
the exact answer. grad.* = torch autograd of the declared scalar out.loss (the batch mean of the
per-example totals) w.r.t. the policy log-probs; reference log-probs are constants (no grad).

Tensors (B examples, L images):
  in.pol_chosen, in.ref_chosen, in.pol_rejected, in.ref_rejected [B]    all kinds
  in.pol_list, in.ref_list [B,L]                                        loss.lpoi
  in.pol_crop, in.ref_crop [B]                                          loss.mdpo
  out.loss [1]; out.losses, out.dpo, out.reward_chosen, out.reward_rejected [B]
  out.anchor [B] (mdpo, lpoi); out.cond, out.reward_crop [B] (mdpo)
  out.list, out.list_full_acc, out.list_pair_acc [B], out.S [B,L] (lpoi)
  grad.pol_chosen, grad.pol_rejected [B]; grad.pol_crop [B] (mdpo); grad.pol_list [B,L] (lpoi)
Config: B, beta, label_smoothing, w_dpo (all); delta, w_anchor (mdpo, lpoi); w_cond (mdpo);
L, w_list (lpoi); scalar = "out.loss".
Tolerance: the C objectives compute in double, so a case holds them to fp32 rounding of the
reference: rtol 1e-6 and atol 1e-8 x the tensor's largest |value| (floor 1e-12). Every case also
checks that this tolerance rejects a 0.1% error in each tensor's largest element.

usage: python tools/golden_losses.py [--out DIR] [--list] [NAME ...]
"""
import sys

from golden_common import case_meta, case_seed, generator, scaled_atol, tolerance_meta, writer_main  # before torch
import numpy as np
import torch
import torch.nn.functional as F

F64 = torch.float64
F32 = torch.float32
RTOL = 1e-6
ATOL_SCALE = 1e-8
ATOL_FLOOR = 1e-12
GENERATOR = generator(__file__, torch, np)

CASES = {}  # name -> (kind, function, one-line description)


def case(name, kind, about):
    def register(fn):
        assert name not in CASES, name
        CASES[name] = (kind, fn, about)
        return fn
    return register


# ---------------------------------------------------------------------------------------------
# the losses, as the reference code computes them (float64, stable forms)

def dpo_loss(pc, rc, pr, rr, beta, eps):
    logits = (pc - pr) - (rc - rr)           # pi_logratios - ref_logratios
    return -F.logsigmoid(beta * logits) * (1 - eps) - F.logsigmoid(-beta * logits) * eps


def anchor_loss(pc, rc, beta, delta):
    return -F.logsigmoid(beta * (pc - rc) - delta)


def cond_loss(pc, rc, pcrop, rcrop, beta):
    logits = (pc - pcrop) - (rc - rcrop)     # image_conditional_pi_logratios - ..._ref_logratios
    return -F.logsigmoid(beta * logits)


def list_loss(pl, rl, beta):
    S = beta * (pl - rl)
    L = S.shape[1]
    return sum(-(S[:, k] - torch.logsumexp(S[:, k:], dim=1)) for k in range(L - 1))


def list_loss_literal(pl, rl, beta):
    """dpo_pl5_loss as written (naive log(exp)), for L images instead of 5."""
    S = beta * (pl - rl)
    L = S.shape[1]
    return sum(-(torch.log(torch.exp(S[:, k])) - torch.log(torch.exp(S[:, k:]).sum(dim=1))) for k in range(L - 1))


def totals(kind, cfg, x, literal=False):
    """Per-example terms and totals. x: dict of float64 tensors (pol_* with requires_grad)."""
    beta = cfg["beta"]
    t = {"dpo": dpo_loss(x["pol_chosen"], x["ref_chosen"], x["pol_rejected"], x["ref_rejected"], beta,
                         cfg["label_smoothing"])}
    total = cfg["w_dpo"] * t["dpo"]
    if kind in ("loss.mdpo", "loss.lpoi"):
        t["anchor"] = anchor_loss(x["pol_chosen"], x["ref_chosen"], beta, cfg["delta"])
        total = total + cfg["w_anchor"] * t["anchor"]
    if kind == "loss.mdpo":
        t["cond"] = cond_loss(x["pol_chosen"], x["ref_chosen"], x["pol_crop"], x["ref_crop"], beta)
        total = total + cfg["w_cond"] * t["cond"]
    if kind == "loss.lpoi":
        t["list"] = (list_loss_literal if literal else list_loss)(x["pol_list"], x["ref_list"], beta)
        total = total + cfg["w_list"] * t["list"]
    return t, total


def config_for(kind, B, L=5, beta=0.1, delta=0.0, eps=0.0, w_dpo=1.0, w_anchor=1.0, w_list=1.0, w_cond=1.0):
    cfg = {"B": B, "beta": beta, "label_smoothing": eps, "w_dpo": w_dpo, "scalar": "out.loss"}
    if kind in ("loss.mdpo", "loss.lpoi"):
        cfg.update(delta=delta, w_anchor=w_anchor)
    if kind == "loss.mdpo":
        cfg["w_cond"] = w_cond
    if kind == "loss.lpoi":
        cfg.update(L=L, w_list=w_list)
    return cfg


# ---------------------------------------------------------------------------------------------
# a case: inputs -> references

class Case:
    def __init__(self, name, kind, seed):
        self.name, self.kind, self.seed = name, kind, seed
        self.g = torch.Generator().manual_seed(seed)
        self.cfg = None
        self.inputs = {}     # name (no prefix) -> fp32 tensor

    def randn(self, *shape, scale=1.0, offset=0.0):
        return torch.randn(*shape, generator=self.g, dtype=F64) * scale + offset

    def logps(self, *shape, spread=10.0):
        """Reference log-probs around -40 and policy = reference + N(0, spread): S = beta*(pol-ref)."""
        ref = self.randn(*shape, scale=8.0, offset=-40.0)
        return ref + self.randn(*shape, scale=spread), ref

    def set(self, **named):
        for k, v in named.items():
            self.inputs[k] = torch.as_tensor(v, dtype=F64).to(F32).contiguous()

    def standard(self, B, L=5, spread=10.0, **config):
        """The config (config_for) and random inputs for every tensor the kind reads."""
        self.cfg = config_for(self.kind, B, L=L, **config)
        pc, rc = self.logps(B, spread=spread)
        pr, rr = self.logps(B, spread=spread)
        self.set(pol_chosen=pc, ref_chosen=rc, pol_rejected=pr, ref_rejected=rr)
        if self.kind == "loss.mdpo":
            p, r = self.logps(B, spread=spread)
            self.set(pol_crop=p, ref_crop=r)
        if self.kind == "loss.lpoi":
            p, r = self.logps(B, L, spread=spread)
            self.set(pol_list=p, ref_list=r)

    def finish(self, about):
        kind, cfg = self.kind, self.cfg
        B = cfg["B"]
        x = {k: v.to(F64).requires_grad_(k.startswith("pol_")) for k, v in self.inputs.items()}
        terms, total = totals(kind, cfg, x)
        loss = total.mean()
        loss.backward()
        tensors = {f"in.{k}": v for k, v in self.inputs.items()}
        out = {"loss": loss.reshape(1), "losses": total}
        out.update(terms)
        beta = cfg["beta"]
        out["reward_chosen"] = beta * (x["pol_chosen"] - x["ref_chosen"])
        out["reward_rejected"] = beta * (x["pol_rejected"] - x["ref_rejected"])
        if kind == "loss.mdpo":
            out["reward_crop"] = beta * (x["pol_crop"] - x["ref_crop"])
        if kind == "loss.lpoi":
            S = beta * (x["pol_list"] - x["ref_list"])
            L = S.shape[1]
            out["S"] = S
            out["list_full_acc"] = (S[:, :-1] > S[:, 1:]).all(dim=1).to(F64)
            iu = torch.triu_indices(L, L, offset=1)
            out["list_pair_acc"] = (S[:, iu[0]] > S[:, iu[1]]).to(F64).mean(dim=1)
        checked = {f"out.{k}": v.detach() for k, v in out.items()}
        for k, v in x.items():
            if v.requires_grad:
                checked["grad." + k] = v.grad.detach()
        for k, v in checked.items():
            assert torch.isfinite(v).all(), f"{self.name}: {k} is not finite"
        self.literal_check(x)
        for k, v in checked.items():
            tensors[k] = v.to(F32).contiguous()

        atols = {k: scaled_atol(ATOL_SCALE, v, ATOL_FLOOR) for k, v in checked.items()}
        for k, a in atols.items():
            self.sharp_check(k, checked[k], a)
        assert B == self.inputs["pol_chosen"].shape[0]
        return tensors, case_meta(kind, cfg, GENERATOR, about, tolerance_meta(atols, RTOL), self.seed)

    def literal_check(self, x):
        """Where the code's naive form cannot overflow, it must give the same losses and gradients."""
        if self.kind != "loss.lpoi":
            return
        S = self.cfg["beta"] * (x["pol_list"] - x["ref_list"]).detach()
        if S.abs().max().item() > 300:     # exp overflows float64 past ~709
            return
        xs = {k: v.detach().clone().requires_grad_(v.requires_grad) for k, v in x.items()}
        xl = {k: v.detach().clone().requires_grad_(v.requires_grad) for k, v in x.items()}
        ts, tot_s = totals(self.kind, self.cfg, xs)
        tl, tot_l = totals(self.kind, self.cfg, xl, literal=True)
        tot_s.mean().backward()
        tot_l.mean().backward()
        assert torch.allclose(ts["list"], tl["list"], rtol=1e-12, atol=1e-12), self.name
        for k in xs:
            if xs[k].requires_grad:
                assert torch.allclose(xs[k].grad, xl[k].grad, rtol=1e-10, atol=1e-14), (self.name, k)

    def sharp_check(self, name, v, atol):
        """The tolerance must reject a 0.1% error in the largest element (else it tests nothing)."""
        m = v.abs().max().item()
        if m == 0:
            return
        assert 1e-3 * m > atol + RTOL * m, f"{self.name}: tolerance of {name} too loose to matter"


# ---------------------------------------------------------------------------------------------
# cases

def standard_case(name, kind, about, B, **kw):
    """A case of random inputs: Case.standard(B, **kw)."""
    case(name, kind, about)(lambda c: c.standard(B, **kw))


def lpoi_spread(L):
    return 10.0 + 5.0 * L


standard_case("dpo_basic", "loss.dpo", "text DPO, beta 0.1, B 5", 5)
standard_case("dpo_smooth", "loss.dpo", "text DPO with label smoothing 0.2 (cDPO), beta 0.5, weight 1.5", 4,
              spread=3.0, beta=0.5, eps=0.2, w_dpo=1.5)


@case("dpo_extreme", "loss.dpo", "text DPO at beta*margin = +-1e4, +-1e3, 0")
def _(c):
    z = torch.tensor([1e4, -1e4, 1e3, -1e3, 0.0, -37.5], dtype=F64)   # beta * margin
    B = z.numel()
    c.cfg = config_for(c.kind, B)
    rc = c.randn(B, scale=8.0, offset=-40.0)
    rr = c.randn(B, scale=8.0, offset=-40.0)
    pr = rr + c.randn(B, scale=3.0)
    pc = rc + (pr - rr) + z / 0.1
    c.set(pol_chosen=pc, ref_chosen=rc, pol_rejected=pr, ref_rejected=rr)


standard_case("mdpo_basic", "loss.mdpo", "mDPO: DPO + conditional (crop) + anchor, defaults, B 5", 5)
standard_case("mdpo_weighted", "loss.mdpo", "mDPO with beta 0.3, delta 0.2, weights 0.8/2.0/0.5", 3,
              spread=4.0, beta=0.3, delta=0.2, w_dpo=0.8, w_anchor=2.0, w_cond=0.5)


@case("mdpo_extreme", "loss.mdpo", "mDPO with every term at |beta*margin| ~ 1e3..1e4")
def _(c):
    B = 4
    c.cfg = config_for(c.kind, B)
    rc = c.randn(B, scale=8.0, offset=-40.0)
    rr, rcrop = rc - 5.0, rc - 7.0
    pc = rc + torch.tensor([1e5, -1e5, 2e4, -3e4], dtype=F64)
    pr = rr + torch.tensor([-1e5, 1e5, 1e4, 5e4], dtype=F64)
    pcrop = rcrop + torch.tensor([5e4, -1e4, 3e4, -3e4 + 12.0], dtype=F64)
    c.set(pol_chosen=pc, ref_chosen=rc, pol_rejected=pr, ref_rejected=rr, pol_crop=pcrop, ref_crop=rcrop)


for _L, _B, _about in ((2, 4, "LPOI defaults, list of 2 (the listwise term is DPO on images)"),
                       (3, 4, "LPOI defaults, list of 3"),
                       (5, 6, "LPOI defaults (beta 0.1, delta 0, weights 1), list of 5 as in the paper"),
                       (8, 3, "LPOI defaults, list of 8")):
    standard_case(f"lpoi_L{_L}", "loss.lpoi", _about, _B, L=_L, spread=lpoi_spread(_L))
standard_case("lpoi_weighted", "loss.lpoi", "LPOI with beta 0.2, delta 0.3, eps 0.1, weights 0.5/1.5/2.0, L 5", 4,
              L=5, spread=lpoi_spread(5), beta=0.2, delta=0.3, eps=0.1, w_dpo=0.5, w_anchor=1.5, w_list=2.0)


@case("lpoi_aliased", "loss.lpoi", "LPOI with pol/ref_list[:,0] == pol/ref_chosen, as one forward gives them")
def _(c):
    c.standard(4, 5, spread=lpoi_spread(5))
    for p in ("pol", "ref"):
        lst = c.inputs[f"{p}_list"].clone()
        lst[:, 0] = c.inputs[f"{p}_chosen"]
        c.inputs[f"{p}_list"] = lst.contiguous()


@case("lpoi_ordered", "loss.lpoi", "LPOI lists already ordered, reversed, tied and one swap (accuracy edges)")
def _(c):
    L, B = 5, 4
    c.standard(B, L)
    ref = torch.round(c.inputs["ref_list"].to(F64))    # integers: ties stay exact in fp32
    S = torch.tensor([[2.0, 1.0, 0.0, -1.0, -2.0],
                      [-2.0, -1.0, 0.0, 1.0, 2.0],
                      [0.5, 0.5, 0.5, 0.5, 0.5],
                      [2.0, 1.0, -1.0, 0.0, -2.0]], dtype=F64)
    c.set(ref_list=ref, pol_list=ref + S / 0.1)


def extreme_list(c, L):
    """Rows: ordered / reversed with 1e4 gaps, a random N(0,1) list offset by +1e4, a random list
    of scale 1e3 around -1e4, and alternating +-1e4 with O(1) differences inside each group."""
    B = 5
    c.standard(B, L, spread=5.0)
    k = torch.arange(L, dtype=F64)
    rows = [-1e4 * k, 1e4 * k, c.randn(L) + 1e4, c.randn(L) * 1e3 - 1e4,
            torch.where(k % 2 == 1, 1e4, -1e4) + 0.3 * k]
    S = torch.stack(rows)
    ref = torch.round(c.inputs["ref_list"].to(F64))    # integers: ref + S/beta stays exact in fp32
    c.set(ref_list=ref, pol_list=ref + S / 0.1)


@case("lpoi_extreme_L5", "loss.lpoi", "LPOI with |S| from 1e3 to 4e4 (reference in float64), L 5")
def _(c):
    extreme_list(c, 5)


@case("lpoi_extreme_L8", "loss.lpoi", "LPOI with |S| from 1e3 to 7e4 (reference in float64), L 8")
def _(c):
    extreme_list(c, 8)


# ---------------------------------------------------------------------------------------------

def build(name):
    kind, fn, about = CASES[name]
    c = Case(name, kind, case_seed(name))
    fn(c)
    tensors, meta = c.finish(about)
    return tensors, meta, None


if __name__ == "__main__":
    sys.exit(writer_main("Write lpoi's loss golden cases with PyTorch.", "loss_", CASES,
                         lambda n: (CASES[n][0], CASES[n][2]), build))
