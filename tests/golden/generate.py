#!/usr/bin/env python3
"""Golden cases for the recurrent cells, computed in float64 with numpy.

Two sets, in one format (described in `tests/golden/README.md`): short cases of one and
two layers over a handful of steps for every cell kind, and longer, deeper ones
(`heldout_*`: three layers, up to 200 steps) where float32 rounding accumulates.
`tests/cells.rs` reads every `*.json` in this folder, plus those of `RNN_GOLDEN_DIR` when
that names another folder of cases in the same format.

Everything is written out by hand: the forward pass of every cell kind (Elman tanh and
ReLU, LSTM with gates i, f, g, o, GRU with gates r, z, n in both reset forms), and its
backward pass through time. Before a case is written, the script checks its analytic
gradient of every input, initial state and parameter entry against a central finite
difference of the float64 loss; a disagreement stops the script.

    python3 tests/golden/generate.py                 # (re)write the cases in tests/golden/
    python3 tests/golden/generate.py --check         # only verify, write nothing
    python3 tests/golden/generate.py --check-dir DIR
                                                     # recompute another folder's cases from
                                                     # their inputs and compare every field

Needs numpy (`pip install numpy`; written with numpy 2.4). Seeded and deterministic: a
rerun writes the same files byte for byte, which `--check` verifies.
"""

import argparse
import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

GATES = {
    "elman_tanh": ["h"],
    "elman_relu": ["h"],
    "lstm": ["i", "f", "g", "o"],
    "gru": ["r", "z", "n"],
    "gru_reset_before": ["r", "z", "n"],
}

EQUATIONS = {
    "elman_tanh": "h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)",
    "elman_relu": "h_t = relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)",
    "lstm": "i=sig(W_ii x+b_ii+W_hi h+b_hi); f=sig(W_if x+b_if+W_hf h+b_hf); "
    "g=tanh(W_ig x+b_ig+W_hg h+b_hg); o=sig(W_io x+b_io+W_ho h+b_ho); "
    "c'=f*c+i*g; h'=o*tanh(c')",
    "gru": "r=sig(W_ir x+b_ir+W_hr h+b_hr); z=sig(W_iz x+b_iz+W_hz h+b_hz); "
    "n=tanh(W_in x+b_in+r*(W_hn h+b_hn)); h'=(1-z)*n+z*h",
    "gru_reset_before": "r=sig(W_ir x+b_ir+W_hr h+b_hr); z=sig(W_iz x+b_iz+W_hz h+b_hz); "
    "n=tanh(W_in x+b_in+W_hn (r*h)+b_hn); h'=(1-z)*n+z*h",
}

LAYOUT = (
    "x[batch][time][feature]; states[layer][batch][hidden]; W_* are [out=hidden][in]; "
    "layer l>0 takes layer l-1's hidden outputs as input"
)


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def keys(kind, gate):
    """The four parameter names of one gate: W_i*, W_h*, b_i*, b_h*."""
    return [f"W_i{gate}", f"W_h{gate}", f"b_i{gate}", f"b_h{gate}"]


# ------------------------------------------------------------------------ one layer


