//! `experiment.log`: the log of one run, in its own run directory.
//!
//! Burn's Learner installs a process-wide logger at its first launch, bound to that run's
//! `experiment.log`, and cannot install another: every later run of the same process (the
//! adding-problem comparison trains three networks in one) logged into the first run's file
//! and left its own empty. It also writes an `Iteration N` line per batch, 300 000 lines
//! (about 36 MB) in a 200-epoch IRNN run, which say nothing the per-iteration loss files do
//! not. So the project installs its own subscriber, once per process, whose file is chosen per
//! run: [`RunLog::open`] makes `<run dir>/experiment.log` the destination for as long as the
//! returned guard lives. It keeps Burn's INFO level (wgpu's chatty INFO lines dropped, as
//! Burn's logger does) and the per-epoch lines, drops the per-iteration ones, and a panic while
//! a run is logging is written to its log as well as to the terminal (which the dashboard may
//! be covering).
//!
//! Runs in one process normally follow each other. Should two overlap (the test suite runs
//! experiments on parallel threads), lines go to the most recently opened log: the logger is
//! process-wide, and Burn's worker threads carry no mark of the run they serve.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock};

use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Level, Metadata};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The logs open now, oldest first; lines go to the last.
static OPEN: Mutex<Vec<(u64, File)>> = Mutex::new(Vec::new());

fn open_logs() -> MutexGuard<'static, Vec<(u64, File)>> {
    // A panic while the lock was held (one inside a write) leaves the list as it was.
    OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `experiment.log` of one run, the destination of the process's log lines while it lives.
#[must_use = "the log is closed when this guard is dropped"]
pub struct RunLog {
    id: u64,
}

impl RunLog {
    /// Appends this process's log lines to `path` (created if missing) until the guard is
    /// dropped. Installs the process's subscriber on first use; fails, with the reason, when
    /// the file cannot be opened or another subscriber was installed first.
    pub fn open(path: &Path) -> Result<RunLog, String> {
        static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
        INSTALLED.get_or_init(install).clone()?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        open_logs().push((id, file));
        Ok(RunLog { id })
    }
}

impl Drop for RunLog {
    fn drop(&mut self) {
        let mut logs = open_logs();
        if let Some(at) = logs.iter().position(|(id, _)| *id == self.id) {
            let (_, mut file) = logs.remove(at);
            let _ = file.flush();
        }
    }
}

/// The process's subscriber: one formatting layer writing to the open log, behind
/// [`RunLogFilter`]. Also routes the `log` crate's records (Burn logs through it).
fn install() -> Result<(), String> {
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(ToOpenLog)
        .with_filter(RunLogFilter);
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(|e| format!("another logger is installed in this process: {e}"))?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // try_lock: a panic while this thread holds the list (inside a write) must not wait
        // for itself.
        if !crate::device::quiet_panic::quiet_panic()
            && let Ok(mut logs) = OPEN.try_lock()
            && let Some((_, file)) = logs.last_mut()
        {
            let stamp = crate::run::run_dir::utc_stamp(std::time::SystemTime::now());
            let _ = writeln!(file, "{stamp} ERROR panic: {info}");
        }
        previous(info)
    }));
    Ok(())
}

/// Writes each formatted line to the most recently opened log; drops it when none is open.
/// A failed write (a full disk) is ignored: the log must never stop a run whose own files
/// are written, and checked, elsewhere.
struct ToOpenLog;

impl Write for ToOpenLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some((_, file)) = open_logs().last_mut() {
            let _ = file.write_all(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for ToOpenLog {
    type Writer = ToOpenLog;

    fn make_writer(&'a self) -> ToOpenLog {
        ToOpenLog
    }
}

/// INFO and above, less wgpu's INFO lines and the Learner's per-batch `Iteration N`.
struct RunLogFilter;

impl<S> Filter<S> for RunLogFilter {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        // In tracing, more verbose levels compare greater.
        let level = *meta.level();
        level <= Level::INFO && !(level == Level::INFO && meta.target().starts_with("wgpu"))
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        let mut fields = Fields {
            message: String::new(),
            target: event.metadata().target().to_string(),
        };
        event.record(&mut fields);
        !(fields.target.starts_with("burn_train") && is_iteration_line(&fields.message))
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::INFO)
    }
}

/// `Iteration 1234`, as Burn's epoch loop logs each batch.
fn is_iteration_line(message: &str) -> bool {
    message
        .strip_prefix("Iteration ")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// An event's message and target; for a record of the `log` crate, the target is the module
/// that logged it, carried as a field (the event's own metadata then names only `log`).
struct Fields {
    message: String,
    target: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_string(),
            "log.target" => self.target = value.to_string(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "log.target" => self.target = format!("{value:?}"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_burns_per_batch_lines_count_as_iteration_lines() {
        assert!(is_iteration_line("Iteration 1"));
        assert!(is_iteration_line("Iteration 300000"));
        assert!(!is_iteration_line("Iteration "));
        assert!(!is_iteration_line("Iteration 12 of 40"));
        assert!(!is_iteration_line("Executing training step for epoch 1"));
    }

    /// Two runs one after the other in one process each get their own lines, the
    /// per-iteration lines are dropped and the per-epoch ones kept (through the `log` crate,
    /// as Burn logs).
    #[test]
    fn each_run_logs_into_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
        {
            let _log = RunLog::open(&a).unwrap();
            log_as_burn("run-log test: first run, per-epoch line");
            log_as_burn("Iteration 7");
        }
        {
            let _log = RunLog::open(&b).unwrap();
            log_as_burn("run-log test: second run");
        }
        log_as_burn("run-log test: after every run, nowhere");
        let (a, b) = (
            std::fs::read_to_string(a).unwrap(),
            std::fs::read_to_string(b).unwrap(),
        );
        assert!(a.contains("run-log test: first run, per-epoch line"), "{a}");
        assert!(!a.contains("Iteration 7"), "{a}");
        assert!(!a.contains("second run") && !a.contains("nowhere"), "{a}");
        assert!(b.contains("run-log test: second run"), "{b}");
        assert!(!b.contains("first run") && !b.contains("nowhere"), "{b}");
    }

    fn log_as_burn(message: &str) {
        log::logger().log(
            &log::Record::builder()
                .level(log::Level::Info)
                .target("burn_train::learner::supervised::strategies::single::epoch")
                .args(format_args!("{message}"))
                .build(),
        );
    }
}
