//! Every experiment's default model against the framework its tutorial uses, tensor for
//! tensor: the exact list of parameter tensors (names are the project's; shapes, order and
//! count are the framework's, transposed where the framework stores `[out, in]`), the total,
//! the initial distributions (checked on the drawn values), and the update rule (optimiser
//! and clipping as configured by default).
//!
//! The framework facts come from their sources, named at each test.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use rnn_train::{
    ClipScope, EpsilonForm, OptimizerConfig, ParamTensor, TaskModel, parameter_tensors,
};

fn device() -> Device {
    let device = Device::flex();
    device.seed(3);
    device
}

/// `(name, shape)` of every tensor, and the total.
fn listing<M: Module>(model: &M) -> (Vec<(String, Vec<usize>)>, usize) {
    let tensors: Vec<ParamTensor> = parameter_tensors(model);
    let total = tensors.iter().map(|t| t.count).sum();
    assert_eq!(total, model.num_params(), "the listing misses a parameter");
    (
        tensors.into_iter().map(|t| (t.name, t.shape)).collect(),
        total,
    )
}

fn expect(list: &[(&str, &[usize])]) -> Vec<(String, Vec<usize>)> {
    list.iter()
        .map(|(n, s)| (n.to_string(), s.to_vec()))
        .collect()
}

/// Every parameter's values by name.
fn values<M: Module>(model: &M) -> Vec<(String, Vec<f32>)> {
    struct Collect {
        path: Vec<String>,
        out: Vec<(String, Vec<f32>)>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let v = param.val().into_data().try_to_vec::<f32>().unwrap();
            self.out.push((self.path.join("."), v));
        }
    }
    let mut c = Collect {
        path: vec![],
        out: vec![],
    };
    model.visit(&mut c);
    c.out
}

fn get<'a>(values: &'a [(String, Vec<f32>)], name: &str) -> &'a [f32] {
    &values
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no parameter {name}"))
        .1
}

