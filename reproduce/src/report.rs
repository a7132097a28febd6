//! The report: each finished seed's figures read back from its run directory, their
//! statistics, `report.json`, `report.md` and one plot per experiment.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rnn_train::RunDir;
use serde_json::{Value, json};

use crate::plan::{self, Experiment, Metric, Outcome, Reference, SOLVED_MSE};
use rnn_train::report::plot::{self, COLORS, Figure, HLine, Line};

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

/// A run that exited with an error.
pub struct Failure {
    /// The run's name (`lstm-mnist`, `adding-paper/T150-irnn`).
    pub experiment: String,
    pub seed: u64,
    /// `None`: killed by a signal, or it could not be started.
    pub exit_code: Option<i32>,
    pub log: PathBuf,
}

/// Mean, sample standard deviation (n - 1; `None` for one value), min, max.
#[derive(Debug, PartialEq)]
pub struct Stats {
    pub mean: f64,
    pub sd: Option<f64>,
    pub min: f64,
    pub max: f64,
}

pub fn stats(values: &[f64]) -> Option<Stats> {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.len() > 1).then(|| {
        let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        (ss / (n - 1.0)).sqrt()
    });
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (!values.is_empty()).then_some(Stats { mean, sd, min, max })
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
        let per_epoch = config
            .as_ref()
            .and_then(plan::steps_per_epoch)
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

/// `95.31 %` or `0.02220` (four significant digits).
pub fn show(metric: Metric, v: f64) -> String {
    match metric {
        Metric::Accuracy => format!("{:.2} %", v * 100.0),
        Metric::Mse if v == 0.0 || !v.is_finite() => format!("{v}"),
        Metric::Mse => {
            let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
            format!("{v:.decimals$}")
        }
    }
}

/// Whether the tutorial's number lies in the seeds' range, and whether the mean reaches it.
pub fn verdict(entry: &Entry, s: &Stats) -> String {
    let m = entry.exp.metric;
    if let Some(baseline) = entry.exp.baseline {
        let below = entry.values.iter().filter(|&&v| v < baseline).count();
        let per_seed: Vec<String> = (entry.seeds.iter().zip(&entry.values))
            .map(|(k, &v)| {
                let side = if v < baseline { "below" } else { "NOT below" };
                format!("seed {k} {} {side}", show(m, v))
            })
            .collect();
        return format!(
            "{}: below the {baseline} baseline in {below} of {} seeds ({}).",
            entry.name,
            entry.values.len(),
            per_seed.join(", ")
        );
    }
    let Some(t) = entry.exp.tutorial else {
        return String::new();
    };
    let range = format!("[{}, {}]", show(m, s.min), show(m, s.max));
    let place = if t < s.min {
        format!("lies below the seeds' range {range}")
    } else if t > s.max {
        format!("lies above the seeds' range {range}")
    } else {
        format!("lies inside the seeds' range {range}")
    };
    let gap = (s.mean - t) * 100.0;
    let mean = if s.mean >= t {
        format!("the mean {} reaches it ({gap:+.2} points)", show(m, s.mean))
    } else {
        format!(
            "the mean {} does not reach it ({gap:+.2} points)",
            show(m, s.mean)
        )
    };
    format!("The tutorial's {} {place}; {mean}.", show(m, t))
}

/// The seeds in which the GRU has the lowest MSE of the three networks.
fn gru_lowest(entries: &[Entry]) -> Option<(usize, usize)> {
    let gru = entries.iter().find(|e| e.name.ends_with("/gru"))?;
    let mut lowest = 0;
    for (i, seed) in gru.seeds.iter().enumerate() {
        let others = entries.iter().filter(|e| !std::ptr::eq(*e, gru));
        let mut values =
            others.filter_map(|e| e.seeds.iter().position(|k| k == seed).map(|j| e.values[j]));
        lowest += usize::from(values.all(|v| gru.values[i] < v));
    }
    Some((lowest, gru.seeds.len()))
}

/// The first training step at which `curve` (steps, test MSE) is at or under
/// [`SOLVED_MSE`].
pub fn steps_to_solve(curve: &[(f64, f64)]) -> Option<f64> {
    curve.iter().find(|p| p.1 <= SOLVED_MSE).map(|p| p.0)
}

