//! The cells against PyTorch's own `nn.RNN` (tanh, ReLU), `nn.LSTM` and `nn.GRU`: each
//! fixture in `tests/pytorch/fixtures` holds a module's `state_dict`, an input and initial
//! states, PyTorch's outputs and final states, and PyTorch's gradients of a fixed projection
//! of them (see `tests/pytorch/README.md`). Every case loads the weights, runs forward and
//! backward with each [`Recurrence`], and requires every tensor to match PyTorch's to
//! float32 rounding. `RNN_TEST_BACKEND` picks the backend (flex by default; ndarray, wgpu).

#![cfg(feature = "safetensors")]

#[path = "support/compare.rs"]
mod compare;

use std::path::{Path, PathBuf};

use burn::prelude::*;
use rnn_models::{
    BiGruConfig, BiLstmConfig, BiRnnConfig, Biases, ElmanStackConfig, GruConfig, GruStackConfig,
    LstmConfig, LstmStackConfig, LstmState, Nonlinearity, PyTorchWeights, Recurrence,
    RecurrentLayer, RnnConfig, RnnState,
};

use compare::{largest_magnitude, within, worst, worst_error};

/// Largest difference allowed, relative to the largest magnitude of the expected tensor.
/// PyTorch and these kernels sum in different orders and the CPU kernel uses its own `exp`
/// and `tanh`; the largest seen on flex is 3.8e-7 (the test prints it).
const TOLERANCE: f64 = 5e-6;

fn device() -> Device {
    let name = std::env::var("RNN_TEST_BACKEND").unwrap_or_else(|_| "flex".into());
    let device = match name.as_str() {
        #[cfg(feature = "flex")]
        "flex" => Device::flex(),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Device::ndarray(),
        #[cfg(feature = "wgpu")]
        "wgpu" => Device::wgpu(DeviceKind::DefaultDevice),
        other => panic!("RNN_TEST_BACKEND={other}: not a backend this build has"),
    };
    device.autodiff()
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pytorch/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    files
}

/// What a case's file name says: `<mode>_l<layers>[_nobias][_bi][_h<n>]`.
struct Case {
    name: String,
    mode: String,
    layers: usize,
    bias: bool,
    bidirectional: bool,
}

impl Case {
    fn parse(path: &Path) -> Self {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let parts: Vec<&str> = name.split('_').collect();
        let at = parts
            .iter()
            .position(|p| p.starts_with('l') && p[1..].parse::<usize>().is_ok())
            .unwrap_or_else(|| panic!("{name}: no layer count"));
        Case {
            mode: parts[..at].join("_"),
            layers: parts[at][1..].parse().unwrap(),
            bias: !parts.contains(&"nobias"),
            bidirectional: parts.contains(&"bi"),
            name,
        }
    }
}

/// The largest difference between `actual` and `expected`, relative to `expected`'s largest
/// magnitude (at least 1); `+inf` when either side holds a value that is not finite.
fn relative_error<const D: usize>(actual: Tensor<D>, expected: Tensor<D>) -> f64 {
    assert_eq!(actual.dims(), expected.dims());
    let values =
        |t: Tensor<D>| -> Vec<f32> { t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap() };
    let (a, e) = (values(actual), values(expected));
    let scale = largest_magnitude(e.iter().map(|&v| v as f64)).max(1.0);
    worst_error(&a, &e, |x, y| (x - y).abs()) / scale
}

/// The checks of one run: name and relative error of each tensor.
#[derive(Default)]
struct Report(Vec<(String, f64)>);

impl Report {
    fn check<const D: usize>(&mut self, name: &str, actual: Tensor<D>, expected: Tensor<D>) {
        self.0
            .push((name.to_string(), relative_error(actual, expected)));
    }

    fn worst(&self) -> f64 {
        worst(self.0.iter().map(|(_, e)| *e))
    }

    fn failures(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, e)| !within(*e, TOLERANCE))
            .map(|(n, e)| format!("{n}: {e:.2e}"))
            .collect()
    }
}

