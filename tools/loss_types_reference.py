#!/usr/bin/env python3
"""loss_types_reference.py — PyTorch values for the text DPO term's loss types (TRL DPOTrainer.dpo_loss,
trl 0.8-0.12: "sigmoid" = -logsigmoid(beta*logits)*(1-eps) - logsigmoid(-beta*logits)*eps, "hinge" =
relu(1 - beta*logits), "ipo" = (logits - 1/(2*beta))**2, logits = (pi_w - pi_l) - (ref_w - ref_l)),
with torch autograd gradients, printed as C initialisers for src/lpoi/objectives_test.c
(obj_loss_types_equal_torch).

The second part runs TRL 1.16's own DPOTrainer._compute_loss for "ipo" with answer token counts.

usage: /work/venv/bin/python tools/loss_types_reference.py
"""
import torch
import torch.nn.functional as F

CASES = [  # pi_w, ref_w, pi_l, ref_l, beta, loss_type
    (-12.5, -13.0, -15.25, -14.0, 0.1, "sigmoid"),
    (-12.5, -13.0, -15.25, -14.0, 0.1, "hinge"),
    (-40.0, -30.0, -20.0, -35.0, 0.5, "hinge"),
    (-5.0, -30.0, -30.0, -5.0, 0.5, "hinge"),
    (-12.5, -13.0, -15.25, -14.0, 0.1, "ipo"),
    (-7.0, -9.5, -30.0, -12.0, 0.25, "ipo"),
]

for pw, rw, pl, rl, beta, kind in CASES:
    w = torch.tensor(pw, dtype=torch.float64, requires_grad=True)
    l = torch.tensor(pl, dtype=torch.float64, requires_grad=True)
    logits = (w - l) - torch.tensor(rw - rl, dtype=torch.float64)
    if kind == "sigmoid":
        loss = -F.logsigmoid(beta * logits)
    elif kind == "hinge":
        loss = torch.relu(1 - beta * logits)
    else:
        loss = (logits - 1 / (2 * beta)) ** 2
    loss.backward()
    print(f"        {{{pw!r}, {rw!r}, {pl!r}, {rl!r}, {beta!r}, OBJ_LOSS_{kind.upper()}, {loss.item()!r}, "
          f"{w.grad.item()!r}, {l.grad.item()!r}}},")

# ---- "ipo" through TRL's own code (trl==1.16.0, DPOTrainer._compute_loss) ----------------------------
# The trainer is not built (it needs a model and a data set): _compute_loss runs on a stub `self` and
# a stub model whose forward returns per-token log-probs as leaves, so the loss, its length averaging
# (completion_mask sums, clamp(min=1)) and its gradient are TRL's code run by autograd. The gradient of
# a sequence's summed log-prob equals that of any one of its completion tokens. Printed as C
# initialisers for src/lpoi/objectives_test.c (obj_ipo_length_average_equals_trl).
import types
from collections import defaultdict
from trl.trainer.dpo_trainer import DPOTrainer

IPO_TRL_CASES = [  # beta, [(pol_w, ref_w, n_w, pol_l, ref_l, n_l), ...] (n: answer tokens)
    (0.1, [(-12.5, -13.0, 5, -15.25, -14.0, 9), (-30.0, -28.0, 17, -22.0, -25.5, 3)]),
    (0.5, [(-7.0, -9.5, 2, -30.0, -12.0, 11), (-3.0, -3.5, 1, -4.0, -2.0, 4), (-60.0, -55.0, 23, -41.0, -44.0, 14)]),
]


def trl_ipo(beta, rows):
    B, T = len(rows), 1 + max(max(r[2], r[5]) for r in rows) + 2   # one prompt token, padding after
    n = [r[2] for r in rows] + [r[5] for r in rows]                   # [2B]: chosen rows, then rejected
    pol = [r[0] for r in rows] + [r[3] for r in rows]
    ref = [r[1] for r in rows] + [r[4] for r in rows]
    mask = torch.zeros(2 * B, T, dtype=torch.long)
    for i, k in enumerate(n): mask[i, 1:1 + k] = 1
    # per-token log-probs [2B, T-1] (shifted: position t scores token t+1), each sequence's completion
    # tokens sharing its summed log-prob equally; everything else 0 (masked by TRL anyway).
    tok = torch.zeros(2 * B, T - 1, dtype=torch.float64)
    for i in range(2 * B): tok[i, :n[i]] = pol[i] / n[i]
    tok.requires_grad_(True)
    out = types.SimpleNamespace(log_probs=tok, entropy=torch.zeros(2 * B, T - 1), mean_logits=torch.zeros(2 * B, T - 1),
                                is_top1=torch.zeros(2 * B, T - 1, dtype=torch.bool))
    stub = types.SimpleNamespace(
        model=types.SimpleNamespace(training=True), aux_loss_enabled=False, ld_alpha=None, precompute_ref_logps=True,
        f_divergence_type="reverse_kl", loss_types=["ipo"], loss_weights=[1.0], beta=beta, use_weighting=False,
        label_smoothing=0.0, _metrics={"train": defaultdict(list)}, _total_train_tokens=0, _tp_size=1,
        accelerator=types.SimpleNamespace(device="cpu", gather_for_metrics=lambda x: x, gather=lambda x: x))
    inputs = {"input_ids": torch.ones(2 * B, T, dtype=torch.long), "attention_mask": torch.ones(2 * B, T, dtype=torch.long),
              "completion_mask": mask, "ref_chosen_logps": torch.tensor(ref[:B], dtype=torch.float64),
              "ref_rejected_logps": torch.tensor(ref[B:], dtype=torch.float64)}
    loss = DPOTrainer._compute_loss(stub, lambda **kw: out, inputs, return_outputs=False)
    loss.backward()
    d = [tok.grad[i, 0].item() for i in range(2 * B)]
    return loss.item(), d[:B], d[B:]


for beta, rows in IPO_TRL_CASES:
    loss, dw, dl = trl_ipo(beta, rows)
    print(f"        {{{beta!r}, {len(rows)}, {{" + ", ".join("{%r, %r, %r, %r, %r, %r}" % r for r in rows) + "}, "
          f"{loss!r}, {{{', '.join(map(repr, dw))}}}, {{{', '.join(map(repr, dl))}}}}},")
