//! The command line (`lstm-mnist --help`, `lstm-mnist show --help`) and the configuration it
//! asks for.

use clap::{Parser, Subcommand};
use rnn_train::base::limits::MAX_HIDDEN;
use rnn_train::cli::value_parsers::{count_up_to, decay_rate};
use rnn_train::{
    ClipArgs, CommonArgs, ConfigFlags, ExperimentCli, MnistArgs, MnistCli, ShuffleArgs,
};

use crate::config::{LstmMnistConfig, NAME};
use crate::show::ShowArgs;

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

    #[command(flatten)]
    pub data: MnistArgs,

    /// Hidden (and cell) state size of the LSTM.
    #[arg(long, value_name = "N", value_parser = count_up_to(MAX_HIDDEN), help_heading = "Model")]
    pub hidden: usize,

    #[command(flatten)]
    pub shuffle: ShuffleArgs,

    /// SGD momentum, in [0, 1) (the tutorial uses none).
    #[arg(long, value_name = "M", value_parser = momentum, help_heading = "Optimiser")]
    pub momentum: Option<f64>,

    #[command(flatten)]
    pub clip: ClipArgs,
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

impl ExperimentCli for Cli {
    type Config = LstmMnistConfig;

    fn tutorial() -> LstmMnistConfig {
        LstmMnistConfig::new()
    }

    fn config_flags() -> ConfigFlags<LstmMnistConfig> {
        ConfigFlags::new()
            .training(|c: &mut LstmMnistConfig| &mut c.training)
            .sgd(|c: &mut LstmMnistConfig| &mut c.optimizer)
            .flag("hidden", |c: &mut LstmMnistConfig| &mut c.model.hidden)
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
