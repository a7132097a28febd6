//! The settings of the loop every experiment shares ([`TrainingConfig`]): epochs, batch size,
//! learning rate, backend, seed, shuffling, limits and gradient clipping ([`ClipScope`]).

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::base::error::RunError;
use crate::base::limits::{MAX_EPOCHS, MAX_LR, MAX_SAMPLES, check_count};
use crate::device::backend_choice::BackendChoice;

/// The loop around the model: how long, how fast, on what, from which seed.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per optimisation step.
    pub batch_size: usize,
    /// Learning rate (constant).
    pub lr: f64,
    /// Where tensors live (`--backend`).
    #[config(default = "BackendChoice::Flex")]
    pub backend: BackendChoice,
    /// Seeds the backend's random generator (weight initialisation) and the data shuffling.
    #[config(default = 42)]
    pub seed: u64,
    /// Whether the training set is reshuffled every epoch (the order of epoch `e` depends only
    /// on `seed` and `e`, so a resumed run sees the same order as an uninterrupted one).
    #[config(default = true)]
    pub shuffle: bool,
    /// Whether a shuffled training set gets a new order every epoch; `false` draws one order
    /// and walks it every epoch (MinPy's `NDArrayIter` shuffles once, in its constructor).
    #[config(default = true)]
    pub reshuffle: bool,
    /// Train on the first N training samples only (quick runs).
    pub limit_train: Option<usize>,
    /// Evaluate on the first N test samples only (quick runs).
    pub limit_test: Option<usize>,
    /// Rescale the gradient so that its L2 norm is at most this (over all parameters, or over
    /// each layer's: [`TrainingConfig::clip_scope`]).
    pub clip_norm: Option<f64>,
    /// What `clip_norm` bounds: the norm over all parameters together (PyTorch's
    /// `clip_grad_norm_`) or each layer's own (NeoML's solver).
    #[config(default = "ClipScope::Global")]
    pub clip_scope: ClipScope,
}

/// What gradient-norm clipping bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ClipScope {
    /// The norm of all parameters' gradients together.
    #[default]
    Global,
    /// Each layer's norm on its own (the layers a model names in
    /// [`crate::TaskModel::layers`]), as NeoML's `CDnnSolver` clips.
    Layer,
}

impl TrainingConfig {
    /// Checks values that clap cannot (configs built in code, or read from a run directory).
    pub fn validate(&self) -> Result<(), RunError> {
        let positive = |name: &str, v: usize| {
            if v == 0 {
                Err(RunError::usage(
                    format!("--{name} must be at least 1, got 0"),
                    None,
                ))
            } else {
                Ok(())
            }
        };
        positive("epochs", self.epochs)?;
        if self.epochs > MAX_EPOCHS {
            return Err(RunError::usage(
                format!("--epochs must be at most {MAX_EPOCHS}"),
                None,
            ));
        }
        positive("batch-size", self.batch_size)?;
        check_count("batch_size", self.batch_size, MAX_SAMPLES)?;
        if let Some(n) = self.limit_train {
            positive("limit-train", n)?;
        }
        if let Some(n) = self.limit_test {
            positive("limit-test", n)?;
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= MAX_LR) {
            return Err(RunError::usage(
                format!(
                    "--lr must be a positive number up to {MAX_LR}, got {}",
                    self.lr
                ),
                None,
            ));
        }
        if let Some(c) = self.clip_norm
            && !(c.is_finite() && c > 0.0)
        {
            return Err(RunError::usage(
                format!("--clip-norm must be a positive number, got {c}"),
                Some(
                    "omit --clip-norm (or pass --no-clip where offered) to train unclipped".into(),
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_flag() {
        let err = TrainingConfig::new(1, 0, 0.1).validate().unwrap_err();
        assert_eq!(err.to_string(), "--batch-size must be at least 1, got 0");
        let err = TrainingConfig::new(0, 1, 0.1).validate().unwrap_err();
        assert!(err.to_string().starts_with("--epochs"));
        let err = TrainingConfig::new(1, 1, f64::NAN).validate().unwrap_err();
        assert!(err.to_string().starts_with("--lr"));
    }
}
