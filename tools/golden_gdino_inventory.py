#!/usr/bin/env python3
"""golden_gdino_inventory.py — the tensor inventory of HF's GroundingDinoForObjectDetection for
grounding-dino-tiny's real config.json, built with transformers on the meta device (no weights),
for src/models/gdino_weights_test.c.

Writes testdata/gdino/inventory_tiny_saved.txt: one "name [d0,d1,...]" line per tensor that
save_pretrained writes (transformers 5.24: tied copies removed, then the weight renamings reverted
to the original layout — the Swin names the hub checkpoint uses), and inventory_tiny_v5.txt: the
same tensors under transformers 5's in-memory names (q_proj/k_proj/v_proj/o_proj, mlp.fc1/fc2 and
"swin." in the Swin backbone), i.e. a state_dict saved without the reversal.

usage: /work/venv/bin/python tools/golden_gdino_inventory.py [--hf ../shared/data/hf] [--out testdata/gdino]
"""
import argparse
import os
import sys

from golden_common import ROOT
import torch
import transformers
from transformers import GroundingDinoConfig, GroundingDinoForObjectDetection
from transformers.core_model_loading import revert_weight_conversion
from transformers.modeling_utils import remove_tied_weights_from_state_dict


def write(path, sd, header):
    with open(path + ".tmp", "w") as f:
        f.write(f"# {header} (transformers {transformers.__version__}, torch {torch.__version__})\n")
        for name in sorted(sd):
            f.write(f"{name} [{','.join(str(d) for d in sd[name].shape)}]\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {path}: {len(sd)} tensors")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hf", default=os.path.join(ROOT, "..", "shared", "data", "hf"))
    ap.add_argument("--out", default=os.path.join(ROOT, "testdata", "gdino"))
    args = ap.parse_args()
    cfg = GroundingDinoConfig.from_pretrained(os.path.join(args.hf, "IDEA-Research__grounding-dino-tiny"))
    with torch.device("meta"):
        model = GroundingDinoForObjectDetection(cfg)
    memory = remove_tied_weights_from_state_dict(model.state_dict(), model)
    saved = revert_weight_conversion(model, dict(memory))
    os.makedirs(args.out, exist_ok=True)
    write(os.path.join(args.out, "inventory_tiny_saved.txt"), saved,
          "grounding-dino-tiny: the tensors save_pretrained writes (original names)")
    write(os.path.join(args.out, "inventory_tiny_v5.txt"), memory,
          "grounding-dino-tiny: the same tensors under transformers 5's in-memory names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
