//! The experiment, top to bottom: configuration, data, model, training, report.

use std::ffi::OsString;

use burn::prelude::*;
use clap::Parser;
use rnn_data::{MnistSequenceBatcher, MnistSequences, MnistSplit, Normalisation, SequenceView};
use rnn_train::cli::{MAX_HIDDEN, count_up_to, finite_up_to, positive_number, positive_up_to};
use rnn_train::config::check_count;
use rnn_train::{
    AdamArgs, ClipScope, CommonArgs, Console, EpsilonForm, ExperimentConfig, Fit, OptimizerConfig,
    Outcome, Parsed, RunError, Session, TrainingConfig, TrainingDefaults, train_classifier,
};

use crate::model::{IrnnClassifier, IrnnClassifierConfig};

/// The binary's name and the run directory's parent (`runs/irnn-mnist/`).
pub const NAME: &str = "irnn-mnist";

// ---------------------------------------------------------------------------------------
// 1. Configuration: the tutorial's values.

/// Everything that defines a run (saved as the run directory's `config.json`).
#[derive(Config, Debug)]
pub struct IrnnMnistConfig {
    /// The network.
    #[config(default = "IrnnClassifierConfig::new()")]
    pub model: IrnnClassifierConfig,
    /// How an image becomes a sequence: 784 pixels (the tutorial), permuted pixels, or rows.
    #[config(default = "SequenceView::Pixel")]
    pub view: SequenceView,
    /// Pixel scaling: the tutorial's `(255 - x) * 2 / 255 - 1`.
    #[config(default = "Normalisation::IrnnTutorial")]
    pub normalisation: Normalisation,
    /// NeoML's AdaptiveGradient (Adam) with the tutorial's betas, NeoML's epsilon, added as
    /// NeoML adds it (to the square root of the uncorrected second moment).
    #[config(
        default = "OptimizerConfig::Adam { beta1: 0.9, beta2: 0.999, epsilon: 1e-6, epsilon_form: EpsilonForm::Uncorrected }"
    )]
    pub optimizer: OptimizerConfig,
    /// 200 epochs of batches of 40 in file order at lr 1e-6, each layer's gradient clipped to
    /// norm 1 (NeoML's solver clips per layer).
    #[config(
        default = "TrainingConfig::new(200, 40, 1e-6).with_shuffle(false).with_clip_norm(Some(1.0)).with_clip_scope(ClipScope::Layer)"
    )]
    pub training: TrainingConfig,
}

impl ExperimentConfig for IrnnMnistConfig {
    fn training(&self) -> &TrainingConfig {
        &self.training
    }

    fn validate(&self) -> Result<(), RunError> {
        check_count("hidden", self.model.hidden, MAX_HIDDEN)?;
        let m = &self.model;
        if !(m.identity_scale.is_finite() && m.input_std.is_finite() && m.input_std > 0.0) {
            return Err(RunError::usage(
                "identity_scale must be finite and input_std positive and finite",
                None,
            ));
        }
        self.training.validate()
    }
}

