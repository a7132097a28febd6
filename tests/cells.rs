//! Cell tests: golden vectors and fused-vs-reference agreement.
//!
//! The backend comes from `RNN_TEST_BACKEND` (default flex), so CI runs this same file on
//! wgpu under Mesa's software Vulkan driver.

use std::path::{Path as FsPath, PathBuf};

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::DType;
use rnn_models::ops::{Cell, cube_launch_plan};
use rnn_models::{
    Biases, ElmanStack, ElmanStackConfig, GruStack, GruStackConfig, LstmOutput, LstmStack,
    LstmStackConfig, LstmState, Nonlinearity, Recurrence, RecurrentInit, RecurrentLayer, RnnOutput,
    Steps,
};
use rnn_train::BackendChoice;
use serde_json::Value;

use crate::compare::{largest_magnitude, within, worst_error};

fn device() -> Device {
    let backend = BackendChoice::from_env("RNN_TEST_BACKEND").expect("RNN_TEST_BACKEND");
    let devices = rnn_train::device::open::open(backend, 1).expect("test backend");
    devices.main().clone().autodiff()
}

/// An additional, independently made set of golden vectors in the same format, checked
/// beside the project's own when `RNN_GOLDEN_DIR` names it.
fn extra_golden_dir() -> Option<PathBuf> {
    std::env::var_os("RNN_GOLDEN_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

// ---------------------------------------------------------------- JSON helpers

fn flat(v: &Value, out: &mut Vec<f32>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
        Value::Number(n) => out.push(n.as_f64().expect("number") as f32),
        other => panic!("expected numbers, found {other}"),
    }
}

fn shape_of(v: &Value) -> Vec<usize> {
    let mut shape = vec![];
    let mut cur = v;
    while let Value::Array(a) = cur {
        shape.push(a.len());
        match a.first() {
            Some(x) => cur = x,
            None => break,
        }
    }
    shape
}

fn tensor<const D: usize>(v: &Value, device: &Device) -> Tensor<D> {
    let mut data = vec![];
    flat(v, &mut data);
    let shape = shape_of(v);
    assert_eq!(shape.len(), D, "rank of {v:.40}");
    Tensor::from_data(TensorData::new(data, shape), device)
}

fn field<'a>(case: &'a Value, key: &str) -> &'a Value {
    case.get(key)
        .unwrap_or_else(|| panic!("golden case lacks field '{key}'"))
}

// ---------------------------------------------------------------- comparison

/// Worst element-wise relative error, `|a - b| / max(|b|, 1e-3)` (`+inf` on any value that
/// is not finite).
fn rel_err(actual: &[f32], expected: &[f32]) -> f64 {
    worst_error(actual, expected, |a, b| (a - b).abs() / b.abs().max(1e-3))
}

/// Error of a field scaled by the field: `max_i |a_i - b_i| / scale`, where `scale` is the
/// field's largest magnitude `max_i |b_i|` unless given (an all-zero field is compared
/// absolutely). Rounding in float32 leaves every entry of a field an error of the order of
/// the field's magnitude times the unit roundoff, whatever the entry's own size; an entry
/// that is small because its terms cancel keeps the error of its terms, which is what
/// made an element-wise relative measure fail on long cases.
fn field_err(actual: &[f32], expected: &[f64], scale: Option<f64>) -> f64 {
    let scale = scale.unwrap_or_else(|| largest_magnitude(expected.iter().copied()));
    let worst = worst_error(actual, expected, |a, b| (a - b).abs());
    if scale > 0.0 { worst / scale } else { worst }
}

/// `sum_i |a_i b_i|` over two fields of a case: the magnitude of the terms of the loss.
fn abs_dot(case: &Value, a: &str, b: &str) -> f64 {
    let (mut x, mut y) = (vec![], vec![]);
    flat64(field(case, a), &mut x);
    flat64(field(case, b), &mut y);
    assert_eq!(x.len(), y.len(), "{a} and {b} differ in size");
    x.iter().zip(&y).map(|(p, q)| (p * q).abs()).sum()
}

fn flat64(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flat64(x, out)),
        Value::Number(n) => out.push(n.as_f64().expect("number")),
        other => panic!("expected numbers, found {other}"),
    }
}

/// Every field's error for one path, in the order the fields were checked.
struct Report {
    fields: Vec<(String, f64)>,
}

impl Report {
    fn new() -> Self {
        Self { fields: vec![] }
    }

    fn check<const D: usize>(&mut self, name: &str, actual: Tensor<D>, expected: &Value) {
        self.check_scaled(name, actual, expected, None);
    }