/// Mean and standard deviation.
fn moments(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Drawn from N(0, std): mean near 0, std within 10 %, and (unlike a uniform of that std)
/// values beyond 1.9 std present in about 5.7 % of the draws.
fn assert_normal(name: &str, v: &[f32], std: f64) {
    assert!(v.len() >= 1000, "{name}: too few values to test");
    let (m, s) = moments(v);
    assert!(m.abs() < 0.1 * std, "{name}: mean {m} for std {std}");
    assert!(
        (s / std - 1.0).abs() < 0.1,
        "{name}: std {s}, expected {std}"
    );
    let tail = v.iter().filter(|&&x| (x as f64).abs() > 1.9 * std).count() as f64;
    let frac = tail / v.len() as f64;
    assert!(
        frac > 0.03 && frac < 0.09,
        "{name}: {frac} beyond 1.9 std: not normal"
    );
}

/// Drawn from U(-bound, bound): inside the bound, spread over it.
fn assert_uniform(name: &str, v: &[f32], bound: f64) {
    assert!(v.len() >= 10, "{name}: too few values to test");
    let max = crate::compare::largest_magnitude(v.iter().map(|&x| x as f64));
    assert!(
        max <= bound * (1.0 + 1e-6),
        "{name}: {max} outside ±{bound}"
    );
    if v.len() >= 200 {
        assert!(max > 0.9 * bound, "{name}: largest {max} for bound {bound}");
        let (_, s) = moments(v);
        let want = bound / 3f64.sqrt();
        assert!(
            (s / want - 1.0).abs() < 0.12,
            "{name}: std {s}, uniform's {want}"
        );
    }
}

fn assert_zeros(name: &str, v: &[f32]) {
    assert!(v.iter().all(|&x| x == 0.0), "{name}: not all zero");
}

/// irnn-mnist against NeoML (neoml-lib/neoml): `CIrnnLayer` (NeoML/src/Dnn/Layers/
/// IrnnLayer.cpp) is an input `FullyConnected` and a recurrent `FullyConnected`, each with a
/// free term; it sets the recurrent weights to `identityScale * I`, the input weights to
/// N(0, inputWeightStd) and both free terms to zero. The output `FullyConnected(10)` takes
/// the network's default `CDnnXavierInitializer` (NeoML/src/Dnn/DnnInitializer.cpp: normal,
/// variance 1 / n, with n = half the input count, passed by BaseLayer.cpp's
/// `InitializeParamBlob`) and a zero free term. `CDnnSolver::Train` (DnnSolver.cpp) clips each
/// layer's gradient by its own norm; `CDnnAdaptiveGradientSolver` adds epsilon (1e-6) to the
/// square root of the uncorrected second moment.
#[test]
fn irnn_mnist_is_neomls_network() {
    let config = irnn_mnist::IrnnMnistConfig::new();
    let model = config.model.init(config.view.features(), &device());
    let (list, total) = listing(&model);
    assert_eq!(
        list,
        expect(&[
            ("irnn.layers.0.w_ih", &[1, 100]), // inputFc weights (NeoML [100, 1])
            ("irnn.layers.0.w_hh", &[100, 100]), // recurFc weights
            ("irnn.layers.0.b_ih", &[100]),    // inputFc free term
            ("irnn.layers.0.b_hh", &[100]),    // recurFc free term
            ("output.weight", &[100, 10]),     // FullyConnected(10) weights (NeoML [10, 100])
            ("output.bias", &[10]),            // its free term
        ])
    );
    assert_eq!(total, 11_310);

    let v = values(&model);
    let w_hh = get(&v, "irnn.layers.0.w_hh");
    for i in 0..100 {
        for j in 0..100 {
            assert_eq!(w_hh[i * 100 + j], if i == j { 1.0 } else { 0.0 });
        }
    }
    let (_, s) = moments(get(&v, "irnn.layers.0.w_ih"));
    assert!((s / 1e-3 - 1.0).abs() < 0.3, "input weight std {s}");
    assert_zeros("b_ih", get(&v, "irnn.layers.0.b_ih"));
    assert_zeros("b_hh", get(&v, "irnn.layers.0.b_hh"));
    assert_normal(
        "output.weight",
        get(&v, "output.weight"),
        (2.0f64 / 100.0).sqrt(),
    );
    assert_zeros("output.bias", get(&v, "output.bias"));

    // The update rule.
    assert_eq!(
        config.optimizer,
        OptimizerConfig::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-6,
            epsilon_form: EpsilonForm::Uncorrected,
        }
    );
    let t = &config.training;
    assert_eq!((t.lr, t.batch_size, t.epochs), (1e-6, 40, 200));
    assert_eq!((t.clip_norm, t.clip_scope), (Some(1.0), ClipScope::Layer));
    assert!(!t.shuffle);
    // NeoML's three layers, each clipped alone: 1·100 + 100, 100·100 + 100, 100·10 + 10.
    let tensors_per_layer: Vec<usize> = model.layers().iter().map(Vec::len).collect();
    assert_eq!(tensors_per_layer, vec![2, 2, 2]);
    let counts: Vec<usize> = model
        .layers()
        .iter()
        .map(|group| group_count(&model, group))
        .collect();
    assert_eq!(counts, vec![200, 10_100, 1_010]);
}

/// Scalars in a group of parameter ids.
fn group_count<M: Module>(model: &M, group: &[(burn::module::ParamId, usize)]) -> usize {
    struct Count<'a> {
        ids: &'a [(burn::module::ParamId, usize)],
        n: usize,
    }
    impl ModuleVisitor for Count<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.ids.iter().any(|(id, _)| *id == param.id) {
                self.n += param.dims().iter().product::<usize>();
            }
        }
    }
    let mut c = Count { ids: group, n: 0 };
    model.visit(&mut c);
    c.n
}