/// The command line (`irnn-mnist --help`).
#[derive(Parser, Debug, Clone)]
#[command(
    name = NAME,
    mut_arg("epsilon", |a| a.default_value("1e-6").help("Adam's epsilon, added to the denominator (NeoML's default)")),
    mut_arg("epsilon_form", |a| a.default_value("uncorrected")),

    version,
    about = "IRNN on pixel-by-pixel MNIST (the NeoML IRNN tutorial; Le, Jaitly & Hinton 2015)",
    long_about = "IRNN on pixel-by-pixel MNIST, reproducing the NeoML IRNN tutorial (after Le, \
        Jaitly & Hinton 2015): a ReLU RNN with identity recurrent initialisation reads each \
        image as 784 single pixels; its last hidden state is classified by a linear layer. \
        Every default is the tutorial's; it reports 0.9050 test accuracy after 200 epochs \
        (3 h 54 min on one CPU thread). Writes config.json, metrics.csv, loss/accuracy plots, \
        checkpoints, model.bpk and summary.json into the run directory."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Hidden units of the IRNN.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model",
          default_value_t = IrnnClassifierConfig::new().hidden)]
    pub hidden: usize,

    /// The recurrent matrix starts as SCALE times the identity (between -100 and 100).
    #[arg(long, value_name = "SCALE", value_parser = finite_up_to(100.0), help_heading = "Model",
          default_value_t = IrnnClassifierConfig::new().identity_scale)]
    pub identity_scale: f64,

    /// Standard deviation of the normal input weights (at most 100).
    #[arg(long, value_name = "STD", value_parser = positive_up_to(100.0), help_heading = "Model",
          default_value_t = IrnnClassifierConfig::new().input_std)]
    pub input_std: f64,

    /// Sequence view: pixel (784 steps of 1, the tutorial), row (28 steps of 28), or
    /// permuted-pixel (784 pixels in a fixed random order).
    #[arg(
        long,
        value_name = "VIEW",
        help_heading = "Data",
        default_value = "pixel"
    )]
    pub view: SequenceView,

    /// Permuted pixel-by-pixel MNIST: short for --view permuted-pixel (the paper's harder
    /// variant; one fixed permutation, drawn from --permutation-seed).
    #[arg(long, help_heading = "Data", conflicts_with = "view")]
    pub permuted: bool,

    /// Seed of --permuted's pixel permutation [default: 0] (saved in config.json as the
    /// view `permuted-pixel:N`; the same seed gives the same permutation on every machine;
    /// `--view permuted-pixel:N` says the same).
    #[arg(long, value_name = "N", help_heading = "Data", requires = "permuted")]
    pub permutation_seed: Option<u64>,

    /// Pixel scaling: irnn-tutorial ((255 - x) * 2 / 255 - 1) or unit-range (x / 255).
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "Data",
        default_value = "irnn-tutorial"
    )]
    pub normalisation: Normalisation,

    /// Reshuffle the training set every epoch (the tutorial walks it in file order).
    #[arg(long, value_name = "BOOL", help_heading = "Data", default_value_t = false,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub shuffle: bool,

    /// Clip the gradient to this L2 norm (each layer's, see --clip-scope).
    #[arg(long, value_name = "NORM", value_parser = positive_number, help_heading = "Optimiser",
          default_value_t = 1.0)]
    pub clip_norm: f64,

    /// What --clip-norm bounds: each layer's gradient by itself (layer: NeoML's solver, whose
    /// layers here are the IRNN's input and recurrent fully-connected layers and the output
    /// layer) or all parameters' together (global: PyTorch's clip_grad_norm_).
    #[arg(long, value_name = "SCOPE", value_enum, help_heading = "Optimiser",
          default_value_t = ClipScope::Layer)]
    pub clip_scope: ClipScope,

    /// Do not clip gradients.
    #[arg(long, help_heading = "Optimiser", conflicts_with = "clip_norm")]
    pub no_clip: bool,

    #[command(flatten)]
    pub adam: AdamArgs,
}

impl Cli {
    /// The configuration these flags ask for.
    pub fn config(&self) -> IrnnMnistConfig {
        let defaults = IrnnMnistConfig::new();
        let view = if self.permuted {
            SequenceView::PermutedPixel {
                seed: self.permutation_seed.unwrap_or(0),
            }
        } else {
            self.view
        };
        let mut training = self
            .common
            .training(&defaults.training)
            .with_shuffle(self.shuffle);
        training.clip_norm = (!self.no_clip).then_some(self.clip_norm);
        training.clip_scope = self.clip_scope;
        IrnnMnistConfig {
            model: IrnnClassifierConfig::new()
                .with_hidden(self.hidden)
                .with_identity_scale(self.identity_scale)
                .with_input_std(self.input_std),
            view,
            normalisation: self.normalisation,
            optimizer: self.adam.config(),
            training,
        }
    }
}

/// `main`: parse, run, report (see [`rnn_train::cli_main`]); returns the exit code.
pub fn main_with<I: IntoIterator<Item = OsString>>(argv: I, console: &Console) -> i32 {
    let defaults = TrainingDefaults::of(&IrnnMnistConfig::new().training);
    rnn_train::cli_main::<Cli, _, _>(argv, &defaults, console, |parsed, console| {
        run(parsed, console).map(|_| ())
    })
}

/// Runs the experiment with parsed flags.
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Outcome<IrnnClassifier>, RunError> {
    let Parsed { args, mut explicit } = parsed;
    // Flags whose name differs from the configuration field they set.
    if args.permuted {
        explicit.insert("view".into());
    }
    if args.no_clip {
        explicit.insert("clip_norm".into());
    }

    // -----------------------------------------------------------------------------------
    // 2. Data: MNIST as sequences.
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
    // 4. Training (Burn's Learner; dashboard or plain log, checkpoints, metrics.csv, plots),
    // 5. and the report (summary.json, printed).
    let fit = Fit::new(
        model,
        config.optimizer.init(),
        &config.training,
        train,
        test,
    );
    train_classifier(&session, fit)
}
