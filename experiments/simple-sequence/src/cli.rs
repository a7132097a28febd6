//! The command line (`simple-sequence --help`, `simple-sequence generate --help`) and the
//! configuration it asks for.

use clap::{Parser, Subcommand};
use rnn_train::base::limits::{MAX_HIDDEN, MAX_SAMPLES, MAX_STEPS};
use rnn_train::cli::value_parsers::count_up_to;
use rnn_train::{AdamArgs, ClipArgs, CommonArgs, ConfigFlags, ExperimentCli};

use crate::config::{NAME, SimpleSequenceConfig};
use crate::generate::GenerateArgs;
use crate::model::Network;

/// The command line (`simple-sequence --help`, `simple-sequence generate --help`).
#[derive(Parser, Debug, Clone)]
#[command(
    name = NAME,
    version,
    args_conflicts_with_subcommands = true,
    about = "Next-token prediction on the counting sequence with truncated BPTT (the Chainer \
        simple-sequence RNN tutorial)",
    long_about = "Next-token prediction on the counting sequence 1 2 2 3 3 3 4 4 4 4 ... (each i \
        in 1..=9 repeated i times, the cycle repeated 100 times, vocabulary 10), reproducing \
        the Chainer simple-sequence RNN tutorial. Training is truncated backpropagation \
        through time: --batch-size cursors read the stream at evenly spaced offsets; each \
        update runs --bprop-len steps forward from the carried hidden state, takes one \
        backward pass of the summed loss, then detaches the state and keeps it for the next \
        window. Validation reads the sequence once from a reset state. Every default is the \
        tutorial's; it reports validation accuracy 1.0 after its 10 epochs.\n\n\
        Writes config.json, metrics.csv, loss.png and accuracy.png, a snapshot every epoch \
        (checkpoint/: model, optimiser, and the stream position with the carried state, so \
        --resume continues exactly), model.bpk and summary.json (test_accuracy = the final \
        validation accuracy) into the run directory; in plain mode it also prints the \
        tutorial's per-epoch table. `simple-sequence generate RUN_DIR` continues a prompt \
        with the trained model.",
    // The counting sequence needs none of the shared data flags.
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
    #[arg(long, value_enum, value_name = "ARCH", help_heading = "Model")]
    pub arch: Network,

    /// Units of the embedding and of every recurrent layer.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model")]
    pub units: usize,

    /// Dropout ratio of --arch lstm (Chainer's F.dropout default); the Elman architectures use
    /// none.
    #[arg(long, value_name = "P", value_parser = probability, help_heading = "Model")]
    pub dropout: f64,

    /// Steps per truncated-BPTT window: forward this many steps, one backward, detach the
    /// state (the tutorial's --bproplen).
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_STEPS), help_heading = "Training")]
    pub bprop_len: usize,

    /// Vocabulary size: the sequence counts with tokens 1 ..= N-1 (token 0 never occurs).
    #[arg(long, value_name = "N", value_parser = vocabulary, help_heading = "Data")]
    pub n_vocab: usize,

    /// Repetitions of the counting cycle in the stream (4500 tokens at the defaults).
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_SAMPLES), help_heading = "Data")]
    pub repeat: usize,

    #[command(flatten)]
    pub clip: ClipArgs,

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

impl ExperimentCli for Cli {
    type Config = SimpleSequenceConfig;

    fn tutorial() -> SimpleSequenceConfig {
        SimpleSequenceConfig::new()
    }

    fn config_flags() -> ConfigFlags<SimpleSequenceConfig> {
        ConfigFlags::new()
            .training(|c: &mut SimpleSequenceConfig| &mut c.training)
            .adam(|c: &mut SimpleSequenceConfig| &mut c.optimizer)
            .flag("arch", |c: &mut SimpleSequenceConfig| &mut c.model.arch)
            .flag("units", |c: &mut SimpleSequenceConfig| &mut c.model.units)
            .flag("dropout", |c: &mut SimpleSequenceConfig| {
                &mut c.model.dropout
            })
            .flag("bprop_len", |c: &mut SimpleSequenceConfig| &mut c.bprop_len)
            .flag("n_vocab", |c: &mut SimpleSequenceConfig| {
                &mut c.model.n_vocab
            })
            .flag("repeat", |c: &mut SimpleSequenceConfig| &mut c.repeat)
    }

    fn common(&self) -> &CommonArgs {
        &self.common
    }
}
