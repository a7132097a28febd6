//! The report of a pixel-MNIST sweep: each network's seeds against the paper's final test
//! accuracy ([`pixel_verdict`]), its table in `report.md` ([`pixel_section`]), its fields in
//! `report.json` ([`pixel_json`]) and its plot of test accuracy against training steps
//! ([`plot_pixels`]); and the two presets side by side, per task and network
//! ([`preset_pairs`]).

use std::fmt::Write as _;
use std::path::Path;

use rnn_train::report::plot::COLORS;
use serde_json::{Value, json};

use super::figure::{Figure, HLine, Line, draw};
use super::read::Entry;
use super::stats::{Stats, largest, show, smallest, stats, steps};
use super::verdict::{reference, stopped_verdict};
use crate::plan::{Metric, Reported, Sweep, Task};

/// The final test accuracy (a fraction) the sweep's source reports for `entry`'s network;
/// `None` where it was not read.
pub fn paper_accuracy(entry: &Entry) -> Option<f64> {
    match reference(entry)?.outcome {
        Reported::Accuracy(a) => a,
        _ => None,
    }
}

/// How one network's seeds compare with the paper: a test accuracy that is not a number,
/// unfinished (judged against its planned steps), no reference, reaching the paper's number
/// (the seeds' mean at or above it) or short of it by so many points.
pub fn pixel_verdict(entry: &Entry) -> String {
    let n = entry.seeds.len();
    let Some(s) = stats(&entry.values) else {
        return "no run yet".into();
    };
    if let Some(stopped) = stopped_verdict(entry) {
        return stopped;
    }
    if !finite(&s) {
        return "no verdict: a seed's test accuracy is not a number".into();
    }
    if let Some(progress) = unfinished_steps(entry) {
        return format!("unfinished ({progress})");
    }
    let Some(paper) = paper_accuracy(entry) else {
        return "no reference".into();
    };
    let gap = (s.mean - paper) * 100.0;
    let above = entry.values.iter().filter(|&&v| v >= paper).count();
    let seeds = match n {
        1 => String::new(),
        _ => format!("; {above} of {n} seeds at or above it"),
    };
    match s.mean >= paper {
        true => format!("reaches the paper ({gap:+.2} points{seeds})"),
        false => format!("short by {:.2} points{seeds}", -gap),
    }
}

/// A pixel sweep's part of `report.md`: one table row per network against the paper, and
/// its plot.
pub fn pixel_section(sweep: &Sweep, group: &[Entry], pngs: &[String]) -> String {
    let view = sweep.task.view().unwrap_or("?");
    let mut md = format!(
        "Test accuracy against training steps on {view} pixel MNIST (784 steps of one pixel), \
         `--preset {}`, one run per network and seed; an unfinished run is judged against its \
         planned steps (`--emit-jobs` writes the jobs that finish it). Reference: {}.\n\n",
        sweep.preset, sweep.source
    );
    md += "| network | task | preset | seeds | steps (done / planned) | final test accuracy: mean [min, max] | Le et al. (2015) | verdict |\n";
    md += "|---|---|---|---|---|---|---|---|\n";
    for e in group {
        let Some((_, network)) = e.setting else {
            continue;
        };
        let trained: Vec<String> = e
            .steps
            .iter()
            .map(|&(done, planned)| format!("{} / {}", steps(done), steps(planned)))
            .collect();
        let accuracy = match stats(&e.values) {
            Some(s) if e.values.len() == 1 => show(Metric::Accuracy, s.mean),
            Some(s) => format!(
                "{} [{}, {}]",
                show(Metric::Accuracy, s.mean),
                show(Metric::Accuracy, s.min),
                show(Metric::Accuracy, s.max)
            ),
            None => "—".into(),
        };
        let paper = reference(e).map_or("—", |r| r.note);
        let _ = writeln!(
            md,
            "| {network} | {view} | {} | {} | {} | {accuracy} | {paper} | {} |",
            sweep.preset,
            e.seeds.len(),
            match trained.is_empty() {
                true => "—".to_string(),
                false => trained.join(", "),
            },
            pixel_verdict(e)
        );
    }
    md += "\nSteps are listed per seed, in seed order; the test set is measured after every \
           epoch.\n";
    for png in pngs {
        let _ = writeln!(md, "\n![{png}]({png})");
    }
    md
}

