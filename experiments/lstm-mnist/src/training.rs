//! The experiment, top to bottom: configuration ([`crate::config`], from the command line,
//! [`crate::cli`]), data, model, training, report.

use std::ffi::OsString;

use rnn_data::MnistSequenceBatcher;
use rnn_train::{Console, MnistRun, Outcome, Parsed, RunError, TrainingDefaults, train_classifier};

use crate::cli::{Cli, Command};
use crate::config::{LstmMnistConfig, NAME};
use crate::model::LstmClassifier;

/// `main`: parse, run (or `show`), report (see [`rnn_train::cli_main`]); returns the exit
/// code.
pub fn main_with<I: IntoIterator<Item = OsString>>(argv: I, console: &Console) -> i32 {
    let defaults = TrainingDefaults::of(&LstmMnistConfig::new().training);
    rnn_train::cli_main::<Cli, _, _>(argv, &defaults, console, |parsed, console| {
        match &parsed.args.command {
            Some(Command::Show(show)) => crate::show::show(show, console),
            None => run(parsed, console).map(|_| ()),
        }
    })
}

/// Trains with parsed flags.
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Outcome<LstmClassifier>, RunError> {
    let Parsed { args, explicit } = parsed;

    // 2. Data: MNIST row by row.
    let mnist = MnistRun::start(NAME, &args.common, args.config(), &explicit, console, |c| {
        MnistSequenceBatcher::new(c.view, c.normalisation)
    })?;
    let config = &mnist.config;

    // 3. Model.
    let model = mnist
        .session
        .init(|device| config.model.init(config.view.features(), device));

    // 4. Training, with the test accuracy before training recorded as epoch 0,
    // 5. and the report (summary.json, printed).
    let mut fit = mnist.fit(model, config.optimizer.init());
    fit.evaluate_before_training = true;
    train_classifier(&mnist.session, fit)
}
