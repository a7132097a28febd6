//! `reproduce`: runs the experiments over several seeds, each run a subprocess of the
//! experiment's binary, then writes a report against the tutorials' numbers (see `--help`).

rnn_train::use_mimalloc!();

mod plan;
mod report;

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use rnn_train::RunDir;
use rnn_train::base::error::shell_quote;
use rnn_train::run::run_dir::utc_stamp;

use plan::{Action, EXPERIMENTS, Experiment};
use report::Failure;

/// `print!` that ignores a closed stdout (`reproduce | head`): the runs and the report
/// matter more than the progress lines.
macro_rules! say {
    ($($t:tt)*) => {{
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

#[derive(Parser, Debug)]
#[command(
    name = "reproduce",
    version,
    about = "Runs the rnn-burn experiments over several seeds and reports them against the tutorials",
    long_about = "Runs the rnn-burn experiments over several seeds and reports them against the \
        tutorials' numbers. Each seed K of each experiment is one run of the experiment's binary \
        (found next to this program, in target/release), as `<experiment> --seed K --out \
        OUT/<experiment>/seed-K --plain`, its output in OUT/<experiment>/seed-K.log. Then OUT \
        receives report.md (a table of mean ± sample sd, range and per-seed values against the \
        tutorial, and a plot per experiment), report.json and <experiment>.png (every seed's \
        per-epoch test curve, the tutorial's values and final number).\n\n\
        Running it again with the same --out resumes: finished seeds are kept, interrupted ones \
        continue with the binary's --resume, a directory that holds no resumable run is \
        renamed seed-K.incomplete-N and started afresh. A failed run is reported with its log, \
        the report still covers the seeds that finished, and the exit code is then 1.\n\n\
        The long adding problem (adding-paper: Le et al. 2015, Fig. 2; adding-modern: Keller \
        et al. 2024) runs only when named: each length and network is a run of its own, in \
        OUT/<experiment>/T<len>-<network>/seed-K, and the report draws one panel per length \
        with a table against the paper's figure.\n\n\
        To run on a scheduler instead, --emit-jobs FILE writes one shell command per run that \
        has not finished (GNU parallel, xargs -P or a Slurm array run them as they are; see \
        docs/adding-long.md), and --collect OUT writes the report from whatever has finished, \
        naming the runs still missing.\n\n\
        Exit codes: 0 every run finished; 1 a run failed or is missing, or the report could \
        not be written; 2 usage error (bad flag value, missing binary, unusable --out)."
)]
struct Cli {
    /// Seeds per experiment: runs seeds 1, 2, ..., N [default: 5; with --quick: 2]
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    seeds: Option<u64>,

    /// Experiments to run, comma-separated: irnn-mnist, elman-mnist, lstm-mnist,
    /// adding-problem, simple-sequence, adding-paper, adding-modern [default: the five
    /// tutorials but irnn-mnist, whose 200 epochs take 35 to 90 min per seed on 2 cores; with
    /// --quick: all but irnn-mnist]
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = plan::experiment)]
    experiments: Vec<&'static Experiment>,

    /// The sequence lengths of adding-paper and adding-modern to run, comma-separated, e.g.
    /// 150,200 [default: all of each one's: 150,200,300,400 and 100,200,400]
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = at_least_two)]
    lengths: Vec<usize>,

    /// Write one self-contained shell command per run that has not finished to FILE, one
    /// per line (each runs `reproduce --job` for its run), and exit without running them
    #[arg(long, value_name = "FILE", conflicts_with_all = ["collect", "job"])]
    emit_jobs: Option<PathBuf>,

    /// Write the report of the reproduction in DIR from the runs that have finished (the
    /// plan is the one DIR was made with), naming those still missing
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "job"])]
    collect: Option<PathBuf>,

    /// Run (or resume, or skip when finished) one run of --out, named as its directory is:
    /// EXPERIMENT[/SETTING]/seed-K, e.g. adding-paper/T150-irnn/seed-1; what --emit-jobs
    /// writes
    #[arg(long, value_name = "RUN", requires = "out")]
    job: Option<String>,

    /// Directory of the reproduction; give an earlier one to resume it (with its own
    /// experiments, seeds and lengths, unless these flags name others) [default:
    /// runs/reproduce/<UTC date-time>]
    // The angle brackets are --help text, not HTML.
    #[allow(rustdoc::invalid_html_tags)]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Tiny budgets, to check the machinery in CI: 2 epochs on the first 1000 to 10000
    /// MNIST training images, small synthetic sets, about a second per run (each run's log
    /// starts with its command line). The numbers are not comparable with the tutorials';
    /// a quick --out cannot be reused for a full run
    #[arg(long)]
    quick: bool,
}

