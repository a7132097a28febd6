//! What to run: the experiments and their tutorials' numbers, where their binaries are, and
//! for each seed whether its run directory is finished, can be resumed, or starts afresh.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rnn_train::RunDir;

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
    /// A sweep over sequence lengths, each length and network a run of its own; `None`: one
    /// run of the binary per seed.
    pub sweep: Option<&'static Sweep>,
}

/// The long adding problem's sweep: one run of the `adding-problem` binary per length,
/// network and seed, each in `<out>/<experiment>/T<len>-<network>/seed-K/<network>/`.
#[derive(Debug, PartialEq)]
pub struct Sweep {
    /// The binary's `--preset`.
    pub preset: &'static str,
    /// The lengths T swept (`--lengths` picks some).
    pub lengths: &'static [usize],
    /// The lengths `--quick` runs.
    pub quick_lengths: &'static [usize],
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

/// The test MSE at or under which the adding problem counts as solved (Keller et al.'s
/// threshold; the 0.167 baseline is about three times it).
pub const SOLVED_MSE: f64 = 0.05;

/// What a reference figure or table shows for one network at one length.
#[derive(Debug, PartialEq)]
pub struct Reference {
    pub seq_len: usize,
    pub network: &'static str,
    pub outcome: Outcome,
    /// As read off the source, in words.
    pub note: &'static str,
}

/// Whether a network solves the problem in the reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// Reaches MSE ≤ 0.05, after about this many steps where the source says.
    Solved(Option<f64>),
    /// Stays near the baseline for as long as the source trains.
    Fails,
}

