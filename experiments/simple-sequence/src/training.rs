//! The experiment, top to bottom: configuration, data, model, training, report.

use std::ffi::OsString;
use std::sync::{Arc, Mutex};

use burn::prelude::*;
use burn::train::TrainingStrategy;
use clap::{Parser, Subcommand};
use rnn_data::{TbpttIterator, counting_sequence};
use rnn_train::cli::{MAX_HIDDEN, MAX_SAMPLES, MAX_STEPS, count_up_to, positive_number};
use rnn_train::config::check_count;
use rnn_train::{
    AdamArgs, CommonArgs, Console, EpsilonForm, ExperimentConfig, Fit, OptimizerConfig, Outcome,
    Parsed, RunError, Session, TrainingConfig, TrainingDefaults, train_classifier,
};

use crate::data::TbpttLoader;
use crate::generate::GenerateArgs;
use crate::model::{Arch, LanguageModel, LanguageModelConfig};
use crate::tbptt::{TbpttSnapshot, TbpttStrategy};

/// The binary's name and the run directory's parent (`runs/simple-sequence/`).
pub const NAME: &str = "simple-sequence";

// ---------------------------------------------------------------------------------------
// 1. Configuration: the tutorial's values.

/// Everything that defines a run (saved as the run directory's `config.json`).
#[derive(Config, Debug)]
pub struct SimpleSequenceConfig {
    /// The network.
    #[config(default = "LanguageModelConfig::new()")]
    pub model: LanguageModelConfig,
    /// Repetitions of the counting cycle: `get_simple_sequence(N_VOCABULARY, repeat=100)`.
    #[config(default = 100)]
    pub repeat: usize,
    /// Steps per truncated-BPTT window (`--bproplen`).
    #[config(default = 20)]
    pub bprop_len: usize,
    /// `optimizers.Adam(alpha=0.0005)`: Chainer's betas 0.9/0.999 and epsilon 1e-8, added as
    /// Chainer adds it (to the square root of the uncorrected second moment).
    #[config(
        default = "OptimizerConfig::Adam { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, epsilon_form: EpsilonForm::Uncorrected }"
    )]
    pub optimizer: OptimizerConfig,
    /// 10 epochs, 10 parallel cursors (`--batchsize`), alpha 5e-4; the stream is read in
    /// order (never shuffled).
    #[config(default = "TrainingConfig::new(10, 10, 5e-4).with_shuffle(false)")]
    pub training: TrainingConfig,
}

impl ExperimentConfig for SimpleSequenceConfig {
    fn training(&self) -> &TrainingConfig {
        &self.training
    }

    fn validate(&self) -> Result<(), RunError> {
        let m = &self.model;
        check_count("units", m.units, MAX_HIDDEN)?;
        check_count("bprop_len", self.bprop_len, MAX_STEPS)?;
        check_count("repeat", self.repeat, MAX_SAMPLES)?;
        if !(2..=1000).contains(&m.n_vocab) {
            return Err(RunError::usage(
                format!("n_vocab must be between 2 and 1000, got {}", m.n_vocab),
                None,
            ));
        }
        // One cycle holds n(n-1)/2 tokens; keep the stream within MAX_SAMPLES tokens.
        let tokens = self.repeat.saturating_mul(m.n_vocab * (m.n_vocab - 1) / 2);
        if tokens > MAX_SAMPLES {
            return Err(RunError::usage(
                format!("the stream would hold {tokens} tokens (at most {MAX_SAMPLES})"),
                Some("lower --repeat or --n-vocab".into()),
            ));
        }
        // One cursor per batch row, each at its own offset of the stream.
        if self.training.batch_size > tokens {
            return Err(RunError::usage(
                format!(
                    "--batch-size {} is more cursors than the stream has tokens ({tokens})",
                    self.training.batch_size
                ),
                None,
            ));
        }
        if !(0.0..1.0).contains(&m.dropout) {
            return Err(RunError::usage(
                format!("dropout must be in [0, 1), got {}", m.dropout),
                None,
            ));
        }
        self.training.validate()
    }
}