/// `30k`, `1.2M`, `640`: a step count.
pub fn steps(n: f64) -> String {
    match n {
        _ if n >= 1e6 => format!("{:.2}M", n / 1e6),
        _ if n >= 1e4 => format!("{:.0}k", n / 1e3),
        _ if n >= 1e3 => format!("{:.1}k", n / 1e3),
        _ => format!("{n:.0}"),
    }
}

/// What the sweep's reference shows for `entry`'s length and network.
pub fn reference(entry: &Entry) -> Option<&'static Reference> {
    let (t, n) = entry.setting?;
    let sweep = entry.exp.sweep?;
    sweep
        .reference
        .iter()
        .find(|r| r.seq_len == t && r.network == n)
}

/// How one network at one length compares with the reference: whether each seed solved the
/// problem (test MSE ≤ 0.05), how soon, and whether the runs trained as long as the reference.
pub fn sweep_verdict(entry: &Entry) -> String {
    let n = entry.seeds.len();
    if n == 0 {
        return "no run yet".into();
    }
    let solved: Vec<f64> = entry
        .curves
        .iter()
        .filter_map(|c| steps_to_solve(c))
        .collect();
    let run = entry
        .steps
        .iter()
        .map(|s| s.0)
        .fold(f64::INFINITY, f64::min);
    let unfinished = entry.steps.iter().any(|s| s.0 < s.1);
    let planned = entry.steps.iter().map(|s| s.1).fold(0.0, f64::max);
    let slowest = solved.iter().copied().fold(0.0, f64::max);
    let all = solved.len() == n;
    let seeds = if n == 1 {
        "".to_string()
    } else {
        format!(" in {} of {n} seeds", solved.len())
    };
    let stopped: Vec<&String> = entry.stopped.iter().flatten().collect();
    if let Some(why) = stopped.first() {
        let runs = match n {
            1 => "the run".to_string(),
            _ => format!("{} of {n} runs", stopped.len()),
        };
        return format!("stopped: {runs} ended early ({why})");
    }
    let outcome = reference(entry).map(|r| r.outcome);
    match outcome {
        Some(Outcome::Fails) if !solved.is_empty() => format!(
            "better: solved{seeds} (by {} steps) where the reference stays at the baseline",
            steps(slowest)
        ),
        Some(Outcome::Fails) if unfinished => format!(
            "as the reference so far: not solved in {} of {} steps",
            steps(run),
            steps(planned)
        ),
        Some(Outcome::Fails) => format!("matches: not solved in {} steps", steps(run)),
        Some(Outcome::Solved(by)) if all => match by {
            Some(by) if slowest <= by => format!(
                "matches, sooner: solved by {} steps (reference ≈ {})",
                steps(slowest),
                steps(by)
            ),
            Some(by) => format!(
                "matches, later: solved by {} steps (reference ≈ {})",
                steps(slowest),
                steps(by)
            ),
            None => format!("matches: solved by {} steps", steps(slowest)),
        },
        Some(Outcome::Solved(by)) if unfinished && by.is_none_or(|b| run < b) => format!(
            "not yet judged: {} of {} steps trained{}",
            steps(run),
            steps(planned),
            match solved.len() {
                0 => String::new(),
                k if n == 1 => format!(", solved by {} steps", steps(solved[k - 1])),
                k => format!(", solved in {k} of {n} seeds"),
            }
        ),
        Some(Outcome::Solved(_)) => format!("falls short: solved{seeds} in {} steps", steps(run)),
        None if solved.is_empty() => {
            format!("not solved in {} steps (no reference reading)", steps(run))
        }
        None => format!(
            "solved{seeds} by {} steps (no reference reading)",
            steps(slowest)
        ),
    }
}

/// How the report was made.
pub struct Context {
    pub date: String,
    pub machine: String,
    pub seeds: Vec<u64>,
    pub quick: bool,
    pub command: String,
    /// Runs of the plan that have not finished (`adding-paper/T150-irnn/seed-1`).
    pub missing: Vec<String>,
}