fn at_least_two(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 2 => Ok(n),
        _ => Err(format!(
            "expected a sequence length of at least 2, got {s:?}"
        )),
    }
}

fn at_least_one(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("expected a whole number of at least 1, got {s:?}")),
    }
}

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

/// What a reproduction runs: saved in its directory (`reproduce.json`) so that `--job` and
/// `--collect` work from it.
struct Plan {
    quick: bool,
    seeds: Vec<u64>,
    experiments: Vec<&'static Experiment>,
    lengths: Vec<usize>,
}

impl Plan {
    fn from_cli(cli: &Cli) -> Plan {
        let quick = cli.quick;
        let chosen = |e: &Experiment| match cli.experiments.is_empty() {
            true => e.by_default || (quick && e.name != "irnn-mnist"),
            false => cli.experiments.iter().any(|c| c.name == e.name),
        };
        Plan {
            quick,
            seeds: (1..=cli.seeds.unwrap_or(if quick { 2 } else { 5 })).collect(),
            experiments: EXPERIMENTS.iter().filter(|e| chosen(e)).collect(),
            lengths: cli.lengths.clone(),
        }
    }

    /// The plan an earlier reproduction in `out` was made with, when the command line names
    /// no experiments, seeds or lengths of its own and asks for the same mode (quick or
    /// full): `reproduce --out DIR` and `reproduce --out DIR --emit-jobs FILE` go on with
    /// what DIR holds rather than with the defaults.
    fn resumed(cli: &Cli, out: &Path) -> Option<Plan> {
        if !cli.experiments.is_empty() || cli.seeds.is_some() || !cli.lengths.is_empty() {
            return None;
        }
        let saved = plan::read_json(&out.join("reproduce.json"))?;
        let plan = Plan::from_json(&saved).filter(|p| p.quick == cli.quick)?;
        let names: Vec<&str> = plan.experiments.iter().map(|e| e.name).collect();
        sayln!(
            "{}: going on with its plan ({}; {} seed(s))",
            out.display(),
            names.join(", "),
            plan.seeds.len()
        );
        Some(plan)
    }

    /// Every run, in the order they run: experiment, then setting, then seed.
    fn runs(&self) -> Vec<(plan::Unit, u64)> {
        let units = self
            .experiments
            .iter()
            .flat_map(|e| e.units(self.quick, &self.lengths));
        units
            .flat_map(|u| self.seeds.iter().map(move |&k| (u, k)))
            .collect()
    }

    fn json(&self) -> serde_json::Value {
        let names: Vec<&str> = self.experiments.iter().map(|e| e.name).collect();
        serde_json::json!({
            "quick": self.quick, "seeds": self.seeds, "experiments": names, "lengths": self.lengths,
        })
    }

    fn from_json(v: &serde_json::Value) -> Option<Plan> {
        let experiments = v["experiments"].as_array()?.iter();
        let experiments = experiments.map(|e| plan::experiment(e.as_str()?).ok());
        let numbers = |key: &str| -> Option<Vec<u64>> {
            v[key].as_array()?.iter().map(|n| n.as_u64()).collect()
        };
        Some(Plan {
            quick: v["quick"].as_bool()?,
            seeds: numbers("seeds")?,
            experiments: experiments.collect::<Option<_>>()?,
            lengths: numbers("lengths")?
                .into_iter()
                .map(|n| n as usize)
                .collect(),
        })
    }
}

