#!/usr/bin/env python3
"""The GPU benchmark table: this project's fused and generic time loops on wgpu (and cuda
when asked), and PyTorch + cuDNN, at every `just bench` shape, on the GPU at hand.

    just bench-gpu [--cuda] [--out DIR] [--steps N --repeats N] [--shape NAME ...]

Runs `bench --backend wgpu` (fused and generic, timed alternately), with `--cuda` also
`bench --backend cuda` (a `--features cuda` build, which needs internet once: see the
README), and `bench/pytorch_reference.py --device cuda` when the Python in $PYTHON (default
python3) has PyTorch with CUDA. Writes DIR/bench-gpu.json (every measurement) and
DIR/bench-gpu.md (one row per shape, samples per second), each written whole (temporary
file, then rename).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone


def json_lines(cmd, env=None):
    """Runs `cmd`, echoing its output, and returns the JSON objects it printed one per line."""
    print("==", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        print(f"warning: {cmd[0]} exited with {proc.returncode}", file=sys.stderr)
    return [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]


def gpu_name():
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True,
        ).stdout.strip()
        return out.splitlines()[0] if out else "unknown GPU"
    except (OSError, subprocess.CalledProcessError):
        return "unknown GPU (no nvidia-smi)"


def write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cuda", action="store_true", help="also build and run --backend cuda")
    p.add_argument("--out", default="bench-gpu", help="directory for the table (default bench-gpu)")
    p.add_argument("--steps", type=int, default=20, help="training steps per timed repeat")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats")
    p.add_argument("--shape", action="append", default=[], help="repeatable; default all")
    args = p.parse_args()
    common = ["--steps", str(args.steps), "--repeats", str(args.repeats)]
    for s in args.shape:
        common += ["--shape", s]
    # MNIST is found as every run finds it: $MNIST_DIR, the per-user cache, a download.
    env = dict(os.environ)

    rows = []
    bench = ["cargo", "run", "--release", "-q", "-p", "rnn-bench", "--bin", "bench", "--"]
    rows += json_lines(bench + ["--backend", "wgpu", "--recurrence", "both"] + common, env)
    if args.cuda:
        cuda = bench[:4] + ["--features", "rnn-train/cuda"] + bench[4:]
        rows += json_lines(cuda + ["--backend", "cuda", "--recurrence", "both"] + common, env)
    python = os.environ.get("PYTHON", "python3")
    torch_args = ["--device", "cuda", "--steps", str(args.steps), "--repeats", str(args.repeats)]
    for s in args.shape:
        torch_args += ["--shape", s]
    rows += json_lines([python, "bench/pytorch_reference.py"] + torch_args, env)

    gpu = gpu_name()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    columns = []
    table = {}
    for r in rows:
        col = r["backend"] + (f" {r['recurrence']}" if "recurrence" in r else "")
        if col not in columns:
            columns.append(col)
        table.setdefault(r["shape"], {})[col] = r["samples_per_second"]
    md = [f"GPU: {gpu}; {stamp}; samples/s, median of {args.repeats} x {args.steps} steps", ""]
    md.append("| shape | " + " | ".join(columns) + " |")
    md.append("|---" * (len(columns) + 1) + "|")
    for shape, vals in table.items():
        cells = [f"{vals[c]:.0f}" if c in vals else "–" for c in columns]
        md.append(f"| {shape} | " + " | ".join(cells) + " |")
    os.makedirs(args.out, exist_ok=True)
    write_atomic(os.path.join(args.out, "bench-gpu.json"),
                 json.dumps({"gpu": gpu, "time": stamp, "rows": rows}, indent=1) + "\n")
    write_atomic(os.path.join(args.out, "bench-gpu.md"), "\n".join(md) + "\n")
    print("\n".join(md))
    print(f"written: {args.out}/bench-gpu.json, {args.out}/bench-gpu.md")


if __name__ == "__main__":
    main()
