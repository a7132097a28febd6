//! The experiment, top to bottom: configuration ([`crate::config`], from the command line,
//! [`crate::cli`]), data, models, training, comparison.
//!
//! One invocation trains several networks one after the other, each in its own run directory
//! (`<out>/rnn`, `<out>/lstm`, ...: config.json, metrics.csv, plots, checkpoints, model.bpk,
//! summary.json, as for every experiment), then writes the comparison into `<out>`:
//! `comparison.png` (the MSE histories against the predict-1 baseline), `comparison.json`
//! (the plan and the table) and prints the table. `--resume OUT` continues it (see
//! [`crate::comparison`]).

use std::collections::BTreeSet;
use std::ffi::OsString;

use rnn_data::AddingBatcher;
use rnn_train::{
    CommonArgs, Console, EpochRecord, Fit, Parsed, RunError, Session, Summary, Trained,
    train_regressor,
};

use rnn_train::ExperimentCli as _;

use crate::cli::Cli;
use crate::comparison::{Comparison, Member};
use crate::comparison_table::{self, AddingResults};
use crate::config::{AddingConfig, NAME};
use crate::model::{Adder, Network};

/// `main`: parse, run, report (see [`rnn_train::cli_main`]); returns the exit code.
pub fn main_with<I: IntoIterator<Item = OsString>>(argv: I, console: &Console) -> i32 {
    rnn_train::cli_main::<Cli, _, _>(argv, console, |parsed, console| {
        run(parsed, console).map(|_| ())
    })
}

/// Trains every network with parsed flags (or continues an interrupted comparison), then
/// writes and prints the comparison. Returns the finished runs, in training order.
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Vec<Member<AddingConfig>>, RunError> {
    let (args, explicit) = (&parsed.args, &parsed.explicit);
    // Each network's run: its preset's configuration under the flags typed.
    let config = |cell| parsed.config_from(args.preset(cell));
    if explicit.contains("forget_bias") && !args.models().contains(&Network::Lstm) {
        return Err(RunError::usage(
            "--forget-bias sets the LSTM's forget gate, and no LSTM is among the networks to train",
            Some("add lstm to --model, or leave --forget-bias out".into()),
        ));
    }
    for cell in args.models() {
        let unusable = Cli::config_flags().inapplicable(&args.preset(cell), explicit);
        if !unusable.is_empty() {
            let optimizer = args.preset(cell).optimizer.name();
            return Err(RunError::usage(
                format!(
                    "{} cannot apply to {cell}'s run, which trains with {optimizer}",
                    unusable.join(", ")
                ),
                Some("leave them out, or choose a preset whose optimiser has them".into()),
            ));
        }
    }

    // 1. The plan: one configuration per network (read back by --resume OUT).
    let comparison =
        Comparison::open::<AddingResults>(NAME, "network", &args.common, || Cli::configs(&parsed))?;

    // 2.-4. Data, model and training, once per network.
    let runs = comparison.run(
        &args.common,
        explicit,
        |config| config.model.cell.name().to_string(),
        |planned| config(planned.model.cell),
        |common, requested| train_one(common, requested, explicit, console),
        console,
    )?;

    // 5. The comparison: table, plot, comparison.json.
    comparison_table::write_and_print(&comparison, &runs, console)?;
    Ok(runs)
}

/// Data, model and training of one network, in the run directory `common` names.
fn train_one(
    common: &CommonArgs,
    requested: AddingConfig,
    explicit: &BTreeSet<String>,
    console: &Console,
) -> Result<(AddingConfig, Summary, Vec<EpochRecord>), RunError> {
    console.line(format!(
        "{}: hidden {}, T = {}, {} training / {} test sequences",
        requested.model.cell,
        requested.model.hidden,
        requested.data.seq_len,
        requested.data.train_size,
        requested.data.test_size
    ));
    let (session, config) =
        Session::start(NAME, &common.run_options(), requested, explicit, console)?;

    // 2. Data: the same seeded training and test sets for every network (with `fresh`, a
    // stream whose every epoch is new sequences).
    let (d, t) = (&config.data, &config.training);
    let train = d.train_set(t.epochs, t.seed)?;
    let test = d.test_set(t.seed)?;
    // A fresh stream holds `epochs * train_size` sequences; epoch e reads its own window of
    // them, the one an uninterrupted run reads (also after a resume).
    let (train, test) = if d.fresh {
        let train = session.train_loader(t, train, AddingBatcher);
        let test = session.test_loader(t, test, AddingBatcher);
        (train.windowed(d.train_size).into_arc(), test)
    } else {
        session.loaders(t, train, test, AddingBatcher)
    };

    // 3. Model.
    let model: Adder = session.init(|device| {
        config
            .model
            .init(device)
            .with_recurrence(session.recurrence)
    });

    // 4. Training (Burn's Learner; dashboard or plain log, checkpoints, metrics.csv, plots,
    // summary.json with test_mse).
    let fit = Fit::new(model, config.optimizer.init(), t, train, test);
    let Trained {
        records, summary, ..
    } = train_regressor(&session, fit)?;
    Ok((config, summary, records))
}
