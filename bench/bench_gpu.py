#!/usr/bin/env python3
"""The GPU benchmark table: this project's fused and generic time loops on wgpu (and cuda
when asked), and PyTorch + cuDNN, at every `just bench` shape, on the GPU at hand.

    just bench-gpu [--cuda] [--out DIR] [--steps N --repeats N] [--shape NAME ...]
                   [--launch-rounds N]

Runs `bench --backend wgpu` (fused and generic, timed alternately), with `--cuda` also
`bench --backend cuda` (a `--features cuda` build, which needs internet once: see the
README), and `bench/pytorch_reference.py --device cuda` when the Python in $PYTHON (default
python3) has PyTorch with CUDA. Then times the fused kernel at the irnn-mnist and lstm-mnist
shapes under other launch shapes than the default (products not split, 2 or 4 batch rows
per cube, 8 slices: the RNN_BURN_CUBE_* variables), so that one run on a GPU also says
whether the default shape is the right one there. Writes DIR/bench-gpu.json (every
measurement) and DIR/bench-gpu.md (samples per second and milliseconds per training step,
one row per shape; the launch shapes), each written whole (temporary file, then rename).
"""

import argparse
import json
import os
import statistics
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


# Launch shapes tried beside the default: label, environment.
LAUNCH_SHAPES = [
    ("default", {}),
    ("not split", {"RNN_BURN_CUBE_SPLITS": "1"}),
    ("8 slices", {"RNN_BURN_CUBE_SPLITS": "8"}),
    ("2 rows per cube", {"RNN_BURN_CUBE_ROWS": "2"}),
    ("4 rows per cube", {"RNN_BURN_CUBE_ROWS": "4"}),
]
LAUNCH_SHAPE_SHAPES = ["irnn-mnist", "lstm-mnist"]


def cell(row):
    """Samples per second, and milliseconds per training step where the batch is known."""
    sps = row["samples_per_second"]
    if row.get("batch") and sps > 0:
        return f"{sps:.0f} ({1000 * row['batch'] / sps:.2f} ms)"
    return f"{sps:.0f}"


def table(rows, column):
    """A markdown table: one row per shape, one column per value of `column(row)`."""
    columns, by_shape = [], {}
    for r in rows:
        col = column(r)
        if col not in columns:
            columns.append(col)
        by_shape.setdefault(r["shape"], {})[col] = r
    md = ["| shape | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for shape, vals in by_shape.items():
        cells = [cell(vals[c]) if c in vals else "–" for c in columns]
        md.append(f"| {shape} | " + " | ".join(cells) + " |")
    return md


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
    p.add_argument("--launch-rounds", type=int, default=2,
                   help="rounds over the launch shapes, alternated (default 2; 0 skips them)")
    args = p.parse_args()
    timing = ["--steps", str(args.steps), "--repeats", str(args.repeats)]
    common = timing + [a for s in args.shape for a in ("--shape", s)]
    # MNIST is found as every run finds it: $MNIST_DIR, the per-user cache, a download.
    env = dict(os.environ)

    rows = []
    bench = ["cargo", "run", "--release", "-q", "-p", "rnn-bench", "--bin", "bench", "--"]
    rows += json_lines(bench + ["--backend", "wgpu", "--recurrence", "both"] + common, env)
    if args.cuda:
        cuda = bench[:4] + ["--features", "rnn-train/cuda"] + bench[4:]
        rows += json_lines(cuda + ["--backend", "cuda", "--recurrence", "both"] + common, env)
    python = os.environ.get("PYTHON", "python3")
    rows += json_lines([python, "bench/pytorch_reference.py", "--device", "cuda"] + common, env)

    launch = []
    shapes = [s for s in LAUNCH_SHAPE_SHAPES if not args.shape or s in args.shape]
    if shapes:
        fused = bench + ["--backend", "wgpu", "--recurrence", "fused"] + timing
        fused += [a for s in shapes for a in ("--shape", s)]
        # The shapes alternate over rounds (GPU clocks and neighbours drift); each cell is
        # the median over rounds of each run's median.
        runs = {}
        for _ in range(args.launch_rounds):
            for label, extra in LAUNCH_SHAPES:
                for r in json_lines(fused, {**env, **extra}):
                    runs.setdefault((r["shape"], label), []).append(r)
        for (shape, label), rs in runs.items():
            sps = statistics.median(r["samples_per_second"] for r in rs)
            launch.append({**rs[0], "samples_per_second": sps, "launch": label})

    gpu = gpu_name()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    md = [
        f"GPU: {gpu}; {stamp}; samples/s (milliseconds per training step: forward, loss,",
        f"backward, update), median of {args.repeats} x {args.steps} steps",
        "",
    ]
    def path(r):
        return r["backend"] + (f" {r['recurrence']}" if "recurrence" in r else "")

    md += table(rows, path)
    if launch:
        md += ["", "Fused kernel on wgpu under other launch shapes (RNN_BURN_CUBE_*):", ""]
        md += table(launch, lambda r: r["launch"])
    os.makedirs(args.out, exist_ok=True)
    write_atomic(os.path.join(args.out, "bench-gpu.json"),
                 json.dumps({"gpu": gpu, "time": stamp, "rows": rows, "launch_shapes": launch},
                            indent=1) + "\n")
    write_atomic(os.path.join(args.out, "bench-gpu.md"), "\n".join(md) + "\n")
    print("\n".join(md))
    print(f"written: {args.out}/bench-gpu.json, {args.out}/bench-gpu.md")


if __name__ == "__main__":
    main()
