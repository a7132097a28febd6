//! The command line (`adding-problem --help`): the networks to compare and the configuration
//! each one's run asks for (the tutorial's values, or the paper preset's with `--paper`).

use std::collections::BTreeSet;

use clap::Parser;
use rnn_train::cli::limits::{MAX_HIDDEN, MAX_SAMPLES, MAX_STEPS};
use rnn_train::cli::value_parsers::count_up_to;
use rnn_train::{AdamArgs, ClipArgs, CommonArgs, NoClipArgs, ShuffleArgs};

use crate::config::{AddingConfig, AddingData, NAME, paper};
use crate::model::{AdderConfig, Cell};

/// The command line (`adding-problem --help`).
#[derive(Parser, Debug, Clone)]
#[command(
    name = NAME,
    version,
    about = "Vanilla RNN vs LSTM vs GRU on the adding problem (the MinPy RNN tutorial)",
    long_about = "Vanilla RNN vs LSTM vs GRU on the adding problem, reproducing the MinPy RNN \
        tutorial: each step holds a uniform value in [0, 1) and a mask bit, two steps are \
        marked, and the network must output the sum of the two marked values. Each network's \
        last hidden state goes through a linear layer to one output; MSE loss, Xavier \
        initialisation, Adam. Every default is the tutorial's: T = 6, 10 000 training and \
        1 000 test sequences, batch 100, 10 epochs; the vanilla RNN has 64 hidden units, the \
        LSTM and the GRU 100. The tutorial reports all three below the 0.1767 MSE of always \
        predicting 1 (Le et al.'s baseline), the GRU converging fastest, then the LSTM, the \
        vanilla RNN slowest.\n\n\
        Each network is trained in its own run directory under --out (config.json, \
        metrics.csv, loss.png, checkpoints, model.bpk, summary.json with test_mse); then \
        --out receives comparison.png (MSE histories against the predict-1 baseline) and \
        comparison.json, and a table (model, final test MSE, epochs to beat the baseline, \
        wall time) is printed. --resume OUT continues an interrupted comparison.",
    // The synthetic data needs none of the shared MNIST flags.
    mut_arg("data_dir", |a| a.hide(true)),
    mut_arg("offline", |a| a.hide(true)),
    mut_arg("out", |a| a.help(
        "Directory of the comparison: one run directory per network inside it (rnn/, lstm/, \
         ...), comparison.png and comparison.json [default: runs/adding-problem/<UTC \
         date-time>]"
    )),
    mut_arg("resume", |a| a.value_name("OUT").help(
        "Continue an interrupted comparison: the networks that finished are kept, the one \
         that stopped continues from its last checkpoint, the others start (only --epochs and \
         --backend may change the saved settings)"
    )),
    mut_arg("shuffle", |a| a.help("Shuffle the training set (as the tutorial's NDArrayIter does)")),
    mut_arg("clip_norm", |a| a.help(
        "Clip the gradient to this global L2 norm over all parameters [default: no clipping, \
         as the tutorial; with --paper: 1]"
    )),
    mut_arg("no_clip", |a| a.help("Do not clip gradients (to turn off the --paper clipping)")),
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Networks to train, in order (repeat the flag or separate with commas): rnn (tanh
    /// Elman), lstm, gru (reset gate before the recurrent matmul, as the tutorial writes it),
    /// irnn (ReLU Elman with identity recurrent weights) [default: rnn,lstm,gru; with
    /// --paper: rnn,lstm,gru,irnn].
    #[arg(
        long,
        value_enum,
        value_name = "MODEL",
        value_delimiter = ',',
        help_heading = "Model",
        conflicts_with = "resume"
    )]
    pub model: Vec<Cell>,

    /// Hidden units of every network [default: the tutorial's, rnn 64, lstm 100, gru 100
    /// (irnn 100); with --paper: 100].
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model")]
    pub hidden: Option<usize>,

    /// Steps per sequence, T [default: 6, the tutorial's; with --paper: 150].
    #[arg(long, value_name = "T", value_parser = at_least_two, help_heading = "Data")]
    pub seq_len: Option<usize>,

    /// Training sequences [default: 10000; with --paper: 100000].
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_SAMPLES), help_heading = "Data")]
    pub train_size: Option<usize>,

    /// Test sequences [default: 1000; with --paper: 10000].
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_SAMPLES), help_heading = "Data")]
    pub test_size: Option<usize>,

    #[command(flatten)]
    pub shuffle: ShuffleArgs,

    /// Draw a new order every epoch; the tutorial's NDArrayIter shuffles once and walks
    /// that order every epoch.
    #[arg(long, value_name = "BOOL", help_heading = "Data", default_value_t = false,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub reshuffle: bool,

    /// The long-sequence setting of Le, Jaitly & Hinton (2015): T = 150, 100 hidden units for
    /// every network, 100000/10000 sequences, gradients clipped to global norm 1, and the
    /// IRNN added to the comparison; Adam, batch 100 and 10 epochs stay the tutorial's. Any
    /// explicit flag overrides the preset (e.g. --paper --seq-len 400).
    #[arg(long, help_heading = "Model", conflicts_with = "resume")]
    pub paper: bool,

    #[command(flatten)]
    pub clip: ClipArgs,

    #[command(flatten)]
    pub no_clip: NoClipArgs,

    #[command(flatten)]
    pub adam: AdamArgs,
}

fn at_least_two(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number, got {s:?}"))?;
    if n < 2 {
        return Err("a sequence needs at least 2 steps (two of them are marked)".into());
    }
    if n > MAX_STEPS {
        return Err(format!("must be at most {MAX_STEPS}"));
    }
    Ok(n)
}

impl Cli {
    /// The networks to train, in order.
    pub fn models(&self) -> Vec<Cell> {
        let mut models: Vec<Cell> = if !self.model.is_empty() {
            self.model.clone()
        } else if self.paper {
            paper::MODELS.to_vec()
        } else {
            Cell::TUTORIAL.to_vec()
        };
        let mut seen = BTreeSet::new();
        models.retain(|m| seen.insert(m.name()));
        models
    }

    /// The configuration of `cell`'s run these flags ask for: the tutorial's values, or the
    /// paper's with `--paper`, under every flag given explicitly.
    pub fn config(&self, cell: Cell) -> AddingConfig {
        let defaults = AddingConfig::new(AdderConfig::tutorial(cell));
        let preset = |tutorial, paper| if self.paper { paper } else { tutorial };
        let hidden = self
            .hidden
            .unwrap_or(preset(cell.tutorial_hidden(), paper::HIDDEN));
        let data = AddingData {
            seq_len: self
                .seq_len
                .unwrap_or(preset(defaults.data.seq_len, paper::SEQ_LEN)),
            train_size: self
                .train_size
                .unwrap_or(preset(defaults.data.train_size, paper::TRAIN_SIZE)),
            test_size: self
                .test_size
                .unwrap_or(preset(defaults.data.test_size, paper::TEST_SIZE)),
        };
        let mut training = self
            .common
            .training(&defaults.training)
            .with_shuffle(self.shuffle.shuffle)
            .with_reshuffle(self.reshuffle);
        let asked = self
            .clip
            .clip_norm
            .or(self.paper.then_some(paper::CLIP_NORM));
        training.clip_norm = self.no_clip.clip_norm(asked);
        AddingConfig {
            model: AdderConfig::new(cell, hidden),
            data,
            optimizer: self.adam.config(),
            training,
        }
    }
}