/// The fields of a pixel sweep's entry in `report.json`, beside the values and statistics
/// every entry has.
pub fn pixel_json(sweep: &Sweep, e: &Entry, v: &mut Value) {
    let curves: Vec<Vec<[f64; 2]>> = e
        .curves
        .iter()
        .map(|c| c.iter().map(|&(x, y)| [x, y]).collect())
        .collect();
    v["seq_len"] = json!(e.setting.map(|s| s.0));
    v["network"] = json!(e.setting.map(|s| s.1));
    v["task"] = json!(sweep.task.view());
    v["preset"] = json!(sweep.preset);
    v["steps_curve"] = json!(curves);
    v["steps_trained"] = json!(e.steps.iter().map(|s| s.0).collect::<Vec<_>>());
    v["steps_planned"] = json!(e.steps.iter().map(|s| s.1).collect::<Vec<_>>());
    v["reference"] = json!(paper_accuracy(e));
    v["reference_note"] = json!(reference(e).map(|r| r.note));
    v["reference_source"] = json!(sweep.source);
    v["outcome"] = json!(pixel_verdict(e));
}

/// One task and network that a paper and a modern sweep of the report both ran.
pub struct PresetPair<'a> {
    /// `sequential` or `permuted`.
    pub task: &'static str,
    pub network: &'static str,
    pub paper: &'a Entry,
    pub modern: &'a Entry,
}

impl PresetPair<'_> {
    /// Whether the modern preset's final test accuracy (the seeds' mean) is at or above the
    /// paper preset's, once both have finished every seed; no verdict where a seed's accuracy
    /// is not a number.
    pub fn outcome(&self) -> String {
        let number = |e: &Entry| stats(&e.values).is_some_and(|s| finite(&s));
        if !(number(self.paper) && number(self.modern)) {
            return "no verdict: a test accuracy is not a number".into();
        }
        match (finished_mean(self.paper), finished_mean(self.modern)) {
            (Some(paper), Some(modern)) if modern >= paper => {
                format!(
                    "modern at or above ({:+.2} points)",
                    (modern - paper) * 100.0
                )
            }
            (Some(paper), Some(modern)) => {
                format!("modern short by {:.2} points", (paper - modern) * 100.0)
            }
            _ => "not both finished".into(),
        }
    }
}

/// The seeds' mean final test accuracy of a network whose every seed finished its planned
/// steps with a finite accuracy; `None` otherwise.
fn finished_mean(e: &Entry) -> Option<f64> {
    let s = stats(&e.values)?;
    let finished = unfinished_steps(e).is_none() && e.stopped.iter().all(Option::is_none);
    (finished && finite(&s)).then_some(s.mean)
}

/// Whether the seeds' mean and range are numbers (`stats` spreads a NaN or infinite seed
/// into them).
fn finite(s: &Stats) -> bool {
    s.mean.is_finite() && s.min.is_finite() && s.max.is_finite()
}

/// `1.3k of 54k steps`: the fewest steps a seed has trained against the planned ones, where
/// some seed has not trained all it planned; `None` once every seed has.
fn unfinished_steps(e: &Entry) -> Option<String> {
    e.steps
        .iter()
        .any(|&(done, planned)| done < planned)
        .then(|| {
            let done = smallest(e.steps.iter().map(|s| s.0), f64::INFINITY);
            let planned = largest(e.steps.iter().map(|s| s.1), 0.0);
            format!("{} of {} steps", steps(done), steps(planned))
        })
}

/// The pairs of `groups` (the report's experiments): every network with a run in both a
/// paper and a modern pixel sweep of the same task, in the modern sweep's order.
pub fn preset_pairs(groups: &[Vec<Entry>]) -> Vec<PresetPair<'_>> {
    let sweep_of = |g: &[Entry], preset: &str| {
        let sweep = g.first()?.exp.sweep?;
        (matches!(sweep.task, Task::Pixels { .. }) && sweep.preset == preset).then_some(sweep.task)
    };
    let mut pairs = Vec::new();
    for modern in groups {
        let Some(task) = sweep_of(modern, "modern") else {
            continue;
        };
        let Some(paper) = groups.iter().find(|g| sweep_of(g, "paper") == Some(task)) else {
            continue;
        };
        for m in modern.iter().filter(|m| !m.values.is_empty()) {
            let network = m.setting.map(|s| s.1);
            let p = paper.iter().find(|p| p.setting.map(|s| s.1) == network);
            if let (Some(p), Some(network)) = (p.filter(|p| !p.values.is_empty()), network) {
                pairs.push(PresetPair {
                    task: task.view().unwrap_or("?"),
                    network,
                    paper: p,
                    modern: m,
                });
            }
        }
    }
    pairs
}

