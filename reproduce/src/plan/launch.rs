//! How one run is launched: the experiment's binary, its arguments, and its output logged to
//! a file while it runs.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::experiments::Experiment;
use super::sweeps::Task;
use super::units::Unit;

/// The experiment binaries sit next to this one (`target/release/`).
pub fn binary(exp: &Experiment) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let dir = me.parent().unwrap_or(Path::new("."));
    let name = exp.program();
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("the {name} binary is missing: {}", path.display()))
    }
}

/// The arguments of one run: a new one, or with `resume` the continuation of `dir`.
pub fn arguments(unit: &Unit, seed: u64, dir: &Path, resume: bool, quick: bool) -> Vec<String> {
    let dir = dir.display().to_string();
    let mut args: Vec<String> = if resume {
        vec!["--resume".into(), dir]
    } else {
        vec!["--seed".into(), seed.to_string(), "--out".into(), dir]
    };
    args.push("--plain".into());
    if resume {
        return args;
    }
    if let (Some(sweep), Some((t, n))) = (unit.exp.sweep, unit.setting) {
        args.extend(["--preset", sweep.preset].map(String::from));
        if sweep.task == Task::Adding {
            args.extend(["--seq-len".to_string(), t.to_string()]);
        }
        args.extend(["--model", n].map(String::from));
        if sweep.task == (Task::Pixels { permuted: true }) {
            args.push("--permuted".into());
        }
    }
    if quick {
        args.extend(unit.exp.quick_args.iter().map(|a| a.to_string()));
    }
    args
}

/// Runs `bin args` with its output (stdout and stderr) in `log`: written to `log.partial`
/// while it runs, renamed to `log` when it ends. Calls `tick` about once a second while it
/// runs. Returns the exit code (`None`: killed by a signal).
pub fn run_logged(
    bin: &Path,
    args: &[String],
    log: &Path,
    mut tick: impl FnMut(),
) -> std::io::Result<Option<i32>> {
    let partial = log.with_extension("log.partial");
    let mut file = File::create(&partial)?;
    writeln!(file, "$ {} {}", bin.display(), args.join(" "))?;
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file.try_clone()?)
        .spawn()?;
    // Polled every 50 ms, so that the many short runs of a reproduction end on time.
    let mut ticked = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if ticked.elapsed().as_secs() >= 1 {
            tick();
            ticked = std::time::Instant::now();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    file.sync_all()?;
    drop(file);
    std::fs::rename(&partial, log)?;
    Ok(status.code())
}