    /// [`Report::check`] against a given magnitude instead of the field's own.
    fn check_scaled<const D: usize>(
        &mut self,
        name: &str,
        actual: Tensor<D>,
        expected: &Value,
        scale: Option<f64>,
    ) {
        let mut want = vec![];
        flat64(expected, &mut want);
        let got: Vec<f32> = actual
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        self.fields
            .push((name.to_string(), field_err(&got, &want, scale)));
    }

    /// The largest field error and its field (a field that is not finite counts as the
    /// largest).
    fn worst(&self) -> (f64, &str) {
        self.fields.iter().fold((0.0, ""), |(w, n), (name, e)| {
            let e = if e.is_finite() { *e } else { f64::INFINITY };
            if e > w || n.is_empty() {
                (e, name)
            } else {
                (w, n)
            }
        })
    }
}

/// Float32 unit roundoff.
const U32: f64 = 1.0 / (1u64 << 24) as f64;

/// The error a correct float32 recurrence may have on a case, as a fraction of each
/// field's largest magnitude.
///
/// Every step of a layer forms sums of `n = max(input, hidden) + hidden + 2` rounded
/// products (a deeper layer's input is the hidden state below; the loaded float64 values
/// add their own representation error), so its states carry a relative error of
/// order `n u`; the forward pass chains `T` steps through `L` layers, and the backward
/// pass chains as many again, so the errors of up to `2 T L` such steps add up. Rounding
/// errors of independent steps have random signs and add like a random walk, which
/// gives `n u sqrt(2 T L)`; a safety factor of 8 covers the nonlinearities (`exp`,
/// `tanh` are a few ulp off on some backends) and the gain of a stack whose Jacobians
/// are not contractions (an IRNN's recurrent matrix is close to the identity).
/// This gives 2e-5 to 5e-5 for the short cases (1-2 layers, up to 20 steps) and 1.1e-4 to
/// 1.5e-4 for the long ones (3 layers over 60 steps, 200 steps); both paths stay 40
/// to 200 times below it on the CPU backends. A formula error (a wrong sign, a gate
/// swapped, a term lost) shows as an error of order 1e-2 to 1; a smaller fault that hides
/// under the tolerance is what the comparison with the reference path ([`FUSED_FACTOR`])
/// is for.
fn tolerance(input: usize, hidden: usize, layers: usize, steps: usize) -> f64 {
    let n = (input.max(hidden) + hidden + 2) as f64;
    8.0 * n * U32 * ((2 * steps * layers) as f64).sqrt()
}

/// The fused path may be worse than the reference path by at most this factor ...
const FUSED_FACTOR: f64 = 4.0;
/// ... plus this floor, a few float32 roundings: on a field that the reference path
/// happens to get almost exactly, the fused path's different summation order must not
/// count as a fault.
const FUSED_FLOOR: f64 = 16.0 * U32;

// ---------------------------------------------------------------- weight mapping

/// Gate names of each kind, in the packing order of the fused weights.
fn gate_names(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "elman_tanh" | "elman_relu" => Some(&[""]),
        "lstm" => Some(&["i", "f", "g", "o"]),
        "gru" | "gru_reset_before" => Some(&["r", "z", "n"]),
        _ => None,
    }
}

/// Packs per-gate `W [H, in]` matrices into `[in, G]` and biases into `[G]`.
fn load_layer(layer: &mut RecurrentLayer, params: &Value, gates: &[&str], device: &Device) {
    let w = |side: &str| -> Tensor<2> {
        let parts = gates
            .iter()
            .map(|g| {
                let k = if g.is_empty() {
                    format!("W_{side}h")
                } else {
                    format!("W_{side}{g}")
                };
                tensor::<2>(field(params, &k), device).transpose()
            })
            .collect();
        Tensor::cat(parts, 1)
    };
    let b = |side: &str| -> Tensor<1> {
        let parts = gates
            .iter()
            .map(|g| {
                let k = if g.is_empty() {
                    format!("b_{side}h")
                } else {
                    format!("b_{side}{g}")
                };
                tensor::<1>(field(params, &k), device)
            })
            .collect();
        Tensor::cat(parts, 0)
    };
    layer.w_ih = Param::from_tensor(w("i"));
    layer.w_hh = Param::from_tensor(w("h"));
    layer.b_ih = Some(Param::from_tensor(b("i")));
    layer.b_hh = Some(Param::from_tensor(b("h")));
}

