//! The experiment, top to bottom: configuration, data, model, training, report.

use std::ffi::OsString;

use burn::prelude::*;
use clap::Parser;
use rnn_data::{MnistSequenceBatcher, MnistSequences, MnistSplit, Normalisation, SequenceView};
use rnn_train::cli::{MAX_HIDDEN, MAX_LAYERS, count_up_to, positive_number};
use rnn_train::config::check_count;
use rnn_train::{
    CommonArgs, Console, ExperimentConfig, Fit, OptimizerConfig, Outcome, Parsed, RunError,
    Session, TrainingConfig, TrainingDefaults, train_classifier,
};

use crate::model::{ElmanClassifier, ElmanClassifierConfig};

/// The binary's name and the run directory's parent (`runs/elman-mnist/`).
pub const NAME: &str = "elman-mnist";

// ---------------------------------------------------------------------------------------
// 1. Configuration: the tutorial's values.

/// Everything that defines a run (saved as the run directory's `config.json`).
#[derive(Config, Debug)]
pub struct ElmanMnistConfig {
    /// The network.
    #[config(default = "ElmanClassifierConfig::new()")]
    pub model: ElmanClassifierConfig,
    /// Row by row: 28 steps of 28 pixels.
    #[config(default = "SequenceView::Row")]
    pub view: SequenceView,
    /// `ToTensor()`: x / 255.
    #[config(default = "Normalisation::UnitRange")]
    pub normalisation: Normalisation,
    /// `torch.optim.Adam` defaults.
    #[config(default = "OptimizerConfig::adam()")]
    pub optimizer: OptimizerConfig,
    /// 3 epochs of shuffled batches of 64 at lr 1e-3.
    #[config(default = "TrainingConfig::new(3, 64, 1e-3)")]
    pub training: TrainingConfig,
}

impl ExperimentConfig for ElmanMnistConfig {
    fn training(&self) -> &TrainingConfig {
        &self.training
    }

    fn validate(&self) -> Result<(), RunError> {
        check_count("hidden", self.model.hidden, MAX_HIDDEN)?;
        check_count("layers", self.model.layers, MAX_LAYERS)?;
        self.training.validate()
    }
}

/// The command line (`elman-mnist --help`).
#[derive(Parser, Debug, Clone)]
#[command(
    name = NAME,
    version,
    about = "Two-layer tanh Elman RNN on row-by-row MNIST (the PyTorch RNN tutorial)",
    long_about = "Two-layer tanh Elman RNN on row-by-row MNIST, reproducing the PyTorch \
        'Recurrent neural networks introduction' tutorial: 28 steps of 28 pixels, hidden 256, \
        a linear layer over all 28 hidden states (256 * 28 -> 10), cross-entropy, Adam. Every \
        default is the tutorial's; it reports 97.21 % train and 97.48 % test accuracy after \
        3 epochs, the train figure from a pass over all 60,000 training images after training, \
        which this program makes too (summary.json: train_set_accuracy). Writes config.json, \
        metrics.csv, loss/accuracy plots, checkpoints, model.bpk and summary.json into the \
        run directory."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Hidden units per layer.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model",
          default_value_t = ElmanClassifierConfig::new().hidden)]
    pub hidden: usize,

    /// Stacked Elman layers.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_LAYERS), help_heading = "Model",
          default_value_t = ElmanClassifierConfig::new().layers)]
    pub layers: usize,

    /// Reshuffle the training set every epoch (as the tutorial's DataLoader does).
    #[arg(long, value_name = "BOOL", help_heading = "Data", default_value_t = true,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub shuffle: bool,

    /// Clip the gradient to this global L2 norm over all parameters (the tutorial does not).
    #[arg(long, value_name = "NORM", value_parser = positive_number, help_heading = "Optimiser")]
    pub clip_norm: Option<f64>,
}

impl Cli {
    /// The configuration these flags ask for.
    pub fn config(&self) -> ElmanMnistConfig {
        let defaults = ElmanMnistConfig::new();
        let training = self
            .common
            .training(&defaults.training)
            .with_shuffle(self.shuffle)
            .with_clip_norm(self.clip_norm);
        ElmanMnistConfig {
            model: ElmanClassifierConfig::new()
                .with_hidden(self.hidden)
                .with_layers(self.layers),
            training,
            ..defaults
        }
    }
}

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

    // -----------------------------------------------------------------------------------
    // 2. Data: MNIST row by row.
    Session::preflight(NAME, &args.common, &args.config())?;
    let train = args.common.load_mnist(MnistSplit::Train)?;
    let test = args.common.load_mnist(MnistSplit::Test)?;
    let (session, config) = Session::start(NAME, &args.common, args.config(), &explicit, console)?;
    let batcher = MnistSequenceBatcher::new(config.view, config.normalisation);
    let train_images = train.clone();
    let (train, test) = session.loaders(
        &config.training,
        MnistSequences::new(train),
        MnistSequences::new(test),
        batcher.clone(),
    );

    // -----------------------------------------------------------------------------------
    // 3. Model.
    let (d_input, steps) = (config.view.features(), config.view.steps());
    let model = session.init(|device| config.model.init(d_input, steps, device));

    // -----------------------------------------------------------------------------------
    // 4. Training (Burn's Learner; dashboard or plain log, checkpoints, metrics.csv, plots),
    // 5. and the report (summary.json, printed), with the tutorial's closing pass over the
    // whole training set in evaluation mode.
    let t = &config.training;
    let mut fit = Fit::new(model, config.optimizer.init(), t, train, test);
    let train_set = MnistSequences::new(train_images);
    fit.evaluate_train_set = Some(session.in_order(t, train_set, batcher, t.limit_train));
    train_classifier(&session, fit)
}
