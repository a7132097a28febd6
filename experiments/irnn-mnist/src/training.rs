//! The experiment, top to bottom: configuration ([`crate::config`], from the command line,
//! [`crate::cli`]), data, model, training, report.

use std::ffi::OsString;

use rnn_train::{Console, Parsed, RunError, Trained, train_mnist_classifier};

use crate::cli::{Cli, Command};
use crate::config::NAME;
use crate::model::IrnnClassifier;

/// `main`: parse, run (or `export`), report (see [`rnn_train::cli_main`]); returns the exit code.
pub fn main_with<I: IntoIterator<Item = OsString>>(argv: I, console: &Console) -> i32 {
    rnn_train::cli_main::<Cli, _, _>(argv, console, |parsed, console| {
        match &parsed.args.command {
            Some(Command::Export(export)) => crate::export::export(export, console),
            None => run(parsed, console).map(|_| ()),
        }
    })
}

/// Runs the experiment with parsed flags: MNIST as sequences of the configured view (one
/// pixel per step, by default), the IRNN, and training with Burn's Learner (dashboard or
/// plain log, checkpoints, metrics.csv, plots), then the report (summary.json, printed).
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Trained<IrnnClassifier>, RunError> {
    train_mnist_classifier(
        NAME,
        parsed,
        console,
        |config, device, recurrence| {
            config
                .model
                .init(config.view.features(), device)
                .with_recurrence(recurrence)
        },
        |_, _| {},
    )
}
