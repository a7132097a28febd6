//! What a seed's run directory holds, read from its JSON files and metrics: a finished run,
//! one that `--resume` can continue, or nothing to keep ([`decide`]); how far its run has got
//! ([`progress`]).

use std::path::{Path, PathBuf};

use rnn_train::RunDir;

use super::experiments::Metric;
use super::sweeps::Task;
use super::units::{Unit, model_dirs};

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

/// Decides what to do with `dir`, the run directory of one seed of `unit`.
pub fn decide(unit: &Unit, dir: &Path) -> Action {
    if !dir.exists() {
        return Action::Start;
    }
    if model_dirs(unit, dir).iter().all(|(_, d)| completed(d)) {
        return Action::Done;
    }
    if resumable(unit, dir) {
        return Action::Resume;
    }
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("run");
    let aside = (1..)
        .map(|n| dir.with_file_name(format!("{name}.incomplete-{n}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.with_file_name(format!("{name}.incomplete")));
    Action::MoveAside(aside)
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
/// (a sweep's run of it included) needs its `comparison.json` (it restarts a network that has
/// no checkpoint itself); a single run, a pixel sweep's among them, needs `config.json` and a
/// complete checkpoint before its last epoch: what the binary itself writes, so that a run
/// started by hand in the sweep's place is adopted.
fn resumable(unit: &Unit, dir: &Path) -> bool {
    let exp = unit.exp;
    let single = matches!(unit.task(), Some(Task::Pixels { .. }));
    if !exp.networks.is_empty() && !single {
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
