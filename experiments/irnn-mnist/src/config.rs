//! The configuration, the story's first step: the tutorial's values, everything that
//! defines a run.

use burn::prelude::*;
use rnn_data::{MnistSequenceBatcher, Normalisation, SequenceView};
use rnn_train::base::limits::{MAX_HIDDEN, check_count};
use rnn_train::{
    ClipScope, EpsilonForm, ExperimentConfig, MnistConfig, OptimizerConfig, RunError,
    TrainingConfig,
};

use crate::model::IrnnClassifierConfig;

/// The binary's name and the run directory's parent (`runs/irnn-mnist/`).
pub const NAME: &str = "irnn-mnist";

/// Everything that defines a run (saved as the run directory's `config.json`).
#[derive(Config, Debug)]
pub struct IrnnMnistConfig {
    /// The network.
    #[config(default = "IrnnClassifierConfig::new()")]
    pub model: IrnnClassifierConfig,
    /// How an image becomes a sequence: 784 pixels (the tutorial), permuted pixels, or rows.
    #[config(default = "SequenceView::Pixel")]
    pub view: SequenceView,
    /// Pixel scaling: the tutorial's `(255 - x) * 2 / 255 - 1`.
    #[config(default = "Normalisation::IrnnTutorial")]
    pub normalisation: Normalisation,
    /// NeoML's AdaptiveGradient (Adam) with the tutorial's betas, NeoML's epsilon, added as
    /// NeoML adds it (to the square root of the uncorrected second moment).
    #[config(
        default = "OptimizerConfig::Adam { beta1: 0.9, beta2: 0.999, epsilon: 1e-6, epsilon_form: EpsilonForm::Uncorrected }"
    )]
    pub optimizer: OptimizerConfig,
    /// 200 epochs of batches of 40 in file order at lr 1e-6, each layer's gradient clipped to
    /// norm 1 (NeoML's solver clips per layer).
    #[config(
        default = "TrainingConfig::new(200, 40, 1e-6).with_shuffle(false).with_clip_norm(Some(1.0)).with_clip_scope(ClipScope::Layer)"
    )]
    pub training: TrainingConfig,
}

impl MnistConfig for IrnnMnistConfig {
    fn batcher(&self) -> MnistSequenceBatcher {
        MnistSequenceBatcher::new(self.view, self.normalisation)
    }

    fn optimizer(&self) -> &OptimizerConfig {
        &self.optimizer
    }
}

impl ExperimentConfig for IrnnMnistConfig {
    fn training(&self) -> &TrainingConfig {
        &self.training
    }

    fn validate(&self) -> Result<(), RunError> {
        check_count("hidden", self.model.hidden, MAX_HIDDEN)?;
        let m = &self.model;
        if !(m.identity_scale.is_finite() && m.input_std.is_finite() && m.input_std > 0.0) {
            return Err(RunError::usage(
                "identity_scale must be finite and input_std positive and finite",
                None,
            ));
        }
        self.training.validate()
    }
}
