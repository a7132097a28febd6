//! `lstm-mnist show RUN_DIR`: the tutorial's last cell. Loads a trained model, picks random
//! test digits, and draws them in the terminal with the predicted and the true label.

use std::path::PathBuf;

use clap::Args;
use rnn_data::{MnistSequenceBatcher, MnistSequences, MnistSplit};
use rnn_train::cli::value_parsers::count_up_to;
use rnn_train::device::open::open;
use rnn_train::{BackendChoice, Console, MnistArgs, RunDir, RunError, trained_model};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;

use crate::config::{LstmMnistConfig, NAME};
use crate::digits::{digit_lines, side_by_side};

/// `lstm-mnist show` flags.
#[derive(Args, Debug, Clone)]
pub struct ShowArgs {
    /// Run directory of an lstm-mnist run (uses its model.bpk, or its last checkpoint if the
    /// run stopped early).
    #[arg(value_name = "RUN_DIR")]
    pub run: PathBuf,

    /// How many test digits to show.
    #[arg(long, value_name = "N", value_parser = count_up_to(10_000), default_value_t = 6)]
    pub count: usize,

    /// Seed of the digit choice (default: a new choice every time).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Backend to run the model on.
    #[arg(long, value_enum, default_value_t = BackendChoice::Flex)]
    pub backend: BackendChoice,

    #[command(flatten)]
    pub data: MnistArgs,
}

/// Draws `args.count` random test digits with the model's predictions.
pub fn show(args: &ShowArgs, console: &Console) -> Result<(), RunError> {
    let run = RunDir::open(&args.run, NAME)?;
    let config: LstmMnistConfig = run.read_config()?;
    let device = open(args.backend, 1)?.main().clone();
    let model = config.model.init(config.view.features(), &device);
    let (model, source) = trained_model(&run, model, NAME, "show")?;

    let test = MnistSequences::new(args.data.load(MnistSplit::Test)?);
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    let mut rng = rnn_data::rng::chacha(seed, 0x5708);
    let picks: Vec<usize> = (0..args.count)
        .map(|_| rnn_data::rng::below(&mut rng, test.len() as u64) as usize)
        .collect();
    let items: Vec<_> = picks
        .iter()
        .map(|&i| test.get(i).map_err(|e| RunError::Internal(e.to_string())))
        .collect::<Result<_, _>>()?;
    let batch =
        MnistSequenceBatcher::new(config.view, config.normalisation).batch(items.clone(), &device);
    let predicted: Vec<i64> = model
        .forward(batch.inputs)
        .argmax(1)
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .map_err(|e| RunError::Internal(format!("{e:?}")))?;

    console.line(format!(
        "{} random test digits, {} of {} (seed {seed}):",
        args.count,
        source,
        args.run.display()
    ));
    let digits: Vec<(Vec<String>, String)> = items
        .iter()
        .zip(&picks)
        .zip(&predicted)
        .map(|((item, index), &p)| {
            let mark = if p == item.label as i64 {
                "ok"
            } else {
                "WRONG"
            };
            (
                digit_lines(&item.pixels, 28),
                format!("#{index}: pred {p}, true {} {mark}", item.label),
            )
        })
        .collect();
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(100);
    let per_row = (width / 31).max(1);
    for row in digits.chunks(per_row) {
        console.line(side_by_side(row, 3));
    }
    let correct = items
        .iter()
        .zip(&predicted)
        .filter(|(item, p)| **p == item.label as i64)
        .count();
    console.line(format!("{correct} of {} correct", args.count));
    Ok(())
}
