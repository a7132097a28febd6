//! The command line (`adding-problem --help`): the networks to compare and the configuration
//! each one's run asks for (the tutorial's values, or a preset's with `--preset`).

use std::collections::BTreeSet;

use clap::{Parser, ValueEnum};
use rnn_data::MarkPlacement;
use rnn_train::base::limits::{MAX_HIDDEN, MAX_SAMPLES, MAX_STEPS};
use rnn_train::cli::value_parsers::{count_up_to, decay_rate, finite_up_to};
use rnn_train::{
    AdamArgs, ClipArgs, CommonArgs, ConfigFlags, ExperimentCli, NoClipArgs, Parsed, ShuffleArgs,
};

use crate::config::{AddingConfig, NAME, Preset, modern, paper};
use crate::model::Network;

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
        initialisation, Adam. Every default is the tutorial's. The tutorial reports all three below the 0.1767 \
        MSE of always predicting 1 (Le et al.'s baseline), the GRU converging fastest, then \
        the LSTM, the vanilla RNN slowest.\n\n\
        Each network is trained in its own run directory under --out (config.json, \
        metrics.csv, loss.png, checkpoints, model.bpk, summary.json with test_mse); then \
        --out receives comparison.png (MSE histories against the predict-1 baseline) and \
        comparison.json, and a table (model, final test MSE, epochs to beat the baseline, \
        wall time) is printed. --resume OUT continues an interrupted comparison.\n\n\
        --preset paper and --preset modern set up the long sequences of the IRNN paper (Le, \
        Jaitly & Hinton 2015, Fig. 2: T = 150 to 400, SGD, 10^6 steps) and of Keller et al. \
        (2024: Adam, fresh batches, T = 400); `just reproduce --experiments \
        adding-paper,adding-modern` runs them over lengths and seeds and draws the paper's \
        figure. docs/adding-long.md says which values the paper gives and which were chosen.",
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
        "Clip the gradient to this global L2 norm over all parameters (the tutorial does not)"
    )),
    mut_arg("model", |a| a.long_help(model_help())),
    mut_arg("hidden", |a| a.help(hidden_help())),
    mut_arg("forget_bias", |a| a.help(forget_bias_help())),
    mut_arg("preset", |a| a.long_help(preset_help())),
    mut_arg("no_clip", |a| a.help("Do not clip gradients (to turn off a preset's clipping)")),
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Networks to train, in order (repeat the flag or separate with commas).
    #[arg(
        long,
        value_enum,
        value_name = "MODEL",
        value_delimiter = ',',
        help_heading = "Model",
        conflicts_with = "resume"
    )]
    pub model: Vec<Network>,

    /// Hidden units of every network (the help text lists each network's default).
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model")]
    pub hidden: Option<usize>,

    /// Steps per sequence, T.
    #[arg(long, value_name = "T", value_parser = at_least_two, help_heading = "Data")]
    pub seq_len: usize,

    /// Training sequences.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_SAMPLES), help_heading = "Data")]
    pub train_size: usize,

    /// Test sequences.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_SAMPLES), help_heading = "Data")]
    pub test_size: usize,

    #[command(flatten)]
    pub shuffle: ShuffleArgs,

    /// Draw a new order every epoch; the tutorial's NDArrayIter shuffles once and walks
    /// that order every epoch.
    #[arg(long, value_name = "BOOL", help_heading = "Data",
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub reshuffle: bool,

    /// Where marks may fall: anywhere (the tutorial's generator) or one-per-half.
    #[arg(long, value_enum, value_name = "WHERE", help_heading = "Data")]
    pub marks: MarkPlacement,

    /// Train every epoch on --train-size sequences no earlier epoch saw (fresh batches at
    /// every step) instead of walking one training set.
    #[arg(long, value_name = "BOOL", help_heading = "Data",
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub fresh: bool,

    /// The setting every flag starts from: tutorial (MinPy), paper (Le, Jaitly & Hinton
    /// 2015) or modern (Keller et al. 2024); the long help lists what each sets.
    #[arg(
        long,
        value_enum,
        value_name = "NAME",
        default_value = "tutorial",
        help_heading = "Model",
        conflicts_with = "resume"
    )]
    pub preset: Preset,

    /// The LSTM's initial forget-gate bias, between -100 and 100 (past about 20 the gate is
    /// fully open or shut either way); the shown default comes from the presets.
    #[arg(
        long,
        value_name = "B",
        allow_negative_numbers = true,
        value_parser = finite_up_to(100.0),
        help_heading = "Model"
    )]
    pub forget_bias: Option<f64>,

    /// SGD's momentum, in [0, 1) (only with --preset paper, which trains with plain SGD).
    #[arg(long, value_name = "M", value_parser = momentum, help_heading = "Optimiser")]
    pub momentum: Option<f64>,

    #[command(flatten)]
    pub clip: ClipArgs,

    #[command(flatten)]
    pub no_clip: NoClipArgs,

    #[command(flatten)]
    pub adam: AdamArgs,
}

