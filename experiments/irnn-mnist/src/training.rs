//! The experiment, top to bottom: configuration ([`crate::config`], from the command line,
//! [`crate::cli`]), data, model, training, report.

use std::ffi::OsString;

use rnn_train::{Console, MnistRun, Parsed, RunError, Summary};

use crate::cli::{Cli, Command};
use crate::config::{IrnnMnistConfig, NAME};
use crate::model::Network;

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
/// pixel per step, by default), the network (the saved one, for a resumed run), and training
/// with Burn's Learner (dashboard or plain log, checkpoints, metrics.csv, plots), then the
/// report (summary.json, printed).
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Summary, RunError> {
    let mnist = MnistRun::from_parsed(NAME, &parsed, console)?;
    let d_input = mnist.config.view.features();
    let trained = match mnist.config.network() {
        Network::Lstm => {
            let lstm = |config: &IrnnMnistConfig, device: &_, recurrence| {
                config
                    .model
                    .init_lstm(d_input, device)
                    .with_recurrence(recurrence)
            };
            mnist.train(lstm, |_, _| {})?.summary
        }
        Network::Irnn | Network::Rnn | Network::Relu => {
            let elman = |config: &IrnnMnistConfig, device: &_, recurrence| {
                config
                    .model
                    .init(d_input, device)
                    .with_recurrence(recurrence)
            };
            mnist.train(elman, |_, _| {})?.summary
        }
    };
    Ok(trained)
}
