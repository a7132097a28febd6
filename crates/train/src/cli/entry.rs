//! The program's entry: parsing that also records which flags the user typed (a resumed run
//! needs to know), the experiment's clap command with its tutorial defaults, and the `main`
//! every experiment binary uses ([`cli_main`]).

use std::collections::BTreeSet;
use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{CommandFactory, Parser};

use crate::cli::args::TrainingDefaults;
use crate::cli::run_error::{EXIT_CODES_HELP, RunError};
use crate::report::console::Console;

/// Parsed flags plus the ids of those the user typed (clap ids = field names, e.g.
/// `batch_size`), which [`crate::run::reconcile::reconcile`] needs.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// The flags.
    pub args: T,
    /// Ids of the flags given on the command line.
    pub explicit: BTreeSet<String>,
}

impl<T> Parsed<T> {
    /// Counts the configuration field `field` as typed when the flag `flag` was: for a flag
    /// whose name differs from the field it sets (`--no-clip` sets `clip_norm`), so that a
    /// resumed run checks it against the saved value.
    pub fn flag_sets(mut self, flag: &str, field: &str) -> Self {
        if self.explicit.contains(flag) {
            self.explicit.insert(field.to_string());
        }
        self
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The experiment's clap command with its tutorial `defaults` filled into `--epochs`,
/// `--batch-size`, `--lr` and `--shuffle` where it has one (so `--help` shows them) and the
/// exit codes appended.
pub fn command<T: CommandFactory>(defaults: &TrainingDefaults) -> clap::Command {
    let d = *defaults;
    let mut command = T::command();
    if command.get_arguments().any(|a| a.get_id() == "shuffle") {
        let shuffle = if d.shuffle { "true" } else { "false" };
        command = command.mut_arg("shuffle", |a| a.default_value(shuffle));
    }
    command
        .mut_arg("epochs", |a| {
            a.default_value(leak(d.epochs.to_string()))
                .help(leak(format!(
                    "Passes over the training set (tutorial: {})",
                    d.epochs
                )))
        })
        .mut_arg("batch_size", |a| {
            a.default_value(leak(d.batch_size.to_string()))
                .help(leak(format!(
                    "Samples per optimisation step (tutorial: {})",
                    d.batch_size
                )))
        })
        .mut_arg("lr", |a| {
            a.default_value(leak(format!("{}", d.lr)))
                .help(leak(format!(
                    "Learning rate, constant (tutorial: {})",
                    d.lr
                )))
        })
        .after_help(EXIT_CODES_HELP)
}

/// Parses `argv` (program name first) with the experiment's defaults.
pub fn parse_from<T, I, A>(argv: I, defaults: &TrainingDefaults) -> Result<Parsed<T>, clap::Error>
where
    T: Parser,
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    let mut cmd = command::<T>(defaults);
    let matches = cmd.try_get_matches_from_mut(argv)?;
    // Argument ids only (clap also reports argument groups, e.g. the flattened struct).
    let explicit = matches
        .ids()
        .filter(|id| cmd.get_arguments().any(|a| a.get_id() == *id))
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect();
    let args = T::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
    Ok(Parsed { args, explicit })
}

/// The whole `main` of an experiment binary: parses `argv`, runs `run`, prints clap's
/// messages (`--help`, usage errors) or `error: ...` / `hint: ...` to `console`, and returns
/// the exit code. Tests call it in-process with a buffer console.
pub fn cli_main<T, I, A>(
    argv: I,
    defaults: &TrainingDefaults,
    console: &Console,
    run: impl FnOnce(Parsed<T>, &Console) -> Result<(), RunError>,
) -> i32
where
    T: Parser,
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    let parsed = match parse_from::<T, _, _>(argv, defaults) {
        Ok(p) => p,
        Err(e) => {
            let code = e.exit_code();
            if console.is_stdio() {
                let _ = e.print();
            } else if e.use_stderr() {
                console.eline(e.render().to_string().trim_end());
            } else {
                console.line(e.render().to_string().trim_end());
            }
            return code;
        }
    };
    match run(parsed, console) {
        Ok(()) => 0,
        Err(e) => {
            report(console, &e);
            e.exit_code()
        }
    }
}

/// Prints `error: ...` (and `hint: ...`) for `e`.
pub fn report(console: &Console, e: &RunError) {
    let text = e.to_string();
    let mut lines = text.lines();
    if let Some(first) = lines.next() {
        console.eline(format!("error: {first}"));
    }
    for line in lines {
        console.eline(format!("  {line}"));
    }
    if let Some(hint) = e.hint() {
        console.eline(format!("hint: {hint}"));
    }
}
