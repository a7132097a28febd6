//! The experiments a reproduction can run ([`EXPERIMENTS`]): each one's binary, what its
//! result is measured by, its tutorial's numbers, the runs it makes per seed, and the
//! IRNN's expected wall time.

use super::pixels::{PSMNIST_MODERN, PSMNIST_PAPER, SMNIST_MODERN, SMNIST_PAPER};
use super::sweeps::{MODERN_SWEEP, PAPER_SWEEP, Sweep, Task};
use super::units::Unit;

/// What an experiment's result is measured by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// `test_accuracy` (a fraction; higher is better).
    Accuracy,
    /// `test_mse` (lower is better).
    Mse,
}

impl Metric {
    /// The `summary.json` field (and the `report.json` "metric").
    pub fn field(self) -> &'static str {
        match self {
            Metric::Accuracy => "test_accuracy",
            Metric::Mse => "test_mse",
        }
    }
}

/// One experiment binary and what its tutorial reports.
#[derive(Debug, PartialEq)]
pub struct Experiment {
    /// The binary's name (and the run directory's name under `--out`).
    pub name: &'static str,
    pub metric: Metric,
    /// The tutorial's final number.
    pub tutorial: Option<f64>,
    /// For the adding problem: the predict-1 MSE every network should beat.
    pub baseline: Option<f64>,
    /// The tutorial's test value after each epoch, from epoch `curve_from` on.
    pub tutorial_curve: &'static [f64],
    pub curve_from: usize,
    /// The tutorial's post-training train-set accuracy (`summary.json` `train_set_accuracy`).
    pub tutorial_train: Option<f64>,
    /// Networks trained side by side in one run (`<run>/<network>/`); empty for one model.
    pub networks: &'static [&'static str],
    /// Extra flags with `--quick`.
    pub quick_args: &'static [&'static str],
    /// Run when `--experiments` is not given (with `--quick`: every experiment but
    /// irnn-mnist runs).
    pub by_default: bool,
    /// A sweep over sequence lengths (the adding problem) or networks (pixel MNIST), each
    /// length and network a run of its own; `None`: one run of the binary per seed.
    pub sweep: Option<&'static Sweep>,
}

/// The experiments, in the order they run. The tutorials' numbers are those their texts
/// report; the per-epoch values are the tutorials' own printed training logs (lstm-mnist's
/// and simple-sequence's).
pub static EXPERIMENTS: [Experiment; 11] = [
    Experiment {
        name: "irnn-mnist",
        metric: Metric::Accuracy,
        tutorial: Some(0.9050),
        baseline: None,
        tutorial_curve: &[],
        curve_from: 0,
        tutorial_train: None,
        networks: &[],
        quick_args: &[
            "--epochs",
            "2",
            "--limit-train",
            "1000",
            "--limit-test",
            "200",
        ],
        by_default: false,
        sweep: None,
    },
    Experiment {
        name: "elman-mnist",
        metric: Metric::Accuracy,
        tutorial: Some(0.9748),
        baseline: None,
        tutorial_curve: &[],
        curve_from: 0,
        tutorial_train: Some(0.9721),
        networks: &[],
        quick_args: &[
            "--epochs",
            "2",
            "--limit-train",
            "2000",
            "--limit-test",
            "500",
        ],
        by_default: true,
        sweep: None,
    },
    Experiment {
        name: "lstm-mnist",
        metric: Metric::Accuracy,
        tutorial: Some(0.958),
        baseline: None,
        tutorial_curve: &[
            0.103, 0.220, 0.636, 0.796, 0.887, 0.912, 0.940, 0.943, 0.956, 0.958, 0.958,
        ],
        curve_from: 0,
        tutorial_train: None,
        networks: &[],
        quick_args: &[
            "--epochs",
            "2",
            "--limit-train",
            "10000",
            "--limit-test",
            "1000",
        ],
        by_default: true,
        sweep: None,
    },
    Experiment {
        name: "adding-problem",
        metric: Metric::Mse,
        tutorial: None,
        baseline: Some(0.1767),
        tutorial_curve: &[],
        curve_from: 0,
        tutorial_train: None,
        networks: &["rnn", "lstm", "gru"],
        quick_args: &[
            "--epochs",
            "3",
            "--train-size",
            "2000",
            "--test-size",
            "500",
        ],
        by_default: true,
        sweep: None,
    },
    Experiment {
        name: "simple-sequence",
        metric: Metric::Accuracy,
        tutorial: Some(1.0),
        baseline: None,
        tutorial_curve: &[
            0.862222, 0.866667, 0.866667, 0.888889, 0.911111, 0.955556, 0.955556, 0.977778,
            0.977778, 1.0,
        ],
        curve_from: 1,
        tutorial_train: None,
        networks: &[],
        quick_args: &["--epochs", "5"],
        by_default: true,
        sweep: None,
    },
    Experiment {
        name: "adding-paper",
        metric: Metric::Mse,
        tutorial: None,
        baseline: Some(LONG_BASELINE),
        tutorial_curve: &[],
        curve_from: 0,
        tutorial_train: None,
        networks: &["lstm", "rnn", "relu", "irnn"],
        quick_args: &["--epochs", "2", "--train-size", "256", "--test-size", "64"],
        by_default: false,
        sweep: Some(&PAPER_SWEEP),
    },
    Experiment {
        name: "adding-modern",
        metric: Metric::Mse,
        tutorial: None,
        baseline: Some(LONG_BASELINE),
        tutorial_curve: &[],
        curve_from: 0,
        tutorial_train: None,
        networks: &["irnn", "rnn"],
        quick_args: &["--epochs", "2", "--train-size", "512", "--test-size", "64"],
        by_default: false,
        sweep: Some(&MODERN_SWEEP),
    },
    pixels("smnist-paper", &SMNIST_PAPER),
    pixels("psmnist-paper", &PSMNIST_PAPER),
    pixels("smnist-modern", &SMNIST_MODERN),
    pixels("psmnist-modern", &PSMNIST_MODERN),
];