/// Checks a layer's parameter gradients against the case's per-gate `grad_params`.
fn check_layer_grads(
    report: &mut Report,
    l: usize,
    layer: &RecurrentLayer,
    grads: &burn::tensor::Gradients,
    expected: &Value,
    gates: &[&str],
) {
    let h = layer.hidden_size();
    let gw_ih = layer.w_ih.val().grad(grads).expect("grad w_ih");
    let gw_hh = layer.w_hh.val().grad(grads).expect("grad w_hh");
    let gb_ih = layer
        .b_ih
        .as_ref()
        .unwrap()
        .val()
        .grad(grads)
        .expect("grad b_ih");
    let gb_hh = layer
        .b_hh
        .as_ref()
        .unwrap()
        .val()
        .grad(grads)
        .expect("grad b_hh");
    for (j, g) in gates.iter().enumerate() {
        let cols = j * h..(j + 1) * h;
        for (side, gw, gb) in [("i", &gw_ih, &gb_ih), ("h", &gw_hh, &gb_hh)] {
            let suffix = if g.is_empty() {
                "h".to_string()
            } else {
                g.to_string()
            };
            let wk = format!("W_{side}{suffix}");
            let bk = format!("b_{side}{suffix}");
            let rows = gw.dims()[0];
            let wpart = gw.clone().slice([0..rows, cols.clone()]).transpose();
            report.check(
                &format!("grad_params[{l}].{wk}"),
                wpart,
                field(expected, &wk),
            );
            report.check(
                &format!("grad_params[{l}].{bk}"),
                gb.clone().slice([cols.clone()]),
                field(expected, &bk),
            );
        }
    }
}

enum Model {
    Elman(ElmanStack),
    Lstm(LstmStack),
    Gru(GruStack),
}

impl Model {
    fn layers(&self) -> &[RecurrentLayer] {
        match self {
            Model::Elman(m) => &m.layers,
            Model::Lstm(m) => &m.layers,
            Model::Gru(m) => &m.layers,
        }
    }

    fn layers_mut(&mut self) -> &mut Vec<RecurrentLayer> {
        match self {
            Model::Elman(m) => &mut m.layers,
            Model::Lstm(m) => &mut m.layers,
            Model::Gru(m) => &mut m.layers,
        }
    }
}

