//! The command line (`irnn-mnist --help`) and the configuration it asks for.

use clap::{Parser, Subcommand, ValueEnum};
use rnn_data::{Normalisation, SequenceView};
use rnn_train::base::limits::MAX_HIDDEN;
use rnn_train::cli::value_parsers::{count_up_to, finite_up_to, positive_up_to};
use rnn_train::{
    AdamArgs, ClipArgs, ClipScope, CommonArgs, ConfigFlags, ExperimentCli, MnistArgs, MnistCli,
    NoClipArgs, ShuffleArgs,
};

use crate::config::{IrnnMnistConfig, NAME, Preset};
use crate::export::ExportArgs;
use crate::model::Network;

rnn_train::value_enum_flag!(Network);

/// The command line (`irnn-mnist --help`).
#[derive(Parser, Debug, Clone)]
#[command(
    name = NAME,
    args_conflicts_with_subcommands = true,
    mut_arg("epsilon", |a| a.help("Adam's epsilon, added to the denominator (NeoML's default)")),
    mut_arg("shuffle", |a| a.help("Reshuffle the training set every epoch (the tutorial walks it in file order)")),
    mut_arg("clip_norm", |a| a.help("Clip the gradient to this L2 norm (each layer's, see --clip-scope)")),
    mut_arg("preset", |a| a.long_help(preset_help())),
    mut_arg("no_clip", |a| a.help("Do not clip gradients (to turn off the tutorial's or a preset's clipping)")),

    version,
    about = "IRNN on pixel-by-pixel MNIST (the NeoML IRNN tutorial; Le, Jaitly & Hinton 2015)",
    long_about = "IRNN on pixel-by-pixel MNIST, reproducing the NeoML IRNN tutorial (after Le, \
        Jaitly & Hinton 2015): a ReLU RNN with identity recurrent initialisation reads each \
        image as 784 single pixels; its last hidden state is classified by a linear layer. \
        Every default is the tutorial's; it reports 0.9050 test accuracy after 200 epochs \
        (3 h 54 min on one CPU thread). Writes config.json, metrics.csv, loss/accuracy plots, \
        checkpoints, model.bpk and summary.json into the run directory. --preset paper and \
        --preset modern set up the paper's own experiment (section 4.2: IRNN, tanh RNN, ReLU \
        RNN and LSTM, --model, on sequential or --permuted pixels), with plain SGD as the \
        paper or with Adam as Keller et al. (2024); docs/pixel-mnist.md has the story. \
        `irnn-mnist export RUN_DIR` writes the trained network as a PyTorch state_dict \
        (safetensors)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub data: MnistArgs,

    /// The setting every flag starts from: tutorial (NeoML), paper (Le, Jaitly & Hinton
    /// 2015, section 4.2) or modern (Adam, after Keller et al. 2024); the long help lists
    /// what each sets.
    #[arg(
        long,
        value_enum,
        value_name = "NAME",
        default_value = "tutorial",
        help_heading = "Model",
        conflicts_with = "resume"
    )]
    pub preset: Preset,

    /// The network: irnn (ReLU, identity recurrent start), rnn (tanh, Gaussian recurrent
    /// start), relu (ReLU, Gaussian recurrent start) or lstm; each as the paper starts it (one
    /// bias, input weights N(0, 0.001), Burn's default readout) [default: the tutorial's
    /// IRNN, NeoML's start, or with a preset the paper's irnn]
    #[arg(long, value_enum, value_name = "NETWORK", help_heading = "Model")]
    pub model: Option<Network>,

    /// The LSTM's initial forget-gate bias, between -100 and 100 [default: drawn with the
    /// other biases; with a preset: 1]
    #[arg(
        long,
        value_name = "B",
        allow_negative_numbers = true,
        value_parser = finite_up_to(100.0),
        help_heading = "Model"
    )]
    pub forget_bias: Option<f64>,

    /// Hidden units of the network.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model")]
    pub hidden: usize,

    /// The IRNN's recurrent matrix starts as SCALE times the identity (between -100 and 100).
    #[arg(long, value_name = "SCALE", value_parser = finite_up_to(100.0), help_heading = "Model")]
    pub identity_scale: f64,

    /// Standard deviation of the normal input weights of the IRNN and the Gaussian-started
    /// RNNs (at most 100).
    #[arg(long, value_name = "STD", value_parser = positive_up_to(100.0), help_heading = "Model")]
    pub input_std: f64,

    /// Sequence view: pixel (784 steps of 1, the tutorial), row (28 steps of 28), or
    /// permuted-pixel (784 pixels in a fixed random order).
    #[arg(long, value_name = "VIEW", help_heading = "Data")]
    pub view: SequenceView,

    /// Permuted pixel-by-pixel MNIST: short for --view permuted-pixel (the paper's harder
    /// variant; one fixed permutation, drawn from --permutation-seed).
    #[arg(long, help_heading = "Data", conflicts_with = "view")]
    pub permuted: bool,

    /// Seed of --permuted's pixel permutation (saved in config.json as the view
    /// `permuted-pixel:N`; the same seed gives the same permutation on every machine;
    /// `--view permuted-pixel:N` says the same).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Data",
        requires = "permuted",
        default_value_t = 0
    )]
    pub permutation_seed: u64,

    /// Pixel scaling: irnn-tutorial ((255 - x) * 2 / 255 - 1) or unit-range (x / 255).
    #[arg(long, value_name = "NAME", help_heading = "Data")]
    pub normalisation: Normalisation,

    #[command(flatten)]
    pub shuffle: ShuffleArgs,

    #[command(flatten)]
    pub clip: ClipArgs,

    /// What --clip-norm bounds: each layer's gradient by itself (layer: NeoML's solver, whose
    /// layers here are the IRNN's input and recurrent fully-connected layers and the output
    /// layer) or all parameters' together (global: PyTorch's clip_grad_norm_).
    #[arg(long, value_name = "SCOPE", value_enum, help_heading = "Optimiser")]
    pub clip_scope: ClipScope,

    #[command(flatten)]
    pub no_clip: NoClipArgs,

    #[command(flatten)]
    pub adam: AdamArgs,
}