fn run(cli: Cli) -> Result<i32, Stop> {
    if let Some(dir) = &cli.collect {
        return collect(dir);
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
        let secs: f64 = mine.iter().map(|(u, _)| plan::estimate(u, quick)).sum();
        let machine = exp.sweep.map_or("", |s| s.machine);
        sayln!(
            "{}: {} runs, expect about {} on one 2-core machine ({machine}; runs are independent: \
             --emit-jobs spreads them over a scheduler)",
            exp.name,
            mine.len(),
            duration(secs),
        );
    }

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

/// `reproduce --out OUT --job NAME`: one run of the reproduction in OUT.
fn run_job(out: &Path, job: &str, quick: bool) -> Result<i32, Stop> {
    let bad = |m: String| stop(2, m, Some("name a run as EXPERIMENT[/SETTING]/seed-K"));
    let (unit, seed) = job
        .rsplit_once('/')
        .ok_or_else(|| bad(format!("{job:?} names no seed")))?;
    let seed = seed
        .strip_prefix("seed-")
        .and_then(|k| k.parse::<u64>().ok())
        .ok_or_else(|| bad(format!("{job:?} does not end in seed-K")))?;
    let unit = plan::Unit::parse(unit).map_err(bad)?;
    let bin = plan::binary(unit.exp).map_err(|m| stop(2, m, None))?;
    let saved = plan::read_json(&out.join("reproduce.json"))
        .ok_or_else(|| stop(2, format!("{} holds no reproduction", out.display()), None))?;
    if saved["quick"].as_bool() != Some(quick) {
        let mode = if quick { "full" } else { "quick" };
        return Err(stop(
            2,
            format!("{} holds a {mode} reproduction", out.display()),
            None,
        ));
    }
    let prefix = format!("{} seed {seed}", unit.name());
    Ok(match run_seed(&unit, &bin, seed, out, quick, &prefix) {
        None => 0,
        Some(_) => 1,
    })
}

/// `--emit-jobs FILE`: one command per run that has not finished.
fn emit_jobs(
    file: &Path,
    out: &Path,
    runs: &[(plan::Unit, u64)],
    quick: bool,
) -> Result<i32, Stop> {
    let me = std::env::current_exe()
        .map_err(|e| stop(2, format!("cannot find this program: {e}"), None))?;
    let mut text = String::new();
    let mut done = 0;
    for (unit, seed) in runs {
        let dir = plan::run_path(out, unit, *seed);
        if plan::decide(unit, &dir) == Action::Done {
            done += 1;
            continue;
        }
        let job = format!("{}/seed-{seed}", unit.name());
        let mut words = vec![me.display().to_string(), "--out".into()];
        words.extend([out.display().to_string(), "--job".into(), job]);
        if quick {
            words.push("--quick".into());
        }
        let line: Vec<String> = words.iter().map(|w| shell_quote(w)).collect();
        text += &line.join(" ");
        text.push('\n');
    }
    rnn_train::base::atomic::write(file, text.as_bytes())
        .map_err(|e| stop(2, format!("cannot write {}: {e}", file.display()), None))?;
    let n = text.lines().count();
    sayln!(
        "{}: {n} job{} ({done} already finished); run them, e.g. `xargs -P 2 -I{{}} sh -c {{}} < {}`, \
         then `reproduce --collect {}`",
        file.display(),
        if n == 1 { "" } else { "s" },
        shell_quote(&file.display().to_string()),
        shell_quote(&out.display().to_string()),
    );
    Ok(0)
}

/// `--collect DIR`: the report of DIR's plan from the runs that have finished.
fn collect(dir: &Path) -> Result<i32, Stop> {
    let saved = plan::read_json(&dir.join("reproduce.json"));
    let plan = saved.as_ref().and_then(Plan::from_json).ok_or_else(|| {
        stop(
            2,
            format!(
                "{} holds no reproduction plan (reproduce.json)",
                dir.display()
            ),
            Some("give the --out of a reproduction or of an --emit-jobs"),
        )
    })?;
    write_report(dir, &plan, &[])
}

/// Writes report.md, report.json and the plots of `plan` in `out`, prints the table and the
/// runs that are missing; the exit code is 1 if any run failed or is missing.
fn write_report(out: &Path, plan: &Plan, failures: &[Failure]) -> Result<i32, Stop> {
    let quick = plan.quick;
    let missing: Vec<String> = plan
        .runs()
        .iter()
        .filter(|(u, k)| plan::decide(u, &plan::run_path(out, u, *k)) != Action::Done)
        .map(|(u, k)| format!("{}/seed-{k}", u.name()))
        .collect();
    let groups: Vec<Vec<report::Entry>> = plan
        .experiments
        .iter()
        .map(|&e| report::collect(e, out, &plan.seeds, &plan.lengths, quick))
        .collect();
    let plots: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            report::plot_group(out, g, quick).unwrap_or_else(|e| {
                eprintln!("warning: cannot draw the plots of {}: {e}", g[0].exp.name);
                vec![]
            })
        })
        .collect();
    let args: Vec<String> = std::env::args().skip(1).map(|a| shell_quote(&a)).collect();
    let ctx = report::Context {
        date: utc_stamp(SystemTime::now()),
        machine: machine(),
        seeds: plan.seeds.clone(),
        quick,
        command: format!("reproduce {}", args.join(" "))
            .trim_end()
            .to_string(),
        missing: missing.clone(),
    };
    let json = report::json_report(&ctx, &groups, failures);
    let md = report::markdown(&ctx, &groups, &plots, failures);
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

