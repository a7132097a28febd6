#!/usr/bin/env python3
"""Write PyTorch reference fixtures for the recurrent layers (nn.RNN, nn.LSTM, nn.GRU).

For every case in CASES this script builds the PyTorch module (batch_first=True,
dropout=0, PyTorch's default initialisation) under a fixed seed, runs the forward pass in
float32 on the CPU, backpropagates a random linear loss and writes one safetensors file,
`<case>.safetensors`, holding:

  * the module's state_dict under PyTorch's own names (weight_ih_l0, weight_hh_l0,
    bias_ih_l0, bias_hh_l0, ..._l1, ..._reverse);
  * `input` [B, T, D], `h0` [L*dirs, B, H] and, for LSTM, `c0` [L*dirs, B, H];
  * PyTorch's results `output` [B, T, dirs*H], `h_n` [L*dirs, B, H] and, for LSTM, `c_n`;
  * the cotangents `grad_output`, `grad_h_n` (and `grad_c_n` for LSTM), which define the loss
        loss = sum(output * grad_output) + sum(h_n * grad_h_n) [+ sum(c_n * grad_c_n)]
  * the gradients of that loss: `grad.input`, `grad.h0` (`grad.c0`) and `grad.<param>` for
    every parameter (e.g. `grad.weight_ih_l0`).

Every tensor is float32. The safetensors string metadata records mode (RNN_TANH, RNN_RELU,
LSTM, GRU), num_layers, bias, bidirectional, batch, seq_len, input_size, hidden_size, seed
and torch_version.

Before writing, each case is checked against an independent float64 numpy forward pass
written out below from the stored weights (all cases; the tolerance is 1e-5 absolute for the
one-layer unidirectional ones), and the float32 gradients are compared with the same loss
differentiated by PyTorch in float64.

Rerun with:

    python crates/models/tests/pytorch/make_fixtures.py [--out DIR]

The default DIR is `fixtures/` next to this script. It needs torch, safetensors and numpy.
"""

import argparse
import json
import struct
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

# Default sizes: batch, sequence length, input size, hidden size. 6 is deliberately not a
# multiple of 4 or 8.
B, T, D, H = 3, 7, 5, 6

# (name, mode, num_layers, bias, bidirectional, seq_len, hidden_size)
CASES = []
for _mode in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
    CASES += [
        (f"{_mode}_l1", _mode, 1, True, False, T, H),
        (f"{_mode}_l2", _mode, 2, True, False, T, H),
        (f"{_mode}_l2_nobias", _mode, 2, False, False, T, H),
        (f"{_mode}_l1_bi", _mode, 1, True, True, T, H),
    ]
# A wider, longer LSTM to exercise hidden sizes that need padding.
CASES.append(("lstm_l1_h33", "lstm", 1, True, False, 20, 33))

MODE_NAMES = {"rnn_tanh": "RNN_TANH", "rnn_relu": "RNN_RELU", "lstm": "LSTM", "gru": "GRU"}

# The ReLU Elman net is unbounded; shrink its input so activations stay moderate.
RELU_INPUT_SCALE = 0.5


def build_module(mode, num_layers, bias, bidirectional, hidden_size):
    kw = dict(input_size=D, hidden_size=hidden_size, num_layers=num_layers, bias=bias,
              batch_first=True, dropout=0.0, bidirectional=bidirectional)
    if mode == "rnn_tanh":
        return torch.nn.RNN(nonlinearity="tanh", **kw)
    if mode == "rnn_relu":
        return torch.nn.RNN(nonlinearity="relu", **kw)
    if mode == "lstm":
        return torch.nn.LSTM(**kw)
    if mode == "gru":
        return torch.nn.GRU(**kw)
    raise ValueError(mode)


def run_module(module, x, h0, c0):
    """Forward pass; returns (output, h_n, c_n or None)."""
    if c0 is None:
        out, h_n = module(x, h0)
        return out, h_n, None
    out, (h_n, c_n) = module(x, (h0, c0))
    return out, h_n, c_n


def loss_of(out, h_n, c_n, g_out, g_h, g_c):
    loss = (out * g_out).sum() + (h_n * g_h).sum()
    if c_n is not None:
        loss = loss + (c_n * g_c).sum()
    return loss


# ---------------------------------------------------------------------------------------
# Independent numpy float64 forward pass, from the stored weights.
# PyTorch layout: weight_ih [G*H, in], weight_hh [G*H, H], biases [G*H], gate blocks stacked
# along the first axis in the order LSTM (i, f, g, o), GRU (r, z, n).
# ---------------------------------------------------------------------------------------

