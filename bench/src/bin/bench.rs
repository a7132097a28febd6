//! Training throughput of every experiment's shape: forward, loss, backward and optimiser
//! step with the project's models, on batches built by the data crate's batchers.
//!
//! Prints a table (samples/s median, min and max over repeats, peak RSS) and one JSON line
//! per shape: `{"shape": ..., "backend": ..., "samples_per_second": median, ...}`.

use std::sync::Arc;
use std::time::Instant;

use adding_problem::{AddingConfig, Network as AddingNetwork};
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use clap::Parser;
use elman_mnist::ElmanMnistConfig;
use irnn_mnist::IrnnMnistConfig;
use lstm_mnist::LstmMnistConfig;
use rnn_data::{
    AddingBatcher, AddingProblem, Mnist, MnistSequenceBatcher, MnistSequences, MnistSplit,
    Normalisation, SequenceView,
};
use rnn_models::{
    Biases, ElmanStack, ElmanStackConfig, GruStack, GruStackConfig, LstmStack, LstmStackConfig,
    Recurrence, RecurrentInit,
};
use rnn_train::{BackendChoice, OptimizerConfig};

rnn_train::use_mimalloc!();

#[derive(Parser, Debug)]
#[command(about = "Training throughput (samples/s) of each experiment's shape")]
struct Args {
    /// Backend to run on.
    #[arg(long, value_enum, default_value_t = BackendChoice::Flex)]
    backend: BackendChoice,
    /// Worker threads for the CPU backends (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Run only this shape (repeatable). Default: all of them.
    #[arg(long, value_parser = shape_names())]
    shape: Vec<String>,
    /// Untimed training steps before timing.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Training steps per timed repeat.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Timed repeats (median, min and max are reported).
    #[arg(long, default_value_t = 7)]
    repeats: usize,
    /// Which recurrence runs the time loop: fused, generic, or both (timed alternately, side
    /// by side, with their ratio). Default: both on wgpu and cuda, fused on the CPU backends.
    #[arg(long, value_name = "RECURRENCE", value_parser = ["fused", "generic", "both"])]
    recurrence: Option<String>,
    /// MNIST directory (default: MNIST_DIR, then the cache; see the data crate).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Network {
    Irnn,
    Tanh,
    Lstm,
    Gru,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Task {
    /// MNIST with a sequence view and pixel scaling; classification into 10 digits.
    Mnist(SequenceView, Normalisation),
    /// The adding problem with T steps; regression.
    Adding(usize),
}

#[derive(Clone, Copy, Debug)]
struct Shape {
    name: &'static str,
    task: Task,
    cell: Network,
    batch: usize,
    hidden: usize,
    layers: usize,
    /// The head reads every step's hidden state (elman-mnist) instead of the last one.
    all_steps: bool,
    sgd: bool,
    lr: f64,
}

/// The adding problem's shapes: each tutorial network at the tutorial's T = 6 and at
/// T = 100.
const ADDING: [(&str, usize, AddingNetwork); 6] = [
    ("adding6-rnn", 6, AddingNetwork::Rnn),
    ("adding6-lstm", 6, AddingNetwork::Lstm),
    ("adding6-gru", 6, AddingNetwork::Gru),
    ("adding100-rnn", 100, AddingNetwork::Rnn),
    ("adding100-lstm", 100, AddingNetwork::Lstm),
    ("adding100-gru", 100, AddingNetwork::Gru),
];

/// Every shape, each read off its experiment's default configuration (the model's sizes,
/// the batch size, the learning rate, the optimiser's kind, the sequence view).
fn shapes() -> Vec<Shape> {
    let sgd = |o: &OptimizerConfig| matches!(o, OptimizerConfig::Sgd { .. });
    let irnn = IrnnMnistConfig::new();
    let elman = ElmanMnistConfig::new();
    let lstm = LstmMnistConfig::new();
    let mut shapes = vec![
        Shape {
            name: irnn_mnist::NAME,
            task: Task::Mnist(irnn.view, irnn.normalisation),
            cell: Network::Irnn,
            batch: irnn.training.batch_size,
            hidden: irnn.model.hidden,
            layers: 1,
            all_steps: false,
            sgd: sgd(&irnn.optimizer),
            lr: irnn.training.lr,
        },
        Shape {
            name: elman_mnist::NAME,
            task: Task::Mnist(elman.view, elman.normalisation),
            cell: Network::Tanh,
            batch: elman.training.batch_size,
            hidden: elman.model.hidden,
            layers: elman.model.layers,
            all_steps: true,
            sgd: sgd(&elman.optimizer),
            lr: elman.training.lr,
        },
        Shape {
            name: lstm_mnist::NAME,
            task: Task::Mnist(lstm.view, lstm.normalisation),
            cell: Network::Lstm,
            batch: lstm.training.batch_size,
            hidden: lstm.model.hidden,
            layers: 1,
            all_steps: false,
            sgd: sgd(&lstm.optimizer),
            lr: lstm.training.lr,
        },
    ];
    for (name, t, cell) in ADDING {
        let config = AddingConfig::tutorial(cell);
        shapes.push(Shape {
            name,
            task: Task::Adding(t),
            cell: match cell {
                AddingNetwork::Lstm => Network::Lstm,
                AddingNetwork::Gru => Network::Gru,
                _ => Network::Tanh,
            },
            batch: config.training.batch_size,
            hidden: config.model.hidden,
            layers: 1,
            all_steps: false,
            sgd: sgd(&config.optimizer),
            lr: config.training.lr,
        });
    }
    shapes
}

fn shape_names() -> clap::builder::PossibleValuesParser {
    let adding = ADDING.map(|(name, _, _)| name);
    let mnist = [irnn_mnist::NAME, elman_mnist::NAME, lstm_mnist::NAME];
    clap::builder::PossibleValuesParser::new(mnist.into_iter().chain(adding))
}

/// One of the cells, then a linear head.
#[derive(Module, Debug)]
struct Net {
    elman: Option<ElmanStack>,
    lstm: Option<LstmStack>,
    gru: Option<GruStack>,
    head: Linear,
    all_steps: bool,
}

impl Net {
    /// The network of shape `s`, its time loop run by `path`.
    fn new(
        s: &Shape,
        d_in: usize,
        steps: usize,
        outputs: usize,
        path: Recurrence,
        device: &Device,
    ) -> Self {
        let (h, l) = (s.hidden, s.layers);
        // The adding problem's networks are MinPy's (one bias, the GRU's candidate apart);
        // the MNIST ones PyTorch's.
        let minpy = matches!(s.task, Task::Adding(_));
        let (init, biases) = if minpy {
            (RecurrentInit::MinPyXavier, Biases::One)
        } else {
            (RecurrentInit::PyTorchUniform, Biases::Two)
        };
        let (mut elman, mut lstm, mut gru) = (None, None, None);
        match s.cell {
            Network::Irnn => elman = Some(ElmanStackConfig::irnn(d_in, h).init(device)),
            Network::Tanh => {
                elman = Some(
                    ElmanStackConfig::new(d_in, h)
                        .with_num_layers(l)
                        .with_biases(biases)
                        .with_init(init)
                        .init(device),
                )
            }
            Network::Lstm => {
                lstm = Some(
                    LstmStackConfig::new(d_in, h)
                        .with_num_layers(l)
                        .with_biases(biases)
                        .with_init(init)
                        .init(device),
                )
            }
            Network::Gru => {
                gru = Some(
                    GruStackConfig::new(d_in, h)
                        .with_num_layers(l)
                        .with_reset_after(false)
                        .with_biases(biases)
                        .with_split_candidate(minpy)
                        .with_init(init)
                        .init(device),
                )
            }
        }
        let head_in = if s.all_steps { h * steps } else { h };
        Net {
            elman: elman.map(|m| m.with_recurrence(path)),
            lstm: lstm.map(|m| m.with_recurrence(path)),
            gru: gru.map(|m| m.with_recurrence(path)),
            head: LinearConfig::new(head_in, outputs).init(device),
            all_steps: s.all_steps,
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let features = if self.all_steps {
            let out = match (&self.elman, &self.lstm, &self.gru) {
                (Some(m), _, _) => m.forward(x, None).output,
                (_, Some(m), _) => m.forward(x, None).output,
                (_, _, Some(m)) => m.forward(x, None).output,
                // BenchModel::new sets exactly one of the three cells.
                _ => unreachable!("one cell is set"),
            };
            let [b, t, h] = out.dims();
            out.reshape([b, t * h])
        } else {
            match (&self.elman, &self.lstm, &self.gru) {
                (Some(m), _, _) => m.forward_last(x, None).last(),
                (_, Some(m), _) => m.forward_last(x, None).last(),
                (_, _, Some(m)) => m.forward_last(x, None).last(),
                // BenchModel::new sets exactly one of the three cells.
                _ => unreachable!("one cell is set"),
            }
        };
        self.head.forward(features)
    }
}

/// Batches for one shape, built by the data crate's batchers on each call.
enum Source {
    // Boxed: the MNIST batcher carries a 1 KiB pixel table, the adding problem's a few words.
    Mnist(MnistSequences, Box<MnistSequenceBatcher>),
    Adding(AddingProblem, AddingBatcher),
}

impl Source {
    fn batch(&self, step: usize, size: usize, device: &Device) -> (Tensor<3>, Target) {
        match self {
            Source::Mnist(data, batcher) => {
                let items = (0..size)
                    // The index is reduced modulo the dataset's length, and the datasets hold items.
                    .map(|i| data.get((step * size + i) % data.len()).unwrap())
                    .collect();
                let b = batcher.batch(items, device);
                (b.inputs, Target::Class(b.targets))
            }
            Source::Adding(data, batcher) => {
                let items = (0..size)
                    // The index is reduced modulo the dataset's length, and the datasets hold items.
                    .map(|i| data.get((step * size + i) % data.len()).unwrap())
                    .collect();
                let b = batcher.batch(items, device);
                (b.inputs, Target::Value(b.targets))
            }
        }
    }
}

enum Target {
    Class(Tensor<1, Int>),
    Value(Tensor<2>),
}

/// One recurrence's model, optimiser and measured rates for a shape.
struct Lane {
    path: Recurrence,
    net: Option<Net>,
    optim: ModuleOptimizer,
    step_no: usize,
    rates: Vec<f64>,
}

impl Lane {
    /// One optimisation step: forward, loss, backward, update.
    fn train_step(&mut self, s: &Shape, source: &Source, device: &Device) {
        let (x, target) = source.batch(self.step_no, s.batch, device);
        self.step_no += 1;
        // `net` is only ever taken here, and put back two lines below.
        let net = self
            .net
            .take()
            .expect("the lane holds its model between steps");
        let out = net.forward(x);
        let loss = match target {
            Target::Class(y) => CrossEntropyLossConfig::new().init(device).forward(out, y),
            Target::Value(y) => MseLoss::new().forward(out, y, Reduction::Mean),
        };
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        self.net = Some(self.optim.step(s.lr, net, grads));
    }

