//! The sweeps ([`Sweep`]): the long adding problem's over sequence lengths ([`PAPER_SWEEP`],
//! [`MODERN_SWEEP`]) and pixel MNIST's over networks (`super::pixels`); what their sources
//! report for each length and network, and how long their runs are expected to take.

use std::path::Path;
use std::process::{Command, Stdio};

use super::experiments::EXPERIMENTS;
use super::units::Unit;

/// A sweep: one run of the task's binary per length, network and seed, each run in a
/// directory of its own ([`Task`] says where).
#[derive(Debug, PartialEq)]
pub struct Sweep {
    /// What is trained, and by which binary.
    pub task: Task,
    /// The binary's `--preset`.
    pub preset: &'static str,
    /// The lengths T swept (`--lengths` picks some of the adding problem's; pixel MNIST has
    /// one, its 784 pixels).
    pub lengths: &'static [usize],
    /// The lengths `--quick` runs.
    pub quick_lengths: &'static [usize],
    /// The networks `--quick` runs; empty: every network of the experiment.
    pub quick_networks: &'static [&'static str],
    /// Where the reference outcomes come from (`Le et al. (2015), Fig. 2`).
    pub source: &'static str,
    /// What the reference shows, per length and network.
    pub reference: &'static [Reference],
    /// Seconds of training per step and per sequence step, by network, as measured on 2
    /// cores (`machine`), for the estimate printed before a sweep starts.
    pub seconds_per_step_and_t: &'static [(&'static str, f64)],
    /// The CPU those seconds were measured on.
    pub machine: &'static str,
}

/// What a sweep trains, and how its runs lie under `--out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// The long adding problem (`adding-problem --seq-len T`): each run in
    /// `<out>/<experiment>/T<len>-<network>/seed-K/<network>/`, beside the binary's
    /// `comparison.json`.
    Adding,
    /// Pixel-by-pixel MNIST (`irnn-mnist`), its pixels in scanline order or (`permuted`,
    /// `--permuted`) in one fixed random order: each run directory is
    /// `<out>/<experiment>/<network>/seed-K/` itself.
    Pixels { permuted: bool },
}

/// MNIST's training images (the file `--limit-train` takes the first of).
pub const MNIST_TRAIN_IMAGES: u64 = 60_000;

impl Task {
    /// The binary that trains it.
    pub fn program(self) -> &'static str {
        match self {
            Task::Adding => "adding-problem",
            Task::Pixels { .. } => "irnn-mnist",
        }
    }

    /// The training examples of an epoch before `limit_train`, from a run's configuration
    /// (the `config` of its `config.json`): the adding problem's generated set, or MNIST's
    /// training file.
    pub fn train_size(self, config: &serde_json::Value) -> Option<u64> {
        match self {
            Task::Adding => config["data"]["train_size"].as_u64(),
            Task::Pixels { .. } => Some(MNIST_TRAIN_IMAGES),
        }
    }

    /// `sequential` or `permuted` pixels; `None` for the adding problem.
    pub fn view(self) -> Option<&'static str> {
        match self {
            Task::Adding => None,
            Task::Pixels { permuted: false } => Some("sequential"),
            Task::Pixels { permuted: true } => Some("permuted"),
        }
    }
}

/// Training steps per epoch of a run of `task` whose configuration (the `config` of its
/// `config.json`, or what `--print-config` prints) is `config`: its training set, or with
/// `limit_train` part of it, in batches.
pub fn steps_per_epoch(task: Task, config: &serde_json::Value) -> Option<f64> {
    let size = task.train_size(config)?;
    let limit = config["training"]["limit_train"].as_u64().unwrap_or(size);
    let batch = config["training"]["batch_size"].as_u64()?.max(1);
    Some(size.min(limit).div_ceil(batch) as f64)
}

/// The test MSE at or under which the adding problem counts as solved (Keller et al.'s
/// threshold; the 0.167 baseline is about three times it).
pub const SOLVED_MSE: f64 = 0.05;

/// What a reference figure or table shows for one network at one length.
#[derive(Debug, PartialEq)]
pub struct Reference {
    pub seq_len: usize,
    pub network: &'static str,
    pub outcome: Reported,
    /// As read off the source, in words.
    pub note: &'static str,
}

/// What the source reports for a network at one length: whether it solves the adding
/// problem, or its final test accuracy on pixel MNIST.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reported {
    /// Reaches MSE ≤ 0.05, after about this many steps where the source says.
    Solved(Option<f64>),
    /// Stays near the baseline for as long as the source trains.
    Fails,
    /// Pixel MNIST: the final test accuracy (a fraction); `None` where the source's number
    /// was not read (no number is made up for it).
    Accuracy(Option<f64>),
}