fn entry_json(e: &Entry) -> Value {
    let s = stats(&e.values);
    let curves: Vec<Vec<[f64; 2]>> = e
        .curves
        .iter()
        .map(|c| c.iter().map(|&(x, y)| [x, y]).collect())
        .collect();
    let tutorial = e.exp.tutorial.filter(|_| e.exp.baseline.is_none());
    let mut v = json!({
        "metric": e.exp.metric.field(),
        "tutorial": tutorial,
        "values": e.values,
        "mean": s.as_ref().map(|s| s.mean),
        "sd": s.as_ref().and_then(|s| s.sd),
        "min": s.as_ref().map(|s| s.min),
        "max": s.as_ref().map(|s| s.max),
        "seconds": e.seconds,
        "runs": e.runs,
        "seeds": e.seeds,
    });
    if let Some((t, network)) = e.setting {
        v["seq_len"] = json!(t);
        v["network"] = json!(network);
        v["steps_curve"] = json!(curves);
        v["steps_trained"] = json!(e.steps.iter().map(|s| s.0).collect::<Vec<_>>());
        v["steps_planned"] = json!(e.steps.iter().map(|s| s.1).collect::<Vec<_>>());
        let solved: Vec<Option<f64>> = e.curves.iter().map(|c| steps_to_solve(c)).collect();
        v["steps_to_solve"] = json!(solved);
        v["solved_mse"] = json!(SOLVED_MSE);
        v["reference"] = json!(reference(e).map(|r| r.note));
        v["outcome"] = json!(sweep_verdict(e));
    } else {
        v["epochs"] = json!(curves);
    }
    if let Some(b) = e.exp.baseline {
        v["baseline"] = json!(b);
        v["below_baseline"] = json!(e.values.iter().map(|&x| x < b).collect::<Vec<_>>());
    }
    if !e.exp.tutorial_curve.is_empty() {
        let from = e.exp.curve_from;
        let pts: Vec<[f64; 2]> = e
            .exp
            .tutorial_curve
            .iter()
            .enumerate()
            .map(|(i, &y)| [(from + i) as f64, y])
            .collect();
        v["tutorial_epochs"] = json!(pts);
    }
    if !e.train_set.is_empty() {
        v["extra"] = json!({"train_set_accuracy": e.train_set, "tutorial_train_set_accuracy": e.exp.tutorial_train});
    }
    if let Some(p) = &e.parameters {
        v["parameters"] = p.clone();
    }
    v
}

/// `report.json`.
pub fn json_report(ctx: &Context, groups: &[Vec<Entry>], failures: &[Failure]) -> Value {
    let mut experiments = serde_json::Map::new();
    for e in groups.iter().flatten() {
        experiments.insert(e.name.clone(), entry_json(e));
    }
    let failed: Vec<Value> = failures
        .iter()
        .map(|f| json!({"experiment": f.experiment, "seed": f.seed, "exit_code": f.exit_code, "log": f.log}))
        .collect();
    json!({
        "date": ctx.date, "machine": ctx.machine, "seeds": ctx.seeds, "quick": ctx.quick,
        "command": ctx.command, "sd": "sample standard deviation (n - 1); null with one seed",
        "experiments": experiments, "failed": failed, "missing": ctx.missing,
    })
}

