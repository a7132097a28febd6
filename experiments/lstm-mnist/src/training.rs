//! The experiment, top to bottom: configuration, data, model, training, report.

use std::ffi::OsString;

use burn::prelude::*;
use clap::{Parser, Subcommand};
use rnn_data::{MnistSequenceBatcher, MnistSequences, MnistSplit, Normalisation, SequenceView};
use rnn_train::cli::{MAX_HIDDEN, count_up_to, decay_rate, positive_number};
use rnn_train::config::check_count;
use rnn_train::{
    CommonArgs, Console, ExperimentConfig, Fit, OptimizerConfig, Outcome, Parsed, RunError,
    Session, TrainingConfig, TrainingDefaults, train_classifier,
};

use crate::model::{LstmClassifier, LstmClassifierConfig};
use crate::show::ShowArgs;

/// The binary's name and the run directory's parent (`runs/lstm-mnist/`).
pub const NAME: &str = "lstm-mnist";

// ---------------------------------------------------------------------------------------
// 1. Configuration: the tutorial's values.

/// Everything that defines a run (saved as the run directory's `config.json`).
#[derive(Config, Debug)]
pub struct LstmMnistConfig {
    /// The network.
    #[config(default = "LstmClassifierConfig::new()")]
    pub model: LstmClassifierConfig,
    /// Row by row: 28 steps of 28 pixels.
    #[config(default = "SequenceView::Row")]
    pub view: SequenceView,
    /// `ToTensor()`: x / 255.
    #[config(default = "Normalisation::UnitRange")]
    pub normalisation: Normalisation,
    /// `torch.optim.SGD`, no momentum.
    #[config(default = "OptimizerConfig::sgd()")]
    pub optimizer: OptimizerConfig,
    /// 10 epochs of shuffled batches of 100 at lr 0.1.
    #[config(default = "TrainingConfig::new(10, 100, 0.1)")]
    pub training: TrainingConfig,
}

impl ExperimentConfig for LstmMnistConfig {
    fn training(&self) -> &TrainingConfig {
        &self.training
    }

    fn validate(&self) -> Result<(), RunError> {
        check_count("hidden", self.model.hidden, MAX_HIDDEN)?;
        self.training.validate()
    }
}

/// The command line (`lstm-mnist --help`, `lstm-mnist show --help`).
#[derive(Parser, Debug, Clone)]
#[command(
    name = NAME,
    version,
    args_conflicts_with_subcommands = true,
    about = "LSTM (hidden 20) on row-by-row MNIST (the PyTorch LSTM tutorial)",
    long_about = "LSTM on row-by-row MNIST, reproducing the PyTorch 'Classifying Handwritten \
        Digits' tutorial: 28 steps of 28 pixels, LSTM hidden 20, last hidden state -> linear \
        -> log-softmax, NLL loss, plain SGD. Every default is the tutorial's; it reports \
        10.3 % test accuracy before training and 95.8 % after 10 epochs. Writes config.json, \
        metrics.csv (epoch 0 = before training), loss/accuracy plots, checkpoints, model.bpk \
        and summary.json into the run directory. `lstm-mnist show RUN_DIR` draws random test \
        digits with the trained model's predictions."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub common: CommonArgs,

    /// Hidden (and cell) state size of the LSTM.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model",
          default_value_t = LstmClassifierConfig::new().hidden)]
    pub hidden: usize,

    /// Reshuffle the training set every epoch (as the tutorial's DataLoader does).
    #[arg(long, value_name = "BOOL", help_heading = "Data", default_value_t = true,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub shuffle: bool,

    /// SGD momentum, in [0, 1) (the tutorial uses none).
    #[arg(long, value_name = "M", value_parser = momentum, help_heading = "Optimiser")]
    pub momentum: Option<f64>,

    /// Clip the gradient to this global L2 norm over all parameters (the tutorial does not).
    #[arg(long, value_name = "NORM", value_parser = positive_number, help_heading = "Optimiser")]
    pub clip_norm: Option<f64>,
}

fn momentum(s: &str) -> Result<f64, String> {
    decay_rate(s).map(f64::from)
}

/// Subcommands besides training.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Load a trained model and classify random test digits, drawn in the terminal.
    #[command(visible_alias = "predict")]
    Show(ShowArgs),
}

impl Cli {
    /// The configuration these flags ask for.
    pub fn config(&self) -> LstmMnistConfig {
        let defaults = LstmMnistConfig::new();
        let training = self
            .common
            .training(&defaults.training)
            .with_shuffle(self.shuffle)
            .with_clip_norm(self.clip_norm);
        LstmMnistConfig {
            model: LstmClassifierConfig::new().with_hidden(self.hidden),
            optimizer: OptimizerConfig::Sgd {
                momentum: self.momentum,
            },
            training,
            ..defaults
        }
    }
}

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

    // -----------------------------------------------------------------------------------
    // 2. Data: MNIST row by row.
    Session::preflight(NAME, &args.common, &args.config())?;
    let train = args.common.load_mnist(MnistSplit::Train)?;
    let test = args.common.load_mnist(MnistSplit::Test)?;
    let (session, config) = Session::start(NAME, &args.common, args.config(), &explicit, console)?;
    let batcher = MnistSequenceBatcher::new(config.view, config.normalisation);
    let (train, test) = session.loaders(
        &config.training,
        MnistSequences::new(train),
        MnistSequences::new(test),
        batcher,
    );

    // -----------------------------------------------------------------------------------
    // 3. Model.
    let model = session.init(|device| config.model.init(config.view.features(), device));

    // -----------------------------------------------------------------------------------
    // 4. Training, with the test accuracy before training recorded as epoch 0,
    // 5. and the report (summary.json, printed).
    let mut fit = Fit::new(
        model,
        config.optimizer.init(),
        &config.training,
        train,
        test,
    );
    fit.evaluate_before_training = true;
    train_classifier(&session, fit)
}