/// elman-mnist against PyTorch: `nn.RNN(28, 256, num_layers=2)` has `weight_ih_l{k}`,
/// `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}` per layer, all ~ U(±1/sqrt(256))
/// (torch/nn/modules/rnn.py `reset_parameters`); `nn.Linear(256 * 28, 10)` draws weight and
/// bias from U(±1/sqrt(7168)) (torch/nn/modules/linear.py). Adam with PyTorch's defaults.
#[test]
fn elman_mnist_is_pytorchs_network() {
    let config = elman_mnist::ElmanMnistConfig::new();
    let view = config.view;
    let model = config.model.init(view.features(), view.steps(), &device());
    let (list, total) = listing(&model);
    assert_eq!(
        list,
        expect(&[
            ("rnn.layers.0.w_ih", &[28, 256]),  // weight_ih_l0 [256, 28]
            ("rnn.layers.0.w_hh", &[256, 256]), // weight_hh_l0
            ("rnn.layers.0.b_ih", &[256]),      // bias_ih_l0
            ("rnn.layers.0.b_hh", &[256]),      // bias_hh_l0
            ("rnn.layers.1.w_ih", &[256, 256]), // weight_ih_l1
            ("rnn.layers.1.w_hh", &[256, 256]), // weight_hh_l1
            ("rnn.layers.1.b_ih", &[256]),      // bias_ih_l1
            ("rnn.layers.1.b_hh", &[256]),      // bias_hh_l1
            ("output.weight", &[7168, 10]),     // fc.weight [10, 7168]
            ("output.bias", &[10]),             // fc.bias
        ])
    );
    assert_eq!(total, 276_490);
    let v = values(&model);
    for (name, values) in &v {
        let bound = if name.starts_with("rnn") {
            1.0 / 16.0
        } else {
            1.0 / 7168f64.sqrt()
        };
        assert_uniform(name, values, bound);
    }
    assert_eq!(config.optimizer, OptimizerConfig::adam());
    let t = &config.training;
    assert_eq!(
        (t.lr, t.batch_size, t.epochs, t.clip_norm),
        (1e-3, 64, 3, None)
    );
    assert!(t.shuffle && t.reshuffle);
}

/// lstm-mnist against PyTorch: `nn.LSTM(28, 20)` keeps both biases (`bias=True` is the
/// default), every tensor ~ U(±1/sqrt(20)); `nn.Linear(20, 10)` U(±1/sqrt(20)). Plain SGD.
/// (The biases are what a run once lost: a default run must have them, drawn, not zero.)
#[test]
fn lstm_mnist_is_pytorchs_network() {
    let config = lstm_mnist::LstmMnistConfig::new();
    let model = config.model.init(config.view.features(), &device());
    let (list, total) = listing(&model);
    assert_eq!(
        list,
        expect(&[
            ("lstm.layers.0.w_ih", &[28, 80]),   // weight_ih_l0 [80, 28]
            ("lstm.layers.0.w_hh", &[20, 80]),   // weight_hh_l0 [80, 20]
            ("lstm.layers.0.b_ih", &[80]),       // bias_ih_l0
            ("lstm.layers.0.b_hh", &[80]),       // bias_hh_l0
            ("hidden2digits.weight", &[20, 10]), // hidden2digits.weight [10, 20]
            ("hidden2digits.bias", &[10]),       // hidden2digits.bias
        ])
    );
    assert_eq!(total, 4_210);
    let bound = 1.0 / 20f64.sqrt();
    for (name, values) in &values(&model) {
        assert_uniform(name, values, bound);
        assert!(values.iter().any(|&x| x != 0.0), "{name} is all zero");
    }
    assert_eq!(config.optimizer, OptimizerConfig::Sgd { momentum: None });
    let t = &config.training;
    assert_eq!(
        (t.lr, t.batch_size, t.epochs, t.clip_norm),
        (0.1, 100, 10, None)
    );
}

