//! The experiment, top to bottom: configuration ([`crate::config`], from the command line,
//! [`crate::cli`]), data, model, training, report.

use std::ffi::OsString;

use rnn_data::MnistSequenceBatcher;
use rnn_train::{Console, MnistRun, Outcome, Parsed, RunError, TrainingDefaults, train_classifier};

use crate::cli::Cli;
use crate::config::{ElmanMnistConfig, NAME};
use crate::model::ElmanClassifier;

/// `main`: parse, run, report (see [`rnn_train::cli_main`]); returns the exit code.
pub fn main_with<I: IntoIterator<Item = OsString>>(argv: I, console: &Console) -> i32 {
    let defaults = TrainingDefaults::of(&ElmanMnistConfig::new().training);
    rnn_train::cli_main::<Cli, _, _>(argv, &defaults, console, |parsed, console| {
        run(parsed, console).map(|_| ())
    })
}

/// Runs the experiment with parsed flags.
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Outcome<ElmanClassifier>, RunError> {
    let Parsed { args, explicit } = parsed;

    // 2. Data: MNIST row by row.
    let mnist = MnistRun::start(NAME, &args.common, args.config(), &explicit, console, |c| {
        MnistSequenceBatcher::new(c.view, c.normalisation)
    })?;
    let config = &mnist.config;

    // 3. Model.
    let (d_input, steps) = (config.view.features(), config.view.steps());
    let model = mnist
        .session
        .init(|device| config.model.init(d_input, steps, device));

    // 4. Training (Burn's Learner; dashboard or plain log, checkpoints, metrics.csv, plots),
    // 5. and the report (summary.json, printed), with the tutorial's closing pass over the
    // whole training set in evaluation mode.
    let mut fit = mnist.fit(model, config.optimizer.init());
    fit.evaluate_train_set = Some(mnist.train_set_in_order());
    train_classifier(&mnist.session, fit)
}