/// A sweep of pixel MNIST (the IRNN paper's section 4.2): the paper's four networks, run only
/// when named; `--quick` trains one epoch of one step on 16 images.
const fn pixels(name: &'static str, sweep: &'static Sweep) -> Experiment {
    Experiment {
        name,
        metric: Metric::Accuracy,
        tutorial: None,
        baseline: None,
        tutorial_curve: &[],
        curve_from: 0,
        tutorial_train: None,
        networks: &["lstm", "rnn", "relu", "irnn"],
        quick_args: &["--epochs", "1", "--limit-train", "16", "--limit-test", "16"],
        by_default: false,
        sweep: Some(sweep),
    }
}

/// The predict-1 MSE the IRNN paper draws (1/6, the variance of the sum of two uniforms).
pub const LONG_BASELINE: f64 = 0.167;

impl Experiment {
    /// The binary that runs it.
    pub fn program(&self) -> &'static str {
        match self.sweep {
            Some(sweep) => sweep.task.program(),
            None => self.name,
        }
    }

    /// Its runs per seed: one, or one per length and network of its sweep (the adding
    /// problem's lengths in `lengths` only, when given; `--quick`: the sweep's quick lengths
    /// and networks).
    pub fn units(&'static self, quick: bool, lengths: &[usize]) -> Vec<Unit> {
        let Some(sweep) = self.sweep else {
            return vec![Unit {
                exp: self,
                setting: None,
            }];
        };
        let all = if quick {
            sweep.quick_lengths
        } else {
            sweep.lengths
        };
        let filter = sweep.task == Task::Adding && !lengths.is_empty();
        let chosen = all.iter().filter(|t| !filter || lengths.contains(t));
        let networks = self.networks.iter().filter(|n| {
            !quick || sweep.quick_networks.is_empty() || sweep.quick_networks.contains(n)
        });
        let networks: Vec<&'static str> = networks.copied().collect();
        chosen
            .flat_map(|&t| {
                networks.iter().map(move |&n| Unit {
                    exp: self,
                    setting: Some((t, n)),
                })
            })
            .collect()
    }
}

/// The experiment called `name`.
pub fn experiment(name: &str) -> Result<&'static Experiment, String> {
    EXPERIMENTS.iter().find(|e| e.name == name).ok_or_else(|| {
        let names: Vec<&str> = EXPERIMENTS.iter().map(|e| e.name).collect();
        format!(
            "unknown experiment {name:?} (expected one of: {})",
            names.join(", ")
        )
    })
}

/// Seconds per IRNN epoch (60 000 samples, training and test), measured on 2 cores: 10.3 s
/// on an AMD EPYC (200 epochs in 34 min 24 s), 27.3 s on an Intel Xeon (median epoch of the
/// 2026-11-30 reproduction's seed 1, 97 min in all). The same kind of machine has been either.
pub const IRNN_EPOCH_SECONDS: [(&str, f64); 2] = [("AMD EPYC", 10.3), ("Intel Xeon", 27.3)];

/// The IRNN's expected wall time per seed on each machine of [`IRNN_EPOCH_SECONDS`], scaled
/// by the epochs and samples of `--quick`.
pub fn irnn_seconds(quick: bool) -> [(&'static str, f64); 2] {
    let flag = |name: &str, default: f64| {
        let args = EXPERIMENTS[0].quick_args;
        let at = args.iter().position(|a| *a == name).filter(|_| quick);
        at.and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(default)
    };
    let epochs = flag("--epochs", 200.0) * flag("--limit-train", 60_000.0) / 60_000.0;
    IRNN_EPOCH_SECONDS.map(|(machine, per_epoch)| (machine, epochs * per_epoch))
}
