//! The experiment, top to bottom: configuration ([`crate::config`], from the command line,
//! [`crate::cli`]), data, model, training, report.

use std::ffi::OsString;
use std::sync::Arc;

use crate::truncated_bptt::{TbpttOptions, tbptt_fit};
use rnn_data::{TbpttIterator, counting_sequence};
use rnn_train::{Console, Parsed, RunError, Session, Trained, train_classifier};

use crate::cli::{Cli, Command};
use crate::config::NAME;
use crate::model::LanguageModel;
use crate::trainer_report::ChainerReport;

/// `main`: parse, train (or `generate`), report (see [`rnn_train::cli_main`]); returns the
/// exit code.
pub fn main_with<I: IntoIterator<Item = OsString>>(argv: I, console: &Console) -> i32 {
    rnn_train::cli_main::<Cli, _, _>(argv, console, |parsed, console| {
        match &parsed.args.command {
            Some(Command::Generate(generate)) => crate::generate::generate(generate, console),
            None => run(parsed, console).map(|_| ()),
        }
    })
}

/// Trains with parsed flags.
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Trained<LanguageModel>, RunError> {
    let requested = parsed.config();
    let (session, config) = Session::start(
        NAME,
        &parsed.args.common.run_options(),
        requested,
        &parsed.explicit,
        console,
    )?;

    // 2. Data: the counting sequence, read by `batch_size` cursors in windows of
    // `bprop_len` steps. The tutorial validates on a second copy of the same sequence.
    let tokens = counting_sequence(config.model.n_vocab as u32, config.repeat);
    let (batch, bprop_len) = (config.training.batch_size, config.bprop_len);
    let stream = TbpttIterator::new(tokens.clone(), batch, bprop_len)?;
    let validation = TbpttIterator::new(tokens, batch, bprop_len)?;

    // 3. Model.
    let model = session.init(|device| {
        config
            .model
            .init(device)
            .with_recurrence(session.recurrence)
    });

    // 4. Training: Burn's Learner with the truncated-BPTT strategy (dashboard or plain log,
    // metrics.csv, plots, snapshots that a resumed run continues from; the tutorial's
    // per-epoch table where the plain log is shown). The tutorial backpropagates the sum of
    // the per-step losses.
    let optimizer = config.optimizer.init();
    let loss_scale = bprop_len as f64;
    let fit = tbptt_fit(
        &session,
        model,
        optimizer,
        &config.training,
        stream,
        &validation,
        TbpttOptions {
            loss_scale,
            table: Some(Arc::new(ChainerReport)),
        },
    )?;

    // 5. Report: summary.json (test_accuracy = the final validation accuracy), model.bpk.
    let outcome = train_classifier(&session, fit)?;
    console.line(format!(
        "continue a prompt with the trained model: {NAME} generate {} --prompt \"1 2 2 3 3 3\"",
        rnn_train::base::error::shell_quote(&session.run_dir.path().display().to_string())
    ));
    Ok(outcome)
}
