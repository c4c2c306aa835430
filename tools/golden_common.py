"""golden_common.py — what every golden-case writer in tools/ shares.

A golden case is one safetensors file that `lpoi check` replays (contract: src/check/golden.h):
  __metadata__  kind, config (JSON, sorted keys), atol, rtol (+ atol.<tensor>, rtol.<tensor> where a
                tensor needs its own), seed, generator (the script and the library versions that
                wrote it), about
  tensors       param.* lora.* in.* (inputs), out.* grad.* (checked: |got - want| <= atol + rtol |want|)
The writers (golden_ops, golden_losses, golden_llama, golden_llava, golden_preprocess) own their cases;
this module owns what must not differ between them: the seed of a case, the tolerance rule and its
metadata, the byte-reproducible file writer, the torch-fp32 budget and the command line.
golden_tokenizer.py writes JSON and takes only `generator` from here.

Reproducibility: fixed seeds, one torch thread, sorted header, and ATen's AVX2 kernels. The AVX-512
ones round float64 reductions differently in the last bit, so the model cases written on an AVX-512
machine differed from the committed ones (written with AVX2) by an fp32 ulp; the variable must be set
before torch is imported, so import this module before torch.
"""
import os

def _cpu_has_avx2():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx2" in f.read()
    except OSError:
        return False


if _cpu_has_avx2():   # forcing AVX2 kernels on a CPU without AVX2 would crash on an illegal instruction
    os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import zlib  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
GOLDEN_DIR = os.path.join(ROOT, "testdata", "golden")
FP32_BUDGET = 0.5   # torch's own fp32 run of a case may use at most this share of its tolerance


def case_seed(name):
    """Each case draws from its own generator, seeded by its name: adding a case changes no other."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def generator(script, *modules):
    """'tools/golden_ops.py (torch 2.15.0, numpy 2.4.6)': what wrote a case, stored in the case."""
    label = {"PIL": "Pillow"}
    versions = ", ".join(f"{label.get(m.__name__, m.__name__)} {m.__version__}" for m in modules)
    return f"tools/{os.path.basename(script)} ({versions})"


# ---------------------------------------------------------------------------------------------
# tolerances and metadata

def max_abs(t):
    """The largest finite |value| of a tensor as a Python float (0 when there is none)."""
    t = t.detach().to(torch.float64)
    finite = t[torch.isfinite(t)]
    return finite.abs().max().item() if finite.numel() else 0.0


def round_atol(atol, floor):
    """Two significant digits (the metadata stays readable), at least floor."""
    return max(floor, float(f"{atol:.2g}"))


def scaled_atol(scale, t, floor):
    """The rule of every float case: atol = scale x the tensor's largest finite |value|."""
    return round_atol(scale * max_abs(t), floor)


def tolerance_meta(atols, rtol, rtols=None):
    """atol = the smallest per-tensor atol, atol.<name> where a tensor's is larger; rtol likewise."""
    rtols = rtols or {}
    default = min(atols.values())
    meta = {"atol": repr(default), "rtol": repr(rtol)}
    for name, atol in atols.items():
        if atol != default:
            meta[f"atol.{name}"] = repr(atol)
        if rtols.get(name, rtol) != rtol:
            meta[f"rtol.{name}"] = repr(rtols[name])
    return meta


def case_meta(kind, config, generator, about, tolerances, seed=None):
    """The __metadata__ of a case; tolerances: tolerance_meta(...) or literal {"atol": .., "rtol": ..}."""
    meta = {"kind": kind, "config": json.dumps(config, sort_keys=True), "generator": generator, "about": about,
            **tolerances}
    if seed is not None:
        meta["seed"] = str(seed)
    return meta


def share_used(got, want, atol, rtol):
    """max |got - want| / (atol + rtol |want|), as lpoi check computes it (inf entries must match)."""
    got, want = got.to(torch.float64), want.to(torch.float64)
    fin = torch.isfinite(want)
    if not torch.equal(got[~fin], want[~fin]):
        return math.inf
    err = (got[fin] - want[fin]).abs() / (atol + rtol * want[fin].abs())
    return err.max().item() if err.numel() else 0.0


def fp32_share(meta, want, got, checked):
    """The largest share of its tolerance that torch's own fp32 run (got) uses over the checked
    tensors, and that tensor's name: a tolerance sound fp32 code cannot meet is a broken case."""
    worst, worst_name = 0.0, ""
    for name in checked:
        atol = float(meta.get(f"atol.{name}", meta["atol"]))
        rtol = float(meta.get(f"rtol.{name}", meta["rtol"]))
        share = share_used(got[name], want[name], atol, rtol)
        if share >= worst:
            worst, worst_name = share, name
    return worst, worst_name


