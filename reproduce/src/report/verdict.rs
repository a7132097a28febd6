//! What the seeds say against the sources: the tutorial's number against the seeds' range
//! and mean ([`verdict`]), and for a sweep each network at each length against the
//! reference ([`sweep_verdict`]).

use super::read::Entry;
use super::stats::{Stats, largest, show, smallest, steps};
use crate::plan::{Reference, Reported, SOLVED_MSE};

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
pub(super) fn gru_lowest(entries: &[Entry]) -> Option<(usize, usize)> {
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

/// What the sweep's reference shows for `entry`'s length and network.
pub fn reference(entry: &Entry) -> Option<&'static Reference> {
    let (t, n) = entry.setting?;
    let sweep = entry.exp.sweep?;
    sweep
        .reference
        .iter()
        .find(|r| r.seq_len == t && r.network == n)
}

/// How one network at one length of the adding problem compares with the reference (a pixel
/// sweep's: `super::pixels::pixel_verdict`): whether each seed solved the problem (test MSE ≤ 0.05), how soon, and whether the runs trained as long as the reference.
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
    let run = smallest(entry.steps.iter().map(|s| s.0), f64::INFINITY);
    let unfinished = entry.steps.iter().any(|s| s.0 < s.1);
    let planned = largest(entry.steps.iter().map(|s| s.1), 0.0);
    let slowest = largest(solved.iter().copied(), 0.0);
    let all = solved.len() == n;
    let seeds = if n == 1 {
        "".to_string()
    } else {
        format!(" in {} of {n} seeds", solved.len())
    };
    if let Some(stopped) = stopped_verdict(entry) {
        return stopped;
    }
    let outcome = reference(entry).map(|r| r.outcome);
    match outcome {
        Some(Reported::Fails) if !solved.is_empty() => format!(
            "better: solved{seeds} (by {} steps) where the reference stays at the baseline",
            steps(slowest)
        ),
        Some(Reported::Fails) if unfinished => format!(
            "as the reference so far: not solved in {} of {} steps",
            steps(run),
            steps(planned)
        ),
        Some(Reported::Fails) => format!("matches: not solved in {} steps", steps(run)),
        Some(Reported::Solved(by)) if all => match by {
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
        Some(Reported::Solved(by)) if unfinished && by.is_none_or(|b| run < b) => format!(
            "not yet judged: {} of {} steps trained{}",
            steps(run),
            steps(planned),
            match solved.len() {
                0 => String::new(),
                k if n == 1 => format!(", solved by {} steps", steps(solved[k - 1])),
                k => format!(", solved in {k} of {n} seeds"),
            }
        ),
        Some(Reported::Solved(_)) => format!("falls short: solved{seeds} in {} steps", steps(run)),
        // A pixel sweep's accuracies are judged by `super::pixels`, not here.
        None | Some(Reported::Accuracy(_)) if solved.is_empty() => {
            format!("not solved in {} steps (no reference reading)", steps(run))
        }
        None | Some(Reported::Accuracy(_)) => format!(
            "solved{seeds} by {} steps (no reference reading)",
            steps(slowest)
        ),
    }
}

/// "stopped: ..." when any seed's run ended early, with the first reason given.
pub fn stopped_verdict(entry: &Entry) -> Option<String> {
    let n = entry.seeds.len();
    let stopped: Vec<&String> = entry.stopped.iter().flatten().collect();
    let why = stopped.first()?;
    let runs = match n {
        1 => "the run".to_string(),
        _ => format!("{} of {n} runs", stopped.len()),
    };
    Some(format!("stopped: {runs} ended early ({why})"))
}