def layer_forward(kind, p, x, h0, c0=None):
    """Runs one layer over x [B, T, D] from h0 [B, H] (c0 for LSTM).

    Returns (outputs [B, T, H], h_T, c_T or None, tape), the tape holding what the
    backward pass needs at every step.
    """
    B, T, _ = x.shape
    h, c = h0, c0
    out = np.zeros((B, T, h0.shape[1]))
    tape = []
    for t in range(T):
        xt = x[:, t, :]
        if kind in ("elman_tanh", "elman_relu"):
            a = xt @ p["W_ih"].T + p["b_ih"] + h @ p["W_hh"].T + p["b_hh"]
            hn = np.tanh(a) if kind == "elman_tanh" else np.maximum(a, 0.0)
            tape.append(dict(x=xt, h=h, a=a, hn=hn))
        elif kind == "lstm":
            pre = {
                g: xt @ p[f"W_i{g}"].T + p[f"b_i{g}"] + h @ p[f"W_h{g}"].T + p[f"b_h{g}"]
                for g in "ifgo"
            }
            i, f, o = sig(pre["i"]), sig(pre["f"]), sig(pre["o"])
            g = np.tanh(pre["g"])
            cn = f * c + i * g
            tc = np.tanh(cn)
            hn = o * tc
            tape.append(dict(x=xt, h=h, c=c, i=i, f=f, g=g, o=o, tc=tc))
            c = cn
        else:
            r = sig(xt @ p["W_ir"].T + p["b_ir"] + h @ p["W_hr"].T + p["b_hr"])
            z = sig(xt @ p["W_iz"].T + p["b_iz"] + h @ p["W_hz"].T + p["b_hz"])
            if kind == "gru":
                hh = h @ p["W_hn"].T + p["b_hn"]
                n = np.tanh(xt @ p["W_in"].T + p["b_in"] + r * hh)
            else:
                hh = (r * h) @ p["W_hn"].T + p["b_hn"]
                n = np.tanh(xt @ p["W_in"].T + p["b_in"] + hh)
            hn = (1.0 - z) * n + z * h
            tape.append(dict(x=xt, h=h, r=r, z=z, n=n, hh=hh))
        h = hn
        out[:, t, :] = h
    return out, h, c, tape


def layer_backward(kind, p, tape, g_out, g_h, g_c=None):
    """Backward pass through time of one layer.

    g_out [B, T, H]: the loss's gradient w.r.t. the layer's outputs at every step;
    g_h, g_c [B, H]: w.r.t. its final state. Returns (grad of x [B, T, D], grad of h0,
    grad of c0 or None, grad of every parameter).
    """
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    T = len(tape)
    B = g_out.shape[0]
    D = tape[0]["x"].shape[1]
    gx = np.zeros((B, T, D))
    dh = g_h.copy()
    dc = None if g_c is None else g_c.copy()

    def acc(gate, da, xt, hin):
        """Adds a gate's pre-activation gradient da [B, H] to its four parameters."""
        wi, wh, bi, bh = keys(kind, gate)
        grads[wi] += da.T @ xt
        grads[wh] += da.T @ hin
        grads[bi] += da.sum(0)
        grads[bh] += da.sum(0)

    for t in reversed(range(T)):
        s = tape[t]
        dh = dh + g_out[:, t, :]
        xt, h = s["x"], s["h"]
        if kind in ("elman_tanh", "elman_relu"):
            if kind == "elman_tanh":
                da = dh * (1.0 - s["hn"] ** 2)
            else:
                da = dh * (s["a"] > 0.0)
            acc("h", da, xt, h)
            gx[:, t, :] = da @ p["W_ih"]
            dh = da @ p["W_hh"]
        elif kind == "lstm":
            i, f, g, o, tc, c = s["i"], s["f"], s["g"], s["o"], s["tc"], s["c"]
            do = dh * tc
            dc = dc + dh * o * (1.0 - tc**2)
            da = {
                "i": dc * g * i * (1.0 - i),
                "f": dc * c * f * (1.0 - f),
                "g": dc * i * (1.0 - g**2),
                "o": do * o * (1.0 - o),
            }
            dc = dc * f
            gxt = np.zeros_like(xt)
            dhp = np.zeros_like(h)
            for k in "ifgo":
                acc(k, da[k], xt, h)
                gxt += da[k] @ p[f"W_i{k}"]
                dhp += da[k] @ p[f"W_h{k}"]
            gx[:, t, :] = gxt
            dh = dhp
        else:
            r, z, n, hh = s["r"], s["z"], s["n"], s["hh"]
            dn = dh * (1.0 - z)
            dz = dh * (h - n)
            dhp = dh * z
            dan = dn * (1.0 - n**2)
            daz = dz * z * (1.0 - z)
            if kind == "gru":
                dhh = dan * r  # gradient of W_hn h + b_hn
                dar = dan * hh * r * (1.0 - r)
                grads["W_hn"] += dhh.T @ h
                dhp += dhh @ p["W_hn"]
            else:
                dhh = dan  # gradient of W_hn (r*h) + b_hn
                drh = dhh @ p["W_hn"]  # gradient of r*h
                dar = drh * h * r * (1.0 - r)
                grads["W_hn"] += dhh.T @ (r * h)
                dhp += drh * r
            grads["W_in"] += dan.T @ xt
            grads["b_in"] += dan.sum(0)
            grads["b_hn"] += dhh.sum(0)
            acc("r", dar, xt, h)
            acc("z", daz, xt, h)
            gx[:, t, :] = dar @ p["W_ir"] + daz @ p["W_iz"] + dan @ p["W_in"]
            dhp += dar @ p["W_hr"] + daz @ p["W_hz"]
            dh = dhp
    return gx, dh, dc, grads


