//! `report.md`: how the report was made, a table of every experiment's seeds against its
//! tutorial, then a section per experiment with its verdicts and plots (a sweep: a table
//! against its reference), the pixel presets side by side, and the runs that failed or have not finished.

use std::fmt::Write as _;

use super::pixels::{paper_accuracy, pixel_section, preset_section};
use super::read::Entry;
use super::stats::{duration, show, stats, steps};
use super::verdict::{gru_lowest, reference, steps_to_solve, sweep_verdict, verdict};
use super::{Context, Failure};
use crate::plan::{self, Metric, SOLVED_MSE, Task};

/// `report.md`; `plots` are the PNG file names, one per group (`None`: nothing drawn).
pub fn markdown(
    ctx: &Context,
    groups: &[Vec<Entry>],
    plots: &[Vec<String>],
    failures: &[Failure],
) -> String {
    let mut md = header(ctx);
    md += &table(groups);
    for (group, pngs) in groups.iter().zip(plots) {
        md += &section(ctx, group, pngs);
    }
    md += &preset_section(groups);
    md += &unfinished(ctx, failures);
    md
}

/// The title and how the report was made: date, machine, seeds, mode and command line.
fn header(ctx: &Context) -> String {
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
    md
}

/// The table of every experiment (or network of one): its tutorial's number against the
/// seeds' mean, sd, range and values, and a note on what sd and seconds are.
fn table(groups: &[Vec<Entry>]) -> String {
    let mut md = String::from(
        "| experiment | metric | tutorial | seeds | mean ± sd | [min, max] | per-seed values | mean seconds |\n",
    );
    md += "|---|---|---|---|---|---|---|---|\n";
    for e in groups.iter().flatten() {
        md += &table_row(e);
    }
    md += "\nsd: sample standard deviation (n − 1), “—” with one seed. Seconds: training and test time of the run, from its summary.json.\n";
    md
}

/// One row of the [`table`].
fn table_row(e: &Entry) -> String {
    let m = e.exp.metric;
    let tutorial = match (e.exp.baseline, e.exp.tutorial) {
        (Some(b), _) => format!("< {b} (baseline)"),
        (None, Some(t)) => show(m, t),
        (None, None) => {
            paper_accuracy(e).map_or("—".into(), |p| format!("{} (paper)", show(m, p)))
        }
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
    format!(
        "| {} | {} | {tutorial} | {} | {mean_sd} | {range} | {} | {secs} |\n",
        e.name,
        m.field(),
        e.values.len(),
        per_seed.join(", ")
    )
}

/// One group's section: its verdicts and plots, or a sweep's [`sweep_section`].
fn section(ctx: &Context, group: &[Entry], pngs: &[String]) -> String {
    let name = group[0].exp.name;
    let mut md = format!("\n## {name}\n\n");
    if ctx.quick {
        md += "Quick run: the comparison below is of the machinery only.\n\n";
    }
    if let Some(sweep) = group[0].exp.sweep {
        md += &match sweep.task {
            Task::Adding => sweep_section(sweep, group, pngs),
            Task::Pixels { .. } => pixel_section(sweep, group, pngs),
        };
        return md;
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
    md
}

/// The runs of the plan that have not finished and those that failed, where there are any.
fn unfinished(ctx: &Context, failures: &[Failure]) -> String {
    let mut md = String::new();
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

/// An adding sweep's part of `report.md`: one table row per length and network against the
/// reference, and one plot per length.
pub(super) fn sweep_section(sweep: &plan::Sweep, group: &[Entry], pngs: &[String]) -> String {
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
        let wall: Vec<String> = e.seconds.iter().map(|&v| duration(v)).collect();
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
