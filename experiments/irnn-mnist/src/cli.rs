//! The command line (`irnn-mnist --help`) and the configuration it asks for.

use clap::{Parser, Subcommand};
use rnn_data::{Normalisation, SequenceView};
use rnn_train::base::limits::MAX_HIDDEN;
use rnn_train::cli::value_parsers::{count_up_to, finite_up_to, positive_up_to};
use rnn_train::{
    AdamArgs, ClipArgs, ClipScope, CommonArgs, ConfigFlags, ExperimentCli, MnistArgs, MnistCli,
    NoClipArgs, ShuffleArgs,
};

use crate::config::{IrnnMnistConfig, NAME};
use crate::export::ExportArgs;

/// The command line (`irnn-mnist --help`).
#[derive(Parser, Debug, Clone)]
#[command(
    name = NAME,
    args_conflicts_with_subcommands = true,
    mut_arg("epsilon", |a| a.help("Adam's epsilon, added to the denominator (NeoML's default)")),
    mut_arg("shuffle", |a| a.help("Reshuffle the training set every epoch (the tutorial walks it in file order)")),
    mut_arg("clip_norm", |a| a.help("Clip the gradient to this L2 norm (each layer's, see --clip-scope)")),

    version,
    about = "IRNN on pixel-by-pixel MNIST (the NeoML IRNN tutorial; Le, Jaitly & Hinton 2015)",
    long_about = "IRNN on pixel-by-pixel MNIST, reproducing the NeoML IRNN tutorial (after Le, \
        Jaitly & Hinton 2015): a ReLU RNN with identity recurrent initialisation reads each \
        image as 784 single pixels; its last hidden state is classified by a linear layer. \
        Every default is the tutorial's; it reports 0.9050 test accuracy after 200 epochs \
        (3 h 54 min on one CPU thread). Writes config.json, metrics.csv, loss/accuracy plots, \
        checkpoints, model.bpk and summary.json into the run directory. `irnn-mnist export \
        RUN_DIR` writes the trained network as a PyTorch state_dict (safetensors)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub data: MnistArgs,

    /// Hidden units of the IRNN.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model")]
    pub hidden: usize,

    /// The recurrent matrix starts as SCALE times the identity (between -100 and 100).
    #[arg(long, value_name = "SCALE", value_parser = finite_up_to(100.0), help_heading = "Model")]
    pub identity_scale: f64,

    /// Standard deviation of the normal input weights (at most 100).
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
    /// Write a trained run's network as a PyTorch state_dict in safetensors (nn.RNN under
    /// `rnn.`, nn.Linear under `fc.`, the input recipe as metadata).
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
