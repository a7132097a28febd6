//! The configuration, the story's first step: the tutorial's values, everything that
//! defines a run.

use burn::prelude::*;
use rnn_train::base::limits::{MAX_HIDDEN, MAX_SAMPLES, MAX_STEPS, check_count};
use rnn_train::{EpsilonForm, ExperimentConfig, OptimizerConfig, RunError, TrainingConfig};

use crate::model::LanguageModelConfig;

/// The binary's name and the run directory's parent (`runs/simple-sequence/`).
pub const NAME: &str = "simple-sequence";

/// Everything that defines a run (saved as the run directory's `config.json`).
#[derive(Config, Debug)]
pub struct SimpleSequenceConfig {
    /// The network.
    #[config(default = "LanguageModelConfig::new()")]
    pub model: LanguageModelConfig,
    /// Repetitions of the counting cycle: `get_simple_sequence(N_VOCABULARY, repeat=100)`.
    #[config(default = 100)]
    pub repeat: usize,
    /// Steps per truncated-BPTT window (`--bproplen`).
    #[config(default = 20)]
    pub bprop_len: usize,
    /// `optimizers.Adam(alpha=0.0005)`: Chainer's betas 0.9/0.999 and epsilon 1e-8, added as
    /// Chainer adds it (to the square root of the uncorrected second moment).
    #[config(
        default = "OptimizerConfig::Adam { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, epsilon_form: EpsilonForm::Uncorrected }"
    )]
    pub optimizer: OptimizerConfig,
    /// 10 epochs, 10 parallel cursors (`--batchsize`), alpha 5e-4; the stream is read in
    /// order (never shuffled).
    #[config(default = "TrainingConfig::new(10, 10, 5e-4).with_shuffle(false)")]
    pub training: TrainingConfig,
}

impl ExperimentConfig for SimpleSequenceConfig {
    fn training(&self) -> &TrainingConfig {
        &self.training
    }

    fn validate(&self) -> Result<(), RunError> {
        let m = &self.model;
        check_count("units", m.units, MAX_HIDDEN)?;
        check_count("bprop_len", self.bprop_len, MAX_STEPS)?;
        check_count("repeat", self.repeat, MAX_SAMPLES)?;
        if !(2..=1000).contains(&m.n_vocab) {
            return Err(RunError::usage(
                format!("n_vocab must be between 2 and 1000, got {}", m.n_vocab),
                None,
            ));
        }
        // One cycle holds n(n-1)/2 tokens; keep the stream within MAX_SAMPLES tokens.
        let tokens = self.repeat.saturating_mul(m.n_vocab * (m.n_vocab - 1) / 2);
        if tokens > MAX_SAMPLES {
            return Err(RunError::usage(
                format!("the stream would hold {tokens} tokens (at most {MAX_SAMPLES})"),
                Some("lower --repeat or --n-vocab".into()),
            ));
        }
        // One cursor per batch row, each at its own offset of the stream.
        if self.training.batch_size > tokens {
            return Err(RunError::usage(
                format!(
                    "--batch-size {} is more cursors than the stream has tokens ({tokens})",
                    self.training.batch_size
                ),
                None,
            ));
        }
        if !(0.0..1.0).contains(&m.dropout) {
            return Err(RunError::usage(
                format!("dropout must be in [0, 1), got {}", m.dropout),
                None,
            ));
        }
        self.training.validate()
    }
}
