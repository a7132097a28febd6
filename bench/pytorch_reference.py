#!/usr/bin/env python3
"""PyTorch's training throughput at the shapes of `just bench`, for a side-by-side comparison.

Not part of the build or the tests: it needs a Python with PyTorch installed
(`pip install torch`). Each shape trains PyTorch's own recurrent module (nn.RNN, nn.LSTM,
nn.GRU) with the same batch, sequence length, input, hidden size, head, loss and optimiser
as the Rust benchmark, on random inputs of the right shape (batch preparation is outside
the timed work in both). It prints one JSON line per shape, in the Rust benchmark's format:
{"shape": ..., "backend": "pytorch", "samples_per_second": median, ...}.

    python3 bench/pytorch_reference.py --threads 2 [--shape NAME ...]
    python3 bench/pytorch_reference.py --device cuda     # PyTorch + cuDNN on the GPU
"""

import argparse
import json
import statistics
import time

try:
    import torch
    from torch import nn
except ImportError:
    raise SystemExit(
        "error: PyTorch is not installed for this Python\n"
        "hint: pip install torch, or run with PYTHON=/path/to/python-with-torch just bench-pytorch"
    )

# name: (task, cell, batch, T, input, hidden, layers, all_steps, sgd, lr, outputs)
SHAPES = {
    "irnn-mnist": ("mnist", "relu", 40, 784, 1, 100, 1, False, False, 1e-6, 10),
    "elman-mnist": ("mnist", "tanh", 64, 28, 28, 256, 2, True, False, 1e-3, 10),
    "lstm-mnist": ("mnist", "lstm", 100, 28, 28, 20, 1, False, True, 0.1, 10),
    "adding6-rnn": ("adding", "tanh", 100, 6, 2, 64, 1, False, False, 1e-3, 1),
    "adding6-lstm": ("adding", "lstm", 100, 6, 2, 100, 1, False, False, 1e-3, 1),
    "adding6-gru": ("adding", "gru", 100, 6, 2, 100, 1, False, False, 1e-3, 1),
    "adding100-rnn": ("adding", "tanh", 100, 100, 2, 64, 1, False, False, 1e-3, 1),
    "adding100-lstm": ("adding", "lstm", 100, 100, 2, 100, 1, False, False, 1e-3, 1),
    "adding100-gru": ("adding", "gru", 100, 100, 2, 100, 1, False, False, 1e-3, 1),
}


class Model(nn.Module):
    def __init__(self, cell, d, h, layers, t, all_steps, outputs):
        super().__init__()
        if cell in ("relu", "tanh"):
            self.rnn = nn.RNN(d, h, layers, nonlinearity=cell, batch_first=True)
        elif cell == "lstm":
            self.rnn = nn.LSTM(d, h, layers, batch_first=True)
        else:
            self.rnn = nn.GRU(d, h, layers, batch_first=True)
        self.all_steps = all_steps
        self.head = nn.Linear(h * t if all_steps else h, outputs)

    def forward(self, x):
        out, _ = self.rnn(x)
        feats = out.reshape(out.shape[0], -1) if self.all_steps else out[:, -1]
        return self.head(feats)


def measure(name, warmup, steps, repeats, device):
    task, cell, b, t, d, h, layers, all_steps, sgd, lr, outputs = SHAPES[name]
    torch.manual_seed(0)
    model = Model(cell, d, h, layers, t, all_steps, outputs).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr) if sgd else torch.optim.Adam(
        model.parameters(), lr=lr
    )
    x = torch.randn(b, t, d, device=device)
    if task == "mnist":
        y = torch.randint(0, 10, (b,), device=device)
        loss_fn = nn.CrossEntropyLoss()
    else:
        y = torch.randn(b, 1, device=device)
        loss_fn = nn.MSELoss()

    def sync():
        # GPU work is asynchronous: wait for it inside the timed region.
        if device.type == "cuda":
            torch.cuda.synchronize()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    sync()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        rates.append(b * steps / (time.perf_counter() - start))
    return rates


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    p.add_argument("--shape", action="append", choices=sorted(SHAPES), help="repeatable")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    p.add_argument("--steps", type=int, default=20, help="training steps per timed repeat")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats")
    p.add_argument(
        "--device", default="cpu", choices=["cpu", "cuda"], help="cpu (default) or cuda (cuDNN)"
    )
    args = p.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda: this PyTorch sees no CUDA GPU")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    for name in args.shape or list(SHAPES):
        rates = measure(name, args.warmup, args.steps, args.repeats, device)
        print(
            json.dumps(
                {
                    "shape": name,
                    "batch": SHAPES[name][2],
                    "backend": "pytorch" if device.type == "cpu" else "pytorch-cuda",
                    "threads": args.threads,
                    "samples_per_second": round(statistics.median(rates), 1),
                    "min": round(min(rates), 1),
                    "max": round(max(rates), 1),
                    "torch": torch.__version__,
                    "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