/// adding-problem against MinPy (dmlc/minpy): the tutorial's RNNNet, LSTMNet and GRUNet
/// (docs/tutorial/rnn_tutorial) declare `Wx`, `Wh`, `b` (GRU: plus `Wxh`, `Whh`, `bh`) and the
/// affine `Wa`, `ba`; the solver draws every one of them with the `xavier` rule
/// (minpy/nn/init.py: standard normal times sqrt(6 / (shape[0] + product of the rest)), a
/// vector of n counting n). Adam's defaults (minpy/nn/optim.py: 1e-3, 0.9, 0.999, 1e-8,
/// bias-corrected); `NDArrayIter` shuffles once.
#[test]
fn adding_problem_networks_are_minpys() {
    use adding_problem::{AdderConfig, AddingConfig, Network};
    // (cell, each parameter's name and shape, parameter count)
    type Case = (Network, &'static [(&'static str, &'static [usize])], usize);
    let cases: [Case; 3] = [
        (
            Network::Rnn,
            &[
                ("rnn.Elman.layers.0.w_ih", &[2, 64]),  // Wx
                ("rnn.Elman.layers.0.w_hh", &[64, 64]), // Wh
                ("rnn.Elman.layers.0.b_ih", &[64]),     // b
                ("output.weight", &[64, 1]),            // Wa
                ("output.bias", &[1]),                  // ba
            ],
            4_353,
        ),
        (
            Network::Lstm,
            &[
                ("rnn.Lstm.layers.0.w_ih", &[2, 400]),   // Wx
                ("rnn.Lstm.layers.0.w_hh", &[100, 400]), // Wh
                ("rnn.Lstm.layers.0.b_ih", &[400]),      // b
                ("output.weight", &[100, 1]),            // Wa
                ("output.bias", &[1]),                   // ba
            ],
            41_301,
        ),
        (
            Network::Gru,
            &[
                ("rnn.Gru.layers.0.w_ih", &[2, 200]),         // Wx
                ("rnn.Gru.layers.0.w_hh", &[100, 200]),       // Wh
                ("rnn.Gru.layers.0.b_ih", &[200]),            // b
                ("rnn.Gru.layers.0.split.w_ih", &[2, 100]),   // Wxh
                ("rnn.Gru.layers.0.split.w_hh", &[100, 100]), // Whh
                ("rnn.Gru.layers.0.split.b", &[100]),         // bh
                ("output.weight", &[100, 1]),                 // Wa
                ("output.bias", &[1]),                        // ba
            ],
            31_001,
        ),
    ];
    for (cell, want, want_total) in cases {
        let model = AdderConfig::tutorial(cell).init(&device());
        let (list, total) = listing(&model);
        assert_eq!(list, expect(want), "{cell}");
        assert_eq!(total, want_total, "{cell}");
        // xavier: N(0, 6 / (rows + cols)), a vector N(0, 6 / n); tested where there are
        // enough values.
        for (name, values) in &values(&model) {
            let shape = &list.iter().find(|(n, _)| n == name).unwrap().1;
            let spread: usize = shape.iter().sum();
            let std = (6.0 / spread as f64).sqrt();
            if values.len() >= 1000 {
                assert_normal(name, values, std);
            } else {
                assert!(values.iter().all(|&x| x != 0.0), "{name}: drawn, not zero");
            }
        }
    }
    let config = AddingConfig::new(AdderConfig::tutorial(Network::Gru));
    assert_eq!(config.optimizer, OptimizerConfig::adam());
    let t = &config.training;
    assert_eq!(
        (t.lr, t.batch_size, t.epochs, t.clip_norm),
        (1e-3, 100, 10, None)
    );
    assert!(t.shuffle && !t.reshuffle, "NDArrayIter shuffles once");
}

/// adding-problem's long presets against what Le, Jaitly & Hinton (2015) state (section 4.1
/// and the settings shared with its MNIST section): 100 hidden units; the IRNN's recurrent
/// weights the identity, its input weights N(0, 0.001), biases zero; the tanh and ReLU RNNs
/// Gaussian; an LSTM with a forget gate and its bias set; SGD on minibatches of 16; 100 000
/// training and 10 000 test sequences; about 10^6 steps. And Keller et al. (2024)'s protocol:
/// Adam, batches of 128 fresh sequences, one mark per half, 60 000 steps, a test of 1 000.
#[test]
fn adding_problem_long_presets_are_the_papers() {
    use adding_problem::config::{modern, paper};
    use adding_problem::{AddingConfig, Network};
    use rnn_data::MarkPlacement;

    let elman = [
        ("output.bias", vec![1]),
        ("output.weight", vec![100, 1]),
        ("rnn.Elman.layers.0.b_ih", vec![100]),
        ("rnn.Elman.layers.0.w_hh", vec![100, 100]),
        ("rnn.Elman.layers.0.w_ih", vec![2, 100]),
    ];
    let elman: Vec<(String, Vec<usize>)> = elman
        .iter()
        .map(|(n, s)| (n.to_string(), s.clone()))
        .collect();
    for cell in [Network::Irnn, Network::Rnn, Network::Relu] {
        let model = paper::config(cell).model.init(&device());
        let (mut list, total) = listing(&model);
        list.sort();
        assert_eq!(
            list, elman,
            "{cell}: one bias per layer, as h = f(Wx + Uh + b)"
        );
        assert_eq!(total, 2 * 100 + 100 * 100 + 100 + 100 + 1, "{cell}");
        let v = values(&model);
        let get = |name: &str| v.iter().find(|(n, _)| n.ends_with(name)).unwrap().1.clone();
        assert!(get("b_ih").iter().all(|&b| b == 0.0), "{cell}: zero bias");
        let w_ih = get("w_ih");
        assert!(
            w_ih.iter().all(|&w| w.abs() < 0.006),
            "{cell}: input weights N(0, 0.001)"
        );
        let spread =
            (w_ih.iter().map(|&w| f64::from(w).powi(2)).sum::<f64>() / w_ih.len() as f64).sqrt();
        assert!(
            (0.0007..0.0013).contains(&spread),
            "{cell}: input sd {spread}"
        );
        let w_hh = get("w_hh");
        if cell == Network::Irnn {
            for (k, &w) in w_hh.iter().enumerate() {
                assert_eq!(w, if k % 101 == 0 { 1.0 } else { 0.0 }, "IRNN: identity");
            }
        } else {
            assert_normal("w_hh", &w_hh, 0.1);
        }
    }
    // The LSTM: a forget gate (the second block of four, as PyTorch orders them) whose bias
    // starts at 1, the smallest of the paper's {1, 4, 10, 20}.
    let lstm = paper::config(Network::Lstm).model.init(&device());
    let v = values(&lstm);
    let b = &v.iter().find(|(n, _)| n.ends_with("b_ih")).unwrap().1;
    assert_eq!(b.len(), 400);
    assert!(b[100..200].iter().all(|&x| x == 1.0), "forget bias 1");
    assert!(
        b[..100].iter().all(|&x| x.abs() <= 0.1),
        "the others drawn, U(-0.1, 0.1)"
    );

    for cell in paper::MODELS {
        let c: AddingConfig = paper::config(cell);
        assert_eq!(c.optimizer, OptimizerConfig::sgd(), "{cell}: plain SGD");
        let (t, d) = (&c.training, &c.data);
        assert_eq!((c.model.hidden, t.batch_size), (100, 16));
        assert_eq!(
            (d.seq_len, d.train_size, d.test_size),
            (150, 100_000, 10_000)
        );
        assert_eq!(
            t.epochs * d.train_size.div_ceil(t.batch_size),
            1_000_000,
            "10^6 steps"
        );
        assert!(t.clip_norm.is_some(), "{cell}: clipped");
        assert!(!d.fresh && d.marks == MarkPlacement::Anywhere);
    }
    for cell in modern::MODELS {
        let c: AddingConfig = modern::config(cell);
        assert_eq!(c.optimizer, OptimizerConfig::adam());
        let (t, d) = (&c.training, &c.data);
        assert_eq!((c.model.hidden, t.batch_size, d.seq_len), (100, 128, 400));
        assert!(d.fresh && d.marks == MarkPlacement::OnePerHalf);
        assert_eq!(t.epochs * d.train_size / t.batch_size, 60_000, "60k steps");
        assert_eq!(d.test_size, 1_000);
    }
}

/// `--preset paper` and `--preset modern`, parsed from a command line the way the binary
/// parses it, give exactly the presets' configurations checked above, for every network
/// each preset names.
#[test]
fn adding_problem_presets_through_the_command_line_are_the_presets() {
    use adding_problem::{Cli, Preset};

    for (name, preset) in [("paper", Preset::Paper), ("modern", Preset::Modern)] {
        for &cell in preset.models() {
            let argv = ["adding-problem", "--preset", name, "--model", cell.name()];
            let parsed = rnn_train::parse_from::<Cli, _, _>(argv)
                .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            assert_eq!(parsed.args.preset, preset, "{argv:?}");
            assert_eq!(parsed.args.model, vec![cell], "{argv:?}");
            let from_flags = parsed.config_from(parsed.args.preset(cell));
            let json = |c: &adding_problem::AddingConfig| serde_json::to_value(c).unwrap();
            assert_eq!(json(&from_flags), json(&preset.config(cell)), "{argv:?}");
        }
    }
}

/// irnn-mnist's `--preset paper` and `--preset modern`, parsed from command lines the way the
/// binary parses them, for each of the IRNN paper's four networks on sequential and permuted
/// pixels, against what Le, Jaitly & Hinton (2015, section 4.2) state: one pixel per step
/// (784 steps), or the pixels in one fixed random order; 100 hidden units; the IRNN's
/// recurrent weights the identity and biases zero; the tanh and ReLU RNNs Gaussian; an LSTM
/// with a forget gate whose bias is set; plain SGD on minibatches with gradient clipping, up
/// to 10^6 steps. And the modern protocol of Keller et al. (2024): Adam lr 1e-4, batches of
/// 128, 57 000 training images (3 000 held out), 120 epochs on sequential pixels and 250 on
/// permuted ones.
#[test]
fn irnn_mnist_pixel_presets_are_the_papers() {
    use irnn_mnist::{Cli, Network};
    use rnn_data::{Normalisation, SequenceView};

    for preset in ["paper", "modern"] {
        for network in Network::PAPER {
            for permuted in [false, true] {
                let mut argv = vec!["irnn-mnist", "--preset", preset, "--model", network.name()];
                if permuted {
                    argv.push("--permuted");
                }
                let parsed = rnn_train::parse_from::<Cli, _, _>(argv.clone())
                    .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
                let c = parsed.config();
                let at = format!("{argv:?}");
                assert_eq!(c.model.network, Some(network), "{at}");
                assert_eq!(c.model.hidden, 100, "{at}");
                assert_eq!(c.view.steps(), 784, "{at}: one pixel per step");
                assert_eq!(
                    matches!(c.view, SequenceView::PermutedPixel { .. }),
                    permuted,
                    "{at}"
                );
                // Chosen here (the paper is silent): the tutorial's scaling, see PIXEL_SCALING.
                assert_eq!(c.normalisation, Normalisation::IrnnTutorial, "{at}");
                let t = &c.training;
                assert_eq!((t.clip_norm, t.clip_scope), (Some(1.0), ClipScope::Global));
                assert!(t.shuffle && t.reshuffle, "{at}");
                if preset == "paper" {
                    assert_eq!(c.optimizer, OptimizerConfig::Sgd { momentum: None }, "{at}");
                    assert_eq!(t.batch_size, 16, "{at}");
                    // Chosen here (the paper's grid is not searched): see paper::lr.
                    let lr = match network {
                        Network::Irnn | Network::Relu => 1e-3,
                        Network::Rnn | Network::Lstm => 1e-2,
                    };
                    assert_eq!(t.lr, lr, "{at}");
                    assert_eq!(t.limit_train, None, "{at}: all 60 000 images");
                    let steps = t.epochs * 60_000usize.div_ceil(t.batch_size);
                    assert!(
                        (1_000_000..1_003_750).contains(&steps),
                        "{at}: the first epoch past 10^6 steps, got {steps}"
                    );
                } else {
                    assert_eq!(c.optimizer, OptimizerConfig::adam(), "{at}");
                    assert_eq!((t.lr, t.batch_size), (1e-4, 128), "{at}");
                    assert_eq!(t.limit_train, Some(57_000), "{at}");
                    assert_eq!(t.epochs, if permuted { 250 } else { 120 }, "{at}");
                }
                pixel_network_is_the_papers(&c, network);
            }
        }
    }
}

/// The tensors of `network` as `--preset` starts it: one bias per layer, the IRNN's identity,
/// the Gaussian N(0, 1/H) recurrent start of the tanh and ReLU RNNs, input weights N(0,
/// 0.001), the LSTM's forget bias 1.
fn pixel_network_is_the_papers(c: &irnn_mnist::IrnnMnistConfig, network: irnn_mnist::Network) {
    use irnn_mnist::Network;
    let d = c.view.features();
    if network == Network::Lstm {
        assert_eq!(c.model.forget_bias, Some(1.0));
        let model = c.model.init_lstm(d, &device());
        let (list, total) = listing(&model);
        let names: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            !names.iter().any(|n| n.ends_with("b_hh")),
            "one bias: {names:?}"
        );
        assert_eq!(total, 4 * 100 * (1 + 100 + 1) + 100 * 10 + 10);
        let v = values(&model);
        let b = get(&v, "lstm.layers.0.b_ih");
        assert!(b[100..200].iter().all(|&x| x == 1.0), "forget bias 1");
        assert!(
            b[..100].iter().all(|&x| x.abs() <= 0.1),
            "the rest U(-0.1, 0.1)"
        );
        return;
    }
    assert_eq!(c.model.forget_bias, None);
    let model = c.model.init(d, &device());
    let (list, total) = listing(&model);
    assert_eq!(
        list,
        expect(&[
            ("irnn.layers.0.w_ih", &[1, 100]),
            ("irnn.layers.0.w_hh", &[100, 100]),
            ("irnn.layers.0.b_ih", &[100]),
            ("output.weight", &[100, 10]),
            ("output.bias", &[10]),
        ]),
        "{network}: h = f(Wx + Uh + b), one bias"
    );
    assert_eq!(total, 100 + 100 * 100 + 100 + 100 * 10 + 10);
    let v = values(&model);
    assert_zeros("b_ih", get(&v, "irnn.layers.0.b_ih"));
    let (_, s) = moments(get(&v, "irnn.layers.0.w_ih"));
    assert!(
        (s / 1e-3 - 1.0).abs() < 0.3,
        "{network}: input weight std {s}"
    );
    let w_hh = get(&v, "irnn.layers.0.w_hh");
    if network == Network::Irnn {
        for (k, &w) in w_hh.iter().enumerate() {
            assert_eq!(w, if k % 101 == 0 { 1.0 } else { 0.0 }, "IRNN: identity");
        }
    } else {
        assert_normal("w_hh", w_hh, 0.1);
    }
}

