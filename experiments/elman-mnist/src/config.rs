//! The configuration, the story's first step: the tutorial's values, everything that
//! defines a run.

use burn::prelude::*;
use rnn_data::{MnistSequenceBatcher, Normalisation, SequenceView};
use rnn_train::base::limits::{MAX_HIDDEN, MAX_LAYERS, check_count};
use rnn_train::{ExperimentConfig, MnistConfig, OptimizerConfig, RunError, TrainingConfig};

use crate::model::ElmanClassifierConfig;

/// The binary's name and the run directory's parent (`runs/elman-mnist/`).
pub const NAME: &str = "elman-mnist";

/// Everything that defines a run (saved as the run directory's `config.json`).
#[derive(Config, Debug)]
pub struct ElmanMnistConfig {
    /// The network.
    #[config(default = "ElmanClassifierConfig::new()")]
    pub model: ElmanClassifierConfig,
    /// Row by row: 28 steps of 28 pixels.
    #[config(default = "SequenceView::Row")]
    pub view: SequenceView,
    /// `ToTensor()`: x / 255.
    #[config(default = "Normalisation::UnitRange")]
    pub normalisation: Normalisation,
    /// `torch.optim.Adam` defaults.
    #[config(default = "OptimizerConfig::adam()")]
    pub optimizer: OptimizerConfig,
    /// 3 epochs of shuffled batches of 64 at lr 1e-3.
    #[config(default = "TrainingConfig::new(3, 64, 1e-3)")]
    pub training: TrainingConfig,
}

impl MnistConfig for ElmanMnistConfig {
    fn batcher(&self) -> MnistSequenceBatcher {
        MnistSequenceBatcher::new(self.view, self.normalisation)
    }

    fn optimizer(&self) -> &OptimizerConfig {
        &self.optimizer
    }
}

impl ExperimentConfig for ElmanMnistConfig {
    fn training(&self) -> &TrainingConfig {
        &self.training
    }

    fn validate(&self) -> Result<(), RunError> {
        check_count("hidden", self.model.hidden, MAX_HIDDEN)?;
        check_count("layers", self.model.layers, MAX_LAYERS)?;
        self.training.validate()
    }
}
