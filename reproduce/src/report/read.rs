//! Reading the runs back: each finished seed's final value, time, test curve and summary
//! figures from its run directory, gathered per experiment or network ([`Entry`]).

use std::path::{Path, PathBuf};

use rnn_train::RunDir;
use serde_json::Value;

use crate::plan::{self, Experiment, Metric};

/// The finished seeds of one experiment (or of one network of the adding problem).
pub struct Entry {
    /// `lstm-mnist`, or `adding-problem/rnn`.
    pub name: String,
    pub exp: &'static Experiment,
    pub seeds: Vec<u64>,
    /// The final test accuracy (fraction) or MSE of each seed.
    pub values: Vec<f64>,
    /// Training and test time of each run (all its sessions), from `summary.json`.
    pub seconds: Vec<f64>,
    pub runs: Vec<PathBuf>,
    /// Each seed's `(epoch, test value)`, epoch 0 = before training where measured.
    pub curves: Vec<Vec<(f64, f64)>>,
    /// `train_set_accuracy` of each seed's `summary.json`, where present.
    pub train_set: Vec<f64>,
    /// `parameters` of the first `summary.json` that has it.
    pub parameters: Option<Value>,
    /// A sweep's run: its length T and network; its curves are then against training steps,
    /// and runs still going count with the steps they have trained.
    pub setting: Option<(usize, &'static str)>,
    /// Steps trained and steps planned by each seed's run (sweeps).
    pub steps: Vec<(f64, f64)>,
    /// A sweep's runs that ended without finishing: the `error:` line their log ends with
    /// (such as a training loss that became infinite), one per seed read, `None` for the rest.
    pub stopped: Vec<Option<String>>,
}

/// Reads the finished runs of `exp` among `seeds` under `out` (a seed of the adding problem
/// counts once all its networks have finished; a sweep's run counts with the epochs it has).
pub fn collect(
    exp: &'static Experiment,
    out: &Path,
    seeds: &[u64],
    lengths: &[usize],
    quick: bool,
) -> Vec<Entry> {
    let mut entries = Vec::new();
    for unit in exp.units(quick, lengths) {
        let first = entries.len();
        for (name, _) in plan::model_dirs(&unit, Path::new("")) {
            entries.push(Entry {
                name,
                exp,
                seeds: vec![],
                values: vec![],
                seconds: vec![],
                runs: vec![],
                curves: vec![],
                train_set: vec![],
                parameters: None,
                setting: unit.setting,
                steps: vec![],
                stopped: vec![],
            });
        }
        for &seed in seeds {
            let dirs = plan::model_dirs(&unit, &plan::run_path(out, &unit, seed));
            if unit.setting.is_none() && !dirs.iter().all(|(_, d)| plan::completed(d)) {
                continue;
            }
            let log = plan::run_path(out, &unit, seed).with_file_name(format!("seed-{seed}.log"));
            for (entry, (_, dir)) in entries[first..].iter_mut().zip(dirs) {
                let stopped = match unit.setting.is_some() && !plan::completed(&dir) {
                    true => stop_message(&log),
                    false => None,
                };
                let read = entry.seeds.len();
                read_run(entry, seed, dir);
                if unit.setting.is_some() && entry.seeds.len() > read {
                    entry.stopped.push(stopped);
                }
            }
        }
    }
    entries
}

/// Why a run whose process has ended (its log is complete, not `.log.partial`) stopped short:
/// the last `error:` line of its log; `None` while it runs, or when it was killed.
fn stop_message(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().rev().find(|l| l.starts_with("error: "))?;
    Some(line.trim_start_matches("error: ").to_string())
}

/// Adds seed `seed`'s run in `dir` to `entry`, if it has a result: a finished run's
/// `summary.json`, or for a sweep the last epoch it has recorded.
fn read_run(entry: &mut Entry, seed: u64, dir: PathBuf) {
    let exp = entry.exp;
    let summary = plan::read_json(&dir.join("summary.json"));
    let mut curve = curve(exp, &dir);
    let value = match (&summary, entry.setting) {
        (Some(s), None) => s[exp.metric.field()].as_f64(),
        (_, Some(_)) => curve.last().map(|p| p.1),
        (None, None) => None,
    };
    let Some(value) = value else {
        return;
    };
    let seconds = match (&summary, entry.setting) {
        (Some(s), None) => ["train_seconds", "test_seconds"]
            .map(|k| s[k].as_f64())
            .iter()
            .flatten()
            .sum(),
        _ => run_seconds(exp, &dir),
    };
    if entry.setting.is_some() {
        let config = plan::read_json(&dir.join("config.json"));
        let task = exp.sweep.map(|s| s.task);
        let per_epoch = (config.as_ref().zip(task))
            .and_then(|(c, task)| plan::steps_per_epoch(task, &c["config"]))
            .unwrap_or(1.0);
        let epochs = config
            .as_ref()
            .and_then(|c| c["config"]["training"]["epochs"].as_f64());
        curve.iter_mut().for_each(|p| p.0 *= per_epoch);
        let done = curve.last().map_or(0.0, |p| p.0);
        entry
            .steps
            .push((done, epochs.map_or(done, |e| e * per_epoch)));
    }
    entry.seeds.push(seed);
    entry.values.push(value);
    entry.seconds.push(seconds);
    entry.curves.push(curve);
    if let Some(s) = &summary {
        entry.train_set.extend(s["train_set_accuracy"].as_f64());
        if entry.parameters.is_none() && !s["parameters"].is_null() {
            entry.parameters = Some(s["parameters"].clone());
        }
    }
    entry.runs.push(dir);
}

/// Training and test seconds of the epochs `dir/metrics.csv` records.
fn run_seconds(exp: &Experiment, dir: &Path) -> f64 {
    let records = RunDir::open(dir, exp.program()).and_then(|d| d.read_metrics());
    let records = records.unwrap_or_default();
    let secs = records
        .iter()
        .map(|r| r.train_seconds.unwrap_or(0.0) + r.test_seconds.unwrap_or(0.0));
    secs.sum()
}

/// The test curve in `dir/metrics.csv` (empty if unreadable).
fn curve(exp: &Experiment, dir: &Path) -> Vec<(f64, f64)> {
    let records = RunDir::open(dir, exp.program()).and_then(|d| d.read_metrics());
    let value = |r: &rnn_train::EpochRecord| match exp.metric {
        Metric::Accuracy => r.test_accuracy,
        Metric::Mse => r.test_loss,
    };
    let records = records.unwrap_or_default();
    records
        .iter()
        .filter_map(|r| Some((r.epoch as f64, value(r)?)))
        .collect()
}