/// The long adding problem of Le, Jaitly & Hinton (2015), as its Fig. 2 shows it.
pub static PAPER_SWEEP: Sweep = Sweep {
    task: Task::Adding,
    preset: "paper",
    lengths: &[150, 200, 300, 400],
    quick_lengths: &[150],
    quick_networks: &[],
    source: "Le et al. (2015), Fig. 2",
    reference: &[
        Reference {
            seq_len: 150,
            network: "lstm",
            outcome: Reported::Solved(Some(1e6)),
            note: "≈ 0.01–0.02 by about 10⁶ steps",
        },
        Reference {
            seq_len: 150,
            network: "rnn",
            outcome: Reported::Solved(None),
            note: "gets there, later than LSTM and IRNN",
        },
        Reference {
            seq_len: 150,
            network: "irnn",
            outcome: Reported::Solved(Some(1e6)),
            note: "≈ 0.01–0.02 by about 10⁶ steps",
        },
        Reference {
            seq_len: 200,
            network: "lstm",
            outcome: Reported::Solved(None),
            note: "≈ 0.02",
        },
        Reference {
            seq_len: 200,
            network: "rnn",
            outcome: Reported::Fails,
            note: "stays at the baseline",
        },
        Reference {
            seq_len: 200,
            network: "relu",
            outcome: Reported::Fails,
            note: "stays at the baseline",
        },
        Reference {
            seq_len: 200,
            network: "irnn",
            outcome: Reported::Solved(None),
            note: "≈ 0.01",
        },
        Reference {
            seq_len: 300,
            network: "lstm",
            outcome: Reported::Fails,
            note: "only the IRNN solves T = 300",
        },
        Reference {
            seq_len: 300,
            network: "rnn",
            outcome: Reported::Fails,
            note: "only the IRNN solves T = 300",
        },
        Reference {
            seq_len: 300,
            network: "relu",
            outcome: Reported::Fails,
            note: "only the IRNN solves T = 300",
        },
        Reference {
            seq_len: 300,
            network: "irnn",
            outcome: Reported::Solved(Some(3e6)),
            note: "after ≈ 3·10⁶ steps",
        },
        Reference {
            seq_len: 400,
            network: "lstm",
            outcome: Reported::Fails,
            note: "nothing solves T = 400",
        },
        Reference {
            seq_len: 400,
            network: "rnn",
            outcome: Reported::Fails,
            note: "nothing solves T = 400",
        },
        Reference {
            seq_len: 400,
            network: "relu",
            outcome: Reported::Fails,
            note: "nothing solves T = 400",
        },
        Reference {
            seq_len: 400,
            network: "irnn",
            outcome: Reported::Fails,
            note: "nothing solves T = 400",
        },
    ],
    seconds_per_step_and_t: &[
        ("lstm", PAPER_STEP_SECONDS[0]),
        ("rnn", PAPER_STEP_SECONDS[1]),
        ("relu", PAPER_STEP_SECONDS[1]),
        ("irnn", PAPER_STEP_SECONDS[1]),
    ],
    machine: STEP_MACHINE,
};

/// Keller et al. (2024)'s protocol: the IRNN solves T = 100, 200, 400 in 14k, 22k, 30k steps.
pub static MODERN_SWEEP: Sweep = Sweep {
    task: Task::Adding,
    preset: "modern",
    lengths: &[100, 200, 400],
    quick_lengths: &[100],
    quick_networks: &[],
    source: "Keller et al. (2024), iRNN",
    reference: &[
        Reference {
            seq_len: 100,
            network: "irnn",
            outcome: Reported::Solved(Some(14e3)),
            note: "solved in 14k steps",
        },
        Reference {
            seq_len: 200,
            network: "irnn",
            outcome: Reported::Solved(Some(22e3)),
            note: "solved in 22k steps",
        },
        Reference {
            seq_len: 400,
            network: "irnn",
            outcome: Reported::Solved(Some(30e3)),
            note: "solved in 30k steps",
        },
    ],
    seconds_per_step_and_t: &[("irnn", MODERN_STEP_SECONDS), ("rnn", MODERN_STEP_SECONDS)],
    machine: STEP_MACHINE,
};

/// The CPU the sweeps' step times were measured on (2 cores, one run at a time).
pub const STEP_MACHINE: &str = "Intel Xeon";
/// `--preset paper` (batch 16): seconds per training step per sequence step, LSTM and the
/// Elman networks (T = 150: 4.42 ms and 1.32 ms per step).
pub const PAPER_STEP_SECONDS: [f64; 2] = [2.9e-5, 8.8e-6];
/// `--preset modern` (batch 128): seconds per training step per sequence step (T = 400:
/// 16.2 ms per step).
pub const MODERN_STEP_SECONDS: f64 = 4.0e-5;

/// The expected wall time of `unit`'s run on one 2-core machine like the sweep's: its steps
/// (from the preset of the experiment's binary `bin`) times the measured seconds per step and
/// sequence step; 0 for a unit that is not part of a sweep.
pub fn estimate(bin: &Path, unit: &Unit, quick: bool) -> f64 {
    let (Some(sweep), Some((t, network))) = (unit.exp.sweep, unit.setting) else {
        return 0.0;
    };
    let Some(steps) = sweep_steps(bin, sweep, network, quick) else {
        return 0.0;
    };
    let per = sweep
        .seconds_per_step_and_t
        .iter()
        .find(|(n, _)| *n == network)
        .map_or(0.0, |p| p.1);
    steps * t as f64 * per
}

/// Training steps of one run of `network` in `sweep`: the epochs times the steps per epoch of
/// the configuration the experiment's binary `bin` prints for it (`--print-config`; with
/// `--quick`, under the quick arguments). `None` when the binary cannot say.
pub fn sweep_steps(bin: &Path, sweep: &Sweep, network: &str, quick: bool) -> Option<f64> {
    let exp = EXPERIMENTS.iter().find(|e| e.sweep == Some(sweep))?;
    let mut args = vec!["--preset", sweep.preset, "--model", network];
    if sweep.task == (Task::Pixels { permuted: true }) {
        args.push("--permuted");
    }
    if quick {
        args.extend(exp.quick_args.iter().copied());
    }
    let config = print_config(bin, &args)?;
    let epochs = config["training"]["epochs"].as_u64()?;
    Some(epochs as f64 * steps_per_epoch(sweep.task, &config)?)
}

/// The configuration `bin args --print-config` prints (the one a run with `args` saves).
pub fn print_config(bin: &Path, args: &[&str]) -> Option<serde_json::Value> {
    let output = Command::new(bin)
        .args(args)
        .arg("--print-config")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}
