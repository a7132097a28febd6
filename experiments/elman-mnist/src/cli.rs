//! The command line (`elman-mnist --help`) and the configuration it asks for.

use clap::Parser;
use rnn_train::base::limits::{MAX_HIDDEN, MAX_LAYERS};
use rnn_train::cli::value_parsers::count_up_to;
use rnn_train::{
    ClipArgs, CommonArgs, ConfigFlags, ExperimentCli, MnistArgs, MnistCli, ShuffleArgs,
};

use crate::config::{ElmanMnistConfig, NAME};

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

    #[command(flatten)]
    pub data: MnistArgs,

    /// Hidden units per layer.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model")]
    pub hidden: usize,

    /// Stacked Elman layers.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_LAYERS), help_heading = "Model")]
    pub layers: usize,

    #[command(flatten)]
    pub shuffle: ShuffleArgs,

    #[command(flatten)]
    pub clip: ClipArgs,
}

impl ExperimentCli for Cli {
    type Config = ElmanMnistConfig;

    fn tutorial() -> ElmanMnistConfig {
        ElmanMnistConfig::new()
    }

    fn config_flags() -> ConfigFlags<ElmanMnistConfig> {
        ConfigFlags::new()
            .training(|c: &mut ElmanMnistConfig| &mut c.training)
            .flag("hidden", |c: &mut ElmanMnistConfig| &mut c.model.hidden)
            .flag("layers", |c: &mut ElmanMnistConfig| &mut c.model.layers)
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