/// Creates `out` and checks that it can be written, and that an earlier reproduction there
/// used the same mode; records the plan (`reproduce.json`).
fn prepare(out: &Path, plan: &Plan) -> Result<(), Stop> {
    let quick = plan.quick;
    let other = "choose another --out (quick and full runs do not share a directory)";
    std::fs::create_dir_all(out).map_err(|e| {
        stop(
            2,
            format!("cannot create --out {}: {e}", out.display()),
            None,
        )
    })?;
    let marker = out.join("reproduce.json");
    if let Some(saved) = plan::read_json(&marker)
        && saved["quick"].as_bool() != Some(quick)
    {
        let mode = if quick { "full" } else { "quick" };
        let message = format!("{} holds a {mode} reproduction", out.display());
        return Err(stop(2, message, Some(other)));
    }
    let text = plan.json().to_string() + "\n";
    rnn_train::base::atomic::write(&marker, text.as_bytes()).map_err(|e| {
        stop(
            2,
            format!("cannot write in --out {}: {e}", out.display()),
            None,
        )
    })
}

/// Runs (or resumes, or skips) one seed and prints its progress line; returns its failure.
fn run_seed(
    unit: &plan::Unit,
    bin: &Path,
    seed: u64,
    out: &Path,
    quick: bool,
    prefix: &str,
) -> Option<Failure> {
    let dir = plan::run_path(out, unit, seed);
    let log = dir.with_file_name(format!("seed-{seed}.log"));
    let fail = |exit_code, message: String| {
        sayln!("FAILED ({message}), log {}", log.display());
        Some(Failure {
            experiment: unit.name(),
            seed,
            exit_code,
            log: log.clone(),
        })
    };
    say!("{prefix}: ");
    let resume = match plan::decide(unit, &dir) {
        Action::Done => {
            sayln!("already finished, {}", result(unit, &dir));
            return None;
        }
        Action::Start => false,
        Action::Resume => true,
        Action::MoveAside(aside) => {
            if let Err(e) = std::fs::rename(&dir, &aside) {
                return fail(None, format!("cannot move {} aside: {e}", dir.display()));
            }
            let name = |p: &Path| p.file_name().unwrap_or_default().display().to_string();
            say!(
                "no resumable run, moved {} to {}; ",
                name(&dir),
                name(&aside)
            );
            false
        }
    };
    let parent = dir.parent().unwrap_or(out);
    if let Err(e) = std::fs::create_dir_all(parent) {
        let message = format!("cannot create {}: {e}", parent.display());
        return fail(None, message);
    }
    let verb = if resume { "resuming" } else { "running" };
    say!("{verb} ... ");
    let head = format!("{prefix}: {verb} ... ");
    let mut watch = Watch::new(unit, &dir, head);
    let args = plan::arguments(unit, seed, &dir, resume, quick);
    let status = plan::run_logged(bin, &args, &log, || watch.tick());
    watch.finish();
    let elapsed = duration(watch.started.elapsed().as_secs_f64());
    match status {
        Ok(Some(0)) => {
            sayln!("{elapsed}, {}", result(unit, &dir));
            None
        }
        Ok(Some(code)) => fail(Some(code), format!("exit code {code} after {elapsed}")),
        Ok(None) => fail(None, format!("killed by a signal after {elapsed}")),
        Err(e) => fail(None, format!("cannot run {}: {e}", bin.display())),
    }
}

