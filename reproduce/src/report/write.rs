//! Writes a reproduction's report into its directory: reads the runs of its plan back, draws
//! the plots, writes `report.json` and `report.md`, and prints the table and the runs that
//! have not finished.

use std::path::Path;
use std::time::SystemTime;

use rnn_train::base::error::shell_quote;
use rnn_train::run::run_dir::utc_stamp;

use super::json::json_report;
use super::markdown::markdown;
use super::plots::plot_group;
use super::read::{Entry, collect};
use super::{Context, Failure};
use crate::plan::{self, Action};
use crate::reproduction::Plan;
use crate::{Stop, stop};

/// Writes report.md, report.json and the plots of `plan` in `out`, prints the table and the
/// runs that are missing; the exit code is 1 if any run failed or is missing.
pub fn write_report(out: &Path, plan: &Plan, failures: &[Failure]) -> Result<i32, Stop> {
    let quick = plan.quick;
    let missing: Vec<String> = plan
        .runs()
        .iter()
        .filter(|(u, k)| plan::decide(u, &plan::run_path(out, u, *k)) != Action::Done)
        .map(|(u, k)| format!("{}/seed-{k}", u.name()))
        .collect();
    let groups: Vec<Vec<Entry>> = plan
        .experiments
        .iter()
        .map(|&e| collect(e, out, &plan.seeds, &plan.lengths, quick))
        .collect();
    let plots: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            plot_group(out, g, quick).unwrap_or_else(|e| {
                eprintln!("warning: cannot draw the plots of {}: {e}", g[0].exp.name);
                vec![]
            })
        })
        .collect();
    let args: Vec<String> = std::env::args().skip(1).map(|a| shell_quote(&a)).collect();
    let ctx = Context {
        date: utc_stamp(SystemTime::now()),
        machine: machine(),
        seeds: plan.seeds.clone(),
        quick,
        command: format!("reproduce {}", args.join(" "))
            .trim_end()
            .to_string(),
        missing: missing.clone(),
    };
    let json = json_report(&ctx, &groups, failures);
    let md = markdown(&ctx, &groups, &plots, failures);
    for (name, text) in [
        ("report.json", format!("{json:#}\n")),
        ("report.md", md.clone()),
    ] {
        let path = out.join(name);
        rnn_train::base::atomic::write(&path, text.as_bytes())
            .map_err(|e| stop(1, format!("cannot write {}: {e}", path.display()), None))?;
    }
    sayln!();
    md.lines()
        .filter(|l| l.starts_with('|'))
        .for_each(|l| sayln!("{l}"));
    sayln!(
        "\nreport: {} (report.json, plots)",
        out.join("report.md").display()
    );
    if !missing.is_empty() {
        eprintln!(
            "{} of {} runs have not finished:",
            missing.len(),
            plan.runs().len()
        );
        for m in &missing {
            eprintln!("  {m}");
        }
    }
    if failures.is_empty() && missing.is_empty() {
        return Ok(0);
    }
    for f in failures {
        eprintln!(
            "  failed: {} seed {}: log {}",
            f.experiment,
            f.seed,
            f.log.display()
        );
    }
    Ok(1)
}

/// `<CPU model>, N cores` (from /proc/cpuinfo and the cores this process may use).
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} cores")
}