/// `report.md`; `plots` are the PNG file names, one per group (`None`: nothing drawn).
pub fn markdown(
    ctx: &Context,
    groups: &[Vec<Entry>],
    plots: &[Vec<String>],
    failures: &[Failure],
) -> String {
    let mut md = String::from("# Reproduction report\n\n");
    let seeds: Vec<String> = ctx.seeds.iter().map(|k| k.to_string()).collect();
    let mode = if ctx.quick {
        "**quick** (tiny budgets to check the machinery; the numbers are not comparable with the tutorials')"
    } else {
        "full (each tutorial's settings)"
    };
    let _ = writeln!(md, "- date: {}", ctx.date);
    let _ = writeln!(md, "- machine: {}", ctx.machine);
    let _ = writeln!(
        md,
        "- seeds: {} ({} per experiment)",
        seeds.join(", "),
        seeds.len()
    );
    let _ = writeln!(md, "- mode: {mode}");
    let _ = writeln!(md, "- command: `{}`\n", ctx.command);
    md += "| experiment | metric | tutorial | seeds | mean ± sd | [min, max] | per-seed values | mean seconds |\n";
    md += "|---|---|---|---|---|---|---|---|\n";
    for e in groups.iter().flatten() {
        let m = e.exp.metric;
        let tutorial = match (e.exp.baseline, e.exp.tutorial) {
            (Some(b), _) => format!("< {b} (baseline)"),
            (None, Some(t)) => show(m, t),
            (None, None) => "—".into(),
        };
        let per_seed: Vec<String> = e.values.iter().map(|&v| show(m, v)).collect();
        let (mean_sd, range, secs) = match stats(&e.values) {
            Some(s) => {
                let sd = match (s.sd, m) {
                    (None, _) => "—".to_string(),
                    (Some(sd), Metric::Accuracy) => format!("{:.2} points", sd * 100.0),
                    (Some(sd), Metric::Mse) => show(m, sd),
                };
                let secs = e.seconds.iter().sum::<f64>() / e.seconds.len() as f64;
                (
                    format!("{} ± {sd}", show(m, s.mean)),
                    format!("[{}, {}]", show(m, s.min), show(m, s.max)),
                    format!("{secs:.*}", if secs < 10.0 { 2 } else { 1 }),
                )
            }
            None => ("—".into(), "—".into(), "—".into()),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {tutorial} | {} | {mean_sd} | {range} | {} | {secs} |",
            e.name,
            m.field(),
            e.values.len(),
            per_seed.join(", ")
        );
    }
    md += "\nsd: sample standard deviation (n − 1), “—” with one seed. Seconds: training and test time of the run, from its summary.json.\n";
    for (group, pngs) in groups.iter().zip(plots) {
        let name = group[0].exp.name;
        let _ = writeln!(md, "\n## {name}\n");
        if ctx.quick {
            md += "Quick run: the comparison below is of the machinery only.\n\n";
        }
        if let Some(sweep) = group[0].exp.sweep {
            md += &sweep_section(sweep, group, pngs);
            continue;
        }
        for e in group {
            match stats(&e.values) {
                Some(s) => md += &format!("- {}\n", verdict(e, &s)),
                None => md += &format!("- {}: no finished seed.\n", e.name),
            }
            if let Some(s) = stats(&e.train_set) {
                let t = e
                    .exp
                    .tutorial_train
                    .map_or("—".into(), |t| show(Metric::Accuracy, t));
                let _ = writeln!(
                    md,
                    "- Train-set accuracy after training: mean {} (tutorial {t}).",
                    show(Metric::Accuracy, s.mean)
                );
            }
        }
        if let Some((k, n)) = gru_lowest(group) {
            let _ = writeln!(
                md,
                "- The GRU has the lowest test MSE (as the tutorial reports) in {k} of {n} seeds."
            );
        }
        for png in pngs {
            let _ = writeln!(md, "\n![{name}]({png})");
        }
    }
    if !ctx.missing.is_empty() {
        md += "\n## Runs not finished\n\n";
        for m in &ctx.missing {
            let _ = writeln!(md, "- `{m}`");
        }
    }
    if !failures.is_empty() {
        md += "\n## Failed runs\n\n";
        for f in failures {
            let code = f
                .exit_code
                .map_or("no exit code".into(), |c| format!("exit code {c}"));
            let _ = writeln!(
                md,
                "- {} seed {}: {code}, log `{}`",
                f.experiment,
                f.seed,
                f.log.display()
            );
        }
    }
    md
}