fn momentum(s: &str) -> Result<f64, String> {
    decay_rate(s).map(f64::from)
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

/// `--model`'s long help, with the networks each setting trains.
fn model_help() -> String {
    let names = |cells: &[Network]| cells.iter().map(|c| c.name()).collect::<Vec<_>>().join(",");
    format!(
        "Networks to train, in order (repeat the flag or separate with commas): rnn (tanh \
         Elman), lstm, gru (with the tutorial's start: reset gate before the recurrent matmul, \
         as the tutorial writes it), irnn (ReLU Elman with identity recurrent weights), relu \
         (ReLU Elman with Gaussian recurrent weights) [default: {}; with --preset paper: {}; \
         with --preset modern: {}]",
        names(&Network::TUTORIAL),
        names(&paper::MODELS),
        names(&modern::MODELS)
    )
}

/// `--hidden`'s help: each network's default, as the tutorial and the papers give it.
fn hidden_help() -> String {
    let tutorial: Vec<String> = Network::value_variants()
        .iter()
        .map(|cell| {
            format!(
                "{} {}",
                cell.name(),
                AddingConfig::tutorial(*cell).model.hidden
            )
        })
        .collect();
    format!(
        "Hidden units of every network [default: the tutorial's, {}; with a preset: {}]",
        tutorial.join(", "),
        paper::config(Network::Rnn).model.hidden
    )
}

/// `--forget-bias`'s help, its defaults read off the tutorial's and the presets' LSTMs.
fn forget_bias_help() -> String {
    let shown =
        |bias: Option<f64>| bias.map_or("as the start draws it".to_string(), |b| b.to_string());
    format!(
        "The LSTM's initial forget-gate bias, between -100 and 100 (past about 20 the gate is \
         fully open or shut either way) [default: {}; with --preset paper: {}; with --preset \
         modern: {}]",
        shown(AddingConfig::tutorial(Network::Lstm).model.forget_bias),
        shown(Preset::Paper.config(Network::Lstm).model.forget_bias),
        shown(Preset::Modern.config(Network::Lstm).model.forget_bias),
    )
}

/// `--preset`'s long help, with the flags each preset amounts to (from its configurations).
fn preset_help() -> String {
    let describe = |preset: Preset, cell: Network| {
        let sets =
            Cli::config_flags().differences(&AddingConfig::tutorial(cell), &preset.config(cell));
        format!("{cell}: {}", sets.join(" "))
    };
    let each = |preset: Preset| -> String {
        preset
            .models()
            .iter()
            .map(|&cell| describe(preset, cell))
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "The setting every flag starts from (any flag given overrides it, e.g. --preset paper \
         --seq-len 400).\n\n\
         tutorial: the MinPy tutorial (T = 6, Xavier starts, Adam, 10 epochs).\n\n\
         paper: the adding problem of Le, Jaitly & Hinton (2015), Fig. 2: plain SGD, the \
         paper's starts (IRNN identity, tanh and ReLU RNNs Gaussian, LSTM forget bias 1), \
         10^6 steps; per network, against the tutorial: {}.\n\n\
         modern: Keller et al. (2024)'s protocol: Adam, fresh batches of 128 at every step, \
         one mark in each half, 60 000 steps, tested every 500; per network: {}.\n\n\
         The values the papers leave open (learning rates, clipping, the Gaussian's width) are \
         this project's choices; docs/adding-long.md lists them",
        each(Preset::Paper),
        each(Preset::Modern)
    )
}

impl ExperimentCli for Cli {
    type Config = AddingConfig;

    /// The vanilla RNN's run: every network's configuration but the hidden size, which
    /// `--hidden`'s help lists.
    fn tutorial() -> AddingConfig {
        AddingConfig::tutorial(Network::Rnn)
    }

    fn config_flags() -> ConfigFlags<AddingConfig> {
        ConfigFlags::new()
            .training(|c: &mut AddingConfig| &mut c.training)
            .adam(|c: &mut AddingConfig| &mut c.optimizer)
            .sgd(|c: &mut AddingConfig| &mut c.optimizer)
            .flag_without_default("hidden", |c: &mut AddingConfig| &mut c.model.hidden)
            .flag("seq_len", |c: &mut AddingConfig| &mut c.data.seq_len)
            .flag("train_size", |c: &mut AddingConfig| &mut c.data.train_size)
            .flag("test_size", |c: &mut AddingConfig| &mut c.data.test_size)
            .flag("marks", |c: &mut AddingConfig| &mut c.data.marks)
            .flag("fresh", |c: &mut AddingConfig| &mut c.data.fresh)
            .flag_without_default("forget_bias", |c: &mut AddingConfig| {
                &mut c.model.forget_bias
            })
    }

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    /// One configuration per network to train: its preset's, under the flags typed.
    fn configs(parsed: &Parsed<Self>) -> Vec<AddingConfig> {
        let args = &parsed.args;
        args.models()
            .into_iter()
            .map(|cell| parsed.config_from(args.preset(cell)))
            .collect()
    }
}

impl Cli {
    /// The networks to train, in order.
    pub fn models(&self) -> Vec<Network> {
        let mut models: Vec<Network> = if !self.model.is_empty() {
            self.model.clone()
        } else {
            self.preset.models().to_vec()
        };
        let mut seen = BTreeSet::new();
        models.retain(|m| seen.insert(m.name()));
        models
    }

    /// `cell`'s run before the flags typed: the preset's.
    pub fn preset(&self, cell: Network) -> AddingConfig {
        self.preset.config(cell)
    }
}
