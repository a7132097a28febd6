//! The configuration, the story's first step: the tutorial's values, everything that
//! defines a run.

use burn::prelude::*;
use rnn_data::{MnistSequenceBatcher, Normalisation, SequenceView};
use rnn_train::base::limits::{MAX_HIDDEN, check_count};
use rnn_train::{ExperimentConfig, MnistConfig, OptimizerConfig, RunError, TrainingConfig};

use crate::model::LstmClassifierConfig;

/// The binary's name and the run directory's parent (`runs/lstm-mnist/`).
pub const NAME: &str = "lstm-mnist";

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

impl MnistConfig for LstmMnistConfig {
    fn batcher(&self) -> MnistSequenceBatcher {
        MnistSequenceBatcher::new(self.view, self.normalisation)
    }

    fn optimizer(&self) -> &OptimizerConfig {
        &self.optimizer
    }
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
