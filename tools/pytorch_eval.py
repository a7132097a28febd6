#!/usr/bin/env python3
"""Measures the MNIST test accuracy of a network exported by `irnn-mnist export`, in PyTorch.

The state_dict (safetensors) holds an `nn.RNN` (metadata `cell` = rnn: the IRNN, tanh or ReLU
RNN) or an `nn.LSTM` (`cell` = lstm) under `rnn.` and an `nn.Linear` under `fc.`;
its metadata says how an image becomes the input sequence (`pixel_order`: the pixel read at
each position; `pixel_values`: the input value of each byte 0..255; `steps` x `input_size`).
The script builds the two torch.nn modules from the metadata, loads the tensors with
`load_state_dict` (strict: every tensor must fit), reads MNIST's test set and classifies each
image by the last step's hidden state.

With --run RUN_DIR it also compares the accuracy with the one the project measured
(RUN_DIR/summary.json, `test_accuracy`) and exits with 1 when they differ by more than
--tolerance percentage points (default 0.05).

Needs torch and safetensors (`pip install torch safetensors`). MNIST is found as the project
finds it: --data-dir, else $MNIST_DIR, else the cache ($RNN_BURN_CACHE/mnist or
~/.cache/rnn-burn/mnist); the files may be raw or gzipped.
"""
import argparse
import gzip
import json
import os
import struct
import sys
from pathlib import Path


def mnist_dir(given):
    if given:
        return Path(given)
    if os.environ.get("MNIST_DIR"):
        return Path(os.environ["MNIST_DIR"])
    cache = os.environ.get("RNN_BURN_CACHE")
    return (Path(cache) if cache else Path.home() / ".cache" / "rnn-burn") / "mnist"


def read_idx(directory, name):
    for candidate in (directory / name, directory / (name + ".gz")):
        if candidate.is_file():
            opener = gzip.open if candidate.suffix == ".gz" else open
            with opener(candidate, "rb") as f:
                data = f.read()
            break
    else:
        sys.exit(f"error: {name}(.gz) is not in {directory}\nhint: give --data-dir DIR")
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return data[16:], count, rows * cols
    if magic == 2049:
        return data[8:], count, 1
    sys.exit(f"error: {name} is not an IDX image or label file (magic {magic})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("state_dict", help="the .safetensors file `irnn-mnist export` wrote")
    ap.add_argument("--data-dir", help="directory with MNIST's t10k files")
    ap.add_argument("--run", help="the run directory: compare with its summary.json")
    ap.add_argument("--tolerance", type=float, default=0.05, help="allowed difference in points")
    ap.add_argument("--batch", type=int, default=1000, help="images per forward pass")
    args = ap.parse_args()

    import numpy as np
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    torch.set_num_threads(os.cpu_count() or 1)
    with safe_open(args.state_dict, "pt") as f:
        meta = f.metadata() or {}
    if not meta.get("format", "").startswith("rnn-burn"):
        sys.exit(f"error: {args.state_dict} has no rnn-burn metadata (was it written by `irnn-mnist export`?)")
    tensors = load_file(args.state_dict)
    input_size, hidden = int(meta["input_size"]), int(meta["hidden_size"])
    layers, bias = int(meta["num_layers"]), "rnn.bias_ih_l0" in tensors
    if meta.get("cell", "rnn") == "lstm":
        rnn = torch.nn.LSTM(input_size, hidden, num_layers=layers, batch_first=True, bias=bias)
    else:
        rnn = torch.nn.RNN(input_size, hidden, num_layers=layers,
                           nonlinearity=meta["nonlinearity"], batch_first=True, bias=bias)
    fc = torch.nn.Linear(hidden, int(meta["classes"]), bias="fc.bias" in tensors)
    for module, prefix in ((rnn, "rnn."), (fc, "fc.")):
        part = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        module.load_state_dict(part, strict=True)

    order = np.array([int(i) for i in meta["pixel_order"].split(",")])
    values = np.array([float(v) for v in meta["pixel_values"].split(",")], dtype=np.float32)
    steps = int(meta["steps"])
    directory = mnist_dir(args.data_dir)
    images, n, pixels = read_idx(directory, "t10k-images-idx3-ubyte")
    labels, n_labels, _ = read_idx(directory, "t10k-labels-idx1-ubyte")
    assert n == n_labels and pixels == len(order)
    images = np.frombuffer(images, dtype=np.uint8).reshape(n, pixels)[:, order]
    labels = np.frombuffer(labels, dtype=np.uint8)[:n]

    correct = 0
    with torch.no_grad():
        for start in range(0, n, args.batch):
            x = torch.from_numpy(values[images[start:start + args.batch]]).reshape(-1, steps, input_size)
            out, _ = rnn(x)
            predicted = fc(out[:, -1]).argmax(dim=1).numpy()
            correct += int((predicted == labels[start:start + args.batch]).sum())
    accuracy = correct / n
    print(f"pytorch {torch.__version__}: test accuracy {100 * accuracy:.2f} % "
          f"({correct} of {n} images; {meta['view']} view, {meta['normalisation']} pixels, "
          f"weights from {meta.get('weights_from', '?')})")
    if args.run:
        summary = json.loads((Path(args.run) / "summary.json").read_text())
        project = summary["test_accuracy"]
        diff = 100 * abs(accuracy - project)
        verdict = "agree" if diff <= args.tolerance else "DIFFER"
        print(f"rnn-burn: test accuracy {100 * project:.2f} % ({args.run}); "
              f"difference {diff:.3f} points: {verdict} (tolerance {args.tolerance})")
        sys.exit(0 if diff <= args.tolerance else 1)


if __name__ == "__main__":
    main()