fn run_case(case: &Value, path: Recurrence, device: &Device) -> Result<Report, String> {
    let kind = field(case, "kind").as_str().unwrap_or_default().to_string();
    let gates = gate_names(&kind).ok_or_else(|| format!("unknown cell kind '{kind}'"))?;
    let n = |k: &str| field(case, k).as_u64().expect("integer field") as usize;
    let (d, h, layers) = (n("input_size"), n("hidden_size"), n("num_layers"));
    let mut model = match kind.as_str() {
        "elman_tanh" | "elman_relu" => {
            let nl = if kind == "elman_relu" {
                Nonlinearity::Relu
            } else {
                Nonlinearity::Tanh
            };
            Model::Elman(
                ElmanStackConfig::new(d, h)
                    .with_num_layers(layers)
                    .with_nonlinearity(nl)
                    .init(device),
            )
        }
        "lstm" => Model::Lstm(
            LstmStackConfig::new(d, h)
                .with_num_layers(layers)
                .init(device),
        ),
        _ => Model::Gru(
            GruStackConfig::new(d, h)
                .with_num_layers(layers)
                .with_reset_after(kind == "gru")
                .init(device),
        ),
    };
    let params = field(case, "params").as_array().expect("params list");
    for (layer, p) in model.layers_mut().iter_mut().zip(params) {
        load_layer(layer, p, gates, device);
    }

    let x = tensor::<3>(field(case, "input"), device).require_grad();
    let h0 = tensor::<3>(field(case, "h0"), device).require_grad();
    let cot_out = tensor::<3>(field(case, "cot_outputs"), device);
    let cot_h = tensor::<3>(field(case, "cot_h_final"), device);
    let mut report = Report::new();
    let check_recurrence = |recurrence: Recurrence| {
        if recurrence == path {
            Ok(())
        } else {
            Err(format!("{path} ran as {recurrence:?}"))
        }
    };
    let (loss, c0) = match &model {
        Model::Elman(m) => {
            let out = m.run(x.clone(), Some(h0.clone()), Steps::All, path);
            check_recurrence(out.recurrence)?;
            report.check("outputs", out.output.clone(), field(case, "outputs"));
            report.check("h_final", out.h_n.clone(), field(case, "h_final"));
            ((out.output * cot_out).sum() + (out.h_n * cot_h).sum(), None)
        }
        Model::Gru(m) => {
            let out = m.run(x.clone(), Some(h0.clone()), Steps::All, path);
            check_recurrence(out.recurrence)?;
            report.check("outputs", out.output.clone(), field(case, "outputs"));
            report.check("h_final", out.h_n.clone(), field(case, "h_final"));
            ((out.output * cot_out).sum() + (out.h_n * cot_h).sum(), None)
        }
        Model::Lstm(m) => {
            let c0 = tensor::<3>(field(case, "c0"), device).require_grad();
            let cot_c = tensor::<3>(field(case, "cot_c_final"), device);
            let state = LstmState::new(c0.clone(), h0.clone());
            let out = m.run(x.clone(), Some(state), Steps::All, path);
            check_recurrence(out.recurrence)?;
            report.check("outputs", out.output.clone(), field(case, "outputs"));
            report.check("h_final", out.state.hidden.clone(), field(case, "h_final"));
            report.check("c_final", out.state.cell.clone(), field(case, "c_final"));
            let loss = (out.output * cot_out).sum()
                + (out.state.hidden * cot_h).sum()
                + (out.state.cell * cot_c).sum();
            (loss, Some(c0))
        }
    };
    // The loss is a sum of products whose signs mix, so it can be far smaller than its
    // terms; its rounding error is relative to the sum of their magnitudes.
    let mut terms =
        abs_dot(case, "outputs", "cot_outputs") + abs_dot(case, "h_final", "cot_h_final");
    if c0.is_some() {
        terms += abs_dot(case, "c_final", "cot_c_final");
    }
    report.check_scaled(
        "loss_value",
        loss.clone(),
        &Value::from(vec![field(case, "loss_value").clone()]),
        Some(terms),
    );
    let grads = loss.backward();
    report.check(
        "grad_input",
        x.grad(&grads).expect("grad input"),
        field(case, "grad_input"),
    );
    report.check(
        "grad_h0",
        h0.grad(&grads).expect("grad h0"),
        field(case, "grad_h0"),
    );
    if let Some(c0) = c0 {
        report.check(
            "grad_c0",
            c0.grad(&grads).expect("grad c0"),
            field(case, "grad_c0"),
        );
    }
    let expected = field(case, "grad_params")
        .as_array()
        .expect("grad_params list");
    for (l, (layer, e)) in model.layers().iter().zip(expected).enumerate() {
        check_layer_grads(&mut report, l, layer, &grads, e, gates);
    }
    Ok(report)
}

fn golden_cases(dir: &FsPath) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read golden directory {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// The project's own cases (short ones, and `heldout_*`: deeper stacks, longer sequences),
/// written by `tests/golden/generate.py`. Cargo's run-time value of the package directory: a
/// shared build directory may hold a binary compiled in another checkout, whose compile-time
/// path would be stale.
fn own_golden_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("tests/golden")
}

/// Checks one case through both paths; `Err` holds what failed.
fn golden_case(file: &FsPath, device: &Device) -> Result<String, String> {
    let text = std::fs::read_to_string(file).expect("read golden case");
    let case: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", file.display()));
    let name = case
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| file.file_stem().unwrap().to_string_lossy().into_owned());
    let n = |k: &str| field(&case, k).as_u64().expect("integer field") as usize;
    let tol = tolerance(
        n("input_size"),
        n("hidden_size"),
        n("num_layers"),
        n("seq_len"),
    );
    let fused = run_case(&case, Recurrence::Fused, device).map_err(|e| format!("{name}: {e}"))?;
    let reference =
        run_case(&case, Recurrence::TensorOps, device).map_err(|e| format!("{name}: {e}"))?;
    let (fw, ff) = fused.worst();
    let (rw, rf) = reference.worst();
    let mut faults = vec![];
    for (path, r) in [("fused", &fused), ("reference", &reference)] {
        for (f, e) in &r.fields {
            if !within(*e, tol) {
                faults.push(format!("{path} {f} {e:.2e} > {tol:.1e}"));
            }
        }
    }
    // Field by field, the fused path against what the plain ops achieve.
    assert_eq!(fused.fields.len(), reference.fields.len());
    let mut excess = (0.0f64, "");
    for ((f, a), (_, b)) in fused.fields.iter().zip(&reference.fields) {
        let allowed = FUSED_FACTOR * b + FUSED_FLOOR;
        let used = if a.is_finite() {
            a / allowed
        } else {
            f64::INFINITY
        };
        if used > excess.0 {
            excess = (used, f);
        }
        if !within(*a, allowed) {
            faults.push(format!(
                "fused {f} {a:.2e} > {FUSED_FACTOR} x reference {b:.2e} + {FUSED_FLOOR:.1e}"
            ));
        }
    }
    let line = format!(
        "golden {name}: fused {fw:.2e} ({ff}), reference {rw:.2e} ({rf}), tolerance {tol:.1e}; \
         fused uses at most {:.2} of {FUSED_FACTOR} x reference + floor ({})",
        excess.0, excess.1
    );
    const SHOWN: usize = 6;
    match faults.len() {
        0 => Ok(format!("{line}: ok")),
        n if n <= SHOWN => Err(format!("{line}: FAILED: {}", faults.join("; "))),
        n => Err(format!(
            "{line}: FAILED: {}; and {} more",
            faults[..SHOWN].join("; "),
            n - SHOWN
        )),
    }
}