/// Checks the gradients of `layer`'s parameters against PyTorch's of layer `l`, direction
/// `suffix`: weights transposed to PyTorch's layout.
fn check_layer(
    report: &mut Report,
    w: &PyTorchWeights,
    grads: &burn::tensor::Gradients,
    layer: &RecurrentLayer,
    l: usize,
    suffix: &str,
    device: &Device,
) {
    let name = |k: &str| format!("grad.{k}_l{l}{suffix}");
    let grad2 = |p: &Tensor<2>| p.grad(grads).expect("a weight gradient").transpose();
    let expect2 = |k: &str| w.tensor::<2>(&name(k), device).unwrap();
    report.check(
        &name("weight_ih"),
        grad2(&layer.w_ih.val()),
        expect2("weight_ih"),
    );
    report.check(
        &name("weight_hh"),
        grad2(&layer.w_hh.val()),
        expect2("weight_hh"),
    );
    for (param, k) in [(&layer.b_ih, "bias_ih"), (&layer.b_hh, "bias_hh")] {
        if let Some(p) = param {
            let g = p.val().grad(grads).expect("a bias gradient");
            report.check(&name(k), g, w.tensor::<1>(&name(k), device).unwrap());
        }
    }
}

/// Every layer of a stack, with its PyTorch index and no direction suffix.
fn stack_layers(layers: &[RecurrentLayer]) -> Vec<(RecurrentLayer, usize, &'static str)> {
    layers
        .iter()
        .enumerate()
        .map(|(l, p)| (p.clone(), l, ""))
        .collect()
}

/// The two directions of a bidirectional layer, as PyTorch names them.
fn directions(
    forward: &RecurrentLayer,
    reverse: &RecurrentLayer,
) -> Vec<(RecurrentLayer, usize, &'static str)> {
    vec![(forward.clone(), 0, ""), (reverse.clone(), 0, "_reverse")]
}