/// simple-sequence against Chainer (chainer/chainer, and the tutorial's RNN.py, RNN2.py,
/// RNN3.py, RNNForLM.py): the expected tensors are derived from each network's list of links.
/// `L.EmbedID(n, u)` has `W` [n, u]; `L.Linear(i, o)` has `W` [o, i] and `b` [o]
/// (`nobias=False` by default); `L.LSTM(i, o)` is an `upward` `L.Linear(i, 4o)` and a
/// `lateral` `L.Linear(o, 4o, nobias=True)`.
#[test]
fn simple_sequence_networks_are_chainers() {
    use simple_sequence::{LanguageModelConfig, Network};
    enum Link {
        EmbedId(usize, usize),
        Linear(usize, usize),
        Lstm(usize, usize),
    }
    /// Chainer's tensors of a link list, as `[in, out]` (this project's layout) shapes.
    fn chainer_shapes(links: &[Link]) -> Vec<Vec<usize>> {
        let mut out = vec![];
        for link in links {
            match *link {
                Link::EmbedId(n, u) => out.push(vec![n, u]),
                Link::Linear(i, o) => out.extend([vec![i, o], vec![o]]),
                Link::Lstm(i, o) => out.extend([vec![i, 4 * o], vec![o, 4 * o], vec![4 * o]]),
            }
        }
        out
    }
    let (v, u) = (10, 100);
    use Link::*;
    // RNN: embed, l1 (input), r1 (state), l2 (output).
    let rnn = [EmbedId(v, u), Linear(u, u), Linear(u, u), Linear(u, v)];
    // RNN2: embed, three RecurrentBlocks (l, r), l5.
    let rnn2 = [
        EmbedId(v, u),
        Linear(u, u),
        Linear(u, u),
        Linear(u, u),
        Linear(u, u),
        Linear(u, u),
        Linear(u, u),
        Linear(u, v),
    ];
    // RNN3: embed, three RecurrentConcatBlocks (one Linear(2u, 2u) each), l5.
    let rnn3 = [
        EmbedId(v, u),
        Linear(2 * u, 2 * u),
        Linear(2 * u, 2 * u),
        Linear(2 * u, 2 * u),
        Linear(u, v),
    ];
    // RNNForLM: embed, l1, l2 (LSTM), l3.
    let lstm = [EmbedId(v, u), Lstm(u, u), Lstm(u, u), Linear(u, v)];
    let cases: [(Network, &[Link], usize); 4] = [
        (Network::Rnn, &rnn, 22_210),
        (Network::Rnn2, &rnn2, 62_610),
        (Network::Rnn3, &rnn3, 122_610),
        (Network::Lstm, &lstm, 162_810),
    ];
    for (arch, links, total) in cases {
        let model = LanguageModelConfig::new().with_arch(arch).init(&device());
        let tensors = parameter_tensors(&model);
        let mut shapes: Vec<Vec<usize>> = tensors.iter().map(|t| t.shape.clone()).collect();
        let mut want = chainer_shapes(links);
        // The Elman layers keep a layer's input and state links side by side
        // (w_ih, w_hh, b_ih, b_hh), Chainer lists each link's W then b: compare as multisets.
        shapes.sort();
        want.sort();
        assert_eq!(shapes, want, "{arch:?}: {tensors:?}");
        let n: usize = tensors.iter().map(|t| t.count).sum();
        assert_eq!(n, total, "{arch:?}");

        let vals = values(&model);
        match arch {
            Network::Lstm => {
                // RNNForLM: every parameter ~ U(-0.1, 0.1).
                for (name, values) in &vals {
                    assert_uniform(name, values, 0.1);
                }
            }
            _ => {
                for (name, values) in &vals {
                    let shape = &tensors.iter().find(|t| &t.name == name).unwrap().shape;
                    if name.starts_with("embed") {
                        assert_normal(name, values, 1.0); // EmbedID: N(0, 1)
                    } else if shape.len() == 2 {
                        // Linear: LeCun normal, N(0, 1 / in).
                        let std = (1.0 / shape[0] as f64).sqrt();
                        if values.len() >= 1000 {
                            assert_normal(name, values, std);
                        }
                    } else {
                        assert_zeros(name, values); // Linear's b
                    }
                }
            }
        }
    }
    let config = simple_sequence::SimpleSequenceConfig::new();
    assert_eq!(
        config.optimizer,
        OptimizerConfig::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            epsilon_form: EpsilonForm::Uncorrected,
        }
    );
    assert_eq!(config.training.lr, 5e-4);
    assert_eq!(config.training.clip_norm, None);
}