/// The command line (`simple-sequence --help`, `simple-sequence generate --help`).
#[derive(Parser, Debug, Clone)]
#[command(
    name = NAME,
    version,
    args_conflicts_with_subcommands = true,
    mut_arg("epsilon_form", |a| a.default_value("uncorrected")),
    about = "Next-token prediction on the counting sequence with truncated BPTT (the Chainer \
        simple-sequence RNN tutorial)",
    long_about = "Next-token prediction on the counting sequence 1 2 2 3 3 3 4 4 4 4 ... (each i \
        in 1..=9 repeated i times, the cycle repeated 100 times, vocabulary 10), reproducing \
        the Chainer simple-sequence RNN tutorial. Training is truncated backpropagation \
        through time: --batch-size cursors read the stream at evenly spaced offsets; each \
        update runs --bprop-len steps forward from the carried hidden state, takes one \
        backward pass of the summed loss, then detaches the state and keeps it for the next \
        window. Validation reads the sequence once from a reset state. Every default is the \
        tutorial's (architecture rnn, 100 units, window 20, 10 cursors, 10 epochs, Adam \
        alpha 5e-4); it reports validation accuracy 1.0 after 10 epochs.\n\n\
        Writes config.json, metrics.csv, loss.png and accuracy.png, a snapshot every epoch \
        (checkpoint/: model, optimiser, and the stream position with the carried state, so \
        --resume continues exactly), model.bpk and summary.json (test_accuracy = the final \
        validation accuracy) into the run directory; in plain mode it also prints the \
        tutorial's per-epoch table. `simple-sequence generate RUN_DIR` continues a prompt \
        with the trained model.",
    // The counting sequence needs none of the shared data flags.
    mut_arg("data_dir", |a| a.hide(true)),
    mut_arg("offline", |a| a.hide(true)),
    mut_arg("limit_train", |a| a.hide(true)),
    mut_arg("limit_test", |a| a.hide(true)),
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub common: CommonArgs,

    /// The network, one of the tutorial's four. rnn (RNN, the default): embedding -> one tanh
    /// Elman layer -> linear; rnn2 (RNN2): the same with three stacked Elman layers (its three
    /// RecurrentBlocks); rnn3 (RNN3): three RecurrentConcatBlocks, each one Linear(200, 200)
    /// over [input, state] whose halves are the output and the next state; lstm (RNNForLM):
    /// embedding -> dropout -> 2-layer LSTM with dropout between and after the layers ->
    /// linear, every parameter ~ U(-0.1, 0.1).
    #[arg(
        long,
        value_enum,
        value_name = "ARCH",
        help_heading = "Model",
        default_value = "rnn"
    )]
    pub arch: Arch,

    /// Units of the embedding and of every recurrent layer.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model",
          default_value_t = LanguageModelConfig::new().units)]
    pub units: usize,

    /// Dropout ratio of --arch lstm (Chainer's F.dropout default); the Elman architectures use
    /// none.
    #[arg(long, value_name = "P", value_parser = probability, help_heading = "Model",
          default_value_t = LanguageModelConfig::new().dropout)]
    pub dropout: f64,

    /// Steps per truncated-BPTT window: forward this many steps, one backward, detach the
    /// state (the tutorial's --bproplen).
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_STEPS), help_heading = "Training",
          default_value_t = SimpleSequenceConfig::new().bprop_len)]
    pub bprop_len: usize,

    /// Vocabulary size: the sequence counts with tokens 1 ..= N-1 (token 0 never occurs).
    #[arg(long, value_name = "N", value_parser = vocabulary, help_heading = "Data",
          default_value_t = LanguageModelConfig::new().n_vocab)]
    pub n_vocab: usize,

    /// Repetitions of the counting cycle in the stream (4500 tokens at the defaults).
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_SAMPLES), help_heading = "Data",
          default_value_t = SimpleSequenceConfig::new().repeat)]
    pub repeat: usize,

    /// Clip the gradient to this global L2 norm over all parameters (the tutorial does not).
    #[arg(long, value_name = "NORM", value_parser = positive_number, help_heading = "Optimiser")]
    pub clip_norm: Option<f64>,

    #[command(flatten)]
    pub adam: AdamArgs,
}

/// Subcommands besides training.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Load a trained model and print the tokens it predicts after a prompt.
    Generate(GenerateArgs),
}

fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number, got {s:?}"))?;
    if !(0.0..1.0).contains(&p) {
        return Err("must be at least 0 and below 1".into());
    }
    Ok(p)
}

fn vocabulary(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number, got {s:?}"))?;
    if n < 2 {
        return Err(
            "the counting sequence needs at least 2 tokens (it counts with 1 ..= N-1)".into(),
        );
    }
    // One cycle holds N(N-1)/2 tokens.
    if n > 1000 {
        return Err("must be at most 1000".into());
    }
    Ok(n)
}