/// `report.md`'s table of [`preset_pairs`] (empty without any pair).
pub fn preset_section(groups: &[Vec<Entry>]) -> String {
    let pairs = preset_pairs(groups);
    if pairs.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "\n## The two presets side by side\n\nFinal test accuracy, the seeds' mean, of each \
         network that both presets ran on a task; an unfinished run is marked with the steps \
         it has trained.\n\n| task | network | `--preset paper` | `--preset modern` | outcome |\n\
         |---|---|---|---|---|\n",
    );
    for pair in &pairs {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            pair.task,
            pair.network,
            final_accuracy(pair.paper),
            final_accuracy(pair.modern),
            pair.outcome()
        );
    }
    md
}

/// `94.39 %`, or `61.00 % (1.3k of 54k steps)` for a run not finished.
fn final_accuracy(e: &Entry) -> String {
    let Some(s) = stats(&e.values) else {
        return "—".into();
    };
    let accuracy = show(Metric::Accuracy, s.mean);
    match unfinished_steps(e) {
        Some(progress) if s.mean.is_finite() => format!("{accuracy} ({progress})"),
        _ => accuracy,
    }
}

/// `report.json`'s list of [`preset_pairs`].
pub fn preset_json(groups: &[Vec<Entry>]) -> Value {
    let pairs: Vec<Value> = preset_pairs(groups)
        .iter()
        .map(|p| {
            json!({
                "task": p.task, "network": p.network,
                "paper": finished_mean(p.paper), "modern": finished_mean(p.modern),
                "outcome": p.outcome(),
            })
        })
        .collect();
    json!(pairs)
}

/// Draws `<out>/<experiment>.png`: every seed's test accuracy (%) against training steps, one
/// colour per network, and the paper's final numbers as dashed marks (none for a network
/// whose number was not read).
pub fn plot_pixels(
    out: &Path,
    group: &[Entry],
    quick: bool,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let exp = group[0].exp;
    let Some(sweep) = exp.sweep else {
        return Ok(vec![]);
    };
    let mut figure = Figure {
        title: format!(
            "{}: {} pixel MNIST, --preset {}{}",
            exp.name,
            sweep.task.view().unwrap_or("?"),
            sweep.preset,
            if quick { " (quick)" } else { "" }
        ),
        x_label: "training steps".into(),
        y_label: "test accuracy (%)".into(),
        log_y: false,
        lines: vec![],
        hlines: vec![],
    };
    for e in group {
        let network = e.setting.map_or("", |s| s.1);
        let color = exp.networks.iter().position(|n| *n == network).unwrap_or(0);
        for (i, c) in e.curves.iter().enumerate() {
            let label = match e.curves.len() {
                1 => network.to_string(),
                n => format!("{network} ({n} seeds)"),
            };
            figure.lines.push(Line {
                label: (i == 0).then_some(label),
                points: c.iter().map(|&(x, y)| (x, y * 100.0)).collect(),
                color: COLORS[color % COLORS.len()],
                bold: false,
            });
        }
        if let Some(paper) = paper_accuracy(e) {
            figure.hlines.push(HLine {
                label: format!(
                    "Le et al. (2015), {network}: {}",
                    show(Metric::Accuracy, paper)
                ),
                y: paper * 100.0,
            });
        }
    }
    if figure.lines.iter().all(|l| l.points.is_empty()) {
        return Ok(vec![]);
    }
    // The highest mark first: it is drawn in long black dashes, the others in grey.
    figure.hlines.sort_by(|a, b| b.y.total_cmp(&a.y));
    let name = format!("{}.png", exp.name);
    draw(&out.join(&name), &figure)?;
    Ok(vec![name])
}