# ------------------------------------------------------------------------ the stack


def forward(case):
    """Outputs, final states, the loss, and every layer's tape."""
    kind = case["kind"]
    lstm = kind == "lstm"
    x = case["input"]
    tapes, hs, cs = [], [], []
    for l, p in enumerate(case["params"]):
        x, h, c, tape = layer_forward(kind, p, x, case["h0"][l], case["c0"][l] if lstm else None)
        tapes.append(tape)
        hs.append(h)
        cs.append(c)
    res = dict(outputs=x, h_final=np.stack(hs), tapes=tapes)
    loss = np.sum(x * case["cot_outputs"]) + np.sum(res["h_final"] * case["cot_h_final"])
    if lstm:
        res["c_final"] = np.stack(cs)
        loss += np.sum(res["c_final"] * case["cot_c_final"])
    res["loss_value"] = loss
    return res


def loss_of(case):
    return forward(case)["loss_value"]


def backward(case, fwd):
    """Gradients of the case's loss w.r.t. input, h0 (c0) and every parameter."""
    kind = case["kind"]
    lstm = kind == "lstm"
    L = len(case["params"])
    g_out = case["cot_outputs"]
    gh0 = [None] * L
    gc0 = [None] * L
    gp = [None] * L
    for l in reversed(range(L)):
        g_out, gh0[l], gc0[l], gp[l] = layer_backward(
            kind,
            case["params"][l],
            fwd["tapes"][l],
            g_out,
            case["cot_h_final"][l],
            case["cot_c_final"][l] if lstm else None,
        )
    res = dict(grad_input=g_out, grad_h0=np.stack(gh0), grad_params=gp)
    if lstm:
        res["grad_c0"] = np.stack(gc0)
    return res


def gradient_slots(case):
    """(name, array, gradient selector) for every differentiable array of a case."""
    slots = [("input", case["input"], lambda g: g["grad_input"])]
    slots.append(("h0", case["h0"], lambda g: g["grad_h0"]))
    if case["kind"] == "lstm":
        slots.append(("c0", case["c0"], lambda g: g["grad_c0"]))
    for l, p in enumerate(case["params"]):
        for k in p:
            slots.append((f"params[{l}].{k}", p[k], lambda g, l=l, k=k: g["grad_params"][l][k]))
    return slots