impl Cli {
    /// The configuration these flags ask for.
    pub fn config(&self) -> SimpleSequenceConfig {
        let defaults = SimpleSequenceConfig::new();
        let training = self
            .common
            .training(&defaults.training)
            .with_clip_norm(self.clip_norm);
        SimpleSequenceConfig {
            model: LanguageModelConfig::new()
                .with_arch(self.arch)
                .with_units(self.units)
                .with_dropout(self.dropout)
                .with_n_vocab(self.n_vocab),
            repeat: self.repeat,
            bprop_len: self.bprop_len,
            optimizer: self.adam.config(),
            training,
        }
    }
}

/// `main`: parse, train (or `generate`), report (see [`rnn_train::cli_main`]); returns the
/// exit code.
pub fn main_with<I: IntoIterator<Item = OsString>>(argv: I, console: &Console) -> i32 {
    let defaults = TrainingDefaults::of(&SimpleSequenceConfig::new().training);
    rnn_train::cli_main::<Cli, _, _>(argv, &defaults, console, |parsed, console| {
        match &parsed.args.command {
            Some(Command::Generate(generate)) => crate::generate::generate(generate, console),
            None => run(parsed, console).map(|_| ()),
        }
    })
}

/// Trains with parsed flags.
pub fn run(parsed: Parsed<Cli>, console: &Console) -> Result<Outcome<LanguageModel>, RunError> {
    let Parsed { args, explicit } = parsed;
    let (session, config) = Session::start(NAME, &args.common, args.config(), &explicit, console)?;

    // -----------------------------------------------------------------------------------
    // 2. Data: the counting sequence, read by `batch_size` cursors in windows of
    // `bprop_len` steps. The tutorial validates on a second copy of the same sequence.
    let tokens = counting_sequence(config.model.n_vocab as u32, config.repeat);
    let (batch, bprop_len) = (config.training.batch_size, config.bprop_len);
    let mut stream = TbpttIterator::new(tokens.clone(), batch, bprop_len)?;
    let validation = TbpttIterator::new(tokens, batch, bprop_len)?;

    // -----------------------------------------------------------------------------------
    // 3. Model, and for a resumed run the stream position and the carried state of its
    // last snapshot (Burn restores the model and the optimiser).
    let model = session.init(|device| config.model.init(device));
    let checkpoint_dir = session.run_dir.checkpoint_dir();
    let (initial_state, elapsed_before) = match session.resume_from {
        None => (None, 0.0),
        Some(epoch) => {
            let fail = |message: String| RunError::Resume {
                dir: session.run_dir.path().to_path_buf(),
                message,
                hint: Some("start the run again without --resume".into()),
            };
            let snapshot = TbpttSnapshot::read(&checkpoint_dir, epoch).map_err(fail)?;
            stream
                .restore(&snapshot.position)
                .map_err(|e| fail(e.to_string()))?;
            let state = snapshot
                .carried_state(&session.training_device())
                .map_err(fail)?;
            (state, snapshot.elapsed_seconds)
        }
    };
    let stream = Arc::new(Mutex::new(stream));
    let train = TbpttLoader::training(stream.clone(), &session.device).into_arc();
    let valid = TbpttLoader::evaluation(&validation, &session.device).into_arc();

    // -----------------------------------------------------------------------------------
    // 4. Training: Burn's Learner with the truncated-BPTT strategy (dashboard or plain log,
    // metrics.csv, plots, snapshots); the table where the plain log is shown.
    let plain = session.plain || !(console.is_terminal() && console.is_stdio());
    let strategy = TbpttStrategy::<LanguageModel> {
        device: session.training_device(),
        stream,
        checkpoint_dir,
        initial_state,
        elapsed_before,
        // The tutorial backpropagates the sum of the per-step losses.
        loss_scale: bprop_len as f64,
        table: plain.then(|| console.clone()),
        model: std::marker::PhantomData,
    };
    let t = &config.training;
    let mut fit = Fit::new(model, config.optimizer.init(), t, train, valid);
    fit.strategy = Some(TrainingStrategy::Custom(Arc::new(strategy)));

    // -----------------------------------------------------------------------------------
    // 5. Report: summary.json (test_accuracy = the final validation accuracy), model.bpk.
    let outcome = train_classifier(&session, fit)?;
    console.line(format!(
        "continue a prompt with the trained model: {NAME} generate {} --prompt \"1 2 2 3 3 3\"",
        rnn_train::error::shell_quote(&session.run_dir.path().display().to_string())
    ));
    Ok(outcome)
}