def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def np_cell_step(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step for a batch. x [B, in], h, c [B, H]; returns (h', c')."""
    gi = x @ w_ih.T + b_ih  # input projection, [B, G*H]
    gh = h @ w_hh.T + b_hh  # recurrent projection, [B, G*H]
    if mode == "rnn_tanh":
        return np.tanh(gi + gh), None
    if mode == "rnn_relu":
        return np.maximum(gi + gh, 0.0), None
    if mode == "lstm":
        i, f, g, o = np.split(gi + gh, 4, axis=1)
        c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c_new), c_new
    if mode == "gru":
        # "Reset after": the reset gate multiplies the recurrent projection including its
        # bias, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
        i_r, i_z, i_n = np.split(gi, 3, axis=1)
        h_r, h_z, h_n = np.split(gh, 3, axis=1)
        r = _sigmoid(i_r + h_r)
        z = _sigmoid(i_z + h_z)
        n = np.tanh(i_n + r * h_n)
        return (1.0 - z) * n + z * h, None
    raise ValueError(mode)


def np_forward(mode, num_layers, bias, bidirectional, tensors):
    """Whole multi-layer (bi)directional forward; returns (output, h_n, c_n)."""
    f64 = {k: v.detach().double().numpy() for k, v in tensors.items()}
    x = f64["input"]  # [B, T, D]
    h0 = f64["h0"]
    c0 = f64.get("c0")
    dirs = 2 if bidirectional else 1
    seq_len = x.shape[1]
    layer_in = x
    h_n, c_n = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
            w_ih, w_hh = f64["weight_ih" + sfx], f64["weight_hh" + sfx]
            b_ih = f64["bias_ih" + sfx] if bias else 0.0
            b_hh = f64["bias_hh" + sfx] if bias else 0.0
            idx = layer * dirs + d  # PyTorch's ordering of the state's first axis
            h = h0[idx]
            c = c0[idx] if c0 is not None else None
            steps = range(seq_len - 1, -1, -1) if d == 1 else range(seq_len)
            out = np.zeros((x.shape[0], seq_len, h.shape[1]))
            for t in steps:
                h, c = np_cell_step(mode, layer_in[:, t], h, c, w_ih, w_hh, b_ih, b_hh)
                out[:, t] = h
            outs.append(out)
            h_n.append(h)
            c_n.append(c)
        layer_in = np.concatenate(outs, axis=2)  # [B, T, dirs*H], forward half first
    return layer_in, np.stack(h_n), (np.stack(c_n) if c0 is not None else None)


# ---------------------------------------------------------------------------------------

def make_case(index, name, mode, num_layers, bias, bidirectional, seq_len, hidden_size):
    seed = 1000 + index
    torch.manual_seed(seed)
    module = build_module(mode, num_layers, bias, bidirectional, hidden_size)
    dirs = 2 if bidirectional else 1
    is_lstm = mode == "lstm"

    # Random data, drawn in a fixed order after the module's parameters.
    x = torch.randn(B, seq_len, D)
    if mode == "rnn_relu":
        x = x * RELU_INPUT_SCALE
    h0 = torch.randn(num_layers * dirs, B, hidden_size)
    c0 = torch.randn(num_layers * dirs, B, hidden_size) if is_lstm else None
    g_out = torch.randn(B, seq_len, dirs * hidden_size)
    g_h = torch.randn(num_layers * dirs, B, hidden_size)
    g_c = torch.randn(num_layers * dirs, B, hidden_size) if is_lstm else None

    # Forward and backward in float32.
    x_req = x.clone().requires_grad_(True)
    h0_req = h0.clone().requires_grad_(True)
    c0_req = c0.clone().requires_grad_(True) if is_lstm else None
    module.zero_grad()
    out, h_n, c_n = run_module(module, x_req, h0_req, c0_req)
    loss_of(out, h_n, c_n, g_out, g_h, g_c).backward()

    tensors = {}
    for k, v in module.state_dict().items():
        tensors[k] = v.detach().clone()
    tensors["input"] = x
    tensors["h0"] = h0
    tensors["output"] = out.detach()
    tensors["h_n"] = h_n.detach()
    tensors["grad_output"] = g_out
    tensors["grad_h_n"] = g_h
    tensors["grad.input"] = x_req.grad
    tensors["grad.h0"] = h0_req.grad
    if is_lstm:
        tensors["c0"] = c0
        tensors["c_n"] = c_n.detach()
        tensors["grad_c_n"] = g_c
        tensors["grad.c0"] = c0_req.grad
    for pname, p in module.named_parameters():
        tensors["grad." + pname] = p.grad.detach().clone()
    tensors = {k: v.to(torch.float32).contiguous() for k, v in tensors.items()}

    # --- Checks -------------------------------------------------------------------------
    for k, v in tensors.items():
        assert torch.isfinite(v).all(), f"{name}: non-finite {k}"
    max_out = tensors["output"].abs().max().item()
    assert max_out < 50.0, f"{name}: |output| up to {max_out}"

    # 1. Forward against the hand-written numpy float64 recurrence.
    ref_out, ref_h, ref_c = np_forward(mode, num_layers, bias, bidirectional, tensors)
    fwd_err = max(
        np.abs(ref_out - tensors["output"].double().numpy()).max(),
        np.abs(ref_h - tensors["h_n"].double().numpy()).max(),
        np.abs(ref_c - tensors["c_n"].double().numpy()).max() if is_lstm else 0.0,
    )
    # 1e-5 absolute for one-layer unidirectional cases; relative to the output's size for
    # the others (float32 rounding grows with depth and, for ReLU, with magnitude).
    if num_layers == 1 and not bidirectional:
        tol = 1e-5
    else:
        tol = 1e-5 * max(1.0, np.abs(ref_out).max())
    assert fwd_err <= tol, f"{name}: numpy forward differs by {fwd_err}"

    # 2. Gradients against PyTorch in float64 (same module, same data).
    m64 = build_module(mode, num_layers, bias, bidirectional, hidden_size).double()
    m64.load_state_dict({k: v.double() for k, v in module.state_dict().items()})
    x64 = x.double().requires_grad_(True)
    h64 = h0.double().requires_grad_(True)
    c64 = c0.double().requires_grad_(True) if is_lstm else None
    o64, hn64, cn64 = run_module(m64, x64, h64, c64)
    loss_of(o64, hn64, cn64, g_out.double(), g_h.double(),
            g_c.double() if is_lstm else None).backward()
    grads64 = {"grad.input": x64.grad, "grad.h0": h64.grad}
    if is_lstm:
        grads64["grad.c0"] = c64.grad
    for pname, p in m64.named_parameters():
        grads64["grad." + pname] = p.grad
    grad_err = 0.0
    for k, g in grads64.items():
        err = (tensors[k].double() - g).abs().max().item() / max(1.0, g.abs().max().item())
        grad_err = max(grad_err, err)
    assert grad_err <= 1e-4, f"{name}: float32 gradients differ from float64 by {grad_err}"

    metadata = {
        "mode": MODE_NAMES[mode],
        "num_layers": str(num_layers),
        "bias": "true" if bias else "false",
        "bidirectional": "true" if bidirectional else "false",
        "batch": str(B),
        "seq_len": str(seq_len),
        "input_size": str(D),
        "hidden_size": str(hidden_size),
        "seed": str(seed),
        "torch_version": torch.__version__,
    }
    return tensors, metadata, fwd_err, grad_err, max_out


def sort_header_metadata(path):
    """Rewrite the file's JSON header with its metadata keys in sorted order.

    safetensors keeps the metadata in a hash map, so the order of its keys in the header
    changes from run to run. Sorting them (the header keeps its length; it is padded with
    spaces as safetensors does) makes a rerun write the same bytes.
    """
    data = bytearray(path.read_bytes())
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    assert len(text) <= n, "rewritten header is longer than the original"
    data[8:8 + n] = text + b" " * (n - len(text))
    path.write_bytes(bytes(data))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "fixtures",
                        help="output folder (default: fixtures/ next to this script)")
    args = parser.parse_args()

    torch.set_num_threads(1)  # deterministic reductions
    args.out.mkdir(parents=True, exist_ok=True)

    print(f"torch {torch.__version__}, writing {len(CASES)} cases to {args.out}")
    for index, case in enumerate(CASES):
        name = case[0]
        tensors, metadata, fwd_err, grad_err, max_out = make_case(index, *case)
        path = args.out / f"{name}.safetensors"
        save_file(tensors, str(path), metadata=metadata)
        sort_header_metadata(path)
        print(f"  {name:22s} numpy fwd err {fwd_err:.2e}  f32-vs-f64 grad err {grad_err:.2e}"
              f"  max|output| {max_out:.3f}")


if __name__ == "__main__":
    main()