/// Every `*.json` in `tests/golden` (and in `RNN_GOLDEN_DIR` when set), through both paths,
/// each field within [`tolerance`] of the float64 values and the fused path within
/// [`FUSED_FACTOR`] of the reference path.
#[test]
fn golden_vectors() {
    let device = device();
    let own_dir = own_golden_dir();
    let own = golden_cases(&own_dir);
    assert!(!own.is_empty(), "no golden cases in {}", own_dir.display());
    let extra = match extra_golden_dir() {
        Some(dir) => {
            let files = golden_cases(&dir);
            assert!(!files.is_empty(), "no golden cases in {}", dir.display());
            files
        }
        None => vec![],
    };
    let mut failures = vec![];
    for file in own.iter().chain(&extra) {
        match golden_case(file, &device) {
            Ok(line) => println!("{line}"),
            Err(msg) => {
                println!("{msg}");
                failures.push(msg);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden failures:\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------- fused vs reference

/// A small deterministic generator, so the random shapes are the same on every backend.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn tensor<const D: usize>(
        &mut self,
        shape: [usize; D],
        scale: f32,
        device: &Device,
    ) -> Tensor<D> {
        let n = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|_| self.next() * scale).collect();
        Tensor::from_data(TensorData::new(data, shape), device)
    }
}

/// The output of a stack's run and the recurrence that computed it.
trait Ran {
    fn ran(self) -> (Tensor<3>, Recurrence);
}

impl Ran for RnnOutput {
    fn ran(self) -> (Tensor<3>, Recurrence) {
        (self.output, self.recurrence)
    }
}

impl Ran for LstmOutput {
    fn ran(self) -> (Tensor<3>, Recurrence) {
        (self.output, self.recurrence)
    }
}

/// Runs `f` on both paths and compares the output and the gradients of a random
/// projection of it w.r.t. the input and every parameter.
fn compare_paths<M: Module>(
    name: &str,
    model: &M,
    x: &Tensor<3>,
    f: impl Fn(&M, Tensor<3>, Recurrence) -> (Tensor<3>, Recurrence),
    rng: &mut Lcg,
) {
    let device = x.device();
    let mut results = vec![];
    let mut probe: Option<Tensor<3>> = None;
    for path in [Recurrence::Fused, Recurrence::TensorOps] {
        let x = x.clone().detach().require_grad();
        let (out, recurrence) = f(model, x.clone(), path);
        assert_eq!(recurrence, path, "{name}: {path} ran as {recurrence:?}");
        let probe = probe.get_or_insert_with(|| rng.tensor(out.dims(), 1.0, &device));
        let loss = (out.clone() * probe.clone()).sum();
        let grads = loss.backward();
        let mut params: Vec<Vec<f32>> = vec![];
        let mut visitor = CollectGrads {
            grads: &grads,
            out: &mut params,
        };
        model.visit(&mut visitor);
        let gx: Vec<f32> = x
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let o: Vec<f32> = out.into_data().try_to_vec::<f32>().unwrap();
        results.push((o, gx, params));
    }
    let (fused, reference) = (&results[0], &results[1]);
    // Element-wise relative error, floored at 5% of the field's largest magnitude: the two
    // paths sum in different orders, and a sum of mixed signs can leave a small entry with
    // a float32 rounding error that is large relative to the entry alone (seen: 1.4e-4 of
    // 1% of the largest entry of a 3-element GRU gradient, i.e. 1.4e-6 of that entry).
    // Also floored at `ABS_FLOOR`, an absolute error of `tol * ABS_FLOOR` = 5e-6 on any
    // entry: the probe's entries are in [-1, 1], so the gradients reaching the outputs are
    // of order 1, and near saturation the two paths' sigmoid and tanh differ by a rounding
    // of the activation itself, which leaves a derivative such as `s (1 - s)` no relative
    // precision. A whole field can then be tiny and wrong only in its rounding (seen, with
    // hidden 1 and MinPy's initialisation, whose weights of std ~1.5 saturate the gates: a
    // one-element gradient of -1.7e-7 against 0, and 7.4e-7 against 6.8e-7, in about one
    // run in five, as the weights are drawn anew at every run). A wrong formula shows up as
    // an error of order 1; the golden vectors check every gradient against float64 values.
    const ABS_FLOOR: f64 = 5e-2;
    let rel_err = |a: &[f32], b: &[f32]| {
        let scale = largest_magnitude(b.iter().map(|&v| v as f64));
        worst_error(a, b, |x, y| {
            (x - y).abs() / y.abs().max(5e-2 * scale).max(ABS_FLOOR)
        })
    };
    let tol = 1e-4;
    let e = rel_err(&fused.0, &reference.0);
    assert!(within(e, tol), "{name}: output differs (rel {e:.2e})");
    let e = rel_err(&fused.1, &reference.1);
    assert!(
        within(e, tol),
        "{name}: input gradient differs (rel {e:.2e})"
    );
    assert_eq!(fused.2.len(), reference.2.len());
    for (i, (a, b)) in fused.2.iter().zip(&reference.2).enumerate() {
        let e = rel_err(a, b);
        assert!(
            within(e, tol),
            "{name}: gradient of parameter #{i} differs (rel {e:.2e})"
        );
    }
}

struct CollectGrads<'a> {
    grads: &'a burn::tensor::Gradients,
    out: &'a mut Vec<Vec<f32>>,
}

