//! The program's entry: an experiment's command line ([`ExperimentCli`]: its clap struct, its
//! configuration and the flags that write it), parsing that also records which flags the user
//! typed (a resumed run needs to know), and the `main` every experiment binary uses
//! ([`cli_main`]).

use std::collections::BTreeSet;
use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgMatches, Parser};

use crate::base::console::Console;
use crate::base::error::{EXIT_CODES_HELP, RunError};
use crate::cli::args::CommonArgs;
use crate::cli::config_flags::ConfigFlags;

/// An experiment's command line: the clap struct, the configuration a run saves, and which
/// flag writes which field of it.
pub trait ExperimentCli: Parser {
    /// Everything that defines a run.
    type Config: Clone + serde::Serialize + 'static;
    /// The configuration no flag changes: the tutorial's (whose values `--help` shows).
    fn tutorial() -> Self::Config;
    /// The flags that write fields of [`Self::Config`].
    fn config_flags() -> ConfigFlags<Self::Config>;
    /// The flags every experiment shares.
    fn common(&self) -> &CommonArgs;
    /// The configuration the flags typed apply to: the tutorial's, unless the command line
    /// picks another starting point (a preset).
    fn base(&self) -> Self::Config {
        Self::tutorial()
    }
    /// The configurations these flags start, as `--print-config` shows them: one run's,
    /// unless the experiment trains several networks in one command.
    fn configs(parsed: &Parsed<Self>) -> Vec<Self::Config>
    where
        Self: Sized,
    {
        vec![parsed.config()]
    }
}

/// Parsed flags plus the ids of those the user typed (clap ids = field names, e.g.
/// `batch_size`), which [`crate::run::reconcile::reconcile`] needs.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// The flags.
    pub args: T,
    /// Ids of the flags given on the command line, and of the configuration fields they
    /// write.
    pub explicit: BTreeSet<String>,
    matches: ArgMatches,
}

impl<T: ExperimentCli> Parsed<T> {
    /// The configuration these flags ask for: the tutorial's (or the preset's the flags
    /// pick, [`ExperimentCli::base`]), under every flag typed.
    pub fn config(&self) -> T::Config {
        self.config_from(self.args.base())
    }

    /// `base` (a preset's configuration, or one of several runs') under every flag typed.
    pub fn config_from(&self, base: T::Config) -> T::Config {
        T::config_flags().apply(base, &self.matches, &self.explicit)
    }
}

/// The experiment's clap command: each configuration flag's default filled in from the
/// tutorial's configuration (so `--help` shows it), and the exit codes appended.
pub fn command<T: ExperimentCli>() -> clap::Command {
    T::config_flags()
        .fill(T::command(), &T::tutorial())
        .after_help(EXIT_CODES_HELP)
}

/// Parses `argv` (program name first).
pub fn parse_from<T, I, A>(argv: I) -> Result<Parsed<T>, clap::Error>
where
    T: ExperimentCli,
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    let mut cmd = command::<T>();
    let matches = cmd.try_get_matches_from_mut(argv)?;
    // Argument ids only (clap also reports argument groups, e.g. the flattened struct).
    let typed = matches
        .ids()
        .filter(|id| cmd.get_arguments().any(|a| a.get_id() == *id))
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect();
    let explicit = T::config_flags().typed_fields(typed);
    let args = T::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
    Ok(Parsed {
        args,
        explicit,
        matches,
    })
}

/// The whole `main` of an experiment binary: parses `argv`, runs `run`, prints clap's
/// messages (`--help`, usage errors) or `error: ...` / `hint: ...` to `console`, and returns
/// the exit code. Tests call it in-process with a buffer console.
pub fn cli_main<T, I, A>(
    argv: I,
    console: &Console,
    run: impl FnOnce(Parsed<T>, &Console) -> Result<(), RunError>,
) -> i32
where
    T: ExperimentCli,
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    let parsed = match parse_from::<T, _, _>(argv) {
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
    if parsed.args.common().print_config {
        return print_configs(&T::configs(&parsed), console);
    }
    match run(parsed, console) {
        Ok(()) => 0,
        Err(e) => {
            report(console, &e);
            e.exit_code()
        }
    }
}

/// Prints `error: ...` (and `hint: ...`) for `e`.
/// `--print-config`: the configurations as JSON on stdout (one object, or an array of
/// several), the form config.json holds them in.
fn print_configs<C: serde::Serialize>(configs: &[C], console: &Console) -> i32 {
    let text = match configs {
        [one] => serde_json::to_string_pretty(one),
        several => serde_json::to_string_pretty(several),
    };
    match text {
        Ok(text) => {
            console.line(text);
            0
        }
        Err(e) => {
            let e = RunError::Internal(format!("cannot write the configuration as JSON: {e}"));
            report(console, &e);
            e.exit_code()
        }
    }
}

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
