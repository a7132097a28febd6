//! How the cost of one training step grows with the sequence length.
//!
//! Times forward + backward of an IRNN (batch 40, hidden 100, 1 input, last step -> linear
//! 10 -> cross-entropy, the irnn-mnist shape) at T = 98 ... 1568, and fits
//! `time = a * T^k` by least squares on the logs. A time loop whose backward pass is linear
//! in T gives k ~ 1; the naive Burn-op loop gives k ~ 2.

use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use clap::Parser;
use rnn_models::{ElmanStack, ElmanStackConfig, Recurrence, Steps};
use rnn_train::BackendChoice;

rnn_train::use_mimalloc!();

#[derive(Parser, Debug)]
#[command(about = "Sequence-length scaling of the IRNN's forward+backward time per batch")]
struct Args {
    /// Backend to run on.
    #[arg(long, value_enum, default_value_t = BackendChoice::Flex)]
    backend: BackendChoice,
    /// Recurrences (what runs the time loop), comma-separated: fused (the custom operation
    /// with the backend's kernel), generic (the custom operation with the backend-generic
    /// loop), tensor-ops (plain Burn ops under autodiff). Default: fused,generic on wgpu and
    /// cuda, fused on the CPU backends. Several are timed in the same rounds, side by side.
    /// (`--path` is the same flag's former name.)
    #[arg(
        long,
        value_name = "RECURRENCE",
        value_enum,
        value_delimiter = ',',
        alias = "path"
    )]
    recurrence: Vec<RecurrenceArg>,
    /// Timed batches per sequence length, after one warm-up batch, taken in rounds that
    /// interleave the lengths. The median and the fastest are reported; the exponent is
    /// fitted to the fastest, the measurement least disturbed by other work on a shared
    /// machine.
    #[arg(long, default_value_t = 15)]
    repeats: usize,
    /// Sequence lengths to time.
    #[arg(long, value_delimiter = ',', default_values_t = [98, 196, 392, 784, 1568])]
    lengths: Vec<usize>,
    /// Batch size.
    #[arg(long, default_value_t = 40)]
    batch: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 100)]
    hidden: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum)]
enum RecurrenceArg {
    Fused,
    Generic,
    TensorOps,
}

impl RecurrenceArg {
    /// The recurrence this names.
    fn select(self) -> Recurrence {
        match self {
            RecurrenceArg::Fused => Recurrence::Fused,
            RecurrenceArg::Generic => Recurrence::Generic,
            RecurrenceArg::TensorOps => Recurrence::TensorOps,
        }
    }
}

fn main() {
    let args = Args::parse();
    if args.repeats == 0 || args.lengths.len() < 2 || args.batch == 0 || args.hidden == 0 {
        eprintln!(
            "error: need --repeats >= 1, at least two --lengths, and non-zero --batch and --hidden"
        );
        std::process::exit(2);
    }
    let device = match rnn_train::device::open::open(args.backend, 1) {
        Ok(devices) => devices.main().clone().autodiff(),
        Err(e) => {
            rnn_train::cli::entry::report(&rnn_train::Console::stdio(), &e);
            std::process::exit(2);
        }
    };
    device.seed(0);
    let gpu = matches!(args.backend, BackendChoice::Wgpu | BackendChoice::Cuda);
    let paths = match (&args.recurrence[..], gpu) {
        ([], true) => vec![RecurrenceArg::Fused, RecurrenceArg::Generic],
        ([], false) => vec![RecurrenceArg::Fused],
        (given, _) => given.to_vec(),
    };
    let rnn = ElmanStackConfig::irnn(1, args.hidden).init(&device);
    let head = LinearConfig::new(args.hidden, 10).init(&device);

    println!(
        "IRNN forward+backward per batch: backend {}, batch {}, hidden {}, {} repeats",
        args.backend, args.batch, args.hidden, args.repeats
    );
    // Rounds interleave the lengths and the paths (one batch of each per round), so a burst
    // of other work on a shared machine disturbs every series alike.
    for &p in &paths {
        for &t in &args.lengths {
            step(&rnn, &head, args.batch, t, p.select(), &device); // warm-up
        }
    }
    let mut times = vec![vec![Vec::with_capacity(args.repeats); args.lengths.len()]; paths.len()];
    for _ in 0..args.repeats {
        for (i, &t) in args.lengths.iter().enumerate() {
            for (j, &p) in paths.iter().enumerate() {
                times[j][i].push(step(&rnn, &head, args.batch, t, p.select(), &device));
            }
        }
    }
    let mut fastest_of = vec![];
    for (&p, times) in paths.iter().zip(&mut times) {
        println!("\nrecurrence {p:?}");
        println!(
            "{:>6}  {:>12}  {:>12}  {:>14}",
            "T", "median ms", "fastest ms", "fastest us/step"
        );
        let mut points = vec![];
        for (&t, times) in args.lengths.iter().zip(times.iter_mut()) {
            times.sort_by(f64::total_cmp);
            let (median, fastest) = (times[times.len() / 2], times[0]);
            println!(
                "{t:>6}  {:>12.2}  {:>12.2}  {:>14.2}",
                median * 1e3,
                fastest * 1e3,
                fastest * 1e6 / t as f64
            );
            points.push((t as f64, fastest));
        }
        println!("scaling exponent: {:.3}", fit_exponent(&points));
        fastest_of.push(points);
    }
    if let [a, b] = &fastest_of[..] {
        println!(
            "\n{:?} / {:?} speed-up (fastest batch):",
            paths[0], paths[1]
        );
        for ((t, ta), (_, tb)) in a.iter().zip(b) {
            println!("{t:>6}  {:>8.2}x", tb / ta);
        }
    }
}

/// One forward + backward; returns seconds.
fn step(
    rnn: &ElmanStack,
    head: &Linear,
    batch: usize,
    t: usize,
    path: Recurrence,
    device: &Device,
) -> f64 {
    let x = Tensor::<3>::random(
        [batch, t, 1],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        device,
    );
    let y = Tensor::<1, Int>::from_data(
        TensorData::new(
            (0..batch as i64).map(|i| i % 10).collect::<Vec<_>>(),
            [batch],
        ),
        device,
    );
    let start = Instant::now();
    let last = rnn.run(x, None, Steps::Last, path).last();
    let loss = CrossEntropyLossConfig::new()
        .init(device)
        .forward(head.forward(last), y);
    let grads = loss.backward();
    // Read one gradient back so lazy backends finish the work inside the timed region.
    // w_hh is a trainable parameter on the loss's path, so the backward pass gives it a gradient.
    let g = rnn.layers[0].w_hh.val().grad(&grads).expect("gradient");
    let _: f32 = g.sum().into_scalar();
    start.elapsed().as_secs_f64()
}

/// Least-squares slope of log(time) against log(T).
fn fit_exponent(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (lx, ly): (Vec<f64>, Vec<f64>) = points.iter().map(|(t, s)| (t.ln(), s.ln())).unzip();
    let mx = lx.iter().sum::<f64>() / n;
    let my = ly.iter().sum::<f64>() / n;
    let cov: f64 = lx.iter().zip(&ly).map(|(x, y)| (x - mx) * (y - my)).sum();
    let var: f64 = lx.iter().map(|x| (x - mx) * (x - mx)).sum();
    cov / var
}