impl burn::module::ModuleVisitor for CollectGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = param.val().grad(self.grads) {
            self.out.push(g.into_data().try_to_vec::<f32>().unwrap());
        }
    }
}

/// Odd shapes included: hidden 1, 3 and 257, batch 1, a single time step.
const SHAPES: [(usize, usize, usize, usize); 6] = [
    // (batch, time, input, hidden)
    (2, 5, 3, 4),
    (1, 7, 2, 3),
    (3, 1, 4, 5),
    (4, 6, 1, 1),
    (2, 3, 5, 257),
    (1, 9, 3, 8),
];

#[test]
fn fused_matches_tensor_ops_on_random_shapes() {
    let device = device();
    let mut rng = Lcg(42);
    // Under a software GPU driver every per-step kernel launch of the tensor-op reference
    // costs milliseconds; there the test keeps the shapes that cover batch 1, T = 1, an odd
    // hidden size, and hidden 257, whose recurrent matrix no device holds in shared memory
    // (see `launch_plans_take_every_branch`).
    let backend = BackendChoice::from_env("RNN_TEST_BACKEND").unwrap();
    let shapes: Vec<_> = match backend {
        BackendChoice::Flex | BackendChoice::Ndarray => SHAPES.to_vec(),
        _ => vec![SHAPES[1], SHAPES[2], SHAPES[4]],
    };
    for (b, t, d, h) in shapes {
        let x = rng.tensor([b, t, d], 1.0, &device);
        let h0 = rng.tensor([2, b, h], 0.5, &device);
        for nl in [Nonlinearity::Tanh, Nonlinearity::Relu] {
            // The ReLU variant also covers a layer without biases.
            let m = ElmanStackConfig::new(d, h)
                .with_num_layers(2)
                .with_nonlinearity(nl)
                .with_biases(if nl == Nonlinearity::Tanh {
                    Biases::Two
                } else {
                    Biases::None
                })
                .init(&device);
            let s = h0.clone();
            compare_paths(
                &format!("elman {nl:?} {b}x{t}x{d}x{h}"),
                &m,
                &x,
                |m, x, p| {
                    let o = m.run(x, Some(s.clone()), Steps::All, p);
                    (
                        Tensor::cat(vec![o.output, o.h_n.swap_dims(0, 1)], 1),
                        o.recurrence,
                    )
                },
                &mut rng,
            );
            compare_paths(
                &format!("elman-last {nl:?} {b}x{t}x{d}x{h}"),
                &m,
                &x,
                |m, x, p| m.run(x, None, Steps::Last, p).ran(),
                &mut rng,
            );
        }
        let m = ElmanStackConfig::irnn(d, h).init(&device);
        compare_paths(
            &format!("irnn-last {b}x{t}x{d}x{h}"),
            &m,
            &x,
            |m, x, p| m.run(x, None, Steps::Last, p).ran(),
            &mut rng,
        );
        let m = LstmStackConfig::new(d, h)
            .with_num_layers(2)
            .with_forget_bias(Some(1.0))
            .init(&device);
        let c0 = rng.tensor([2, b, h], 0.5, &device);
        for steps in [Steps::All, Steps::Last] {
            let st = LstmState::new(c0.clone(), h0.clone());
            compare_paths(
                &format!("lstm {steps:?} {b}x{t}x{d}x{h}"),
                &m,
                &x,
                |m, x, p| {
                    let o = m.run(x, Some(st.clone()), steps, p);
                    let all = vec![
                        o.output,
                        o.state.hidden.swap_dims(0, 1),
                        o.state.cell.swap_dims(0, 1),
                    ];
                    (Tensor::cat(all, 1), o.recurrence)
                },
                &mut rng,
            );
        }
        // Without biases, with one (MinPy, Chainer), and PyTorch's default two.
        for biases in [Biases::None, Biases::One, Biases::Two] {
            let m = LstmStackConfig::new(d, h).with_biases(biases).init(&device);
            compare_paths(
                &format!("lstm biases={biases:?} {b}x{t}x{d}x{h}"),
                &m,
                &x,
                |m, x, p| m.run(x, None, Steps::Last, p).ran(),
                &mut rng,
            );
        }
        // MinPy's GRU: one bias, the candidate's tensors stored apart, reset before.
        let m = GruStackConfig::new(d, h)
            .with_reset_after(false)
            .with_biases(Biases::One)
            .with_split_candidate(true)
            .with_init(RecurrentInit::MinPyXavier)
            .init(&device);
        compare_paths(
            &format!("gru minpy {b}x{t}x{d}x{h}"),
            &m,
            &x,
            |m, x, p| m.run(x, None, Steps::All, p).ran(),
            &mut rng,
        );
        for reset_after in [true, false] {
            // The reset-before variant also covers a layer without biases.
            let m = GruStackConfig::new(d, h)
                .with_num_layers(2)
                .with_reset_after(reset_after)
                .with_biases(if reset_after {
                    Biases::Two
                } else {
                    Biases::None
                })
                .init(&device);
            for steps in [Steps::All, Steps::Last] {
                let s = h0.clone();
                compare_paths(
                    &format!("gru reset_after={reset_after} {steps:?} {b}x{t}x{d}x{h}"),
                    &m,
                    &x,
                    |m, x, p| {
                        let o = m.run(x, Some(s.clone()), steps, p);
                        (
                            Tensor::cat(vec![o.output, o.h_n.swap_dims(0, 1)], 1),
                            o.recurrence,
                        )
                    },
                    &mut rng,
                );
            }
        }
    }
}