def finite_difference_check(case, grads, eps=1e-6, tol=1e-7):
    """Central differences of the float64 loss against the analytic gradient, entry by
    entry, for every input, initial state and parameter. The error of each array is
    max |fd - analytic| / max(max |analytic|, 1); with eps = 1e-6 the truncation error
    is ~eps^2 and the cancellation error ~1e-16 |loss| / eps, both far below tol.
    Returns the worst error; raises on a disagreement."""
    worst = 0.0
    for name, arr, sel in gradient_slots(case):
        g = sel(grads)
        fd = np.zeros_like(arr)
        flat = arr.reshape(-1)  # a view: edits go into the case
        fdf = fd.reshape(-1)
        for j in range(flat.size):
            v = flat[j]
            flat[j] = v + eps
            lp = loss_of(case)
            flat[j] = v - eps
            lm = loss_of(case)
            flat[j] = v
            fdf[j] = (lp - lm) / (2 * eps)
        err = np.max(np.abs(fd - g)) / max(np.max(np.abs(g)), 1.0)
        worst = max(worst, err)
        if not err <= tol:
            raise SystemExit(
                f"{case['name']}: gradient of {name} disagrees with finite differences ({err:.3e})"
            )
    return worst


# ------------------------------------------------------------------------ the cases


def draw_case(name, kind, batch, seq_len, input_size, hidden, layers, seed, irnn=False):
    """Random inputs and weights, drawn the same way for every case: inputs and cotangents
    U(-1, 1), initial states U(-0.5, 0.5), weights and biases U(-0.5, 0.5). An IRNN case
    has W_hh = I + N(0, 0.01^2) and biases U(-0.1, 0.1)."""
    rng = np.random.default_rng(seed)
    u = lambda lo, hi, *shape: rng.uniform(lo, hi, size=shape)
    case = dict(
        name=name,
        kind=kind,
        batch=batch,
        seq_len=seq_len,
        input_size=input_size,
        hidden_size=hidden,
        num_layers=layers,
        seed=seed,
    )
    case["input"] = u(-1, 1, batch, seq_len, input_size)
    case["h0"] = u(-0.5, 0.5, layers, batch, hidden)
    if kind == "lstm":
        case["c0"] = u(-0.5, 0.5, layers, batch, hidden)
    params = []
    for l in range(layers):
        d_in = input_size if l == 0 else hidden
        p = {}
        for g in GATES[kind]:
            wi, wh, bi, bh = keys(kind, g)
            if irnn:
                p[wi] = u(-0.5, 0.5, hidden, d_in)
                p[wh] = np.eye(hidden) + 0.01 * rng.standard_normal((hidden, hidden))
                p[bi] = u(-0.1, 0.1, hidden)
                p[bh] = u(-0.1, 0.1, hidden)
            else:
                p[wi] = u(-0.5, 0.5, hidden, d_in)
                p[wh] = u(-0.5, 0.5, hidden, hidden)
                p[bi] = u(-0.5, 0.5, hidden)
                p[bh] = u(-0.5, 0.5, hidden)
        params.append(p)
    case["params"] = params
    case["cot_outputs"] = u(-1, 1, batch, seq_len, hidden)
    case["cot_h_final"] = u(-1, 1, layers, batch, hidden)
    if kind == "lstm":
        case["cot_c_final"] = u(-1, 1, layers, batch, hidden)
    return case


# name, kind, batch, seq_len, input, hidden, layers, seed, irnn
CASES = [
    ("elman_tanh_1layer_t5", "elman_tanh", 3, 5, 4, 6, 1, 1, False),
    ("elman_tanh_2layer_t7", "elman_tanh", 2, 7, 3, 5, 2, 2, False),
    ("elman_relu_1layer_t6", "elman_relu", 3, 6, 2, 4, 1, 3, False),
    ("irnn_1layer_t20", "elman_relu", 2, 20, 1, 8, 1, 4, True),
    ("lstm_1layer_t5", "lstm", 3, 5, 4, 6, 1, 5, False),
    ("lstm_2layer_t4", "lstm", 2, 4, 3, 5, 2, 6, False),
    ("gru_1layer_t5", "gru", 3, 5, 4, 6, 1, 7, False),
    ("gru_2layer_t4", "gru", 2, 4, 3, 5, 2, 8, False),
    ("gru_reset_before_1layer_t5", "gru_reset_before", 3, 5, 4, 6, 1, 9, False),
    ("gru_reset_before_2layer_t4", "gru_reset_before", 2, 4, 3, 5, 2, 10, False),
    ("heldout_elman_tanh_3layer_t60", "elman_tanh", 3, 60, 4, 7, 3, 101, False),
    ("heldout_lstm_3layer_t40", "lstm", 3, 40, 4, 7, 3, 102, False),
    ("heldout_gru_2layer_t50", "gru", 3, 50, 4, 7, 2, 103, False),
    ("heldout_gru_reset_before_2layer_t50", "gru_reset_before", 3, 50, 4, 7, 2, 104, False),
    ("heldout_irnn_t200", "elman_relu", 3, 200, 2, 7, 1, 105, True),
    ("heldout_elman_relu_2layer_t80", "elman_relu", 3, 80, 4, 7, 2, 106, False),
]

