//! The experiment, top to bottom: configuration ([`crate::config`], from the command line,
//! [`crate::cli`]), data, model, training, report.

use std::ffi::OsString;

use rnn_train::{Console, Parsed, RunError, Trained, train_mnist_classifier};

use crate::cli::Cli;
use crate::config::NAME;
use crate::model::ElmanClassifier;

/// `main`: parse, run, report (see [`rnn_train::cli_main`]); returns the exit code.
pub fn main_with<I: IntoIterator<Item = OsString>>(argv: I, console: &Console) -> i32 {
    rnn_train::cli_main::<Cli, _, _>(argv, console, |parsed, console| {
        run(parsed, console).map(|_| ())
    })
}

/// Runs the experiment with parsed flags: MNIST row by row, the stacked Elman network, and
/// training with Burn's Learner (dashboard or plain log, checkpoints, metrics.csv, plots),
/// then the report (summary.json, printed) with the tutorial's closing pass over the whole
/// training set in evaluation mode.
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Trained<ElmanClassifier>, RunError> {
    train_mnist_classifier(
        NAME,
        parsed,
        console,
        |config, device, recurrence| {
            let (d_input, steps) = (config.view.features(), config.view.steps());
            config
                .model
                .init(d_input, steps, device)
                .with_recurrence(recurrence)
        },
        |mnist, fit| fit.evaluate_train_set = Some(mnist.train_set_in_order()),
    )
}
