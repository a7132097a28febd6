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
    /// Run when `--experiments` is not given.
    pub by_default: bool,
}

/// The experiments, in the order they run. The tutorials' numbers are those their texts
/// report; the per-epoch values are the tutorials' own printed training logs (lstm-mnist's
/// and simple-sequence's).
pub static EXPERIMENTS: [Experiment; 5] = [
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
    },
];

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

/// The progress of `exp`'s run in `dir`; `None` before its first `config.json`.
pub fn progress(exp: &Experiment, dir: &Path) -> Option<Progress> {
    let mut found = Vec::new();
    for (i, (_, d)) in model_dirs(exp, dir).iter().enumerate() {
        let Some(config) = read_json(&d.join("config.json")) else {
            continue;
        };
        let planned = config["config"]["training"]["epochs"].as_u64()? as usize;
        let records = RunDir::open(d, exp.name)
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
    let networks = model_dirs(exp, dir).len();
    let first_planned = found[0].1;
    Some(Progress {
        done: found.iter().map(|f| f.2).sum(),
        planned: found.iter().map(|f| f.1).sum::<usize>()
            + (networks - found.len()) * first_planned,
        network: exp.networks.get(current).copied(),
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

/// `dir/<experiment>/seed-<seed>`.
pub fn run_path(out: &Path, exp: &Experiment, seed: u64) -> PathBuf {
    out.join(exp.name).join(format!("seed-{seed}"))
}

/// Where the run of `exp` (or of one of its networks) keeps its `summary.json`.
pub fn model_dirs(exp: &Experiment, run: &Path) -> Vec<(String, PathBuf)> {
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
    let Ok(run) = RunDir::open(dir, exp.name) else {
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

/// Decides what to do with `dir`, the run directory of one seed of `exp`.
pub fn decide(exp: &Experiment, dir: &Path) -> Action {
    if !dir.exists() {
        return Action::Start;
    }
    if model_dirs(exp, dir).iter().all(|(_, d)| completed(d)) {
        return Action::Done;
    }
    if resumable(exp, dir) {
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
    let path = dir.join(format!("{}{}", exp.name, std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the {} binary is missing: {}",
            exp.name,
            path.display()
        ))
    }
}

/// The arguments of one run: a new one, or with `resume` the continuation of `dir`.
pub fn arguments(
    exp: &Experiment,
    seed: u64,
    dir: &Path,
    resume: bool,
    quick: bool,
) -> Vec<String> {
    let dir = dir.display().to_string();
    let mut args: Vec<String> = if resume {
        vec!["--resume".into(), dir]
    } else {
        vec!["--seed".into(), seed.to_string(), "--out".into(), dir]
    };
    args.push("--plain".into());
    if quick && !resume {
        args.extend(exp.quick_args.iter().map(|a| a.to_string()));
    }
    args
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
        let lstm = experiment("lstm-mnist").unwrap();
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
        let elman = experiment("elman-mnist").unwrap();
        let other = run_path(tmp.path(), elman, 1);
        write(&other.join("config.json"), CONFIG);
        checkpoint(&other, 1);
        assert!(matches!(decide(elman, &other), Action::MoveAside(_)));
    }

    #[test]
    fn the_adding_problem_is_done_when_every_network_is() {
        let tmp = tempfile::tempdir().unwrap();
        let adding = experiment("adding-problem").unwrap();
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
        let lstm = experiment("lstm-mnist").unwrap();
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
        let adding = experiment("adding-problem").unwrap();
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
        let lstm = experiment("lstm-mnist").unwrap();
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
}
