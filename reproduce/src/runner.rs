//! Running one seed: skipped when its run has finished, otherwise resumed or started afresh
//! as a subprocess of the experiment's binary with its output in the seed's log, and the
//! seed's progress line while it runs.

use std::io::IsTerminal as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::plan::{self, Action};
use crate::report::{self, Failure, duration};

/// Runs (or resumes, or skips) one seed and prints its progress line; returns its failure.
pub fn run_seed(
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