/// Gates driven far into saturation (|pre-activation| > 45, where `exp` overflows f32 past
/// 88 and a kernel's own tanh and logistic function must still give ±1, 0 and 1): fused
/// against tensor ops, every cell with a squashing activation.
#[test]
fn saturated_gates_match_tensor_ops() {
    let device = device();
    let mut rng = Lcg(91);
    let (b, t, d, h) = (3, 6, 4, 8);
    let x = rng.tensor([b, t, d], 150.0, &device);
    let largest_pre_activation = |w_ih: Tensor<2>| -> f32 {
        x.clone()
            .reshape([b * t, d])
            .matmul(w_ih)
            .abs()
            .max()
            .into_scalar::<f32>()
    };
    let elman = ElmanStackConfig::new(d, h).init(&device);
    let lstm = LstmStackConfig::new(d, h).init(&device);
    let grus = [true, false].map(|reset_after| {
        GruStackConfig::new(d, h)
            .with_reset_after(reset_after)
            .init(&device)
    });
    for w in [&elman.layers[0], &lstm.layers[0], &grus[0].layers[0]] {
        let largest = largest_pre_activation(w.input_weights());
        assert!(largest > 45.0, "the input reaches only {largest}");
    }
    compare_paths(
        "elman tanh saturated",
        &elman,
        &x,
        |m, x, p| m.run(x, None, Steps::All, p).ran(),
        &mut rng,
    );
    compare_paths(
        "lstm saturated",
        &lstm,
        &x,
        |m, x, p| {
            let o = m.run(x, None, Steps::All, p);
            (
                Tensor::cat(vec![o.output, o.state.cell.swap_dims(0, 1)], 1),
                o.recurrence,
            )
        },
        &mut rng,
    );
    for (gru, name) in grus
        .iter()
        .zip(["gru reset after saturated", "gru reset before saturated"])
    {
        compare_paths(
            name,
            gru,
            &x,
            |m, x, p| m.run(x, None, Steps::All, p).ran(),
            &mut rng,
        );
    }
}

