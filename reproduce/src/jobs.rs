//! A reproduction as scheduler jobs: the commands of its runs that have not finished
//! (`--emit-jobs`), one run per process (`--job`), and the report of whatever has finished
//! (`--collect`).

use std::path::Path;

use rnn_train::base::error::shell_quote;

use crate::cli::Cli;
use crate::plan::{self, Action};
use crate::report::write_report;
use crate::reproduction::Plan;
use crate::runner::run_seed;
use crate::{Stop, stop};

/// `reproduce --out OUT --job NAME`: one run of the reproduction in OUT.
pub fn run_job(out: &Path, job: &str, quick: bool) -> Result<i32, Stop> {
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
pub fn emit_jobs(
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

/// `--collect DIR`: the report of DIR's plan from the runs that have finished; the plan is
/// the one `--experiments`, `--seeds` and `--lengths` name when any is given (a directory of
/// runs started by hand holds none), else the one saved in DIR.
pub fn collect(dir: &Path, cli: &Cli) -> Result<i32, Stop> {
    let saved = plan::read_json(&dir.join("reproduce.json"));
    let named = !cli.experiments.is_empty() || cli.seeds.is_some() || !cli.lengths.is_empty();
    if named {
        if let Some(saved) = &saved
            && saved["quick"].as_bool() != Some(cli.quick)
        {
            let mode = if cli.quick { "full" } else { "quick" };
            let message = format!("{} holds a {mode} reproduction", dir.display());
            let hint = if cli.quick {
                "leave out --quick"
            } else {
                "add --quick"
            };
            return Err(stop(2, message, Some(hint)));
        }
        return write_report(dir, &Plan::from_cli(cli), &[]);
    }
    let plan = saved.as_ref().and_then(Plan::from_json).ok_or_else(|| {
        stop(
            2,
            format!(
                "{} holds no reproduction plan (reproduce.json)",
                dir.display()
            ),
            Some(
                "give the --out of a reproduction or of an --emit-jobs, or name the plan with \
                 --experiments and --seeds",
            ),
        )
    })?;
    write_report(dir, &plan, &[])
}