    /// Waits for lazy work (GPU backends), so that it falls inside the timed region.
    fn finish(&self) {
        if let Some(net) = &self.net {
            let _: f32 = net.head.weight.val().sum().into_scalar();
        }
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() {
    let args = Args::parse();
    if args.steps == 0 || args.repeats == 0 {
        eprintln!("error: --steps and --repeats must be at least 1");
        std::process::exit(2);
    }
    if let Some(n) = args.threads
        && (n == 0
            || rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .is_err())
    {
        eprintln!("error: cannot use --threads {n}");
        std::process::exit(2);
    }
    let device = match rnn_train::device::open::open(args.backend, 1) {
        Ok(devices) => devices.main().clone().autodiff(),
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("hint: {hint}");
            }
            std::process::exit(2);
        }
    };
    let gpu = matches!(args.backend, BackendChoice::Wgpu | BackendChoice::Cuda);
    let paths = match args.recurrence.as_deref() {
        Some("fused") => vec![Recurrence::Fused],
        Some("generic") => vec![Recurrence::Generic],
        Some(_) => vec![Recurrence::Fused, Recurrence::Generic],
        None if gpu => vec![Recurrence::Fused, Recurrence::Generic],
        None => vec![Recurrence::Fused],
    };
    let selected: Vec<Shape> = shapes()
        .into_iter()
        .filter(|s| args.shape.is_empty() || args.shape.iter().any(|n| n == s.name))
        .collect();
    let mnist = if selected.iter().any(|s| matches!(s.task, Task::Mnist(..))) {
        match Mnist::load(MnistSplit::Train, args.data_dir.as_deref()) {
            Ok(m) => Some(Arc::new(m)),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    } else {
        None
    };

    println!(
        "training throughput: backend {}, threads {}, {} warm-up + {} x {} timed steps",
        args.backend,
        rayon::current_num_threads(),
        args.warmup,
        args.repeats,
        args.steps
    );
    println!(
        "{:<16} {:>7} {:>8} {:>12} {:>10} {:>10} {:>14}",
        "shape", "backend", "loop", "samples/s", "min", "max", "peak RSS MiB"
    );
    let mut json = vec![];
    for s in selected {
        let (source, d_in, steps, outputs) = match s.task {
            Task::Mnist(view, norm) => {
                // MNIST is loaded above whenever a selected shape has an MNIST task.
                let data = MnistSequences::new(mnist.clone().expect("loaded above"));
                (
                    Source::Mnist(data, Box::new(MnistSequenceBatcher::new(view, norm))),
                    view.features(),
                    view.steps(),
                    10,
                )
            }
            Task::Adding(t) => {
                // The bench's adding-problem lengths are fixed constants (≥ 2 steps).
                let data = AddingProblem::new(10_000, t, 0).expect("valid adding problem");
                (Source::Adding(data, AddingBatcher), 2, t, 1)
            }
        };
        // One lane per recurrence, timed alternately (A, B, A, B, ...) so
        // that both see the same machine load.
        let mut lanes: Vec<Lane> = paths
            .iter()
            .map(|&path| {
                device.seed(0);
                Lane {
                    path,
                    net: Some(Net::new(&s, d_in, steps, outputs, path, &device)),
                    optim: if s.sgd {
                        SgdConfig::new().init()
                    } else {
                        AdamConfig::new().init()
                    },
                    step_no: 0,
                    rates: vec![],
                }
            })
            .collect();
        for lane in &mut lanes {
            for _ in 0..args.warmup {
                lane.train_step(&s, &source, &device);
            }
        }
        for _ in 0..args.repeats {
            for lane in &mut lanes {
                let start = Instant::now();
                for _ in 0..args.steps {
                    lane.train_step(&s, &source, &device);
                }
                lane.finish();
                let rate = (args.steps * s.batch) as f64 / start.elapsed().as_secs_f64();
                lane.rates.push(rate);
            }
        }
        let rss = peak_rss_mib();
        for lane in &mut lanes {
            lane.rates.sort_by(f64::total_cmp);
            let r = &lane.rates;
            let (median, min, max) = (r[r.len() / 2], r[0], r[r.len() - 1]);
            println!(
                "{:<16} {:>7} {:>8} {:>12.0} {:>10.0} {:>10.0} {:>14.0}",
                s.name,
                args.backend.name(),
                lane.path,
                median,
                min,
                max,
                rss
            );
            json.push(format!(
                "{{\"shape\": \"{}\", \"batch\": {}, \"backend\": \"{}\", \"recurrence\": \"{}\", \"samples_per_second\": {:.1}, \"min\": {:.1}, \"max\": {:.1}, \"peak_rss_mib\": {:.0}, \"threads\": {}}}",
                s.name,
                s.batch,
                args.backend.name(),
                lane.path,
                median,
                min,
                max,
                rss,
                rayon::current_num_threads()
            ));
        }
        if let [a, b] = &lanes[..] {
            let ratio = a.rates[a.rates.len() / 2] / b.rates[b.rates.len() / 2];
            println!("{:<16} {} / {}: {ratio:.2}x", s.name, a.path, b.path);
        }
    }
    for line in json {
        println!("{line}");
    }
}