# A ReLU pre-activation that float32 could compute on the other side of zero would change
# the gradient by a whole term, not by a rounding error. For ReLU cases the script bounds
# the float32 error of every pre-activation to first order (Higham's gamma_n = n u for a
# sum of n rounded products, in any order, plus the representation error of the loaded
# values and the bound carried in from the previous step and layer) and rejects a draw,
# moving the seed on, unless every pre-activation is at least RELU_MARGIN times its bound
# away from zero.
RELU_MARGIN = 4.0
U32 = 2.0**-24  # float32 unit roundoff


def relu_margin(case, fwd):
    """The smallest |pre-activation| / (its float32 error bound) over the whole case."""
    worst = np.inf
    e_in = U32 * np.abs(case["input"])  # error of the layer input, per entry
    for l, (p, tape) in enumerate(zip(case["params"], fwd["tapes"])):
        wi, wh = np.abs(p["W_ih"]), np.abs(p["W_hh"])
        bias = np.abs(p["b_ih"]) + np.abs(p["b_hh"])
        n = wi.shape[1] + wh.shape[1] + 6
        e_h = U32 * np.abs(case["h0"][l])
        e_out = np.zeros((e_in.shape[0], len(tape), wh.shape[0]))
        for t, s in enumerate(tape):
            size = np.abs(s["x"]) @ wi.T + np.abs(s["h"]) @ wh.T + bias
            e_a = n * U32 * size + e_h @ wh.T + e_in[:, t, :] @ wi.T
            worst = min(worst, np.min(np.abs(s["a"]) / e_a))
            e_h = e_a * (s["a"] > 0.0)  # a unit kept at zero carries no error
            e_out[:, t, :] = e_h
        e_in = e_out
    return worst


def to_json(case, fwd, grads):
    """The case in the golden format: fixed key order, arrays as nested lists."""
    lstm = case["kind"] == "lstm"
    L = lambda a: a.tolist()
    P = lambda ps: [{k: L(v) for k, v in p.items()} for p in ps]
    loss = "L = sum(outputs*cot_outputs) + sum(h_final*cot_h_final)"
    out = dict(
        name=case["name"],
        kind=case["kind"],
        equation=EQUATIONS[case["kind"]],
        batch=case["batch"],
        seq_len=case["seq_len"],
        input_size=case["input_size"],
        hidden_size=case["hidden_size"],
        num_layers=case["num_layers"],
        layout=LAYOUT,
        loss=loss + (" + sum(c_final*cot_c_final)" if lstm else ""),
        input=L(case["input"]),
        h0=L(case["h0"]),
        params=P(case["params"]),
        outputs=L(fwd["outputs"]),
        h_final=L(fwd["h_final"]),
        cot_outputs=L(case["cot_outputs"]),
        cot_h_final=L(case["cot_h_final"]),
        loss_value=float(fwd["loss_value"]),
        grad_input=L(grads["grad_input"]),
        grad_h0=L(grads["grad_h0"]),
        grad_params=P(grads["grad_params"]),
    )
    if lstm:
        out["c0"] = L(case["c0"])
        out["c_final"] = L(fwd["c_final"])
        out["cot_c_final"] = L(case["cot_c_final"])
        out["grad_c0"] = L(grads["grad_c0"])
    out["seed"] = case["seed"]
    out["generator"] = "tests/golden/generate.py"
    return out


