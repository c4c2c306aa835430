#!/usr/bin/env python3
"""lr_schedule_reference.py — the learning rates transformers' get_scheduler + torch LambdaLR give at each
optimiser step, printed as C initialisers for src/lpoi/lr_schedule_test.c.

usage: /work/venv/bin/python tools/lr_schedule_reference.py
"""
import torch
from transformers import get_scheduler

LR = 1e-3
for name in ["linear", "cosine", "constant", "constant_with_warmup"]:
    for warmup, total in [(0, 7), (3, 10), (4, 4)]:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
        sch = get_scheduler(name, opt, num_warmup_steps=warmup, num_training_steps=total)
        lrs = []
        for _ in range(total + 1):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sch.step()
        print(f'    {{"{name}", {warmup}, {total}, {{{", ".join(repr(x) for x in lrs)}}}}},')