/// Subcommands besides training.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Write a trained run's network as a PyTorch state_dict in safetensors (nn.RNN or
    /// nn.LSTM under `rnn.`, nn.Linear under `fc.`, the input recipe as metadata).
    Export(ExportArgs),
}

impl ExperimentCli for Cli {
    type Config = IrnnMnistConfig;

    fn tutorial() -> IrnnMnistConfig {
        IrnnMnistConfig::new()
    }

    fn config_flags() -> ConfigFlags<IrnnMnistConfig> {
        ConfigFlags::new()
            .training(|c: &mut IrnnMnistConfig| &mut c.training)
            .adam(|c: &mut IrnnMnistConfig| &mut c.optimizer)
            .flag("hidden", |c: &mut IrnnMnistConfig| &mut c.model.hidden)
            .flag("identity_scale", |c: &mut IrnnMnistConfig| {
                &mut c.model.identity_scale
            })
            .flag("input_std", |c: &mut IrnnMnistConfig| {
                &mut c.model.input_std
            })
            .flag("view", |c: &mut IrnnMnistConfig| &mut c.view)
            .switch("permuted", "view", |c: &mut IrnnMnistConfig, matches| {
                let seed = matches.get_one::<u64>("permutation_seed").copied();
                c.view = SequenceView::PermutedPixel {
                    seed: seed.unwrap_or_default(),
                };
            })
            .flag("normalisation", |c: &mut IrnnMnistConfig| {
                &mut c.normalisation
            })
            .flag("model", |c: &mut IrnnMnistConfig| &mut c.model.network)
            .flag("forget_bias", |c: &mut IrnnMnistConfig| {
                &mut c.model.forget_bias
            })
    }

    /// The preset's configuration (the tutorial's by default) for the network and pixel
    /// order typed.
    fn base(&self) -> IrnnMnistConfig {
        let permuted = self.permuted || matches!(self.view, SequenceView::PermutedPixel { .. });
        self.preset.config(self.model, permuted)
    }

    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

impl MnistCli for Cli {
    fn mnist(&self) -> &MnistArgs {
        &self.data
    }
}

/// `--preset`'s long help, with the flags each preset amounts to per network (read off the
/// configurations themselves).
fn preset_help() -> String {
    let describe = |preset: Preset, permuted: bool| {
        Network::PAPER
            .iter()
            .map(|&network| {
                let tutorial = Preset::Tutorial.config(None, permuted);
                let sets = Cli::config_flags()
                    .differences(&tutorial, &preset.config(Some(network), permuted));
                format!("{network}: {}", sets.join(" "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let names = Network::value_variants()
        .iter()
        .map(|n| n.name())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "The setting every flag starts from (any flag given overrides it, e.g. --preset paper \
         --model lstm --permuted).\n\n\
         tutorial: the NeoML tutorial (the IRNN, Adam lr 1e-6, batch 40, 200 epochs).\n\n\
         paper: pixel MNIST as Le, Jaitly & Hinton (2015), section 4.2: 100 hidden units, \
         plain SGD on minibatches of 16, gradient clipping, about 10^6 steps; per network \
         ({names}), against the tutorial: {}.\n\n\
         modern: Adam lr 1e-4 on batches of 128 with 57 000 training images (3 000 held out), \
         120 epochs (250 with --permuted), after Keller et al. (2024); per network: {}; with \
         --permuted the epochs become 250.\n\n\
         The values the paper leaves open (learning rates, batch size, clipping, pixel \
         scaling) are this project's choices; docs/pixel-mnist.md lists them",
        describe(Preset::Paper, false),
        describe(Preset::Modern, false),
    )
}