# ---------------------------------------------------------------------------------------------
# the file writer

ST_DTYPES = {np.dtype(np.float64): "F64", np.dtype(np.float32): "F32", np.dtype(np.int64): "I64",
             np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8"}


def as_array(t):
    """A C-contiguous numpy array of a torch tensor or numpy array (the bytes the file stores)."""
    return np.ascontiguousarray(t) if isinstance(t, np.ndarray) else t.detach().contiguous().numpy()


def save_case(tensors, path, meta):
    """Writes a safetensors file byte-for-byte reproducibly. safetensors.save_file keeps
    __metadata__ in a hash map, so its key order (and the file) changes from run to run; this
    writes the same layout as the reference writer (dtype size descending, then name; header
    space-padded to a multiple of 8) with sorted metadata, then reads it back with safetensors."""
    arrays = {n: as_array(t) for n, t in tensors.items()}   # little-endian on every machine we run on
    names = sorted(arrays, key=lambda n: (-arrays[n].itemsize, n))
    header = {"__metadata__": dict(sorted({"format": "pt", **meta}.items()))}
    offset = 0
    for n in names:
        size = arrays[n].nbytes
        header[n] = {"dtype": ST_DTYPES[arrays[n].dtype], "shape": list(arrays[n].shape),
                     "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for n in names:
            f.write(arrays[n].tobytes())
    os.replace(tmp, path)
    back = load_file(path)
    assert back.keys() == arrays.keys(), path
    for n in names:
        assert back[n].dtype == arrays[n].dtype and back[n].shape == arrays[n].shape and \
            back[n].tobytes() == arrays[n].tobytes(), (path, n)
    with safe_open(path, "np") as f:
        assert f.metadata() == {"format": "pt", **meta}, path


# ---------------------------------------------------------------------------------------------
# the command line

def writer_main(description, prefix, names, describe, build, max_bytes=None, add_arguments=None, setup=None):
    """The command line of a writer: [--out DIR] [--list] [NAME ...] (+ add_arguments(parser)).
    names: every case in order; describe(name) -> (kind, about) for --list; build(name) ->
    (tensors, meta, fp32) with fp32 = (share, tensor) of torch's own fp32 run, or None. Each case goes
    to DIR/<prefix><name>.safetensors. setup(args), if given, runs first and may return an exit status.
    Returns 1 when a case's fp32 run uses more than FP32_BUDGET of its tolerance (fix the case)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--out", default=os.path.relpath(GOLDEN_DIR), help="output folder (default: testdata/golden)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    if add_arguments:
        add_arguments(ap)
    ap.add_argument("names", nargs="*", help=f"only these cases, with or without '{prefix}' (default: all)")
    args = ap.parse_args()
    picked = [n[len(prefix):] if n.startswith(prefix) and n[len(prefix):] in names else n for n in args.names]
    unknown = [n for n in picked if n not in names]
    if unknown:
        ap.error(f"unknown case(s): {' '.join(unknown)} (see --list)")
    picked = [n for n in names if n in picked] if picked else list(names)
    if setup:
        status = setup(args)
        if status is not None:
            return status
    if args.list:
        width = max(len(prefix + n) for n in picked)
        for n in picked:
            kind, about = describe(n)
            print(f"{prefix + n:<{width}}  {kind:<14} {about}")
        return 0
    torch.set_num_threads(1)         # bit-reproducible references
    os.makedirs(args.out, exist_ok=True)
    total, bad = 0, []
    for n in picked:
        tensors, meta, fp32 = build(n)
        path = os.path.join(args.out, f"{prefix}{n}.safetensors")
        save_case(tensors, path, meta)
        size = os.path.getsize(path)
        assert max_bytes is None or size < max_bytes, f"{path} is {size} bytes (keep cases under {max_bytes})"
        total += size
        line = f"wrote {path:<56} {size:8d} bytes"
        if fp32 is not None:
            share, share_name = fp32
            line += f"; torch fp32 uses {100 * share:5.1f}% of tol ({share_name})"
            if share > FP32_BUDGET:
                bad.append(f"{prefix}{n}: torch fp32 uses {100 * share:.0f}% of the tolerance on {share_name}")
        print(line)
    print(f"{len(picked)} cases, {total} bytes")
    for line in bad:
        print(f"error: {line} (over {100 * FP32_BUDGET:.0f}%: fix the case, loosen nothing)", file=sys.stderr)
    return 1 if bad else 0