/// The launch plans of the fused CubeCL kernels for the layers the comparisons above run:
/// hidden 257 (`fused_matches_tensor_ops_on_random_shapes`, batch 2), whose 257 x G matrix of
/// at least 264 196 bytes no device's shared memory holds, so each step reads it from
/// global memory; hidden 8 (`saturated_gates_match_tensor_ops`, batch 3), whose matrix of
/// at most 8 x 32 floats (1 KiB) fits any device's. Every cell kind, printed and asserted;
/// `RNN_BURN_CUBE_ROWS` and `RNN_BURN_CUBE_SPLITS` must be taken as asked (CI runs this
/// file with and without them), and a CPU adapter splits neither product unless asked.
/// On a backend without CubeCL there is no plan.
#[test]
fn launch_plans_take_every_branch() {
    let device = device();
    let backend = BackendChoice::from_env("RNN_TEST_BACKEND").unwrap();
    let cube = !matches!(backend, BackendChoice::Flex | BackendChoice::Ndarray);
    let asked = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
    };
    let (rows, splits) = (asked("RNN_BURN_CUBE_ROWS"), asked("RNN_BURN_CUBE_SPLITS"));
    for cell in Cell::ALL {
        for (b, h) in [(2, 257), (3, 8)] {
            let plan = cube_launch_plan(&device, cell, b, h, DType::F32);
            if !cube {
                assert_eq!(plan, None, "{cell:?}: a plan off CubeCL");
                continue;
            }
            let plan = plan.unwrap_or_else(|| panic!("{cell:?} h {h}: the generic loop ran"));
            println!("launch plan {cell:?} batch {b} hidden {h}: {plan:?}");
            assert_eq!(plan.weights_in_shared, h == 8, "{cell:?} h {h}: {plan:?}");
            assert_eq!(
                plan.cubes,
                b.div_ceil(plan.rows),
                "{cell:?} h {h}: {plan:?}"
            );
            // What is asked is taken where shared memory allows it, which it always does at
            // hidden 8 (both products there sum over at least 8 terms); at hidden 257 it may
            // take fewer.
            if let Some(r) = rows.map(|r| r.max(1)) {
                assert!(plan.rows <= r, "{cell:?} h {h}: {plan:?}");
                assert!(h != 8 || plan.rows == r, "{cell:?} h {h}: {plan:?}");
            }
            match splits.map(|n| n.max(1)) {
                Some(n) if h == 8 && n <= 8 => assert_eq!(plan.splits, (n, n), "{plan:?}"),
                Some(n) => assert!(plan.splits.0 <= n && plan.splits.1 <= n, "{plan:?}"),
                None if !plan.on_gpu => assert_eq!(plan.splits, (1, 1), "{plan:?}"),
                None => {}
            }
        }
    }
}

#[test]
fn irnn_initialisation_is_identity_and_small_gaussian() {
    let device = device();
    let m = ElmanStackConfig::irnn(1, 100).init(&device);
    let layer = &m.layers[0];
    let w_hh: Vec<f32> = layer.w_hh.val().into_data().try_to_vec::<f32>().unwrap();
    for i in 0..100 {
        for j in 0..100 {
            assert_eq!(w_hh[i * 100 + j], if i == j { 1.0 } else { 0.0 });
        }
    }
    let w_ih: Vec<f32> = layer.w_ih.val().into_data().try_to_vec::<f32>().unwrap();
    let std = (w_ih.iter().map(|v| v * v).sum::<f32>() / w_ih.len() as f32).sqrt();
    assert!(std > 3e-4 && std < 3e-3, "input weight std {std}");
    let b: Vec<f32> = layer
        .b_ih
        .as_ref()
        .unwrap()
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert!(b.iter().all(|&v| v == 0.0));
    assert!(m.relu);
}

#[test]
fn forward_last_keeps_only_the_last_step() {
    let device = device();
    let mut rng = Lcg(7);
    let x = rng.tensor([3, 11, 2], 1.0, &device);
    let m = GruStackConfig::new(2, 6).init(&device);
    let all = m.forward(x.clone(), None);
    let last = m.forward_last(x, None);
    assert_eq!(last.output.dims(), [3, 1, 6]);
    let a: Vec<f32> = all.last().into_data().try_to_vec::<f32>().unwrap();
    let b: Vec<f32> = last.last().into_data().try_to_vec::<f32>().unwrap();
    assert!(within(rel_err(&b, &a), 1e-6));
}