/// Progress while a seed runs, from its run directory: on a terminal the seed's line is
/// rewritten after every epoch; otherwise (a log file) a line once the run has taken a minute
/// and then at most every five minutes, so that a long reproduction shows it is alive without
/// filling its log.
struct Watch<'a> {
    unit: &'a plan::Unit,
    dir: &'a Path,
    /// `[k/n] name seed s: running ... `
    head: String,
    terminal: bool,
    started: Instant,
    /// Epochs already done when the run started (a resumed run's).
    before: usize,
    /// Epochs done at the last tick (from `before` on).
    seen: usize,
    printed: Option<Instant>,
}

impl<'a> Watch<'a> {
    const FIRST: Duration = Duration::from_secs(60);
    const EVERY: Duration = Duration::from_secs(300);

    fn new(unit: &'a plan::Unit, dir: &'a Path, head: String) -> Self {
        let before = plan::progress(unit, dir).map_or(0, |p| p.done);
        Watch {
            unit,
            dir,
            head,
            terminal: std::io::stdout().is_terminal(),
            started: Instant::now(),
            before,
            seen: before,
            printed: None,
        }
    }

    fn tick(&mut self) {
        let Some(p) = plan::progress(self.unit, self.dir) else {
            return;
        };
        if p.done <= self.seen {
            return;
        }
        self.seen = p.done;
        let elapsed = self.started.elapsed();
        let per_epoch = elapsed.as_secs_f64() / (p.done - self.before) as f64;
        let left = per_epoch * p.planned.saturating_sub(p.done) as f64;
        let network = p
            .network
            .map_or(String::new(), |n| format!(" ({n}, its epoch {})", p.epoch));
        let test = p.test.map_or(String::new(), |v| {
            format!(
                ", {} {}",
                self.unit.exp.metric.field(),
                report::show(self.unit.exp.metric, v)
            )
        });
        let left = match p.planned > p.done {
            true => format!(", about {} left", duration(left)),
            false => String::new(),
        };
        let text = format!("epoch {}/{}{network}{test}{left}", p.done, p.planned);
        if self.terminal {
            say!("\r\x1b[K{}{text}", self.head);
            self.printed = Some(Instant::now());
        } else {
            let due = match self.printed {
                None => elapsed >= Self::FIRST,
                Some(at) => at.elapsed() >= Self::EVERY,
            };
            if due {
                if self.printed.is_none() {
                    sayln!();
                }
                sayln!("    {text}");
                self.printed = Some(Instant::now());
            }
        }
    }

    /// Leaves the line ready for the run's result.
    fn finish(&self) {
        match (self.printed, self.terminal) {
            (None, _) => {}
            (Some(_), true) => say!("\r\x1b[K{}", self.head),
            (Some(_), false) => say!("{}", self.head),
        }
    }
}

/// `test_accuracy 95.31 %`, or the adding problem's three MSEs, from the summaries.
fn result(unit: &plan::Unit, dir: &Path) -> String {
    let exp = unit.exp;
    let parts: Vec<String> = plan::model_dirs(unit, dir)
        .iter()
        .map(|(name, d)| {
            let summary = plan::read_json(&d.join("summary.json"));
            let value = summary.and_then(|s| s[exp.metric.field()].as_f64());
            let shown = value.map_or("?".into(), |v| report::show(exp.metric, v));
            match name.rsplit_once('/') {
                Some((_, net)) => format!("{net} {shown}"),
                None => shown,
            }
        })
        .collect();
    format!("{} {}", exp.metric.field(), parts.join(", "))
}

/// `6.9 s`, `4 min 12 s`, `2 h 52 min`.
fn duration(secs: f64) -> String {
    let whole = secs.round() as u64;
    match whole {
        _ if secs < 60.0 => format!("{secs:.1} s"),
        0..3600 => format!("{} min {} s", whole / 60, whole % 60),
        _ => format!("{} h {} min", whole / 3600, (whole % 3600) / 60),
    }
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
