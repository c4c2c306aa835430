#!/usr/bin/env python3
"""loss_types_reference.py — PyTorch values for the text DPO term's loss types (TRL DPOTrainer.dpo_loss,
trl 0.8-0.12: "sigmoid" = -logsigmoid(beta*logits)*(1-eps) - logsigmoid(-beta*logits)*eps, "hinge" =
relu(1 - beta*logits), "ipo" = (logits - 1/(2*beta))**2, logits = (pi_w - pi_l) - (ref_w - ref_l)),
with torch autograd gradients, printed as C initialisers for src/lpoi/objectives_test.c
(obj_loss_types_equal_torch).

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