/// Runs one case with one recurrence; returns the checks.
fn run(case: &Case, w: &PyTorchWeights, recurrence: Recurrence) -> Report {
    let device = device();
    let t3 = |k: &str| w.tensor::<3>(k, &device).unwrap();
    let x = t3("input").require_grad();
    let h0 = t3("h0").require_grad();
    let lstm = case.mode == "lstm";
    let c0 = lstm.then(|| t3("c0").require_grad());
    let [_, _, d] = x.dims();
    let h = h0.dims()[2];
    let biases = if case.bias { Biases::Two } else { Biases::None };
    let nonlinearity = if case.mode == "rnn_relu" {
        Nonlinearity::Relu
    } else {
        Nonlinearity::Tanh
    };
    let activation = if case.mode == "rnn_relu" {
        burn::nn::activation::ActivationConfig::Relu
    } else {
        burn::nn::activation::ActivationConfig::Tanh
    };
    // Each arm: output, h_n, c_n, and the layers with their (layer index, direction).
    type Layers = Vec<(RecurrentLayer, usize, &'static str)>;
    let (out, h_n, c_n, layers): (Tensor<3>, Tensor<3>, Option<Tensor<3>>, Layers) =
        match (case.mode.as_str(), case.bidirectional) {
            ("lstm", false) => {
                let m = LstmStackConfig::new(d, h)
                    .with_num_layers(case.layers)
                    .with_biases(biases)
                    .with_recurrence(recurrence)
                    .init(&device)
                    .load_pytorch(w, "")
                    .unwrap();
                let state = LstmState::new(c0.clone().unwrap(), h0.clone());
                let o = m.forward(x.clone(), Some(state));
                let layers = stack_layers(&m.layers);
                (o.output, o.state.hidden, Some(o.state.cell), layers)
            }
            ("gru", false) => {
                let m = GruStackConfig::new(d, h)
                    .with_num_layers(case.layers)
                    .with_biases(biases)
                    .with_recurrence(recurrence)
                    .init(&device)
                    .load_pytorch(w, "")
                    .unwrap();
                let o = m.forward(x.clone(), Some(h0.clone()));
                let layers = stack_layers(&m.layers);
                (o.output, o.h_n, None, layers)
            }
            (_, false) => {
                let m = ElmanStackConfig::new(d, h)
                    .with_num_layers(case.layers)
                    .with_biases(biases)
                    .with_nonlinearity(nonlinearity)
                    .with_recurrence(recurrence)
                    .init(&device)
                    .load_pytorch(w, "")
                    .unwrap();
                let o = m.forward(x.clone(), Some(h0.clone()));
                let layers = stack_layers(&m.layers);
                (o.output, o.h_n, None, layers)
            }
            ("lstm", true) => {
                let m = BiLstmConfig::new(d, h, case.bias)
                    .with_recurrence(recurrence)
                    .init(&device)
                    .load_pytorch(w, "")
                    .unwrap();
                let state = LstmState::new(c0.clone().unwrap(), h0.clone());
                let (o, s) = m.forward(x.clone(), Some(state));
                let layers = directions(&m.forward.layer, &m.reverse.layer);
                (o, s.hidden, Some(s.cell), layers)
            }
            ("gru", true) => {
                let m = BiGruConfig::new(d, h, case.bias)
                    .with_recurrence(recurrence)
                    .init(&device)
                    .load_pytorch(w, "")
                    .unwrap();
                let (o, s) = m.forward(x.clone(), Some(h0.clone()));
                let layers = directions(&m.forward.layer, &m.reverse.layer);
                (o, s, None, layers)
            }
            (_, true) => {
                let m = BiRnnConfig::new(d, h, case.bias)
                    .with_hidden_activation(activation)
                    .with_recurrence(recurrence)
                    .init(&device)
                    .load_pytorch(w, "")
                    .unwrap();
                let (o, s) = m.forward(x.clone(), Some(RnnState::new(h0.clone())));
                let layers = directions(&m.forward.layer, &m.reverse.layer);
                (o, s.hidden, None, layers)
            }
        };
    let mut report = Report::default();
    report.check("output", out.clone(), t3("output"));
    report.check("h_n", h_n.clone(), t3("h_n"));
    let mut loss = (out * t3("grad_output")).sum() + (h_n * t3("grad_h_n")).sum();
    if let Some(c_n) = c_n {
        report.check("c_n", c_n.clone(), t3("c_n"));
        loss = loss + (c_n * t3("grad_c_n")).sum();
    }
    let grads = loss.backward();
    report.check("grad.input", x.grad(&grads).unwrap(), t3("grad.input"));
    report.check("grad.h0", h0.grad(&grads).unwrap(), t3("grad.h0"));
    if let Some(c0) = c0 {
        report.check("grad.c0", c0.grad(&grads).unwrap(), t3("grad.c0"));
    }
    for (layer, l, suffix) in &layers {
        check_layer(&mut report, w, &grads, layer, *l, suffix, &device);
    }
    report
}

/// A one-layer case through burn::nn's contract (`Rnn`, `Lstm`, `Gru`: states `[B, H]`):
/// the output, the final states and every gradient (input, initial states, each weight and
/// bias) against PyTorch's.
fn run_drop_in(case: &Case, w: &PyTorchWeights, recurrence: Recurrence) -> Report {
    let device = device();
    let t3 = |k: &str| w.tensor::<3>(k, &device).unwrap();
    let x = t3("input").require_grad();
    let [_, b, h] = t3("h0").dims();
    // PyTorch's `[1, B, H]` states as burn::nn's `[B, H]`, and back.
    let first = |s: Tensor<3>| s.slice([0..1, 0..b, 0..h]).reshape([b, h]);
    let layered = |s: Tensor<2>| s.reshape([1, b, h]);
    let h0 = first(t3("h0")).require_grad();
    let c0 = (case.mode == "lstm").then(|| first(t3("c0")).require_grad());
    let d = x.dims()[2];
    let (out, h_n, c_n, layer) = match case.mode.as_str() {
        "lstm" => {
            let m = LstmConfig::new(d, h, case.bias)
                .with_recurrence(recurrence)
                .init(&device)
                .load_pytorch(w, "")
                .unwrap();
            let state = LstmState::new(c0.clone().unwrap(), h0.clone());
            let (o, s) = m.forward(x.clone(), Some(state));
            (o, s.hidden, Some(s.cell), m.layer)
        }
        "gru" => {
            let m = GruConfig::new(d, h, case.bias)
                .with_recurrence(recurrence)
                .init(&device)
                .load_pytorch(w, "")
                .unwrap();
            let o = m.forward(x.clone(), Some(h0.clone()));
            let [_, t, _] = o.dims();
            let last = o.clone().slice([0..b, t - 1..t, 0..h]).reshape([b, h]);
            (o, last, None, m.layer)
        }
        mode => {
            let activation = if mode == "rnn_relu" {
                burn::nn::activation::ActivationConfig::Relu
            } else {
                burn::nn::activation::ActivationConfig::Tanh
            };
            let m = RnnConfig::new(d, h, case.bias)
                .with_hidden_activation(activation)
                .with_recurrence(recurrence)
                .init(&device)
                .load_pytorch(w, "")
                .unwrap();
            let (o, s) = m.forward(x.clone(), Some(RnnState::new(h0.clone())));
            (o, s.hidden, None, m.layer)
        }
    };
    let mut report = Report::default();
    report.check("output", out.clone(), t3("output"));
    report.check("h_n", layered(h_n.clone()), t3("h_n"));
    let mut loss = (out * t3("grad_output")).sum() + (layered(h_n) * t3("grad_h_n")).sum();
    if let Some(c_n) = c_n {
        report.check("c_n", layered(c_n.clone()), t3("c_n"));
        loss = loss + (layered(c_n) * t3("grad_c_n")).sum();
    }
    let grads = loss.backward();
    report.check("grad.input", x.grad(&grads).unwrap(), t3("grad.input"));
    let grad_state = |s: &Tensor<2>| layered(s.grad(&grads).expect("a state gradient"));
    report.check("grad.h0", grad_state(&h0), t3("grad.h0"));
    if let Some(c0) = &c0 {
        report.check("grad.c0", grad_state(c0), t3("grad.c0"));
    }
    check_layer(&mut report, w, &grads, &layer, 0, "", &device);
    report
}

#[test]
fn every_cell_matches_pytorch() {
    let files = fixtures();
    assert!(
        files.len() >= 17,
        "expected the 17 fixtures, found {}",
        files.len()
    );
    let mut failures = vec![];
    let mut largest = 0f64;
    for file in &files {
        let case = Case::parse(file);
        let w = PyTorchWeights::from_file(file).unwrap();
        let implementations = [
            Recurrence::Fused,
            Recurrence::Generic,
            Recurrence::TensorOps,
        ];
        let mut runs: Vec<(String, Report)> = implementations
            .into_iter()
            .map(|i| (i.to_string(), run(&case, &w, i)))
            .collect();
        // The bidirectional drop-ins run in `run`; the one-direction ones here.
        if case.layers == 1 && !case.bidirectional {
            for i in implementations {
                runs.push((format!("burn::nn drop-in, {i}"), run_drop_in(&case, &w, i)));
            }
        }
        for (what, report) in runs {
            largest = worst([largest, report.worst()]);
            let f = report.failures();
            if !f.is_empty() {
                failures.push(format!("{} ({what}): {}", case.name, f.join(", ")));
            }
        }
    }
    println!(
        "{} PyTorch cases, largest relative error {largest:.2e} (tolerance {TOLERANCE:.0e})",
        files.len()
    );
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

#[test]
fn a_mismatched_module_is_refused_with_the_tensor_named() {
    let device = device();
    let file = fixtures()
        .into_iter()
        .find(|p| p.ends_with("lstm_l2.safetensors"))
        .expect("lstm_l2 fixture");
    let w = PyTorchWeights::from_file(file).unwrap();
    // Wrong hidden size.
    let err = LstmStackConfig::new(5, 7)
        .with_num_layers(2)
        .init(&device)
        .load_pytorch(&w, "")
        .unwrap_err();
    assert!(err.to_string().contains("weight_ih_l0"), "{err}");
    // A third layer the file does not have.
    let err = LstmStackConfig::new(5, 6)
        .with_num_layers(3)
        .init(&device)
        .load_pytorch(&w, "")
        .unwrap_err();
    assert!(err.to_string().contains("weight_ih_l2"), "{err}");
    // Biases the module lacks.
    let err = LstmStackConfig::new(5, 6)
        .with_num_layers(2)
        .with_biases(Biases::None)
        .init(&device)
        .load_pytorch(&w, "")
        .unwrap_err();
    assert!(err.to_string().contains("bias_ih_l0"), "{err}");
    // PyTorch's GRU is reset-after only.
    let gru = fixtures()
        .into_iter()
        .find(|p| p.ends_with("gru_l1.safetensors"))
        .expect("gru_l1 fixture");
    let w = PyTorchWeights::from_file(gru).unwrap();
    let err = GruStackConfig::new(5, 6)
        .with_reset_after(false)
        .init(&device)
        .load_pytorch(&w, "")
        .unwrap_err();
    assert!(err.to_string().contains("reset_after"), "{err}");
    // Not a safetensors file.
    assert!(PyTorchWeights::from_bytes(b"not a safetensors file").is_err());
}

/// A stack written as PyTorch's `state_dict` (`to_pytorch`) and read back by the loader into
/// a module of PyTorch's shape (two biases where the original had any) computes the same
/// outputs: for one and two biases, one and two layers, every cell. The written names and
/// shapes are PyTorch's, and a one-bias layer's `bias_hh` is zeros.
#[test]
fn stacks_written_as_pytorch_state_dicts_load_back_to_the_same_outputs() {
    let device = device();
    device.seed(11);
    let x = Tensor::<3>::random(
        [3, 5, 4],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let out_of = |state: &rnn_models::StateDict| {
        PyTorchWeights::from_bytes(&state.to_bytes().expect("serialised")).expect("read back")
    };
    let same = |a: Tensor<3>, b: Tensor<3>, what: &str| {
        let err = relative_error(a, b);
        assert!(within(err, 1e-6), "{what}: largest difference {err}");
    };
    // Writes a stack built by `config(biases)` under `prefix`, reads it back into
    // `config(pytorch_biases)`, and requires the same outputs; returns the file's tensors.
    macro_rules! written_and_read_back {
        ($config:expr, $prefix:literal, $torch:literal, $biases:expr, $pytorch_biases:expr, $layers:expr) => {{
            let config = $config;
            let original = config($biases).init(&device);
            let mut state = rnn_models::StateDict::new();
            original.to_pytorch(&mut state, $prefix).unwrap();
            let w = out_of(&state);
            let back = config($pytorch_biases)
                .init(&device)
                .load_pytorch(&w, $prefix)
                .unwrap();
            same(
                original.forward(x.clone(), None).output,
                back.forward(x.clone(), None).output,
                &format!("{}, {:?}, {} layers", $torch, $biases, $layers),
            );
            w
        }};
    }
    for (biases, layers) in [(Biases::One, 1), (Biases::Two, 2), (Biases::None, 2)] {
        let pytorch_biases = if biases == Biases::None {
            Biases::None
        } else {
            Biases::Two
        };
        let elman = |b| {
            ElmanStackConfig::new(4, 6)
                .with_num_layers(layers)
                .with_biases(b)
                .with_nonlinearity(Nonlinearity::Relu)
        };
        let w = written_and_read_back!(elman, "rnn.", "nn.RNN", biases, pytorch_biases, layers);
        assert_eq!(
            w.tensor::<2>("rnn.weight_ih_l0", &device).unwrap().dims(),
            [6, 4]
        );
        if biases == Biases::One {
            let b_hh = w.tensor::<1>("rnn.bias_hh_l0", &device).unwrap();
            assert_eq!(b_hh.abs().sum().into_scalar::<f32>(), 0.0);
        }
        if biases == Biases::None {
            assert!(w.names().all(|n| !n.contains("bias")));
        }
        let lstm = |b| {
            LstmStackConfig::new(4, 6)
                .with_num_layers(layers)
                .with_biases(b)
        };
        written_and_read_back!(lstm, "", "nn.LSTM", biases, pytorch_biases, layers);
        let gru = |b| {
            GruStackConfig::new(4, 6)
                .with_num_layers(layers)
                .with_biases(b)
                .with_reset_after(true)
        };
        written_and_read_back!(gru, "", "nn.GRU", biases, pytorch_biases, layers);
    }
    // PyTorch's GRU is reset-after only.
    let gru = GruStackConfig::new(4, 6)
        .with_reset_after(false)
        .init(&device);
    let err = gru
        .to_pytorch(&mut rnn_models::StateDict::new(), "")
        .unwrap_err();
    assert!(err.to_string().contains("reset_after"), "{err}");
}