/// A sweep's part of `report.md`: one table row per length and network against the
/// reference, and one plot per length.
fn sweep_section(sweep: &plan::Sweep, group: &[Entry], pngs: &[String]) -> String {
    let mut md = format!(
        "Test MSE against training steps, one run per length, network and seed; solved = test \
         MSE ≤ {SOLVED_MSE} (the predict-1 baseline is {}). Reference: {}.\n\n",
        group[0].exp.baseline.unwrap_or(f64::NAN),
        sweep.source
    );
    md += "| T | network | seeds | steps trained | steps to MSE ≤ 0.05 | final test MSE | wall time | reference | outcome |\n";
    md += "|---|---|---|---|---|---|---|---|---|\n";
    for e in group {
        let Some((t, network)) = e.setting else {
            continue;
        };
        let trained: Vec<String> = e
            .steps
            .iter()
            .map(|&(done, planned)| match done < planned {
                true => format!("{} of {}", steps(done), steps(planned)),
                false => steps(done),
            })
            .collect();
        let solve: Vec<String> = e
            .curves
            .iter()
            .map(|c| steps_to_solve(c).map_or("—".into(), steps))
            .collect();
        let finals: Vec<String> = e.values.iter().map(|&v| show(Metric::Mse, v)).collect();
        let wall: Vec<String> = e.seconds.iter().map(|&v| crate::duration(v)).collect();
        let reference = reference(e).map_or("—", |r| r.note);
        let _ = writeln!(
            md,
            "| {t} | {network} | {} | {} | {} | {} | {} | {reference} | {} |",
            e.seeds.len(),
            or_dash(&trained),
            or_dash(&solve),
            or_dash(&finals),
            or_dash(&wall),
            sweep_verdict(e)
        );
    }
    md += "\nPer-seed values are listed in seed order.\n";
    for png in pngs {
        let _ = writeln!(md, "\n![{png}]({png})");
    }
    md
}

fn or_dash(values: &[String]) -> String {
    match values.is_empty() {
        true => "—".into(),
        false => values.join(", "),
    }
}

/// Draws one plot per length of a sweep, `<out>/<experiment>-T<len>.png`: every seed's test
/// curve against training steps, one colour per network, the baseline and the solved line.
fn plot_sweep(
    out: &Path,
    group: &[Entry],
    quick: bool,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let exp = group[0].exp;
    let mut lengths: Vec<usize> = group
        .iter()
        .filter_map(|e| e.setting.map(|s| s.0))
        .collect();
    lengths.dedup();
    let mut names = Vec::new();
    for t in lengths {
        let mut figure = Figure {
            title: format!(
                "{}: adding problem, T = {t}{}",
                exp.name,
                if quick { " (quick)" } else { "" }
            ),
            x_label: "training steps".into(),
            y_label: "test MSE".into(),
            log_y: true,
            lines: vec![],
            hlines: vec![
                HLine {
                    label: format!("predict-1 baseline {}", exp.baseline.unwrap_or(f64::NAN)),
                    y: exp.baseline.unwrap_or(f64::NAN),
                },
                HLine {
                    label: format!("solved: MSE {SOLVED_MSE}"),
                    y: SOLVED_MSE,
                },
            ],
        };
        for e in group.iter().filter(|e| e.setting.is_some_and(|s| s.0 == t)) {
            let network = e.setting.map_or("", |s| s.1);
            let color = exp.networks.iter().position(|n| *n == network).unwrap_or(0);
            for (i, c) in e.curves.iter().enumerate() {
                figure.lines.push(Line {
                    label: (i == 0).then(|| network.to_string()),
                    points: c.clone(),
                    color: COLORS[color % COLORS.len()],
                    bold: false,
                });
            }
        }
        if figure.lines.iter().all(|l| l.points.is_empty()) {
            continue;
        }
        let name = format!("{}-T{t}.png", exp.name);
        plot::draw(&out.join(&name), &figure)?;
        names.push(name);
    }
    Ok(names)
}

