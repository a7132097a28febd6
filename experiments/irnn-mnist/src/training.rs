//! The experiment, top to bottom: configuration ([`crate::config`], from the command line,
//! [`crate::cli`]), data, model, training, report.

use std::ffi::OsString;

use rnn_data::MnistSequenceBatcher;
use rnn_train::{Console, MnistRun, Outcome, Parsed, RunError, TrainingDefaults, train_classifier};

use crate::cli::Cli;
use crate::config::{IrnnMnistConfig, NAME};
use crate::model::IrnnClassifier;

/// `main`: parse, run, report (see [`rnn_train::cli_main`]); returns the exit code.
pub fn main_with<I: IntoIterator<Item = OsString>>(argv: I, console: &Console) -> i32 {
    let defaults = TrainingDefaults::of(&IrnnMnistConfig::new().training);
    rnn_train::cli_main::<Cli, _, _>(argv, &defaults, console, |parsed, console| {
        run(parsed, console).map(|_| ())
    })
}

/// Runs the experiment with parsed flags.
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Outcome<IrnnClassifier>, RunError> {
    // Flags whose name differs from the configuration field they set.
    let parsed = parsed
        .flag_sets("permuted", "view")
        .flag_sets("no_clip", "clip_norm");
    let Parsed { args, explicit } = parsed;

    // 2. Data: MNIST as sequences.
    let mnist = MnistRun::start(NAME, &args.common, args.config(), &explicit, console, |c| {
        MnistSequenceBatcher::new(c.view, c.normalisation)
    })?;
    let config = &mnist.config;

    // 3. Model.
    let model = mnist
        .session
        .init(|device| config.model.init(config.view.features(), device));

    // 4. Training (Burn's Learner; dashboard or plain log, checkpoints, metrics.csv, plots),
    // 5. and the report (summary.json, printed).
    let fit = mnist.fit(model, config.optimizer.init());
    train_classifier(&mnist.session, fit)
}
