//! `reproduce`: runs the experiments over several seeds, each run a subprocess of the
//! experiment's binary, then writes a report against the tutorials' numbers (see `--help`).

rnn_train::use_mimalloc!();

/// `print!` that ignores a closed stdout (`reproduce | head`): the runs and the report
/// matter more than the progress lines.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = write!(out, $($t)*);
        let _ = out.flush();
    }};
}

/// `println!` that ignores a closed stdout.
macro_rules! sayln {
    () => { say!("\n") };
    ($($t:tt)*) => {{ say!($($t)*); say!("\n"); }};
}

mod cli;
mod jobs;
mod plan;
mod report;
mod reproduction;
mod runner;

use clap::Parser;
use rnn_train::RunDir;

use cli::Cli;
use jobs::{collect, emit_jobs, run_job};
use report::{duration, write_report};
use reproduction::{Plan, prepare};
use runner::run_seed;

/// A reason to stop: `error:` and `hint:` lines, and the exit code.
struct Stop {
    code: i32,
    message: String,
    hint: Option<String>,
}

fn stop(code: i32, message: String, hint: Option<&str>) -> Stop {
    let hint = hint.map(str::to_string);
    Stop {
        code,
        message,
        hint,
    }
}

fn main() {
    let cli = Cli::parse();
    let code = run(cli).unwrap_or_else(|s| {
        eprintln!("error: {}", s.message);
        if let Some(hint) = s.hint {
            eprintln!("hint: {hint}");
        }
        s.code
    });
    std::process::exit(code);
}

/// Runs what the command line asks for; returns the exit code.
fn run(cli: Cli) -> Result<i32, Stop> {
    if let Some(dir) = &cli.collect {
        return collect(dir, &cli);
    }
    if let Some(job) = &cli.job {
        let out = cli.out.clone().unwrap_or_default();
        return run_job(&out, job, cli.quick);
    }
    let out = cli
        .out
        .clone()
        .unwrap_or_else(|| RunDir::default_path("reproduce"));
    let out = std::path::absolute(&out).unwrap_or(out);
    let plan = Plan::resumed(&cli, &out).unwrap_or_else(|| Plan::from_cli(&cli));
    let hint = "build them with `cargo build --release --workspace` (or use `just reproduce`)";
    let binaries = (plan
        .experiments
        .iter()
        .map(|e| plan::binary(e))
        .collect::<Result<Vec<_>, _>>())
    .map_err(|m| stop(2, m, Some(hint)))?;
    prepare(&out, &plan)?;
    let runs = plan.runs();
    let quick = plan.quick;
    print_estimates(&plan, &runs);

    if let Some(file) = &cli.emit_jobs {
        return emit_jobs(file, &out, &runs, quick);
    }

    let total = runs.len();
    let mut failures = Vec::new();
    for (k, (unit, seed)) in runs.iter().enumerate() {
        let bin = &binaries[plan
            .experiments
            .iter()
            .position(|e| e.name == unit.exp.name)
            .unwrap_or(0)];
        let prefix = format!("[{}/{total}] {} seed {seed}", k + 1, unit.name());
        if let Some(f) = run_seed(unit, bin, *seed, &out, quick, &prefix) {
            failures.push(f);
        }
    }
    write_report(&out, &plan, &failures)
}

/// Prints the expected wall time of the IRNN's seeds and of each sweep's `runs`.
fn print_estimates(plan: &Plan, runs: &[(plan::Unit, u64)]) {
    let quick = plan.quick;
    let seeds = &plan.seeds;
    if plan.experiments.iter().any(|e| e.name == "irnn-mnist") {
        let [(fast, low), (slow, high)] = plan::irnn_seconds(quick);
        let n = seeds.len();
        let all = match n {
            1 => String::new(),
            _ => format!(
                ", {} to {} for {n} seeds",
                duration(low * n as f64),
                duration(high * n as f64)
            ),
        };
        sayln!(
            "irnn-mnist: expect {} to {} per seed{all} (measured on 2 cores: {fast} to {slow}); \
             each seed's line shows an estimate from its own epochs",
            duration(low),
            duration(high),
        );
    }
    for exp in plan.experiments.iter().filter(|e| e.sweep.is_some()) {
        let mine: Vec<_> = runs
            .iter()
            .filter(|(u, _)| u.exp.name == exp.name)
            .collect();
        let secs: f64 = match plan::binary(exp) {
            Ok(bin) => mine
                .iter()
                .map(|(u, _)| plan::estimate(&bin, u, quick))
                .sum(),
            Err(_) => 0.0,
        };
        let machine = exp.sweep.map_or("", |s| s.machine);
        sayln!(
            "{}: {} runs, expect about {} on one 2-core machine ({machine}; runs are independent: \
             --emit-jobs spreads them over a scheduler)",
            exp.name,
            mine.len(),
            duration(secs),
        );
    }
}