def build(spec):
    name, kind, b, t, d, h, layers, seed, irnn = spec
    for attempt in range(100):
        case = draw_case(name, kind, b, t, d, h, layers, seed + 1000 * attempt, irnn)
        fwd = forward(case)
        if kind == "elman_relu" and relu_margin(case, fwd) < RELU_MARGIN:
            continue
        return case, fwd
    raise SystemExit(f"{name}: no draw keeps its ReLU pre-activations away from zero")


def load_case(path):
    """A golden case's arrays as float64 numpy arrays (params as dicts of arrays)."""
    with open(path) as f:
        j = json.load(f)
    case = dict(j)
    for k in ("input", "h0", "c0", "cot_outputs", "cot_h_final", "cot_c_final"):
        if k in j:
            case[k] = np.array(j[k], dtype=np.float64)
    case["params"] = [{k: np.array(v, dtype=np.float64) for k, v in p.items()} for p in j["params"]]
    return case, j


def check_dir(folder):
    """Recomputes every case of another golden folder and reports the worst difference
    of each field, relative to that field's largest magnitude."""
    worst_all = 0.0
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        case, j = load_case(path)
        case.setdefault("name", os.path.basename(path))
        fwd = forward(case)
        grads = backward(case, fwd)
        mine = {**fwd, **grads}
        diffs = {}
        for k in ("outputs", "h_final", "c_final", "grad_input", "grad_h0", "grad_c0"):
            if k in j:
                want = np.array(j[k])
                diffs[k] = np.max(np.abs(mine[k] - want)) / max(np.max(np.abs(want)), 1e-300)
        diffs["loss_value"] = abs(mine["loss_value"] - j["loss_value"]) / abs(j["loss_value"])
        for l, p in enumerate(j["grad_params"]):
            for k, v in p.items():
                want = np.array(v)
                got = mine["grad_params"][l][k]
                diffs[f"grad_params[{l}].{k}"] = np.max(np.abs(got - want)) / max(
                    np.max(np.abs(want)), 1e-300
                )
        field = max(diffs, key=diffs.get)
        worst_all = max(worst_all, diffs[field])
        print(f"{os.path.basename(path)}: worst difference {diffs[field]:.2e} ({field})")
    if not worst_all < 1e-10:
        raise SystemExit(f"the cases in {folder} differ from this implementation ({worst_all:.2e})")
    print(f"all cases in {folder} agree to {worst_all:.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--check", action="store_true", help="verify only, write nothing")
    ap.add_argument("--check-dir", metavar="DIR", help="recompute another golden folder's cases")
    ap.add_argument("--out", default=HERE, help="where to write the cases (default: this folder)")
    args = ap.parse_args()
    if args.check_dir:
        check_dir(args.check_dir)
        return
    for spec in CASES:
        case, fwd = build(spec)
        grads = backward(case, fwd)
        fd = finite_difference_check(case, grads)
        text = json.dumps(to_json(case, fwd, grads))
        path = os.path.join(args.out, case["name"] + ".json")
        mags = f"max|h| {np.max(np.abs(fwd['h_final'])):.3g}"
        if case["kind"] == "elman_relu":
            mags += f", ReLU margin {relu_margin(case, fwd):.1f}x its float32 error bound"
        print(
            f"{case['name']}: seed {case['seed']}, {len(text) / 1024:.0f} KiB, "
            f"finite differences agree to {fd:.1e}, {mags}"
        )
        if args.check:
            if not os.path.exists(path):
                raise SystemExit(f"{path} is missing")
            with open(path) as f:
                if f.read() != text:
                    raise SystemExit(f"{path} differs from what this script writes")
        else:
            with open(path, "w") as f:
                f.write(text)


if __name__ == "__main__":
    sys.exit(main())
