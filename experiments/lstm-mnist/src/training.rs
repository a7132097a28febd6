//! The experiment, top to bottom: configuration ([`crate::config`], from the command line,
//! [`crate::cli`]), data, model, training, report.

use std::ffi::OsString;

use rnn_train::{Console, Parsed, RunError, Trained, train_mnist_classifier};

use crate::cli::{Cli, Command};
use crate::config::NAME;
use crate::model::LstmClassifier;

/// `main`: parse, run (or `show`), report (see [`rnn_train::cli_main`]); returns the exit
/// code.
pub fn main_with<I: IntoIterator<Item = OsString>>(argv: I, console: &Console) -> i32 {
    rnn_train::cli_main::<Cli, _, _>(argv, console, |parsed, console| {
        match &parsed.args.command {
            Some(Command::Show(show)) => crate::show::show(show, console),
            None => run(parsed, console).map(|_| ()),
        }
    })
}

/// Trains with parsed flags: MNIST row by row, the LSTM, and training with Burn's Learner,
/// with the test accuracy before training recorded as epoch 0 (the tutorial prints it), then
/// the report (summary.json, printed).
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Trained<LstmClassifier>, RunError> {
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
        |_, fit| fit.evaluate_before_training = true,
    )
}