/// Draws `<out>/<experiment>.png` for one group (a sweep: one per length); returns the file
/// names of what was drawn.
pub fn plot_group(
    out: &Path,
    group: &[Entry],
    quick: bool,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let exp = group[0].exp;
    if exp.sweep.is_some() {
        return plot_sweep(out, group, quick);
    }
    let n = group.iter().map(|e| e.values.len()).max().unwrap_or(0);
    let mut figure = Figure {
        title: format!(
            "{}: per-epoch test curves, {n} seed{}{}",
            exp.name,
            if n == 1 { "" } else { "s" },
            if quick { " (quick)" } else { "" }
        ),
        x_label: "epoch".into(),
        y_label: match exp.metric {
            Metric::Accuracy => "test accuracy (%)".into(),
            Metric::Mse => "test MSE".into(),
        },
        log_y: exp.metric == Metric::Mse,
        lines: vec![],
        hlines: vec![],
    };
    let scale = if exp.metric == Metric::Accuracy {
        100.0
    } else {
        1.0
    };
    for (g, e) in group.iter().enumerate() {
        for (i, (seed, c)) in e.seeds.iter().zip(&e.curves).enumerate() {
            let (color, label) = if group.len() > 1 {
                (
                    COLORS[g % COLORS.len()],
                    (i == 0).then(|| {
                        e.name.rsplit('/').next().unwrap_or("").to_string() + " (every seed)"
                    }),
                )
            } else {
                (COLORS[i % COLORS.len()], Some(format!("seed {seed}")))
            };
            let points = c.iter().map(|&(x, y)| (x, y * scale)).collect();
            figure.lines.push(Line {
                label,
                points,
                color,
                bold: false,
            });
        }
    }
    if !exp.tutorial_curve.is_empty() {
        let points = exp.tutorial_curve.iter().enumerate();
        let points = points
            .map(|(i, &y)| ((exp.curve_from + i) as f64, y * scale))
            .collect();
        figure.lines.push(Line {
            label: Some("tutorial".into()),
            points,
            color: plot::BLACK_LINE,
            bold: true,
        });
    }
    if let Some(t) = exp.tutorial {
        figure.hlines.push(HLine {
            label: format!("tutorial final: {}", show(exp.metric, t)),
            y: t * scale,
        });
    }
    if let Some(b) = exp.baseline {
        figure.hlines.push(HLine {
            label: format!("predict-1 baseline {b}"),
            y: b,
        });
    }
    if figure.lines.iter().all(|l| l.bold) {
        return Ok(vec![]);
    }
    let name = format!("{}.png", exp.name);
    let path = out.join(&name);
    plot::draw(&path, &figure)?;
    Ok(vec![name])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, exp: &'static Experiment, values: &[f64]) -> Entry {
        Entry {
            name: name.into(),
            exp,
            seeds: (1..=values.len() as u64).collect(),
            values: values.to_vec(),
            seconds: vec![1.0; values.len()],
            runs: vec![],
            curves: vec![],
            train_set: vec![],
            parameters: None,
            setting: None,
            steps: vec![],
            stopped: vec![],
        }
    }

    #[test]
    fn statistics_use_the_sample_standard_deviation() {
        let s = stats(&[0.9, 0.95, 1.0]).unwrap();
        assert!((s.mean - 0.95).abs() < 1e-12);
        assert!((s.sd.unwrap() - 0.05).abs() < 1e-12);
        assert_eq!((s.min, s.max), (0.9, 1.0));
        assert_eq!(stats(&[0.5]).unwrap().sd, None);
        assert_eq!(stats(&[]), None);
    }

    #[test]
    fn verdicts_place_the_tutorial_against_the_seeds() {
        let lstm = plan::experiment("lstm-mnist").unwrap(); // tutorial 95.8 %
        let e = entry("lstm-mnist", lstm, &[0.950, 0.960]);
        let v = verdict(&e, &stats(&e.values).unwrap());
        assert!(
            v.contains("95.80 % lies inside the seeds' range [95.00 %, 96.00 %]"),
            "{v}"
        );
        assert!(
            v.contains("mean 95.50 % does not reach it (-0.30 points)"),
            "{v}"
        );
        let e = entry("lstm-mnist", lstm, &[0.96, 0.97]);
        let v = verdict(&e, &stats(&e.values).unwrap());
        assert!(
            v.contains("lies below the seeds' range") && v.contains("reaches it"),
            "{v}"
        );

        let adding = plan::experiment("adding-problem").unwrap();
        let e = entry("adding-problem/rnn", adding, &[0.02, 0.2]);
        let v = verdict(&e, &stats(&e.values).unwrap());
        assert!(
            v.contains("below the 0.1767 baseline in 1 of 2 seeds"),
            "{v}"
        );
        assert!(v.contains("seed 2 0.2000 NOT below"), "{v}");
    }

    #[test]
    fn reports_mark_the_gru_and_the_baseline() {
        let adding = plan::experiment("adding-problem").unwrap();
        let group = vec![
            entry("adding-problem/rnn", adding, &[0.02, 0.03]),
            entry("adding-problem/lstm", adding, &[0.002, 0.0001]),
            entry("adding-problem/gru", adding, &[0.0003, 0.0004]),
        ];
        assert_eq!(gru_lowest(&group), Some((1, 2)));
        let ctx = Context {
            date: "d".into(),
            machine: "m".into(),
            seeds: vec![1, 2],
            quick: true,
            command: "c".into(),
            missing: vec![],
        };
        let groups = [group];
        let json = json_report(&ctx, &groups, &[]);
        let rnn = &json["experiments"]["adding-problem/rnn"];
        assert_eq!(rnn["metric"], "test_mse");
        assert_eq!(rnn["tutorial"], Value::Null);
        assert_eq!(rnn["baseline"], 0.1767);
        assert_eq!(rnn["below_baseline"], json!([true, true]));
        let md = markdown(&ctx, &groups, &[vec!["adding-problem.png".into()]], &[]);
        assert!(
            md.contains("| adding-problem/gru | test_mse | < 0.1767 (baseline) | 2 |"),
            "{md}"
        );
        assert!(
            md.contains("lowest test MSE (as the tutorial reports) in 1 of 2 seeds"),
            "{md}"
        );
        assert!(md.contains("![adding-problem](adding-problem.png)"), "{md}");
    }

    #[test]
    fn sweep_verdicts_compare_each_network_with_the_paper() {
        let paper = plan::experiment("adding-paper").unwrap();
        let run = |t: usize, net: &'static str, curves: Vec<Vec<(f64, f64)>>, planned: f64| {
            let mut e = entry(&format!("adding-paper/T{t}/{net}"), paper, &[]);
            e.setting = Some((t, net));
            for c in curves {
                e.values.push(c.last().unwrap().1);
                e.steps.push((c.last().unwrap().0, planned));
                e.seeds.push(e.seeds.len() as u64 + 1);
                e.curves.push(c);
            }
            e
        };
        let solving = vec![(1e5, 0.16), (4e5, 0.04), (1e6, 0.01)];
        let flat = vec![(1e5, 0.17), (1e6, 0.166)];
        assert_eq!(steps_to_solve(&solving), Some(4e5));
        assert_eq!(steps_to_solve(&flat), None);
        let v = sweep_verdict(&run(150, "irnn", vec![solving.clone()], 1e6));
        assert!(v.starts_with("matches, sooner: solved by 400k"), "{v}");
        let v = sweep_verdict(&run(200, "rnn", vec![solving.clone()], 1e6));
        assert!(v.starts_with("better"), "{v}");
        let v = sweep_verdict(&run(400, "irnn", vec![flat.clone()], 1e6));
        assert!(v.starts_with("matches: not solved in 1.00M"), "{v}");
        // A run still going, short of the paper's steps: not yet judged.
        let v = sweep_verdict(&run(300, "irnn", vec![vec![(2e5, 0.16)]], 1e6));
        assert!(v.starts_with("not yet judged: 200k of 1.00M"), "{v}");
        let v = sweep_verdict(&run(200, "rnn", vec![vec![(4e5, 0.166)]], 1e6));
        assert_eq!(
            v,
            "as the reference so far: not solved in 400k of 1.00M steps"
        );
        // A run that ended with an error says so, whatever its curve.
        let mut diverged = run(150, "irnn", vec![vec![(1e5, 0.08)]], 1e6);
        diverged
            .stopped
            .push(Some("the training loss became inf".into()));
        let v = sweep_verdict(&diverged);
        assert_eq!(
            v,
            "stopped: the run ended early (the training loss became inf)"
        );
        let v = sweep_verdict(&run(150, "lstm", vec![solving, flat.clone()], 1e6));
        assert!(v.contains("1 of 2 seeds"), "{v}");
        let md = sweep_section(
            paper.sweep.unwrap(),
            &[run(150, "lstm", vec![flat], 1e6)],
            &["adding-paper-T150.png".into()],
        );
        assert!(
            md.contains("| 150 | lstm | 1 | 1.00M | — | 0.1660 |"),
            "{md}"
        );
        assert!(
            md.contains("![adding-paper-T150.png](adding-paper-T150.png)"),
            "{md}"
        );
    }
}