/// The long adding problem of Le, Jaitly & Hinton (2015), as its Fig. 2 shows it.
pub static PAPER_SWEEP: Sweep = Sweep {
    preset: "paper",
    lengths: &[150, 200, 300, 400],
    quick_lengths: &[150],
    source: "Le et al. (2015), Fig. 2",
    reference: &[
        Reference {
            seq_len: 150,
            network: "lstm",
            outcome: Outcome::Solved(Some(1e6)),
            note: "≈ 0.01–0.02 by about 10⁶ steps",
        },
        Reference {
            seq_len: 150,
            network: "rnn",
            outcome: Outcome::Solved(None),
            note: "gets there, later than LSTM and IRNN",
        },
        Reference {
            seq_len: 150,
            network: "irnn",
            outcome: Outcome::Solved(Some(1e6)),
            note: "≈ 0.01–0.02 by about 10⁶ steps",
        },
        Reference {
            seq_len: 200,
            network: "lstm",
            outcome: Outcome::Solved(None),
            note: "≈ 0.02",
        },
        Reference {
            seq_len: 200,
            network: "rnn",
            outcome: Outcome::Fails,
            note: "stays at the baseline",
        },
        Reference {
            seq_len: 200,
            network: "relu",
            outcome: Outcome::Fails,
            note: "stays at the baseline",
        },
        Reference {
            seq_len: 200,
            network: "irnn",
            outcome: Outcome::Solved(None),
            note: "≈ 0.01",
        },
        Reference {
            seq_len: 300,
            network: "lstm",
            outcome: Outcome::Fails,
            note: "only the IRNN solves T = 300",
        },
        Reference {
            seq_len: 300,
            network: "rnn",
            outcome: Outcome::Fails,
            note: "only the IRNN solves T = 300",
        },
        Reference {
            seq_len: 300,
            network: "relu",
            outcome: Outcome::Fails,
            note: "only the IRNN solves T = 300",
        },
        Reference {
            seq_len: 300,
            network: "irnn",
            outcome: Outcome::Solved(Some(3e6)),
            note: "after ≈ 3·10⁶ steps",
        },
        Reference {
            seq_len: 400,
            network: "lstm",
            outcome: Outcome::Fails,
            note: "nothing solves T = 400",
        },
        Reference {
            seq_len: 400,
            network: "rnn",
            outcome: Outcome::Fails,
            note: "nothing solves T = 400",
        },
        Reference {
            seq_len: 400,
            network: "relu",
            outcome: Outcome::Fails,
            note: "nothing solves T = 400",
        },
        Reference {
            seq_len: 400,
            network: "irnn",
            outcome: Outcome::Fails,
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
    preset: "modern",
    lengths: &[100, 200, 400],
    quick_lengths: &[100],
    source: "Keller et al. (2024), iRNN",
    reference: &[
        Reference {
            seq_len: 100,
            network: "irnn",
            outcome: Outcome::Solved(Some(14e3)),
            note: "solved in 14k steps",
        },
        Reference {
            seq_len: 200,
            network: "irnn",
            outcome: Outcome::Solved(Some(22e3)),
            note: "solved in 22k steps",
        },
        Reference {
            seq_len: 400,
            network: "irnn",
            outcome: Outcome::Solved(Some(30e3)),
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

/// The experiments, in the order they run. The tutorials' numbers are those their texts
/// report; the per-epoch values are the tutorials' own printed training logs (lstm-mnist's
/// and simple-sequence's).
pub static EXPERIMENTS: [Experiment; 7] = [
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
];

/// The predict-1 MSE the IRNN paper draws (1/6, the variance of the sum of two uniforms).
pub const LONG_BASELINE: f64 = 0.167;

/// One run's place in a reproduction: an experiment, and for a sweep one length and network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unit {
    pub exp: &'static Experiment,
    /// `(T, network)` of a sweep's run.
    pub setting: Option<(usize, &'static str)>,
}

impl Experiment {
    /// The binary that runs it.
    pub fn program(&self) -> &'static str {
        match self.sweep {
            Some(_) => "adding-problem",
            None => self.name,
        }
    }

    /// Its runs per seed: one, or one per length and network of its sweep (the lengths in
    /// `lengths` only, when given; `--quick`: the sweep's quick lengths).
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
        let chosen = all
            .iter()
            .filter(|t| lengths.is_empty() || lengths.contains(t));
        chosen
            .flat_map(|&t| {
                self.networks.iter().map(move |&n| Unit {
                    exp: self,
                    setting: Some((t, n)),
                })
            })
            .collect()
    }
}

impl Unit {
    /// `adding-paper/T150-irnn`, or the experiment's name.
    pub fn name(&self) -> String {
        match self.setting {
            Some((t, n)) => format!("{}/T{t}-{n}", self.exp.name),
            None => self.exp.name.to_string(),
        }
    }

    /// The unit whose run directory `name` names (`adding-paper/T150-irnn`, `lstm-mnist`).
    pub fn parse(name: &str) -> Result<Unit, String> {
        let (exp, setting) = match name.split_once('/') {
            Some((e, s)) => (experiment(e)?, Some(s)),
            None => (experiment(name)?, None),
        };
        let units = exp.units(false, &[]);
        let found = units.into_iter().find(|u| u.name() == name);
        found.ok_or_else(|| match setting {
            Some(s) => format!("{} has no setting {s:?}", exp.name),
            None => format!("{} is a sweep: name one of its settings", exp.name),
        })
    }
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

/// The expected wall time of `unit`'s run on one 2-core machine like the sweep's: its steps
/// (from the binary's preset) times the measured seconds per step and sequence step; 0 for a
/// unit that is not part of a sweep.
pub fn estimate(unit: &Unit, quick: bool) -> f64 {
    let (Some(sweep), Some((t, network))) = (unit.exp.sweep, unit.setting) else {
        return 0.0;
    };
    let Some(steps) = sweep_steps(sweep, network, quick) else {
        return 0.0;
    };
    let per = sweep
        .seconds_per_step_and_t
        .iter()
        .find(|(n, _)| *n == network)
        .map_or(0.0, |p| p.1);
    steps * t as f64 * per
}

/// Training steps of one run of `network` in `sweep`: the preset's epochs times its steps per
/// epoch (with `--quick`, the quick arguments' epochs and training set).
pub fn sweep_steps(sweep: &Sweep, network: &str, quick: bool) -> Option<f64> {
    use clap::ValueEnum as _;
    let cell = adding_problem::Cell::from_str(network, true).ok()?;
    let preset = adding_problem::Preset::from_str(sweep.preset, true).ok()?;
    let config = preset.config(cell);
    let (mut epochs, mut train, batch) = (
        config.training.epochs,
        config.data.train_size,
        config.training.batch_size,
    );
    if quick {
        let exp = EXPERIMENTS.iter().find(|e| e.sweep == Some(sweep))?;
        let flag = |name: &str| {
            let i = exp.quick_args.iter().position(|a| *a == name)?;
            exp.quick_args.get(i + 1)?.parse::<usize>().ok()
        };
        epochs = flag("--epochs").unwrap_or(epochs);
        train = flag("--train-size").unwrap_or(train);
    }
    Some((epochs * train.div_ceil(batch)) as f64)
}

/// How far a run has got, from its run directories' `config.json` and `metrics.csv`.
#[derive(Debug, PartialEq)]
pub struct Progress {
    /// Epochs finished, over every network of the run.
    pub done: usize,
    /// Epochs planned, over every network (a network not started yet counts as many as the
    /// first one).
    pub planned: usize,
    /// The network being trained, for a run of several.
    pub network: Option<&'static str>,
    /// Its last epoch and that epoch's test value (accuracy or MSE).
    pub epoch: usize,
    pub test: Option<f64>,
}

/// The progress of `unit`'s run in `dir`; `None` before its first `config.json`.
pub fn progress(unit: &Unit, dir: &Path) -> Option<Progress> {
    let exp = unit.exp;
    let mut found = Vec::new();
    let dirs = model_dirs(unit, dir);
    for (i, (_, d)) in dirs.iter().enumerate() {
        let Some(config) = read_json(&d.join("config.json")) else {
            continue;
        };
        let planned = config["config"]["training"]["epochs"].as_u64()? as usize;
        let records = RunDir::open(d, exp.program())
            .and_then(|run| run.read_metrics())
            .unwrap_or_default();
        let last = records.iter().rfind(|r| r.epoch > 0);
        let test = last.and_then(|r| match exp.metric {
            Metric::Accuracy => r.test_accuracy,
            Metric::Mse => r.test_loss,
        });
        found.push((i, planned, last.map_or(0, |r| r.epoch), test));
    }
    let &(current, _, epoch, test) = found.iter().rfind(|f| f.2 > 0).or(found.first())?;
    let networks = dirs.len();
    let first_planned = found[0].1;
    let network = match unit.setting {
        Some((_, n)) => Some(n),
        None => exp.networks.get(current).copied(),
    };
    Some(Progress {
        done: found.iter().map(|f| f.2).sum(),
        planned: found.iter().map(|f| f.1).sum::<usize>()
            + (networks - found.len()) * first_planned,
        network,
        epoch,
        test,
    })
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

/// `dir/<experiment>/seed-<seed>`, or for a sweep `dir/<experiment>/T<len>-<network>/seed-<seed>`.
pub fn run_path(out: &Path, unit: &Unit, seed: u64) -> PathBuf {
    out.join(unit.name()).join(format!("seed-{seed}"))
}

/// Where the run of `unit` (or of each of its networks) keeps its `summary.json`, with the
/// name the report gives it (`lstm-mnist`, `adding-problem/gru`, `adding-paper/T150/irnn`).
pub fn model_dirs(unit: &Unit, run: &Path) -> Vec<(String, PathBuf)> {
    let exp = unit.exp;
    if let Some((t, n)) = unit.setting {
        return vec![(format!("{}/T{t}/{n}", exp.name), run.join(n))];
    }
    if exp.networks.is_empty() {
        vec![(exp.name.to_string(), run.to_path_buf())]
    } else {
        let net = |n: &&str| (format!("{}/{n}", exp.name), run.join(n));
        exp.networks.iter().map(net).collect()
    }
}

/// What to do with one seed's run directory.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Its run finished: nothing to run.
    Done,
    /// No directory yet: start the run.
    Start,
    /// It holds a started run: continue it with `--resume`.
    Resume,
    /// It holds nothing that `--resume` could continue: rename it to the path given, then
    /// start the run.
    MoveAside(PathBuf),
}

/// Whether `dir/summary.json` says `"completed": true`.
pub fn completed(dir: &Path) -> bool {
    read_json(&dir.join("summary.json")).is_some_and(|s| s["completed"] == true)
}

/// Reads a JSON file; `None` if it is missing or unreadable.
pub fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Whether the experiment's `--resume` can continue `dir`: the adding problem's comparison
/// needs its `comparison.json` (it restarts a network that has no checkpoint itself); a
/// single run needs `config.json` and a complete checkpoint before its last epoch.
fn resumable(exp: &Experiment, dir: &Path) -> bool {
    if !exp.networks.is_empty() {
        return dir.join("comparison.json").is_file();
    }
    let Ok(run) = RunDir::open(dir, exp.program()) else {
        return false;
    };
    let epochs = read_json(&run.config_path()).and_then(|c| {
        c.pointer("/config/training/epochs")
            .and_then(|e| e.as_u64())
    });
    match (run.last_checkpoint(), epochs) {
        (Some(epoch), Some(epochs)) => (epoch as u64) < epochs,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Decides what to do with `dir`, the run directory of one seed of `unit`.
pub fn decide(unit: &Unit, dir: &Path) -> Action {
    if !dir.exists() {
        return Action::Start;
    }
    if model_dirs(unit, dir).iter().all(|(_, d)| completed(d)) {
        return Action::Done;
    }
    if resumable(unit.exp, dir) {
        return Action::Resume;
    }
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("run");
    let aside = (1..)
        .map(|n| dir.with_file_name(format!("{name}.incomplete-{n}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.with_file_name(format!("{name}.incomplete")));
    Action::MoveAside(aside)
}

/// The experiment binaries sit next to this one (`target/release/`).
pub fn binary(exp: &Experiment) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let dir = me.parent().unwrap_or(Path::new("."));
    let name = exp.program();
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("the {name} binary is missing: {}", path.display()))
    }
}

/// The arguments of one run: a new one, or with `resume` the continuation of `dir`.
pub fn arguments(unit: &Unit, seed: u64, dir: &Path, resume: bool, quick: bool) -> Vec<String> {
    let dir = dir.display().to_string();
    let mut args: Vec<String> = if resume {
        vec!["--resume".into(), dir]
    } else {
        vec!["--seed".into(), seed.to_string(), "--out".into(), dir]
    };
    args.push("--plain".into());
    if resume {
        return args;
    }
    if let (Some(sweep), Some((t, n))) = (unit.exp.sweep, unit.setting) {
        let setting = [
            "--preset",
            sweep.preset,
            "--seq-len",
            &t.to_string(),
            "--model",
            n,
        ];
        args.extend(setting.map(String::from));
    }
    if quick {
        args.extend(unit.exp.quick_args.iter().map(|a| a.to_string()));
    }
    args
}

/// Training steps per epoch of the run whose `config.json` is `config` (the adding
/// problem's: its training set, or with `limit_train` part of it, in batches).
pub fn steps_per_epoch(config: &serde_json::Value) -> Option<f64> {
    let c = &config["config"];
    let size = c["data"]["train_size"].as_u64()?;
    let limit = c["training"]["limit_train"].as_u64().unwrap_or(size);
    let batch = c["training"]["batch_size"].as_u64()?.max(1);
    Some(size.min(limit).div_ceil(batch) as f64)
}

/// Runs `bin args` with its output (stdout and stderr) in `log`: written to `log.partial`
/// while it runs, renamed to `log` when it ends. Calls `tick` about once a second while it
/// runs. Returns the exit code (`None`: killed by a signal).
pub fn run_logged(
    bin: &Path,
    args: &[String],
    log: &Path,
    mut tick: impl FnMut(),
) -> std::io::Result<Option<i32>> {
    let partial = log.with_extension("log.partial");
    let mut file = File::create(&partial)?;
    writeln!(file, "$ {} {}", bin.display(), args.join(" "))?;
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file.try_clone()?)
        .spawn()?;
    // Polled every 50 ms, so that the many short runs of a reproduction end on time.
    let mut ticked = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if ticked.elapsed().as_secs() >= 1 {
            tick();
            ticked = std::time::Instant::now();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    file.sync_all()?;
    drop(file);
    std::fs::rename(&partial, log)?;
    Ok(status.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn checkpoint(dir: &Path, epoch: usize) {
        for kind in ["model", "optim", "scheduler"] {
            write(&dir.join(format!("checkpoint/{kind}-{epoch}.bpk")), "x");
        }
    }

    const CONFIG: &str =
        r#"{"experiment": "lstm-mnist", "version": "0", "config": {"training": {"epochs": 3}}}"#;

    #[test]
    fn single_runs_are_skipped_resumed_or_moved_aside() {
        let tmp = tempfile::tempdir().unwrap();
        let lstm = &Unit::parse("lstm-mnist").unwrap();
        let dir = run_path(tmp.path(), lstm, 1);
        assert_eq!(decide(lstm, &dir), Action::Start);

        // Killed before config.json: moved aside, numbered past what is already there.
        std::fs::create_dir_all(&dir).unwrap();
        let aside = |n: usize| dir.with_file_name(format!("seed-1.incomplete-{n}"));
        assert_eq!(decide(lstm, &dir), Action::MoveAside(aside(1)));
        std::fs::create_dir_all(aside(1)).unwrap();
        assert_eq!(decide(lstm, &dir), Action::MoveAside(aside(2)));

        // Started but no checkpoint yet: --resume would refuse it.
        write(&dir.join("config.json"), CONFIG);
        assert_eq!(decide(lstm, &dir), Action::MoveAside(aside(2)));
        checkpoint(&dir, 1);
        assert_eq!(decide(lstm, &dir), Action::Resume);
        // Stopped early (summary written, not completed): resumed.
        write(&dir.join("summary.json"), r#"{"completed": false}"#);
        assert_eq!(decide(lstm, &dir), Action::Resume);
        // Every epoch checkpointed but no summary: --resume would refuse it.
        checkpoint(&dir, 3);
        assert!(matches!(decide(lstm, &dir), Action::MoveAside(_)));
        write(&dir.join("summary.json"), r#"{"completed": true}"#);
        assert_eq!(decide(lstm, &dir), Action::Done);

        // Another experiment's run is not resumed as this one.
        let elman = &Unit::parse("elman-mnist").unwrap();
        let other = run_path(tmp.path(), elman, 1);
        write(&other.join("config.json"), CONFIG);
        checkpoint(&other, 1);
        assert!(matches!(decide(elman, &other), Action::MoveAside(_)));
    }

    #[test]
    fn the_adding_problem_is_done_when_every_network_is() {
        let tmp = tempfile::tempdir().unwrap();
        let adding = &Unit::parse("adding-problem").unwrap();
        let dir = run_path(tmp.path(), adding, 2);
        std::fs::create_dir_all(dir.join("rnn")).unwrap();
        assert!(matches!(decide(adding, &dir), Action::MoveAside(_)));
        write(&dir.join("comparison.json"), "{}");
        assert_eq!(decide(adding, &dir), Action::Resume);
        for net in ["rnn", "lstm"] {
            write(
                &dir.join(net).join("summary.json"),
                r#"{"completed": true}"#,
            );
        }
        assert_eq!(decide(adding, &dir), Action::Resume);
        write(&dir.join("gru/summary.json"), r#"{"completed": true}"#);
        assert_eq!(decide(adding, &dir), Action::Done);
    }

    #[test]
    fn progress_counts_the_epochs_of_every_network() {
        let tmp = tempfile::tempdir().unwrap();
        let header = "epoch,train_loss,train_accuracy,test_loss,test_accuracy\n";
        let config = |epochs: usize| {
            format!(
                r#"{{"experiment": "EXP", "version": "0", "config": {{"training": {{"epochs": {epochs}}}}}}}"#
            )
        };
        let lstm = &Unit::parse("lstm-mnist").unwrap();
        let dir = run_path(tmp.path(), lstm, 1);
        assert_eq!(progress(lstm, &dir), None);
        write(
            &dir.join("config.json"),
            &config(10).replace("EXP", "lstm-mnist"),
        );
        let started = progress(lstm, &dir).unwrap();
        assert_eq!((started.done, started.planned, started.epoch), (0, 10, 0));
        let rows = "1,2.0,0.2,1.9,0.25\n2,1.5,0.5,1.4,0.55\n";
        write(&dir.join("metrics.csv"), &format!("{header}{rows}"));
        let p = progress(lstm, &dir).unwrap();
        assert_eq!((p.done, p.planned, p.network, p.epoch), (2, 10, None, 2));
        assert_eq!(p.test, Some(0.55));

        // The comparison: rnn done (3 epochs), lstm on its first, gru not started.
        let adding = &Unit::parse("adding-problem").unwrap();
        let dir = run_path(tmp.path(), adding, 1);
        for (net, rows) in [
            ("rnn", "1,,,0.3,\n2,,,0.2,\n3,,,0.1,\n"),
            ("lstm", "1,,,0.15,\n"),
        ] {
            write(
                &dir.join(net).join("config.json"),
                &config(3).replace("EXP", "adding-problem"),
            );
            write(
                &dir.join(net).join("metrics.csv"),
                &format!("{header}{rows}"),
            );
        }
        let p = progress(adding, &dir).unwrap();
        assert_eq!(
            (p.done, p.planned, p.network, p.epoch),
            (4, 9, Some("lstm"), 1)
        );
        assert_eq!(p.test, Some(0.15));
    }

    #[test]
    fn arguments_and_names() {
        let lstm = &Unit::parse("lstm-mnist").unwrap();
        let dir = Path::new("out/lstm-mnist/seed-3");
        let args = arguments(lstm, 3, dir, false, true);
        assert_eq!(
            args[..5],
            ["--seed", "3", "--out", "out/lstm-mnist/seed-3", "--plain"]
        );
        assert!(args.contains(&"--limit-train".to_string()));
        let args = arguments(lstm, 3, dir, true, true);
        assert_eq!(args, ["--resume", "out/lstm-mnist/seed-3", "--plain"]);
        let err = experiment("lstm").unwrap_err();
        assert!(err.contains("unknown experiment \"lstm\"") && err.contains("adding-problem"));
    }

    #[test]
    fn the_sweeps_are_the_binarys_presets() {
        use adding_problem::config::{modern, paper};
        let names = |cells: &[adding_problem::Cell]| -> Vec<&str> {
            cells.iter().map(|c| c.name()).collect()
        };
        let (p, m) = (
            experiment("adding-paper").unwrap(),
            experiment("adding-modern").unwrap(),
        );
        assert_eq!(p.networks, names(&paper::MODELS));
        assert_eq!(m.networks, names(&modern::MODELS));
        assert_eq!(PAPER_SWEEP.lengths, paper::SEQ_LENS);
        assert_eq!(MODERN_SWEEP.lengths, modern::SEQ_LENS);
        assert_eq!(sweep_steps(&PAPER_SWEEP, "irnn", false), Some(1e6));
        assert_eq!(sweep_steps(&MODERN_SWEEP, "irnn", false), Some(6e4));
        assert_eq!(sweep_steps(&PAPER_SWEEP, "lstm", true), Some(32.0));
        let unit = Unit::parse("adding-modern/T400-irnn").unwrap();
        let secs = estimate(&unit, false);
        assert!(
            (secs - 6e4 * 400.0 * MODERN_STEP_SECONDS).abs() < 1e-6,
            "{secs}"
        );
        // Every reference reading names a length and network the sweep runs.
        for sweep in [&PAPER_SWEEP, &MODERN_SWEEP] {
            let exp = EXPERIMENTS.iter().find(|e| e.sweep == Some(sweep)).unwrap();
            for r in sweep.reference {
                assert!(sweep.lengths.contains(&r.seq_len) && exp.networks.contains(&r.network));
            }
        }
    }

    #[test]
    fn a_sweep_runs_each_length_and_network_on_its_own() {
        let paper = experiment("adding-paper").unwrap();
        let units = paper.units(false, &[150, 200]);
        let names: Vec<String> = units.iter().map(Unit::name).collect();
        assert_eq!(names.len(), 8);
        assert_eq!(names[0], "adding-paper/T150-lstm");
        assert_eq!(names[7], "adding-paper/T200-irnn");
        assert_eq!(paper.units(false, &[]).len(), 16);
        assert_eq!(
            paper.units(true, &[]).len(),
            4,
            "--quick: the first length only"
        );
        assert_eq!(paper.program(), "adding-problem");

        let unit = Unit::parse("adding-paper/T200-relu").unwrap();
        assert_eq!(unit.setting, Some((200, "relu")));
        let dir = run_path(Path::new("out"), &unit, 2);
        assert_eq!(dir, Path::new("out/adding-paper/T200-relu/seed-2"));
        let dirs = model_dirs(&unit, &dir);
        assert_eq!(
            dirs,
            [("adding-paper/T200/relu".to_string(), dir.join("relu"))]
        );
        let args = arguments(&unit, 2, &dir, false, false);
        let tail = ["--preset", "paper", "--seq-len", "200", "--model", "relu"];
        assert_eq!(args[5..], tail);
        assert_eq!(arguments(&unit, 2, &dir, true, true).len(), 3);
        assert!(Unit::parse("adding-paper/T999-relu").is_err());
        assert!(Unit::parse("adding-paper").unwrap_err().contains("sweep"));
        assert_eq!(Unit::parse("lstm-mnist").unwrap().setting, None);

        let config = serde_json::json!({"config": {"data": {"train_size": 100_000},
            "training": {"batch_size": 16, "limit_train": null}}});
        assert_eq!(steps_per_epoch(&config), Some(6250.0));
    }
}
